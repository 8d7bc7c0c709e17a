// compile(db, host): the host's desired networking, derived from the pool database alone.
// Pure: no I/O, same input, same output (golden tests pin it). Mirrors xapi's Nm.bring_pif_up
// (bridges, bonds, VLAN fake bridges, addresses) and setup-vif-rules (port locking).
//
// Every value that will reach a switch, the kernel, a file or another program is checked again
// here (checked.ts): the API checks what it stores, but the replica and an older database are
// hostile too. A bad object is left out and reported in `rejected`; the rest of the host's state
// is unaffected. Leaving out never widens what a VIF may send: a bad allowed address is dropped
// (the VIF passes less), a VIF whose identity (port name, MAC, trunks, locking mode) is bad
// is left off the switch, and a bad optional setting (an MTU, a bond delay, a rate) falls back
// to its default.

import { createHash } from 'node:crypto';
import { NULL_REF, type ClassName } from '../model/index.ts';
import { isBondMode, isDnsList, isDomain, isIpv4, isIpv6 } from '../model/valid.ts';
import { effectiveLockingMode, isNetworkDefaultLockingMode, prefixOfNetmask, vifRate as domainVifRate, type LockingMode } from '../domain/index.ts';
import {
  asHostname, asIpv4, asIpv4Match, asIpv6, asIpv6Cidr, asIpv6Match, asMac, asMtu, asNameserver, asNetmask,
  asSearchDomain, asVlanTag, CheckError, checkBridge, checkPort, intText, isTextIfName, isUuid, textChecks,
} from './checked.ts';
import type { BondSpec, BridgeSpec, DesiredHost, InterfaceSpec, PortSpec, VifLockSpec } from './desired.ts';
import { firstReferrer, map, read, referrers, str, type Raw, type Reader } from './raw.ts';
import { Rejections } from './rejections.ts';
import { migrationOfport, migrationOrder } from '../domain/migration.ts';

const IGNORED = 'the value is ignored (the default applies)';

/** The OVS bond settings of a Bond (xcp-networkd's make_bond_properties), bad properties left at their defaults. */
export function bondSpec(bond: Raw<'Bond'>, master: Raw<'PIF'>, rej: Rejections = new Rejections()): BondSpec {
  const props = map(bond, 'properties');
  const mode = str(bond, 'mode');
  if (!isBondMode(mode)) rej.add(bond, 'mode', bond.rec.mode, 'balance-slb is used');
  const prop = (k: string, ok: (s: string) => boolean): string | undefined => {
    const v = props[k];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && ok(v)) return v;
    rej.add(bond, `properties:${k}`, v, IGNORED);
    return undefined;
  };
  const otherConfig: Record<string, string> = { 'bond-detect-mode': 'carrier', 'bond-miimon-interval': '100' };
  const memberOtherConfig: Record<string, string> = {};
  let ovsMode: BondSpec['mode'];
  let lacp: BondSpec['lacp'] = 'off';
  if (mode === 'lacp') {
    lacp = 'active';
    ovsMode = prop('hashing_algorithm', textChecks.hashingAlgorithm) === 'src_mac' ? 'balance-slb' : 'balance-tcp';
    const time = prop('lacp-time', textChecks.lacpTime);
    if (time) otherConfig['lacp-time'] = time;
    const fallback = prop('lacp-fallback-ab', textChecks.boolText);
    if (fallback) otherConfig['lacp-fallback-ab'] = fallback;
    const key = prop('lacp-aggregation-key', textChecks.lacpAggregationKey);
    if (key) memberOtherConfig['lacp-aggregation-key'] = key;
  } else {
    ovsMode = mode === 'active-backup' ? 'active-backup' : 'balance-slb';
    otherConfig['bond-rebalance-interval'] = '1800000';
  }
  let updelay = 31000, downdelay = 200;
  // the master PIF's other_config:bond-<key>: only the keys poolnet knows are read
  for (const [key, v] of Object.entries(map(master, 'other_config'))) {
    if (!key.startsWith('bond-') || key === 'bond-mode') continue;
    const k = key.slice(5);
    const ok = k === 'detect-mode' ? textChecks.bondDetectMode : ['updelay', 'downdelay', 'miimon-interval', 'rebalance-interval'].includes(k) ? textChecks.millis : undefined;
    if (!ok) continue;
    if (typeof v !== 'string' || !ok(v)) { rej.add(master, `other_config:${key}`, v, IGNORED); continue; }
    if (k === 'updelay') updelay = Number(v);
    else if (k === 'downdelay') downdelay = Number(v);
    else otherConfig[key] = v;
  }
  return { mode: ovsMode, lacp, otherConfig, memberOtherConfig, updelay, downdelay };
}

/**
 * The effective locking mode of a VIF (the rule: src/domain/locking.ts), or undefined when the
 * database holds no mode poolnet knows (the caller leaves the VIF off the switch).
 */
export function effectiveMode(db: Reader, vif: Raw<'VIF'>, rej: Rejections = new Rejections()): LockingMode | undefined {
  const net = read(db, 'network', str(vif, 'network'));
  const mode = effectiveLockingMode(vif.rec.locking_mode, net?.rec);
  if (mode === undefined) rej.add(vif, 'locking_mode', vif.rec.locking_mode, 'the VIF is left off the switch (it passes nothing)');
  else if (vif.rec.locking_mode === 'network_default' && net && !isNetworkDefaultLockingMode(net.rec.default_locking_mode)) {
    rej.add(net, 'default_locking_mode', net.rec.default_locking_mode, 'its VIFs in network_default mode are disabled');
  }
  return mode;
}

/** The kilobytes-per-second limit of a VIF (the rule: src/domain/qos.ts), when it has one a meter can carry. */
export function vifRate(vif: Raw<'VIF'>, rej: Rejections = new Rejections()): number | undefined {
  const r = domainVifRate(vif.rec.qos_algorithm_type, vif.rec.qos_algorithm_params);
  if (r.kind === 'invalid') rej.add(vif, 'qos_algorithm_params:kbps', r.value, 'no rate limit is set (not a rate an OpenFlow meter can carry)');
  return r.kind === 'limit' ? r.kbps : undefined;
}

/** The tunnel key of a private network (1..2^24-1, a VXLAN VNI fits too): the same on every host. */
export function tunnelKey(networkUuid: string): number {
  return (createHash('sha256').update(networkUuid).digest().readUInt32BE(0) % 0xfffffe) + 1;
}

export const vifPortName = (domid: number, device: string): string => `vif${domid}.${device}`;

const LEFT_OUT = 'the object is left out of the host\'s desired state';
const OFF = 'the VIF is left off the switch (it passes nothing)';

/** Rejections that also count every attempt (a repeated one too): what a VIF's memo must not skip. */
class CountedRejections extends Rejections {
  attempts = 0;
  override add(o: Parameters<Rejections['add']>[0], field: string, value: unknown, outcome: string): void { this.attempts++; super.add(o, field, value, outcome); }
}

/**
 * A VIF's port as the last compile() built it, and what it was built from: the records of the
 * VIF, its VM and its network (the store gives an object a new record on every change, so the
 * same records mean the same values) and its attachment point. Only a port whose building
 * rejected nothing is remembered, so that reusing it leaves the rejections as they would be.
 * With it, a change to one VIF rebuilds that VIF's port alone, and every other port is the same
 * object as before (the backends key their own caches on it).
 */
interface VifMemo { readonly vif: object; readonly vm: object; readonly net: object; readonly host: string; readonly bridge: string; readonly tag?: number; readonly port: PortSpec | 'detached' | 'off' }
const vifMemo = new WeakMap<object, VifMemo>();

/** A bridge while compile() fills it (`owner`: its first network, named in a rejection of the bridge). */
interface BridgeBuild { name: string; mac?: string; ports: PortSpec[]; networkUuids: string[]; owner: Raw<'network'> }

const HELD = 'the bridge is left on the switch exactly as it is (neither changed nor removed)';
const HELD_PORT = 'the port is left on the switch exactly as it is (neither changed nor removed)';

/**
 * What the stages of compile() share: the database, the rejections, this host's PIFs that can be
 * realised, and the bridges, VIF attachment points and devices built so far.
 */
class HostBuild {
  readonly rej = new CountedRejections();
  readonly bridges = new Map<string, BridgeBuild>();
  /** network ref -> { real bridge, tag } where its VIFs attach */
  readonly attach = new Map<string, { bridge: string; tag?: number }>();
  readonly devices: { name: string; mtu: number }[] = [];
  /** Switch objects held as they are: a value of theirs failed its check (desired.ts HeldSwitch). */
  readonly held = { bridges: new Set<string>(), networks: new Set<string>(), ports: new Set<string>() };
  /** This host's PIFs that can be realised (a device name fit for text, on a usable network), in device order. */
  readonly pifs: Raw<'PIF'>[];
  private readonly netChecked = new Map<string, Raw<'network'> | undefined>();

  constructor(readonly db: Reader, readonly hostRef: string) {
    this.pifs = referrers(db, hostRef, 'PIF', 'host').filter((p) => this.goodPif(p))
      .sort((a, b) => str(a, 'device').localeCompare(str(b, 'device'), 'en', { numeric: true }) || (a.rec.VLAN as number) - (b.rec.VLAN as number));
  }

  /** A network with a bridge name and uuid fit for text; checked once each. */
  goodNet(ref: unknown): Raw<'network'> | undefined {
    if (typeof ref !== 'string') return undefined;
    if (this.netChecked.has(ref)) return this.netChecked.get(ref);
    const n = read(this.db, 'network', ref);
    let ok = n;
    // its bridge on the switch is held (found by name, or by the network's uuid among its networks)
    if (n && !isTextIfName(str(n, 'bridge'))) { this.rej.add(n, 'bridge', n.rec.bridge, `${LEFT_OUT}, with its PIFs and VIFs on this host; ${HELD}`); ok = undefined; }
    else if (n && !isUuid(str(n, 'uuid'))) { this.rej.add(n, 'uuid', n.rec.uuid, `${LEFT_OUT}, with its PIFs and VIFs on this host; ${HELD}`); ok = undefined; }
    if (n && !ok) {
      if (isTextIfName(str(n, 'bridge'))) this.held.bridges.add(str(n, 'bridge'));
      if (isUuid(str(n, 'uuid'))) this.held.networks.add(str(n, 'uuid'));
    }
    this.netChecked.set(ref, ok);
    return ok;
  }

  private goodPif(p: Raw<'PIF'>): boolean {
    if (!isTextIfName(str(p, 'device'))) {
      // its network's bridge is held: which of its ports was this PIF's is not known
      const n = this.goodNet(p.rec.network);
      this.rej.add(p, 'device', p.rec.device, n ? `${LEFT_OUT}; its network's bridge ${str(n, 'bridge')} is left on the switch exactly as it is` : LEFT_OUT);
      if (n) this.held.bridges.add(str(n, 'bridge'));
      return false;
    }
    return !!this.goodNet(p.rec.network);
  }

  netOf(p: Raw<'PIF'>): Raw<'network'> { return this.goodNet(p.rec.network)!; }
  netMtu(n: Raw<'network'>): number | undefined { return this.rej.take(n, 'MTU', n.rec.MTU, asMtu, 'the MTU is left at its default'); }

  /** A PIF's other_config:mtu, else its network's MTU. */
  mtuOf(p: Raw<'PIF'>): number | undefined {
    const own = map(p, 'other_config').mtu;
    if (own !== undefined && own !== '') {
      const v = this.rej.take(p, 'other_config:mtu', intText(own) ?? own, asMtu, 'the network\'s MTU is used');
      if (v !== undefined) return v;
    }
    return this.netMtu(this.netOf(p));
  }

  macOf(p: Raw<'PIF'>): string | undefined {
    return p.rec.MAC === '' ? '' : this.rej.take(p, 'MAC', p.rec.MAC, asMac, 'the device keeps the address it has');
  }

  firstReferrer<C extends ClassName>(ref: string, cls: C, field: string): Raw<C> | undefined { return firstReferrer(this.db, ref, cls, field); }

  ensureBridge(name: string, mac: string | undefined, net: Raw<'network'>): BridgeBuild {
    let b = this.bridges.get(name);
    if (!b) this.bridges.set(name, (b = { name, mac, ports: [], networkUuids: [], owner: net }));
    if (mac && !b.mac) b.mac = mac;
    b.networkUuids.push(str(net, 'uuid'));
    return b;
  }
}

/** Bridges: each attached physical PIF that is not a bond member, and each attached bond master (xapi's Nm.bring_pif_up). */
function uplinks(h: HostBuild): void {
  for (const p of h.pifs) {
    if (!p.rec.currently_attached || !p.rec.managed) continue;
    const bond = h.firstReferrer(p.ref, 'Bond', 'master');
    // read (and its values checked) for every attached PIF, whatever it turns out to be
    const mtu = h.mtuOf(p);
    if (p.rec.physical && (p.rec.bond_slave_of === NULL_REF || !p.rec.bond_slave_of)) physicalUplink(h, p, mtu);
    else if (bond) bondUplink(h, p, bond, mtu);
  }
}

/** A NIC as its network's bridge's uplink. */
function physicalUplink(h: HostBuild, p: Raw<'PIF'>, mtu: number | undefined): void {
  const net = h.netOf(p);
  const b = h.ensureBridge(str(net, 'bridge'), h.macOf(p), net);
  b.ports.push({ name: str(p, 'device'), kind: 'uplink', interfaces: [str(p, 'device')], type: '', mtu });
  h.devices.push({ name: str(p, 'device'), mtu: mtu ?? 1500 });
  h.attach.set(net.ref, { bridge: str(net, 'bridge') });
}

/** Bonds: the members of a bond master's bond as one port of its network's bridge (one member: a plain uplink). */
function bondUplink(h: HostBuild, p: Raw<'PIF'>, bond: Raw<'Bond'>, mtu: number | undefined): void {
  const net = h.netOf(p);
  const slaves = referrers(h.db, bond.ref, 'PIF', 'bond_slave_of')
    .filter((s) => isTextIfName(str(s, 'device')) || (h.rej.add(s, 'device', s.rec.device, 'the bond member is left out'), false))
    .sort((a, b) => str(a, 'device').localeCompare(str(b, 'device'), 'en', { numeric: true }));
  if (!slaves.length) return;
  const mac = h.macOf(p);
  const b = h.ensureBridge(str(net, 'bridge'), mac, net);
  const members = slaves.map((s) => str(s, 'device'));
  b.ports.push(members.length > 1
    ? { name: str(p, 'device'), kind: 'bond', interfaces: members, type: '', bond: bondSpec(bond, p, h.rej), mac, mtu }
    : { name: members[0], kind: 'uplink', interfaces: members, type: '', mtu });
  for (const m of members) h.devices.push({ name: m, mtu: mtu ?? 1500 });
  h.attach.set(net.ref, { bridge: str(net, 'bridge') });
}

/** VLAN networks: an internal port with the tag on the parent's bridge (an OVS fake bridge); their VIFs attach there, tagged. */
function vlans(h: HostBuild): void {
  for (const p of h.pifs) {
    const vlan = h.firstReferrer(p.ref, 'VLAN', 'untagged_PIF');
    if (!vlan || !p.rec.currently_attached) continue;
    const tagged = read(h.db, 'PIF', str(vlan, 'tagged_PIF'));
    const parent = tagged && h.attach.get(str(tagged, 'network'));
    if (!parent) continue; // the tagged PIF is not up: nothing to hang the VLAN on
    const net = h.netOf(p);
    const tag = h.rej.take(vlan, 'tag', vlan.rec.tag, asVlanTag, `${LEFT_OUT}: its network and VIFs are not realised here; ${HELD_PORT}`);
    if (tag === undefined) { h.held.ports.add(str(net, 'bridge')); continue; }
    const b = h.bridges.get(parent.bridge)!;
    b.ports.push({ name: str(net, 'bridge'), kind: 'vlan', interfaces: [str(net, 'bridge')], type: 'internal', tag, fakeBridge: true, mtu: h.mtuOf(p) });
    b.networkUuids.push(str(net, 'uuid'));
    h.attach.set(net.ref, { bridge: parent.bridge, tag });
  }
}

/** A tunnel endpoint: the transport PIF's address, when it has one fit for OVSDB. */
function endpoint(h: HostBuild, pif: Raw<'PIF'>): string | undefined {
  const ip = str(pif, 'IP');
  if (ip === '') return undefined;
  if (isIpv4(ip) || isIpv6(ip)) return ip;
  h.rej.add(pif, 'IP', pif.rec.IP, 'no tunnel ends at this address');
  return undefined;
}

/**
 * Tunnels (cross-server private networks): a bridge per tunnel network with a GRE (or VXLAN)
 * port to every other host that has the network plugged, keyed per network (poolnet's own controller).
 */
function tunnels(h: HostBuild): void {
  for (const p of h.pifs) {
    const t = h.firstReferrer(p.ref, 'tunnel', 'access_PIF');
    if (!t || !p.rec.currently_attached) continue;
    const transport = read(h.db, 'PIF', str(t, 'transport_PIF'));
    const local = transport && endpoint(h, transport);
    if (!local) continue;
    const net = h.netOf(p);
    const b = h.ensureBridge(str(net, 'bridge'), h.macOf(p), net);
    h.attach.set(net.ref, { bridge: str(net, 'bridge') });
    const key = String(tunnelKey(str(net, 'uuid')));
    for (const other of referrers(h.db, net.ref, 'PIF', 'network')) {
      if (other.rec.host === h.hostRef || !other.rec.currently_attached) continue;
      const ot = h.firstReferrer(other.ref, 'tunnel', 'access_PIF');
      const otherTransport = ot && read(h.db, 'PIF', str(ot, 'transport_PIF'));
      const remote = otherTransport && endpoint(h, otherTransport);
      const otherHost = read(h.db, 'host', str(other, 'host'));
      if (!remote || !otherHost || !isUuid(str(otherHost, 'uuid'))) continue;
      const proto = str(t, 'protocol') === 'vxlan' ? 'vxlan' : 'gre';
      const name = `${proto === 'gre' ? 'gre' : 'vx'}${key}.${str(otherHost, 'uuid').slice(0, 4)}`.slice(0, 15);
      // split horizon: a protected port's traffic never goes out of another protected port, so
      // what comes in from a tunnel goes to the local ports only, never around the mesh, while
      // the switch learns (and relearns, after a migration) where each VM is
      b.ports.push({ name, kind: 'tunnel', interfaces: [name], type: proto, options: { remote_ip: remote, local_ip: local, key }, protected: true });
    }
  }
}

/** The VMs running here (not the control domain) whose domid and uuid are fit for port names and ids, by domid. */
function runningVms(h: HostBuild): Raw<'VM'>[] {
  return [...referrers(h.db, h.hostRef, 'VM', 'resident_on'), ...incomingVms(h)].filter((vm) => vm.rec.power_state === 'Running' && !vm.rec.is_control_domain)
    .filter((vm) => {
      const domid = vm.rec.domid;
      const ok = typeof domid === 'number' && Number.isSafeInteger(domid) && domid >= 0 && domid < 0x7fffffff;
      if (!ok) h.rej.add(vm, 'domid', domid, 'its VIFs are left off the switch');
      else if (!isUuid(str(vm, 'uuid'))) h.rej.add(vm, 'uuid', vm.rec.uuid, 'its VIFs are left off the switch');
      return ok && isUuid(str(vm, 'uuid'));
    })
    .sort((a, b) => (a.rec.domid as number) - (b.rec.domid as number));
}

/** VMs migrating here (src/domain/migration.ts): their ports are readied under the domain id they will have here. */
function incomingVms(h: HostBuild): Raw<'VM'>[] {
  return [...h.db.all('VM')].flatMap((vm) => {
    const o = migrationOrder(vm.rec.migration);
    return o?.destination === h.hostRef && vm.rec.resident_on !== h.hostRef ? [{ ...vm, rec: { ...vm.rec, domid: o.domid }, incoming: true }] : [];
  });
}

const incomingOfport = (vm: Raw<'VM'>, device: string): { ofportRequest?: number } => {
  const n = 'incoming' in vm ? migrationOfport(vm.rec.domid as number, device) : undefined;
  return n === undefined ? {} : { ofportRequest: n };
};

/** VIF locks: what a VIF of effective mode `mode` may send. A bad allowed address is dropped (the VIF then passes less, never more). */
function vifLock(h: HostBuild, vif: Raw<'VIF'>, mode: LockingMode, mac: string): VifLockSpec {
  const allowed = <T>(field: 'ipv4_allowed' | 'ipv6_allowed', check: (v: unknown, f: string) => T) => {
    if (!Array.isArray(vif.rec[field])) { h.rej.add(vif, field, vif.rec[field], 'no address of this family is allowed'); return []; }
    return (vif.rec[field] as unknown[]).flatMap((a) => { const v = h.rej.take(vif, field, a, check, 'the entry is left out (the VIF may send less, never more)'); return v === undefined ? [] : [String(v)]; });
  };
  return { mode, mac, ipv4: allowed('ipv4_allowed', asIpv4Match), ipv6: allowed('ipv6_allowed', asIpv6Match) };
}

/** A VIF's trunks, or undefined (reported: the VIF is left off the switch) when one is not a VLAN tag. */
function vifTrunks(h: HostBuild, vif: Raw<'VIF'>): number[] | undefined {
  const raw = Array.isArray(vif.rec.trunks) ? vif.rec.trunks : undefined;
  const trunks = raw?.map((t) => h.rej.take(vif, 'trunks', t, asVlanTag, OFF));
  if (!trunks) { h.rej.add(vif, 'trunks', vif.rec.trunks, OFF); return undefined; }
  return trunks.some((t) => t === undefined) ? undefined : trunks as number[];
}

/** Where a VIF's network attaches here: its bridge (an internal network gets one on demand), or undefined when its PIF here is down. */
function attachPoint(h: HostBuild, net: Raw<'network'>): { bridge: string; tag?: number } | undefined {
  const where = h.attach.get(net.ref);
  if (where) return where;
  const onNet = referrers(h.db, net.ref, 'PIF', 'network');
  if (onNet.some((x) => x.rec.host === h.hostRef)) return undefined; // the network's PIF here is down (or left out)
  h.ensureBridge(str(net, 'bridge'), undefined, net);
  const made = { bridge: str(net, 'bridge') };
  h.attach.set(net.ref, made);
  return made;
}

/**
 * VIF ports of the VMs running here, with their locks and rates (QoS), in domid and device order,
 * after every uplink, VLAN and tunnel port of their bridge. Returns the devices of disabled VIFs,
 * which leave the bridge altogether (no traffic either way), as xapi does.
 */
function vifPorts(h: HostBuild): string[] {
  const placed: { bridge: string; port: PortSpec }[] = [];
  const detached: string[] = [];
  for (const vm of runningVms(h)) {
    // in device order: the referrer order changes with every write to a VIF
    const vifs = referrers(h.db, vm.ref, 'VIF', 'VM')
      .sort((a, b) => str(a, 'device').localeCompare(str(b, 'device'), 'en', { numeric: true }) || str(a, 'uuid').localeCompare(str(b, 'uuid')));
    for (const vif of vifs) {
      if (!vif.rec.currently_attached) continue;
      const net = h.goodNet(vif.rec.network);
      const where = net && attachPoint(h, net);
      if (!net || !where) continue;
      const memo = vifMemo.get(vif);
      if (memo && memo.vif === vif.rec && memo.vm === vm.rec && memo.net === net.rec && memo.host === h.hostRef && memo.bridge === where.bridge && memo.tag === where.tag) {
        if (memo.port === 'detached') detached.push(vifPortName(vm.rec.domid as number, str(vif, 'device')));
        else if (memo.port !== 'off') placed.push({ bridge: where.bridge, port: memo.port });
        continue;
      }
      const attempts = h.rej.attempts;
      const built = vifPort(h, vm, vif, net, where);
      if (h.rej.attempts === attempts) vifMemo.set(vif, { vif: vif.rec, vm: vm.rec, net: net.rec, host: h.hostRef, bridge: where.bridge, tag: where.tag, port: built ?? 'off' });
      if (built === 'detached') detached.push(vifPortName(vm.rec.domid as number, str(vif, 'device')));
      else if (built) placed.push({ bridge: where.bridge, port: built });
    }
  }
  for (const v of placed) h.bridges.get(v.bridge)!.ports.push(v.port);
  return detached;
}

/** One VIF's port on its bridge, 'detached' (a disabled VIF leaves the bridge), or undefined (left off the switch; reported). */
function vifPort(h: HostBuild, vm: Raw<'VM'>, vif: Raw<'VIF'>, net: Raw<'network'>, where: { bridge: string; tag?: number }): PortSpec | 'detached' | undefined {
  const name = vifPortName(vm.rec.domid as number, str(vif, 'device'));
  if (!/^\d{1,4}$/.test(str(vif, 'device')) || !isTextIfName(name)) { h.rej.add(vif, 'device', vif.rec.device, OFF); return undefined; }
  if (!isUuid(str(vif, 'uuid'))) { h.rej.add(vif, 'uuid', vif.rec.uuid, OFF); return undefined; }
  const mode = effectiveMode(h.db, vif, h.rej);
  if (mode === undefined) return undefined;
  if (mode === 'disabled') return 'detached';
  const mac = h.rej.take(vif, 'MAC', vif.rec.MAC, asMac, OFF);
  if (mac === undefined) return undefined;
  const trunks = vifTrunks(h, vif);
  if (trunks === undefined) return undefined;
  const lock = vifLock(h, vif, mode, mac);
  const ownMtu = map(vif, 'other_config').mtu;
  const mtu = (ownMtu !== undefined && ownMtu !== '' ? h.rej.take(vif, 'other_config:mtu', intText(ownMtu) ?? ownMtu, asMtu, 'the network\'s MTU is used') : undefined) ?? h.netMtu(net);
  return { name, kind: 'vif', interfaces: [name], type: '', tag: where.tag, trunks: trunks.length ? trunks : undefined, mtu,
    externalIds: { 'xs-vif-uuid': str(vif, 'uuid'), 'xs-vm-uuid': str(vm, 'uuid'), 'xs-network-uuid': str(net, 'uuid'), 'attached-mac': lock.mac },
    vifUuid: str(vif, 'uuid'), lock, rateKbps: vifRate(vif, h.rej),
    // a migrating VIF's port is numbered in advance, so that its flows wait for its device
    ...incomingOfport(vm, str(vif, 'device')) };
}

/** The host OS: addresses on the bridge device of each PIF with an IP configuration (management first), the default route, DNS. */
function hostOs(h: HostBuild): Pick<DesiredHost, 'interfaces' | 'defaultRoute' | 'dns'> & { frozenDevices: string[] } {
  const interfaces: InterfaceSpec[] = [];
  let defaultRoute: DesiredHost['defaultRoute'];
  let dnsPif: Raw<'PIF'> | undefined;
  const frozenDevices: string[] = [];
  const FROZEN = 'its IP configuration is left out (the addresses on its bridge are left as they are)';
  for (const p of h.pifs) {
    if (!p.rec.currently_attached || h.firstReferrer(p.ref, 'tunnel', 'access_PIF')) continue;
    if (p.rec.bond_slave_of && p.rec.bond_slave_of !== NULL_REF) continue;
    const v4 = str(p, 'ip_configuration_mode'), v6 = str(p, 'ipv6_configuration_mode');
    if (v4 === 'None' && v6 === 'None' && !p.rec.management) continue;
    const net = h.netOf(p);
    const oc = map(p, 'other_config');
    const spec = interfaceSpec(p, net, v4, v6, h.mtuOf(p), h.rej, FROZEN);
    if (!spec) { frozenDevices.push(str(net, 'bridge')); continue; }
    interfaces.push(spec);
    // xapi: the PIF marked defaultroute/peerdns wins, else the management interface
    if (spec.ipv4.gateway && (oc.defaultroute === 'true' || (!defaultRoute && p.rec.management))) defaultRoute = { device: spec.device, gateway: spec.ipv4.gateway };
    if (oc.peerdns === 'true' || (!dnsPif && p.rec.management)) dnsPif = p;
  }
  interfaces.sort((a, b) => Number(b.management) - Number(a.management) || a.device.localeCompare(b.device));
  const dns = dnsPif && str(dnsPif, 'ip_configuration_mode') === 'Static' ? dnsOf(dnsPif, h.rej) : undefined;
  return { interfaces, defaultRoute, dns, frozenDevices };
}

/** Ports found fit for OVSDB (compile() gives an unchanged VIF the same PortSpec: checked once). */
const fitPorts = new WeakSet<PortSpec>();

/**
 * The bridges and ports as the backends check them where their rows are built (checked.ts): one
 * that fails is reported here and held (left on the switch as it is), never left out to be
 * deleted (a NIC's bridge once was, with the NIC, for a 256-character check). A VIF's port that
 * fails is left off the switch, as every VIF compile() cannot realise: it passes nothing.
 */
function fitForSwitch(h: HostBuild, bridges: BridgeSpec[]): BridgeSpec[] {
  const fail = (check: () => void): CheckError | undefined => { try { check(); return undefined; } catch (e) { if (e instanceof CheckError) return e; throw e; } };
  const out: BridgeSpec[] = [];
  for (const b of bridges) {
    const owner = h.bridges.get(b.name)!.owner;
    const bad = fail(() => checkBridge(b));
    if (bad) { h.rej.add(owner, bad.field, bad.value, `${HELD} (bridge ${b.name})`); h.held.bridges.add(b.name); continue; }
    const ports = b.ports.filter((p) => {
      if (fitPorts.has(p)) return true;
      const e = fail(() => checkPort(p));
      if (!e) { fitPorts.add(p); return true; }
      h.rej.add(owner, `port ${p.name}: ${e.field}`, e.value, p.kind === 'vif' ? OFF : HELD_PORT);
      if (p.kind !== 'vif') h.held.ports.add(p.name);
      return false;
    });
    out.push(ports.length === b.ports.length ? b : { ...b, ports });
  }
  return out;
}

/**
 * The host's desired networking, in stages: the bridges' uplinks and bonds, VLANs, tunnels, the
 * VIF ports (locks and rates), then the host OS (addresses, routes, DNS, hostname).
 */
export function compile(db: Reader, hostRef: string): DesiredHost {
  const host = read(db, 'host', hostRef);
  if (!host) throw new Error(`no host ${hostRef}`);
  const pool: Raw<'pool'> | undefined = db.all('pool').next().value;
  const h = new HostBuild(db, hostRef);
  uplinks(h);
  vlans(h);
  tunnels(h);
  const detachedVifs = vifPorts(h);
  const { interfaces, defaultRoute, dns, frozenDevices } = hostOs(h);
  const hostname = str(host, 'hostname') === '' ? '' : h.rej.take(host, 'hostname', host.rec.hostname, asHostname, 'the hostname is left as it is') ?? '';
  const bridges = fitForSwitch(h, [...h.bridges.values()].sort((a, b) => a.name.localeCompare(b.name)).map((b) => ({
    name: b.name, mac: b.mac, ports: b.ports, externalIds: { 'xs-network-uuids': b.networkUuids.join(';') },
    mcastSnooping: pool?.rec.igmp_snooping_enabled === true,
  })));
  const held = h.held.bridges.size + h.held.networks.size + h.held.ports.size
    ? { held: { bridges: [...h.held.bridges], networks: [...h.held.networks], ports: [...h.held.ports] } } : {};
  return {
    hostname, bridges, interfaces, defaultRoute, dns, devices: h.devices, detachedVifs,
    ...(frozenDevices.length ? { frozenDevices } : {}), ...(h.rej.list.length ? { rejected: h.rej.list } : {}), ...held,
  };
}

/** The IP configuration of a PIF's bridge, or undefined (reported) when a value of it is bad. */
function interfaceSpec(p: Raw<'PIF'>, net: Raw<'network'>, v4: string, v6: string, mtu: number | undefined, rej: Rejections, outcome: string): InterfaceSpec | undefined {
  if (!['None', 'DHCP', 'Static'].includes(v4)) { rej.add(p, 'ip_configuration_mode', p.rec.ip_configuration_mode, outcome); return undefined; }
  if (!['None', 'DHCP', 'Static', 'Autoconf'].includes(v6)) { rej.add(p, 'ipv6_configuration_mode', p.rec.ipv6_configuration_mode, outcome); return undefined; }
  let ipv4: InterfaceSpec['ipv4'] = { mode: v4 === 'DHCP' ? 'dhcp' : 'none' };
  if (v4 === 'Static') {
    const ip = rej.take(p, 'IP', p.rec.IP, asIpv4, outcome);
    const mask = rej.take(p, 'netmask', p.rec.netmask, asNetmask, outcome);
    const gw = str(p, 'gateway') === '' ? '' : rej.take(p, 'gateway', p.rec.gateway, asIpv4, outcome);
    if (ip === undefined || mask === undefined || gw === undefined) return undefined;
    ipv4 = { mode: 'static', address: `${ip}/${prefixOfNetmask(mask)}`, gateway: gw || undefined };
  }
  const addresses: string[] = [];
  for (const a of Array.isArray(p.rec.IPv6) ? p.rec.IPv6 as unknown[] : [p.rec.IPv6]) {
    if (a === '') continue;
    const v = rej.take(p, 'IPv6', a, asIpv6Cidr, outcome);
    if (v === undefined) return undefined;
    addresses.push(v);
  }
  const gw6 = str(p, 'ipv6_gateway') === '' ? '' : rej.take(p, 'ipv6_gateway', p.rec.ipv6_gateway, asIpv6, outcome);
  if (gw6 === undefined) return undefined;
  // other_config:static-routes: subnet/prefix/gateway entries; a bad one is left out alone
  const routes: { subnet: string; gateway: string }[] = [];
  const raw = map(net, 'other_config')['static-routes'];
  for (const r of typeof raw === 'string' ? raw.split(',').filter(Boolean) : raw === undefined ? [] : [raw]) {
    const [subnet, len, gateway, ...rest] = String(r).split('/');
    if (rest.length || !isIpv4(subnet) || !/^\d{1,2}$/.test(len ?? '') || Number(len) > 32 || !isIpv4(gateway ?? '')) { rej.add(net, 'other_config:static-routes', r, 'the route is left out'); continue; }
    routes.push({ subnet: `${subnet}/${len}`, gateway });
  }
  return {
    device: str(net, 'bridge'), pif: str(p, 'uuid'), mtu: mtu ?? 1500, management: p.rec.management === true, ipv4,
    ipv6: { mode: v6.toLowerCase() as InterfaceSpec['ipv6']['mode'], addresses, gateway: gw6 || undefined },
    routes,
  };
}

/** Name servers and search domains of the DNS PIF, or undefined (reported): resolv.conf is then left alone. */
function dnsOf(p: Raw<'PIF'>, rej: Rejections): DesiredHost['dns'] {
  const outcome = 'the DNS configuration is left as it is';
  if (p.rec.DNS !== undefined && (typeof p.rec.DNS !== 'string' || !isDnsList(p.rec.DNS))) { rej.add(p, 'DNS', p.rec.DNS, outcome); return undefined; }
  const domain = map(p, 'other_config').domain;
  if (domain !== undefined && (typeof domain !== 'string' || !isDomain(domain))) { rej.add(p, 'other_config:domain', domain, outcome); return undefined; }
  try {
    return {
      nameservers: str(p, 'DNS').split(',').filter(Boolean).map((n) => asNameserver(n)),
      search: (domain ?? '').split(/[ ,]+/).filter(Boolean).map((d) => asSearchDomain(d)),
    };
  } catch (e) {
    if (!(e instanceof CheckError)) throw e;
    rej.add(p, e.field, e.value, outcome);
    return undefined;
  }
}
