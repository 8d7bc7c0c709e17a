// compile(db, host): the host's desired networking, derived from the pool database alone.
// Pure: no I/O, same input, same output (golden tests pin it). Mirrors xapi's Nm.bring_pif_up
// (bridges, bonds, VLAN fake bridges, addresses) and setup-vif-rules (port locking).

import { createHash } from 'node:crypto';
import type { Database, Obj } from '../db/database.ts';
import { NULL_REF } from '../model/index.ts';
import { prefixOfNetmask } from '../ops/addr.ts';
import { bridgeFlows, meterKbits, type VifLock } from './flows.ts';
import type { BondSpec, BridgeSpec, DesiredHost, InterfaceSpec, MeterSpec, PortSpec } from './desired.ts';

type Reader = Pick<Database, 'get' | 'all' | 'referrers'>;

const str = (o: Obj, f: string) => o.rec[f] as string;
const map = (o: Obj, f: string) => (o.rec[f] ?? {}) as Record<string, string>;

function firstReferrer(db: Reader, ref: string, cls: string, field: string): Obj | undefined {
  const r = db.referrers(ref, cls, field)[0];
  return r ? db.get(r) : undefined;
}

/** The OVS bond settings of a Bond (xcp-networkd's make_bond_properties). */
export function bondSpec(bond: Obj, master: Obj): BondSpec {
  const props = map(bond, 'properties');
  const mode = str(bond, 'mode');
  const overrides = Object.fromEntries(Object.entries(map(master, 'other_config')).filter(([k]) => k.startsWith('bond-') && k !== 'bond-mode').map(([k, v]) => [k.slice(5), v]));
  const otherConfig: Record<string, string> = { 'bond-detect-mode': 'carrier', 'bond-miimon-interval': '100' };
  const memberOtherConfig: Record<string, string> = {};
  let ovsMode: BondSpec['mode'];
  let lacp: BondSpec['lacp'] = 'off';
  if (mode === 'lacp') {
    lacp = 'active';
    ovsMode = props.hashing_algorithm === 'src_mac' ? 'balance-slb' : 'balance-tcp';
    if (props['lacp-time']) otherConfig['lacp-time'] = props['lacp-time'];
    if (props['lacp-fallback-ab']) otherConfig['lacp-fallback-ab'] = props['lacp-fallback-ab'];
    if (props['lacp-aggregation-key']) memberOtherConfig['lacp-aggregation-key'] = props['lacp-aggregation-key'];
  } else {
    ovsMode = mode === 'active-backup' ? 'active-backup' : 'balance-slb';
    otherConfig['bond-rebalance-interval'] = '1800000';
  }
  let updelay = 31000, downdelay = 200;
  for (const [k, v] of Object.entries(overrides)) {
    if (k === 'updelay' && /^\d+$/.test(v)) updelay = Number(v);
    else if (k === 'downdelay' && /^\d+$/.test(v)) downdelay = Number(v);
    else otherConfig[`bond-${k}`] = v;
  }
  return { mode: ovsMode, lacp, otherConfig, memberOtherConfig, updelay, downdelay };
}

/** A stable OpenFlow meter id per VIF (1..2^31), probing past collisions in uuid order. */
export function meterIds(vifUuids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const u of [...vifUuids].sort()) {
    let id = (createHash('sha256').update(u).digest().readUInt32BE(0) % 0x7ffffffe) + 1;
    while (used.has(id)) id = (id % 0x7ffffffe) + 1;
    used.add(id);
    out.set(u, id);
  }
  return out;
}

/** The effective locking mode of a VIF (network_default resolves to the network's default). */
export function effectiveMode(db: Reader, vif: Obj): 'locked' | 'unlocked' | 'disabled' {
  const m = str(vif, 'locking_mode');
  if (m === 'network_default') return (db.get(str(vif, 'network'))?.rec.default_locking_mode as 'unlocked' | 'disabled') ?? 'unlocked';
  return m as 'locked' | 'unlocked' | 'disabled';
}

/** The kilobytes-per-second limit of a VIF, when it has a valid one. */
export function vifRate(vif: Obj): number | undefined {
  if (str(vif, 'qos_algorithm_type') !== 'ratelimit') return undefined;
  const kbps = map(vif, 'qos_algorithm_params').kbps;
  return kbps && /^\d+$/.test(kbps) && Number(kbps) > 0 ? Number(kbps) : undefined;
}

/** The tunnel key of a private network (1..2^24-1, a VXLAN VNI fits too): the same on every host. */
export function tunnelKey(networkUuid: string): number {
  return (createHash('sha256').update(networkUuid).digest().readUInt32BE(0) % 0xfffffe) + 1;
}

export const vifPortName = (domid: number, device: string): string => `vif${domid}.${device}`;

export function compile(db: Reader, hostRef: string): DesiredHost {
  const host = db.get(hostRef);
  if (!host) throw new Error(`no host ${hostRef}`);
  const pool = db.all('pool').next().value as Obj | undefined;
  const pifs = db.referrers(hostRef, 'PIF', 'host').map((r) => db.get(r)!).sort((a, b) => str(a, 'device').localeCompare(str(b, 'device'), 'en', { numeric: true }) || (a.rec.VLAN as number) - (b.rec.VLAN as number));
  const netOf = (p: Obj) => db.get(str(p, 'network'))!;
  const mtuOf = (p: Obj) => Number(map(p, 'other_config').mtu) || (netOf(p).rec.MTU as number);

  const bridges = new Map<string, { name: string; mac?: string; ports: PortSpec[]; networkUuids: string[] }>();
  /** network ref -> { real bridge, tag } where its VIFs attach */
  const attach = new Map<string, { bridge: string; tag?: number }>();
  const interfaces: InterfaceSpec[] = [];
  const devices: { name: string; mtu: number }[] = [];

  const ensureBridge = (name: string, mac: string | undefined, networkUuid: string) => {
    let b = bridges.get(name);
    if (!b) bridges.set(name, (b = { name, mac, ports: [], networkUuids: [] }));
    if (mac && !b.mac) b.mac = mac;
    b.networkUuids.push(networkUuid);
    return b;
  };

  // 1. real bridges: attached physical PIFs that are not bond members, and attached bond masters
  for (const p of pifs) {
    if (!p.rec.currently_attached || !p.rec.managed) continue;
    const net = netOf(p);
    const bond = firstReferrer(db, p.ref, 'Bond', 'master');
    if (p.rec.physical && (p.rec.bond_slave_of === NULL_REF || !p.rec.bond_slave_of)) {
      const b = ensureBridge(str(net, 'bridge'), str(p, 'MAC'), str(net, 'uuid'));
      b.ports.push({ name: str(p, 'device'), kind: 'uplink', interfaces: [str(p, 'device')], type: '', mtu: mtuOf(p) });
      devices.push({ name: str(p, 'device'), mtu: mtuOf(p) });
      attach.set(net.ref, { bridge: str(net, 'bridge') });
    } else if (bond) {
      const slaves = db.referrers(bond.ref, 'PIF', 'bond_slave_of').map((r) => db.get(r)!).sort((a, b) => str(a, 'device').localeCompare(str(b, 'device'), 'en', { numeric: true }));
      const b = ensureBridge(str(net, 'bridge'), str(p, 'MAC'), str(net, 'uuid'));
      const members = slaves.map((s) => str(s, 'device'));
      b.ports.push(members.length > 1
        ? { name: str(p, 'device'), kind: 'bond', interfaces: members, type: '', bond: bondSpec(bond, p), mac: str(p, 'MAC'), mtu: mtuOf(p) }
        : { name: members[0], kind: 'uplink', interfaces: members, type: '', mtu: mtuOf(p) });
      for (const m of members) devices.push({ name: m, mtu: mtuOf(p) });
      attach.set(net.ref, { bridge: str(net, 'bridge') });
    }
  }

  // 2. VLAN networks: an internal port with the tag on the parent's bridge (an OVS fake bridge)
  for (const p of pifs) {
    const vlan = firstReferrer(db, p.ref, 'VLAN', 'untagged_PIF');
    if (!vlan || !p.rec.currently_attached) continue;
    const tagged = db.get(str(vlan, 'tagged_PIF'))!;
    const parent = attach.get(str(tagged, 'network'));
    if (!parent) continue; // the tagged PIF is not up: nothing to hang the VLAN on
    const net = netOf(p);
    const tag = vlan.rec.tag as number;
    bridges.get(parent.bridge)!.ports.push({ name: str(net, 'bridge'), kind: 'vlan', interfaces: [str(net, 'bridge')], type: 'internal', tag, fakeBridge: true, mtu: mtuOf(p) });
    bridges.get(parent.bridge)!.networkUuids.push(str(net, 'uuid'));
    attach.set(net.ref, { bridge: parent.bridge, tag });
  }

  // 2b. cross-server private networks: a bridge per tunnel network with a GRE (or VXLAN) port to
  // every other host that has the network plugged, keyed per network (poolnet's own controller)
  for (const p of pifs) {
    const t = firstReferrer(db, p.ref, 'tunnel', 'access_PIF');
    if (!t || !p.rec.currently_attached) continue;
    const transport = db.get(str(t, 'transport_PIF'));
    if (!transport || !str(transport, 'IP')) continue;
    const net = netOf(p);
    const b = ensureBridge(str(net, 'bridge'), str(p, 'MAC'), str(net, 'uuid'));
    attach.set(net.ref, { bridge: str(net, 'bridge') });
    const key = String(tunnelKey(str(net, 'uuid')));
    const names: string[] = [];
    for (const r of db.referrers(net.ref, 'PIF', 'network')) {
      const other = db.get(r)!;
      if (other.rec.host === hostRef || !other.rec.currently_attached) continue;
      const ot = firstReferrer(db, other.ref, 'tunnel', 'access_PIF');
      const remote = ot ? (db.get(str(ot, 'transport_PIF'))?.rec.IP as string | undefined) : undefined;
      if (!ot || !remote) continue;
      const proto = str(t, 'protocol') === 'vxlan' ? 'vxlan' : 'gre';
      const name = `${proto === 'gre' ? 'gre' : 'vx'}${key}.${str(db.get(str(other, 'host'))!, 'uuid').slice(0, 4)}`.slice(0, 15);
      names.push(name);
      // split horizon: a protected port's traffic never goes out of another protected port, so
      // what comes in from a tunnel goes to the local ports only, never around the mesh, while
      // the switch learns (and relearns, after a migration) where each VM is
      b.ports.push({ name, kind: 'tunnel', interfaces: [name], type: proto, options: { remote_ip: remote, local_ip: str(transport, 'IP'), key }, protected: true });
    }
  }

  // 3. VIFs of VMs running here; internal networks get a bridge of their own on demand
  const vms = db.referrers(hostRef, 'VM', 'resident_on').map((r) => db.get(r)!).filter((vm) => vm.rec.power_state === 'Running' && !vm.rec.is_control_domain);
  const locks = new Map<string, VifLock[]>();
  const vifsByBridge = new Map<string, string[]>();
  const pending: { bridge: string; port: PortSpec; lock: VifLock; uuid: string; rate?: number }[] = [];
  const detachedVifs: string[] = [];
  for (const vm of vms.sort((a, b) => (a.rec.domid as number) - (b.rec.domid as number))) {
    for (const vifRef of db.referrers(vm.ref, 'VIF', 'VM')) {
      const vif = db.get(vifRef)!;
      if (!vif.rec.currently_attached) continue;
      const net = db.get(str(vif, 'network'));
      if (!net) continue;
      let where = attach.get(net.ref);
      if (!where) {
        const onNet = db.referrers(net.ref, 'PIF', 'network').map((r) => db.get(r)!);
        if (onNet.some((x) => x.rec.host === hostRef)) continue; // the network's PIF here is down
        ensureBridge(str(net, 'bridge'), undefined, str(net, 'uuid'));
        where = { bridge: str(net, 'bridge') };
        attach.set(net.ref, where);
      }
      const mode = effectiveMode(db, vif);
      const name = vifPortName(vm.rec.domid as number, str(vif, 'device'));
      const trunks = vif.rec.trunks as number[];
      // a disabled VIF leaves the bridge altogether (no traffic either way), as xapi does
      if (mode === 'disabled') detachedVifs.push(name);
      else {
        pending.push({
          bridge: where.bridge, uuid: str(vif, 'uuid'), rate: vifRate(vif),
          port: { name, kind: 'vif', interfaces: [name], type: '', tag: where.tag, trunks: trunks.length ? trunks : undefined, mtu: Number(map(vif, 'other_config').mtu) || (net.rec.MTU as number),
            externalIds: { 'xs-vif-uuid': str(vif, 'uuid'), 'xs-vm-uuid': str(vm, 'uuid'), 'xs-network-uuid': str(net, 'uuid'), 'attached-mac': str(vif, 'MAC') },
            lock: { mode, mac: str(vif, 'MAC'), ipv4: vif.rec.ipv4_allowed as string[], ipv6: vif.rec.ipv6_allowed as string[] }, rateKbps: vifRate(vif) },
          lock: { port: name, vifUuid: str(vif, 'uuid'), mac: str(vif, 'MAC'), mode, ipv4: vif.rec.ipv4_allowed as string[], ipv6: vif.rec.ipv6_allowed as string[] },
        });
      }
    }
  }
  const meters: Record<string, MeterSpec[]> = {};
  for (const v of pending) vifsByBridge.set(v.bridge, [...(vifsByBridge.get(v.bridge) ?? []), v.uuid]);
  const ids = new Map<string, Map<string, number>>([...vifsByBridge].map(([b, us]) => [b, meterIds(us)]));
  for (const v of pending) {
    const meter = v.rate ? ids.get(v.bridge)!.get(v.uuid)! : undefined;
    if (meter) (meters[v.bridge] ??= []).push({ id: meter, kbits: meterKbits(v.rate!), vif: v.uuid });
    bridges.get(v.bridge)!.ports.push(v.port);
    const l = locks.get(v.bridge) ?? [];
    l.push({ ...v.lock, meter });
    locks.set(v.bridge, l);
  }

  // 4. addresses: on the bridge device of each PIF with an IP configuration (management first)
  let defaultRoute: DesiredHost['defaultRoute'];
  let dnsPif: Obj | undefined;
  for (const p of pifs) {
    if (!p.rec.currently_attached || firstReferrer(db, p.ref, 'tunnel', 'access_PIF')) continue;
    if (p.rec.bond_slave_of && p.rec.bond_slave_of !== NULL_REF) continue;
    const v4 = str(p, 'ip_configuration_mode'), v6 = str(p, 'ipv6_configuration_mode');
    if (v4 === 'None' && v6 === 'None' && !p.rec.management) continue;
    const net = netOf(p);
    const oc = map(p, 'other_config');
    const spec: InterfaceSpec = {
      device: str(net, 'bridge'), pif: str(p, 'uuid'), mtu: mtuOf(p), management: !!p.rec.management,
      ipv4: v4 === 'Static' ? { mode: 'static', address: `${str(p, 'IP')}/${prefixOfNetmask(str(p, 'netmask'))}`, gateway: str(p, 'gateway') || undefined } : { mode: v4 === 'DHCP' ? 'dhcp' : 'none' },
      ipv6: { mode: v6.toLowerCase() as InterfaceSpec['ipv6']['mode'], addresses: (p.rec.IPv6 as string[]).filter(Boolean), gateway: str(p, 'ipv6_gateway') || undefined },
      routes: (map(net, 'other_config')['static-routes'] ?? '').split(',').filter(Boolean).map((r) => { const [subnet, len, gateway] = r.split('/'); return { subnet: `${subnet}/${len}`, gateway }; }),
    };
    interfaces.push(spec);
    // xapi: the PIF marked defaultroute/peerdns wins, else the management interface
    if (spec.ipv4.gateway && (oc.defaultroute === 'true' || (!defaultRoute && p.rec.management))) defaultRoute = { device: spec.device, gateway: spec.ipv4.gateway };
    if (oc.peerdns === 'true' || (!dnsPif && p.rec.management)) dnsPif = p;
  }
  interfaces.sort((a, b) => Number(b.management) - Number(a.management) || a.device.localeCompare(b.device));
  const dns = dnsPif && str(dnsPif, 'ip_configuration_mode') === 'Static'
    ? { nameservers: str(dnsPif, 'DNS').split(',').filter(Boolean), search: (map(dnsPif, 'other_config').domain ?? '').split(',').filter(Boolean) }
    : undefined;

  const bridgeList: BridgeSpec[] = [...bridges.values()].sort((a, b) => a.name.localeCompare(b.name)).map((b) => ({
    name: b.name, mac: b.mac, ports: b.ports, externalIds: { 'xs-network-uuids': b.networkUuids.join(';') },
    mcastSnooping: !!pool?.rec.igmp_snooping_enabled,
  }));
  const flows = Object.fromEntries(bridgeList.map((b) => [b.name, bridgeFlows(locks.get(b.name) ?? [])]));
  return { hostname: str(host, 'hostname'), bridges: bridgeList, interfaces, defaultRoute, dns, flows, meters, devices, detachedVifs };
}
