// PIF: scan, introduce, forget, plug/unplug, IP configuration, properties (xapi_pif.ml),
// plus the XenServer documentation's rule on secondary interfaces sharing a subnet (an alert, not a refusal).
// The PIF layer of ops: it imports only the leaf helpers; VLAN, tunnel and bond build on it
// (PIF.create_VLAN and PIF.destroy, which make and remove VLANs, live in vlan.ts).

import type { Ctx, ImplTable } from '../api/context.ts';
import type { ObjOf, Txn } from '../db/database.ts';
import { introducePhysical } from '../db/init.ts';
import { NULL_REF, XapiError, type ArgsOf } from '../model/index.ts';
import { isIpv4, isIpv6, isIpv6Cidr, isMac, subnetOf } from './addr.ts';
import { raiseAlert } from './message.ts';
import {
  assertManaged, assertNoProtection, assertNoSriov, assertNoTunnels, assertNoVlans, assertNotInBond, assertNotManagement,
  bondOfMaster, isBondSlave, pifKind, pifsOfHost, sriovOfLogical, sriovOfPhysical, tunnelOfAccess, vifsInUseOnHost, vlanOf,
} from './topology.ts';
import { setBondMode } from './bond_mode.ts';

type Pif = ObjOf<'PIF'>;

const pifArg = (ctx: Ctx, a: { readonly self: string }): Pif => ctx.tx.must('PIF', a.self);

/** Make `host`'s management flags follow the one PIF chosen (xapi's update_management_flags). */
export function setManagement(tx: Txn, host: string, pif: string | undefined): void {
  for (const p of pifsOfHost(tx.db, host)) {
    const want = p.ref === pif;
    if (!!p.rec.management !== want) tx.update(p, { management: want });
  }
  const ip = pif ? tx.db.getOf('PIF', pif)!.rec.IP : '';
  const h = tx.db.getOf('host', host)!;
  if (pif && h.rec.address !== ip && ip) tx.update(h, { address: ip });
}

/** PIF.scan: a PIF (and pool-wide network) for every NIC the host has and the database lacks. */
export function scan(ctx: Ctx, host: string): void {
  const nics = ctx.svc.hostNics(host);
  const physical = pifsOfHost(ctx.db, host).filter((p) => p.rec.physical);
  for (const nic of nics) {
    const pif = physical.find((p) => p.rec.device === nic.device);
    if (!pif) {
      // a NIC whose pool-wide network this host already reaches another way is left out, as a conflict to resolve by hand
      try { introducePhysical(ctx.tx, host, nic); } catch (e) { if (!(e instanceof XapiError && e.code === 'NETWORK_ALREADY_CONNECTED')) throw e; ctx.svc.log.warn({ device: nic.device }, 'PIF.scan: the NIC\'s network is already connected on this host; not introduced'); }
      continue;
    }
    // refresh what the kernel knows better than the database
    const patch: { MAC?: string; capabilities?: string[] } = {};
    if (nic.mac && pif.rec.MAC !== nic.mac) patch.MAC = nic.mac;
    const caps = nic.sriovVfs ? ['sriov'] : [];
    if (JSON.stringify(pif.rec.capabilities) !== JSON.stringify(caps)) patch.capabilities = caps;
    if (Object.keys(patch).length) ctx.tx.update(pif, patch);
  }
}

function introduce(ctx: Ctx, a: ArgsOf<'PIF.introduce'>): string {
  const host = ctx.tx.must('host', a.host).ref;
  const device = a.device;
  const nic = ctx.svc.hostNics(host).find((n) => n.device === device);
  const mac = (a.MAC || nic?.mac || '').toLowerCase();
  if (!isMac(mac)) throw new XapiError('MAC_INVALID', [mac]);
  if (pifsOfHost(ctx.db, host).some((p) => p.rec.physical && p.rec.device === device)) throw new XapiError('DUPLICATE_PIF_DEVICE_NAME', [device]);
  if (!nic || nic.mac.toLowerCase() !== mac) throw new XapiError('COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS', [device, mac]);
  return introducePhysical(ctx.tx, host, nic, { managed: a.managed });
}

function forget(ctx: Ctx, pif: Pif): void {
  assertNotManagement(pif);
  assertNotInBond(ctx.db, pif);
  assertNoVlans(ctx.db, pif);
  assertNoTunnels(ctx.db, pif);
  assertNoProtection(ctx.db, pif);
  assertNoSriov(ctx.db, pif);
  destroyPif(ctx.tx, pif);
}

/** Delete a PIF and, unless another PIF shares them (VLAN, tunnel access), its metrics. */
export function destroyPif(tx: Txn, pif: Pif): void {
  const metrics = pif.rec.metrics;
  tx.delete(pif.ref);
  if (metrics !== NULL_REF && !tx.all('PIF').some((p) => p.rec.metrics === metrics)) tx.delete(metrics);
}

/** PIF.plug: mark it (and what it needs underneath) attached; the agent realises it. */
export function plug(ctx: Ctx, pif: Pif): void {
  assertManaged(pif);
  const db = ctx.db;
  switch (pifKind(db, pif)) {
    case 'tunnel_access': {
      const transport = db.getOf('PIF', tunnelOfAccess(db, pif)!.rec.transport_PIF)!;
      if (transport.rec.ip_configuration_mode === 'None') throw new XapiError('TRANSPORT_PIF_NOT_CONFIGURED', [transport.ref]);
      plug(ctx, transport);
      break;
    }
    case 'vlan': {
      const tagged = db.getOf('PIF', vlanOf(db, pif)!.rec.tagged_PIF)!;
      if (sriovOfLogical(db, tagged)) plug(ctx, tagged);
      break;
    }
    case 'sriov_logical': plug(ctx, db.getOf('PIF', sriovOfLogical(db, pif)!.rec.physical_PIF)!); break;
    case 'bond_master': {
      const bond = bondOfMaster(db, pif)!;
      for (const s of db.referrers(bond.ref, 'PIF', 'bond_slave_of')) ctx.tx.update('PIF', s, { currently_attached: false });
      // the legacy other-config:bond-mode takes effect at the next plug
      const legacy = pif.rec.other_config['bond-mode'];
      if ((legacy === 'balance-slb' || legacy === 'active-backup' || legacy === 'lacp') && bond.rec.mode !== legacy) setBondMode(ctx.tx, bond, legacy);
      break;
    }
    case 'physical':
      if (isBondSlave(pif)) {
        if (sriovOfPhysical(db, pif)) { plug(ctx, db.getOf('PIF', db.getOf('Bond', pif.rec.bond_slave_of)!.rec.master)!); return; }
        throw new XapiError('CANNOT_PLUG_BOND_SLAVE', [pif.ref]);
      }
      break;
  }
  if (!db.getOf('PIF', pif.ref)!.rec.currently_attached) ctx.tx.update(pif, { currently_attached: true });
}

export function unplug(ctx: Ctx, pif: Pif): void {
  const db = ctx.db;
  assertManaged(pif);
  assertNoProtection(db, pif);
  assertNotManagement(pif);
  const inUse = vifsInUseOnHost(db, pif.rec.network, pif.rec.host)[0];
  if (inUse) throw new XapiError('VIF_IN_USE', [pif.rec.network, inUse]);
  if (pif.rec.disallow_unplug) throw new XapiError('PIF_DOES_NOT_ALLOW_UNPLUG', [pif.ref]);
  // cascades: tunnels carried by this PIF, VLANs on an SR-IOV logical PIF, logical PIFs of a physical one
  for (const t of db.referrers(pif.ref, 'tunnel', 'transport_PIF')) detach(ctx.tx, db.getOf('PIF', db.getOf('tunnel', t)!.rec.access_PIF));
  if (sriovOfLogical(db, pif)) for (const v of db.referrers(pif.ref, 'VLAN', 'tagged_PIF')) detach(ctx.tx, db.getOf('PIF', db.getOf('VLAN', v)!.rec.untagged_PIF));
  const sr = sriovOfPhysical(db, pif);
  if (sr) detach(ctx.tx, db.getOf('PIF', sr.rec.logical_PIF));
  if (!isBondSlave(pif)) detach(ctx.tx, pif);
}

function detach(tx: Txn, pif: Pif | undefined): void {
  if (pif?.rec.currently_attached) tx.update(pif, { currently_attached: false });
}

function splitDns(dns: string): { v4: string[]; v6: string[] } {
  const parts = dns.split(',').map((s) => s.trim()).filter(Boolean);
  return { v4: parts.filter(isIpv4), v6: parts.filter(isIpv6) };
}

function reconfigureIp(ctx: Ctx, pif: Pif, a: ArgsOf<'PIF.reconfigure_ip'>): void {
  const mode = a.mode;
  const IP = a.IP, netmask = a.netmask, gateway = a.gateway;
  assertManaged(pif);
  const onlyDns = mode === 'Static' && pif.rec.ip_configuration_mode === 'Static' && pif.rec.IP === IP && pif.rec.netmask === netmask && pif.rec.gateway === gateway;
  if (!onlyDns) assertNoProtection(ctx.db, pif);
  if (mode === 'Static') {
    if (!isIpv4(IP)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['IP']);
    if (!isIpv4(netmask)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['netmask']);
  }
  if (IP && !isIpv4(IP)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['IP']);
  if (netmask && !isIpv4(netmask)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['netmask']);
  if (gateway && !isIpv4(gateway)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['gateway']);
  if (pif.rec.management && mode === 'None' && pif.rec.primary_address_type === 'IPv4') throw new XapiError('PIF_IS_MANAGEMENT_INTERFACE', [pif.ref]);
  const dns = [...splitDns(a.DNS).v4, ...splitDns(pif.rec.DNS).v6].join(',');
  // the values given are stored whatever the mode, as xapi (mode None: the agent uses none of them)
  ctx.tx.update(pif, { ip_configuration_mode: mode, IP, netmask, gateway, DNS: dns });
  if (pif.rec.management && mode === 'Static') ctx.tx.update('host', pif.rec.host, { address: IP });
  if (mode !== 'None') warnSharedSubnet(ctx, ctx.db.getOf('PIF', pif.ref)!);
}

/**
 * The XenServer documentation: management and secondary interfaces must be on separate subnets, else traffic is
 * routed wrongly. xapi accepts such a configuration silently; poolnet accepts it too (existing
 * setups keep working) but raises a pool alert naming both interfaces and the subnet.
 */
export function warnSharedSubnet(ctx: Ctx, pif: Pif): void {
  const subnet = subnetOf(pif.rec.IP, pif.rec.netmask);
  if (!subnet) return;
  const host = ctx.db.getOf('host', pif.rec.host)!;
  for (const other of pifsOfHost(ctx.db, host.ref)) {
    if (other.ref === pif.ref || subnetOf(other.rec.IP, other.rec.netmask) !== subnet) continue;
    const role = (p: Pif) => (p.rec.management ? 'management interface' : 'secondary interface');
    raiseAlert(ctx.tx, {
      name: 'PIF_SUBNET_SHARED', priority: 3, cls: 'Host', obj_uuid: host.rec.uuid,
      body: `The ${role(pif)} ${String(pif.rec.device)} (PIF ${String(pif.rec.uuid)}, ${String(pif.rec.IP)}) and the ${role(other)} ${String(other.rec.device)} (PIF ${String(other.rec.uuid)}, ${String(other.rec.IP)}) on host ${String(host.rec.name_label)} are on the same subnet ${subnet}: traffic may be routed over the wrong interface. Put each interface on a subnet of its own.`,
    });
  }
}

function reconfigureIpv6(ctx: Ctx, pif: Pif, a: ArgsOf<'PIF.reconfigure_ipv6'>): void {
  const mode = a.mode;
  const IPv6 = a.IPv6, gateway = a.gateway;
  assertManaged(pif);
  const onlyDns = mode === 'Static' && pif.rec.ipv6_configuration_mode === 'Static' && pif.rec.IPv6[0] === IPv6 && pif.rec.ipv6_gateway === gateway;
  if (!onlyDns) assertNoProtection(ctx.db, pif);
  if (gateway && !isIpv6(gateway)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['gateway']);
  if (IPv6 && !isIpv6Cidr(IPv6)) throw new XapiError('INVALID_CIDR_ADDRESS_SPECIFIED', ['IPv6']);
  if (pif.rec.management && mode === 'None' && pif.rec.primary_address_type === 'IPv6') throw new XapiError('PIF_IS_MANAGEMENT_INTERFACE', [pif.ref]);
  const dns = [...splitDns(a.DNS).v6, ...splitDns(pif.rec.DNS).v4].join(',');
  ctx.tx.update(pif, { ipv6_configuration_mode: mode, IPv6: [IPv6], ipv6_gateway: gateway, DNS: dns });
}

function setProperty(ctx: Ctx, pif: Pif, name: string, value: string): void {
  if (name !== 'gro' || (value !== 'on' && value !== 'off')) throw new XapiError('INVALID_VALUE', ['properties', `${name} = ${value}`]);
  const kind = pifKind(ctx.db, pif);
  if (!(kind === 'bond_master' || (kind === 'physical' && !isBondSlave(pif)))) throw new XapiError('CANNOT_CHANGE_PIF_PROPERTIES', [pif.ref]);
  const properties = { ...pif.rec.properties, [name]: value };
  ctx.tx.update(pif, { properties });
  if (kind === 'bond_master') for (const s of ctx.db.referrers(bondOfMaster(ctx.db, pif)!.ref, 'PIF', 'bond_slave_of')) ctx.tx.update('PIF', s, { properties });
}

/** PIF.db_introduce / pool_introduce: a PIF record with every field given (pool join, recovery tools). */
function dbIntroduce(ctx: Ctx, a: ArgsOf<'PIF.db_introduce'>): string {
  ctx.tx.must('host', a.host);
  const network = ctx.tx.must('network', a.network);
  if (a.VLAN !== -1 && ctx.db.referrers(network.ref, 'VIF', 'network').some((v) => ctx.db.getOf('VIF', v)!.rec.trunks.length > 0)) {
    throw new XapiError('NETWORK_INCOMPATIBLE_WITH_TRUNKS', [network.ref]);
  }
  const metrics = ctx.tx.create('PIF_metrics', {});
  const { bond_slave_of: _b, VLAN_master_of: vlan, ...fields } = a;
  const pif = ctx.tx.create('PIF', { ...fields, device_name: a.device, metrics, bond_slave_of: NULL_REF, currently_attached: false });
  // VLAN_master_of is kept as xapi stores it; here it is the VLAN's untagged_PIF seen from the
  // PIF, so a VLAN the database has points at the new PIF (one not known yet: its
  // VLAN.pool_introduce makes the link)
  const known = ctx.db.getOf('VLAN', vlan);
  if (known) ctx.tx.update(known, { untagged_PIF: pif });
  return pif;
}

export const pifImpls: ImplTable = {
  'PIF.scan': (ctx, a) => { scan(ctx, ctx.tx.must('host', a.host).ref); },
  'PIF.introduce': (ctx, a) => introduce(ctx, a),
  'PIF.forget': (ctx, a) => { forget(ctx, pifArg(ctx, a)); },
  'PIF.plug': (ctx, a) => { plug(ctx, pifArg(ctx, a)); },
  'PIF.unplug': (ctx, a) => { unplug(ctx, pifArg(ctx, a)); },
  'PIF.reconfigure_ip': (ctx, a) => { reconfigureIp(ctx, pifArg(ctx, a), a); },
  'PIF.reconfigure_ipv6': (ctx, a) => { reconfigureIpv6(ctx, pifArg(ctx, a), a); },
  'PIF.set_primary_address_type': (ctx, a) => {
    const pif = pifArg(ctx, a);
    assertNoProtection(ctx.db, pif);
    assertNotManagement(pif);
    ctx.tx.update(pif, { primary_address_type: a.primary_address_type });
  },
  'PIF.set_property': (ctx, a) => { setProperty(ctx, pifArg(ctx, a), a.name, a.value); },
  'PIF.set_disallow_unplug': (ctx, a) => {
    const pif = pifArg(ctx, a);
    if (pif.rec.disallow_unplug !== a.value) ctx.tx.update(pif, { disallow_unplug: a.value });
  },
  'PIF.db_introduce': (ctx, a) => dbIntroduce(ctx, a),
  'PIF.pool_introduce': (ctx, a) => dbIntroduce(ctx, a),
  'PIF.db_forget': (ctx, a) => { destroyPif(ctx.tx, pifArg(ctx, a)); },
};
