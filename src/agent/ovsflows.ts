// The Open vSwitch backend's language (pure): how the backend-neutral desired state's VIF locks
// and rates become OpenFlow tables and meters. Port locking is xapi's setup-vif-rules table for
// `locked`, expressed as ovs-ofctl flow text, one cookie per VIF so that one VIF's flows can be
// replaced without touching the others.
//
// Fail closed, beyond xapi's table: a bridge's table is an allow-list. Frames from the bridge's
// own ports (uplinks, bond members, VLAN and tunnel ports, the bridge's local port) are switched
// normally; frames from a VIF only by that VIF's own flows, and from any other port (a VIF whose
// flows are not in yet, or were refused) dropped by the table's last flow. xapi's table relies on
// a `priority=0,actions=NORMAL` catch-all, which forwards a VIF unfiltered whenever its flows are
// missing.
//
// VLANs: every allow flow of a VIF matches the VLANs the port carries: untagged and
// priority-tagged frames (VID 0), plus each VLAN of its `trunks`. Without that, `ip,nw_src=A`
// also matches a frame tagged with any VLAN (ovs-fields(7)). A frame with a second VLAN header
// behind the first (Open vSwitch parses one, `vlan-limit=1`, so its type reads 0x8100 or 0x88a8)
// is dropped from every VIF: behind a priority tag, an access port would forward it as untagged
// and the uplink would carry the inner tag into that VLAN (measured here with Open vSwitch 3.1).

import { createHash } from 'node:crypto';
import { bitsPerSecond } from '../domain/qos.ts';
import type { BridgeSpec, DesiredHost, PortSpec, VifLockSpec } from './desired.ts';
import { checkLock, isTextIfName, isUuid, orNone } from './checked.ts';
import type { LockingDropReason } from '../model/classes/vif.ts';

/** A VIF's effective locking (desired.ts), where it sits on the switch, and its meter. */
export interface VifLock extends VifLockSpec {
  /** The VIF's switch port name. */
  readonly port: string;
  readonly vifUuid: string;
  /** OpenFlow meter id for the VIF's rate limit, if any. */
  readonly meter?: number;
  /** VLANs the VIF carries tagged (its `trunks`), besides untagged frames. */
  readonly trunks?: readonly number[];
}

export interface Flow {
  readonly cookie: string;
  readonly priority: number;
  readonly match: string;
  readonly actions: string;
}

const cookies = new Map<string, string>();

/** A stable 64-bit cookie per VIF (never 0, which is the bridge's own flows). */
export function cookieOf(vifUuid: string): string {
  let c = cookies.get(vifUuid);
  if (c === undefined) {
    // remembered: compile() asks for every VIF's cookie on every pass
    if (cookies.size >= 65_536) cookies.clear();
    c = `0x${(createHash('sha256').update(vifUuid).digest().readBigUInt64BE(0) | 1n).toString(16)}`;
    cookies.set(vifUuid, c);
  }
  return c;
}

/** The final action of an allowed packet: through the VIF's meter if it has one, then normal switching. */
function pass(v: VifLock): string {
  return v.meter ? `meter:${v.meter},NORMAL` : 'NORMAL';
}

const ROUTER_ICMP6 = [134, 137, 146, 147, 151, 152, 153];

/** Untagged and priority-tagged frames (VID 0, any priority): what a VIF's port carries untagged. */
export const UNTAGGED = 'vlan_tci=0x0000/0x0fff';
/** A VIF whose flows the switch refused: everything it sends is dropped (ovs.ts installs it). */
export const QUARANTINE_PRIORITY = 10000;

/**
 * The priorities of a VIF's drop flows, one per reason a frame is dropped (the keys of the VIF's
 * `locking_drops`, src/model/classes/vif.ts). No allow flow shares a priority with a drop flow, so
 * the priority alone names the reason of a drop flow's counts (src/agent/dropstats.ts). The
 * drops below every allow flow of a locked VIF (4950 down to 4000) only split what the last flow
 * used to drop alone: which frames pass is the same.
 */
export const DROP = {
  quarantine: QUARANTINE_PRIORITY,
  /** A frame with a VLAN header behind the first one, above every flow of a VIF. */
  stacked: 9500,
  disabled: 9000,
  /** IPv6 neighbour solicitations and advertisements that no allow flow took. */
  neighbourDiscovery: 7100,
  /** IPv6 router advertisements, redirects and the other router ICMPv6. */
  routerIcmp6: 6100,
  /** IPv6 from the VIF's MAC and an allowed source, but neither ICMPv6, TCP nor UDP. */
  ipv6OtherProtocol: 4950,
  /** ARP from the VIF's MAC that no allow flow took (another sender MAC or address). */
  arp: 4900,
  /** IPv4 and IPv6 from the VIF's MAC with a source address not allowed. */
  foreignIp: 4800,
  /** Anything else from the VIF's MAC. */
  otherFromOwnMac: 4700,
  /** On a VLAN the port carries, from another MAC. */
  foreignMac: 4600,
  /** What is left of a locked VIF's frames: on a VLAN the port does not carry. */
  locked: 4000,
  /** An unlocked VIF's frames on a VLAN the port does not carry. */
  unlocked: 3000,
} as const;

/** The reason each drop priority stands for (the contract of `locking_drops`). */
export const DROP_REASON: ReadonlyMap<number, LockingDropReason> = new Map<number, LockingDropReason>([
  [DROP.quarantine, 'other'], [DROP.stacked, 'tagged'], [DROP.disabled, 'disabled'], [DROP.neighbourDiscovery, 'neighbour_spoof'],
  [DROP.routerIcmp6, 'router_advertisement'], [DROP.ipv6OtherProtocol, 'other'], [DROP.arp, 'neighbour_spoof'], [DROP.foreignIp, 'foreign_ip'],
  [DROP.otherFromOwnMac, 'other'], [DROP.foreignMac, 'foreign_mac'], [DROP.locked, 'tagged'], [DROP.unlocked, 'tagged'],
]);

/** The priority of an unlocked VIF's allow flows (apart from every drop priority). */
const UNLOCKED_PASS = 3500;

/** The VLAN matches of a VIF's allowed frames: untagged, then each trunk. */
function vlanMatches(v: VifLock): string[] {
  return [UNTAGGED, ...[...new Set(v.trunks ?? [])].sort((a, b) => a - b).map((t) => `dl_vlan=${t}`)];
}

/** The flows of one VIF. */
export function vifFlows(v: VifLock): Flow[] {
  // checked where the text is built (compile() checked them too): a bad value throws CheckError
  checkLock(v);
  const cookie = cookieOf(v.vifUuid);
  const at = (priority: number, match: string, actions: string): Flow => ({ cookie, priority, match: `in_port=${v.port}${match ? `,${match}` : ''}`, actions });
  if (v.mode === 'disabled') return [at(DROP.disabled, '', 'drop')];
  const out: Flow[] = [at(DROP.stacked, 'dl_type=0x8100', 'drop'), at(DROP.stacked, 'dl_type=0x88a8', 'drop')];
  const vlans = vlanMatches(v);
  if (v.mode === 'unlocked') {
    for (const vl of vlans) out.push(at(UNLOCKED_PASS, vl, pass(v)));
    out.push(at(DROP.unlocked, '', 'drop'));
    return out;
  }
  const M = v.mac.toLowerCase();
  // every allowed frame, once per VLAN the port carries
  const allow = (priority: number, match: string) => { for (const vl of vlans) out.push(at(priority, `${vl},${match}`, pass(v))); };
  allow(8000, `udp,dl_src=${M},tp_dst=67`);
  allow(7000, `arp,dl_src=${M},arp_sha=${M},arp_spa=0.0.0.0`);
  for (const a of v.ipv4) {
    allow(7000, `arp,dl_src=${M},arp_sha=${M},arp_spa=${a}`);
    allow(6000, `ip,dl_src=${M},nw_src=${a}`);
  }
  for (const a of v.ipv6) {
    allow(8000, `icmp6,dl_src=${M},ipv6_src=${a},icmp_type=135,nd_sll=${M}`);
    allow(8000, `icmp6,dl_src=${M},ipv6_src=${a},icmp_type=136,nd_target=${a}`);
    for (const proto of ['icmp6', 'tcp6', 'udp6']) allow(5000, `${proto},dl_src=${M},ipv6_src=${a}`);
  }
  out.push(at(DROP.neighbourDiscovery, 'icmp6,icmp_type=135', 'drop'), at(DROP.neighbourDiscovery, 'icmp6,icmp_type=136', 'drop'));
  for (const t of ROUTER_ICMP6) out.push(at(DROP.routerIcmp6, `icmp6,icmp_type=${t}`, 'drop'));
  // below every allow flow: what the last flow drops, told apart by reason
  const drop = (priority: number, match: string) => { for (const vl of vlans) out.push(at(priority, match ? `${vl},${match}` : vl, 'drop')); };
  for (const a of v.ipv6) drop(DROP.ipv6OtherProtocol, `ipv6,dl_src=${M},ipv6_src=${a}`);
  drop(DROP.arp, `arp,dl_src=${M}`);
  drop(DROP.foreignIp, `ip,dl_src=${M}`);
  drop(DROP.foreignIp, `ipv6,dl_src=${M}`);
  drop(DROP.otherFromOwnMac, `dl_src=${M}`);
  drop(DROP.foreignMac, '');
  out.push(at(DROP.locked, '', 'drop'));
  return out;
}

/** The order of String.prototype.localeCompare, without building a collator per comparison. */
const byName = new Intl.Collator();

/**
 * A bridge's whole table: normal switching for frames from the bridge's own ports (`ports` that
 * are not VIFs: their OpenFlow ports are their interfaces, a bond's members for a bond), the
 * per-VIF flows, and a last flow that drops what comes from anywhere else.
 */
export function bridgeFlows(vifs: readonly VifLock[], ports: readonly PortSpec[]): Flow[] {
  const base = (priority: number, match: string, actions: string): Flow => ({ cookie: '0x0', priority, match, actions });
  const own = [...new Set(ports.filter((p) => p.kind !== 'vif').flatMap((p) => p.interfaces))].filter(isTextIfName).sort((a, b) => byName.compare(a, b));
  const flows: Flow[] = [base(0, '', 'drop'), base(1, 'in_port=LOCAL', 'NORMAL'), ...own.map((i) => base(1, `in_port=${i}`, 'NORMAL'))];
  const trunks = new Map(ports.filter((p) => p.kind === 'vif' && p.trunks?.length).map((p) => [p.name, p.trunks!]));
  // a VIF with a value that fails its check gets no flows: the table's last flow drops what it sends
  for (const v of [...vifs].sort((a, b) => byName.compare(a.port, b.port))) flows.push(...vifFlowsOf(v.trunks || !trunks.has(v.port) ? v : { ...v, trunks: trunks.get(v.port) }));
  return flows;
}

/**
 * vifFlows (pure) remembered by the lock it was built from, [] for a lock that fails its check:
 * a pass over 512 VIFs builds only the flows of the VIFs that changed, and the others are the
 * same Flow objects as before (ovs.ts keys its per-VIF cache on them).
 */
const flowMemo = new Map<string, Flow[]>();
const flowsOfLock = new WeakMap<VifLock, Flow[]>();
function vifFlowsOf(v: VifLock): Flow[] {
  let f = flowsOfLock.get(v);
  if (f !== undefined) return f;
  const key = JSON.stringify(v);
  f = flowMemo.get(key);
  if (f === undefined) {
    f = orNone(() => vifFlows(v));
    if (flowMemo.size >= 4_096) flowMemo.clear();
    flowMemo.set(key, f);
  }
  flowsOfLock.set(v, f);
  return f;
}

/** ovs-ofctl flow syntax, one line per flow. */
export function flowText(f: Flow): string {
  return `cookie=${f.cookie},priority=${f.priority}${f.match ? `,${f.match}` : ''},actions=${f.actions}`;
}

/** OpenFlow meters count kilobits (1000 bits) per second; the API's kbps are KiB/s (src/domain/qos.ts). */
export function meterKbits(kiloBytesPerSecond: number): number {
  return Math.round(bitsPerSecond(kiloBytesPerSecond) / 1000);
}

/** A VIF's meter: its rate limit. */
export interface MeterSpec {
  readonly id: number;
  readonly kbits: number;
  readonly vif: string;
}

/** A stable OpenFlow meter id per VIF (1..2^31), probing past collisions in uuid order. */
export function meterIds(vifUuids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const u of [...vifUuids].sort()) {
    let id = meterHash(u);
    while (used.has(id)) id = (id % 0x7ffffffe) + 1;
    used.add(id);
    out.set(u, id);
  }
  return out;
}

/** A VIF's preferred meter id (remembered: every pass asks for every VIF's). */
const meterHashes = new Map<string, number>();
function meterHash(vifUuid: string): number {
  let id = meterHashes.get(vifUuid);
  if (id === undefined) {
    if (meterHashes.size >= 65_536) meterHashes.clear();
    meterHashes.set(vifUuid, id = (createHash('sha256').update(vifUuid).digest().readUInt32BE(0) % 0x7ffffffe) + 1);
  }
  return id;
}

/** What the Open vSwitch backend writes besides OVSDB: per bridge, the whole OpenFlow table and the meters. */
export interface OvsTables {
  readonly flows: Readonly<Record<string, readonly Flow[]>>;
  readonly meters: Readonly<Record<string, readonly MeterSpec[]>>;
}

const lockOf = new WeakMap<PortSpec, VifLock>();

/** A VIF port's lock as the flows need it: on its port, under its VIF's cookie, through its meter. */
function vifLocks(b: BridgeSpec): { locks: VifLock[]; meters: MeterSpec[] } {
  const vifs = b.ports.filter((p): p is PortSpec & { vifUuid: string; lock: VifLockSpec } => p.kind === 'vif' && typeof p.vifUuid === 'string' && isUuid(p.vifUuid) && !!p.lock);
  const ids = meterIds(vifs.map((p) => p.vifUuid));
  const locks: VifLock[] = [];
  const meters: MeterSpec[] = [];
  for (const p of vifs) {
    const meter = p.rateKbps ? ids.get(p.vifUuid) : undefined;
    if (meter) meters.push({ id: meter, kbits: meterKbits(p.rateKbps!), vif: p.vifUuid });
    // the same port with the same meter: the same lock object (vifFlowsOf finds its flows by it)
    const had = lockOf.get(p);
    const lock = had && had.meter === meter ? had : { port: p.name, vifUuid: p.vifUuid, mac: p.lock.mac, mode: p.lock.mode, ipv4: p.lock.ipv4, ipv6: p.lock.ipv6, meter };
    if (lock !== had) lockOf.set(p, lock);
    locks.push(lock);
  }
  return { locks, meters };
}

/**
 * The OpenFlow tables and meters of a desired state: each bridge's allow-list table (its own
 * ports, then each VIF's lock) and a meter per rate-limited VIF. A VIF port without a lock or a
 * VIF uuid gets no flows: the table's last flow drops what it sends.
 */
export function ovsTables(desired: DesiredHost): OvsTables {
  const flows: Record<string, Flow[]> = {};
  const meters: Record<string, MeterSpec[]> = {};
  for (const b of desired.bridges) {
    const v = vifLocks(b);
    flows[b.name] = bridgeFlows(v.locks, b.ports);
    if (v.meters.length) meters[b.name] = v.meters;
  }
  return { flows, meters };
}
