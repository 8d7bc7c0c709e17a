// Bond: create/destroy with everything that moves up to the bond and back down (management,
// IP configuration, VLANs, tunnels, VIFs), set_mode and set_property (xapi_bond.ml).
// All of it in one transaction: a refused or failed bond leaves nothing half-built.
// The top layer of the PIF ops: it builds on PIF, VLAN and tunnel, and nothing under it imports it.

import type { Ctx, ImplTable } from '../api/context.ts';
import type { ObjOf, Txn } from '../db/database.ts';
import { NULL_REF, XapiError, type RecordOf } from '../model/index.ts';
import { isMac } from './addr.ts';
import { requirements, setBondMode, validateProperties, type BondProperties as Props } from './bond_mode.ts';
import { fieldsOf, pifCopy, virtualPif } from './pif_records.ts';
import {
  assertManaged, assertNetworkManaged, assertNoOtherLocalPifs, bondOfMaster, isBondSlave, isSriovNetwork, pifKind, pifsOfHost, possibleHosts, thePool,
} from './topology.ts';
import { destroyPif, plug, setManagement } from './pif.ts';
import { createTunnelRecords } from './tunnel.ts';
import { createVlanRecords } from './vlan.ts';

type Pif = ObjOf<'PIF'>;

const hasIp = (p: Pif): boolean => (p.rec.primary_address_type === 'IPv6' ? p.rec.ipv6_configuration_mode : p.rec.ip_configuration_mode) !== 'None';

const IPV4_FIELDS = ['ip_configuration_mode', 'IP', 'netmask', 'gateway', 'DNS'] as const;

/** Copy the IPv4 configuration from one PIF to another and clear it on the source (bonds move IPv4 only, as xapi). */
function moveIp(tx: Txn, from: Pif, to: string): void {
  tx.update('PIF', to, fieldsOf(from.rec, IPV4_FIELDS));
  tx.update(from, { ip_configuration_mode: 'None', IP: '', netmask: '', gateway: '', DNS: '' });
}

/**
 * The VIFs on `networks` that move with them on `host` (xapi_bond.ml get_local_vifs): those of
 * VMs running there, and of halted VMs that could start only there, or nowhere.
 */
function localVifs(ctx: Ctx, networks: readonly string[], host: string): string[] {
  const db = ctx.db;
  const local = new Map<string, boolean>();
  const isLocal = (vm: ObjOf<'VM'>): boolean => {
    const on = vm.rec.resident_on;
    if (on === host) return true;
    if (on && on !== NULL_REF) return false;
    const hosts = possibleHosts(db, vm);
    return hosts.length === 0 || (hosts.length === 1 && hosts[0] === host);
  };
  return networks.flatMap((n) => db.referrers(n, 'VIF', 'network')).filter((v) => {
    const vm = db.getOf('VM', db.getOf('VIF', v)!.rec.VM);
    if (!vm) return false;
    if (!local.has(vm.ref)) local.set(vm.ref, isLocal(vm));
    return local.get(vm.ref);
  });
}

/** Move a VLAN from its tagged PIF to `target` (xapi's move_vlan). */
function moveVlan(ctx: Ctx, vlan: ObjOf<'VLAN'>, target: Pif): void {
  const db = ctx.db, tx = ctx.tx;
  const oldU = db.getOf('PIF', vlan.rec.untagged_PIF)!;
  const network = oldU.rec.network;
  const existing = db.referrers(target.ref, 'VLAN', 'tagged_PIF').map((r) => db.getOf('VLAN', r)!).find((v) => v.rec.tag === vlan.rec.tag);
  let newU: string;
  if (existing) {
    newU = existing.rec.untagged_PIF;
    const to = db.getOf('PIF', newU)!.rec.network;
    for (const v of localVifs(ctx, [network], target.rec.host)) tx.update('VIF', v, { network: to });
  } else {
    newU = createVlanRecords(tx, target, vlan.rec.tag, network).untagged;
  }
  const patch = fieldsOf(oldU.rec, [...IPV4_FIELDS, 'ipv6_configuration_mode', 'IPv6', 'ipv6_gateway', 'other_config', 'disallow_unplug']);
  tx.update('PIF', newU, { ...patch, currently_attached: oldU.rec.currently_attached, management: oldU.rec.management });
  tx.delete(vlan.ref);
  destroyPif(tx, oldU);
}

/** Move a tunnel to a new transport PIF: a new tunnel and access PIF on the same network. */
function moveTunnel(ctx: Ctx, tunnel: ObjOf<'tunnel'>, target: Pif): void {
  const tx = ctx.tx;
  const access = ctx.db.getOf('PIF', tunnel.rec.access_PIF)!;
  createTunnelRecords(tx, pifCopy(access, { metrics: target.rec.metrics }), target.ref, { status: { active: 'false' }, other_config: tunnel.rec.other_config, protocol: tunnel.rec.protocol });
  tx.delete(tunnel.ref);
  tx.delete(access.ref);
}

function nextBondDevice(ctx: Ctx, host: string): string {
  const used = new Set(pifsOfHost(ctx.db, host).filter((p) => bondOfMaster(ctx.db, p)).map((p) => p.rec.device));
  for (let n = 0; ; n++) if (!used.has(`bond${n}`)) return `bond${n}`;
}

export function createBond(
  ctx: Ctx, a: { readonly network: string; readonly members: readonly string[]; readonly MAC: string; readonly mode: RecordOf<'Bond'>['mode']; readonly properties: Props }, opts: { allowOneMember?: boolean } = {}): string {
  const db = ctx.db, tx = ctx.tx;
  const members = [...new Set(a.members)].map((m) => tx.must('PIF', m));
  // xapi accepts one member (it builds partial bonds at pool join); the API refuses it, as documented
  if (members.length === 0 || (members.length < 2 && !opts.allowOneMember)) throw new XapiError('PIF_BOND_NEEDS_MORE_MEMBERS', []);
  const network = tx.must('network', a.network);
  const pool = thePool(db);
  if (pool.rec.ha_enabled) {
    if (members.some((m) => m.rec.management)) throw new XapiError('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE', []);
    // the seed: bond creation disturbs HA heartbeating, so it is refused outright while HA is on
    throw new XapiError('HA_IS_ENABLED', []);
  }
  assertNetworkManaged(network);
  const host = members[0].rec.host;
  assertNoOtherLocalPifs(db, host, network.ref);
  if (isSriovNetwork(db, network.ref)) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_BOND', [network.ref]);
  const mac = a.MAC.toLowerCase();
  if (mac !== '' && !isMac(mac)) throw new XapiError('MAC_INVALID', [a.MAC]);
  const properties = validateProperties(a.mode, a.properties);
  const primary = members.find((m) => m.rec.management) ?? members.find(hasIp) ?? members[0];
  for (const m of members) {
    if (m.rec.primary_address_type !== primary.rec.primary_address_type) throw new XapiError('PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', [m.ref]);
  }
  for (const m of members) {
    assertManaged(m);
    const kind = pifKind(db, m);
    if (kind === 'physical' && isBondSlave(m)) throw new XapiError('PIF_ALREADY_BONDED', [m.ref]);
    if (kind === 'vlan') throw new XapiError('PIF_VLAN_EXISTS', [m.rec.device]);
    if (kind === 'tunnel_access') throw new XapiError('IS_TUNNEL_ACCESS_PIF', [m.ref]);
    if (kind === 'sriov_logical') throw new XapiError('PIF_IS_SRIOV_LOGICAL', [m.ref]);
    // xapi lets a bond master through here; bonding a bond is never meant, so refuse it
    if (kind === 'bond_master') throw new XapiError('PIF_ALREADY_BONDED', [m.ref]);
  }
  if (members.some((m) => m.rec.host !== host)) throw new XapiError('PIF_CANNOT_BOND_CROSS_HOST', []);
  const props0 = JSON.stringify(sortKeys(members[0].rec.properties));
  if (members.some((m) => JSON.stringify(sortKeys(m.rec.properties)) !== props0)) throw new XapiError('INCOMPATIBLE_PIF_PROPERTIES', []);
  if (members.filter(hasIp).length > 1) throw new XapiError('PIF_BOND_MORE_THAN_ONE_IP', []);

  // chosen before anything changes, as xapi does
  const vifs = localVifs(ctx, [...new Set(members.map((m) => m.rec.network))], host);
  const metrics = tx.create('PIF_metrics', { last_updated: '19700101T00:00:00Z' });
  const master = tx.create('PIF', virtualPif({
    device: nextBondDevice(ctx, host), network: network.ref, host, MAC: mac || primary.rec.MAC, MTU: network.rec.MTU, metrics,
    primary_address_type: primary.rec.primary_address_type, properties: members[0].rec.properties,
  }));
  const bond = tx.create('Bond', { master, primary_slave: primary.ref, mode: a.mode, properties, links_up: 0, auto_update_mac: mac === '', other_config: {} });
  for (const m of members) tx.update(m, { bond_slave_of: bond });
  moveIp(tx, primary, master);
  if (members.some((m) => m.rec.management)) setManagement(tx, host, master);
  plug(ctx, db.getOf('PIF', master)!);
  for (const m of members) {
    for (const v of db.referrers(m.ref, 'VLAN', 'tagged_PIF')) moveVlan(ctx, db.getOf('VLAN', v)!, db.getOf('PIF', master)!);
    for (const t of db.referrers(m.ref, 'tunnel', 'transport_PIF')) moveTunnel(ctx, db.getOf('tunnel', t)!, db.getOf('PIF', master)!);
  }
  for (const v of vifs) tx.update('VIF', v, { network: network.ref });
  if (members.some((m) => m.rec.disallow_unplug)) {
    tx.update('PIF', master, { disallow_unplug: true });
    for (const m of members) tx.update(m, { disallow_unplug: false });
  }
  return bond;
}

export function destroyBond(ctx: Ctx, bond: ObjOf<'Bond'>): void {
  const db = ctx.db, tx = ctx.tx;
  const master = db.getOf('PIF', bond.rec.master)!;
  const host = master.rec.host;
  const pool = thePool(db);
  if (pool.rec.ha_enabled) {
    if (master.rec.management) throw new XapiError('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE', []);
    throw new XapiError('HA_IS_ENABLED', []);
  }
  const slaves = db.referrers(bond.ref, 'PIF', 'bond_slave_of').map((r) => db.getOf('PIF', r)!);
  const primary = db.getOf('PIF', bond.rec.primary_slave) ?? slaves[0];
  const vifs = localVifs(ctx, [master.rec.network], host);
  moveIp(tx, master, primary.ref);
  // members leave the bond before they are plugged again
  for (const s of slaves) tx.update(s, { bond_slave_of: NULL_REF });
  if (master.rec.management) setManagement(tx, host, primary.ref);
  if (master.rec.currently_attached || master.rec.management) for (const s of slaves) plug(ctx, db.getOf('PIF', s.ref)!);
  for (const v of db.referrers(master.ref, 'VLAN', 'tagged_PIF')) moveVlan(ctx, db.getOf('VLAN', v)!, db.getOf('PIF', primary.ref)!);
  for (const v of vifs) tx.update('VIF', v, { network: primary.rec.network });
  for (const t of db.referrers(master.ref, 'tunnel', 'transport_PIF')) moveTunnel(ctx, db.getOf('tunnel', t)!, db.getOf('PIF', primary.ref)!);
  if (master.rec.disallow_unplug) tx.update(primary, { disallow_unplug: true });
  tx.delete(bond.ref);
  destroyPif(tx, db.getOf('PIF', master.ref)!);
}

function sortKeys(p: Props): Props {
  return Object.fromEntries(Object.entries(p).sort(([a], [b]) => a.localeCompare(b)));
}

export const bondImpls: ImplTable = {
  'Bond.create': (ctx, a) => createBond(ctx, a),
  'Bond.destroy': (ctx, a) => { destroyBond(ctx, ctx.tx.must('Bond', a.self)); },
  'Bond.set_mode': (ctx, a) => { setBondMode(ctx.tx, ctx.tx.must('Bond', a.self), a.value); },
  'Bond.set_property': (ctx, a) => {
    const b = ctx.tx.must('Bond', a.self);
    const name = a.name, value = a.value;
    if (!requirements(b.rec.mode)[name]?.valid(value)) throw new XapiError('INVALID_VALUE', ['properties', `${name} = ${value}`]);
    ctx.tx.update(b, { properties: { ...b.rec.properties, [name]: value } });
  },
};

