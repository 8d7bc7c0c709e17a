// Port-locking flows for Open vSwitch (pure): xapi's setup-vif-rules table for `locked`,
// expressed as ovs-ofctl flow text, one cookie per VIF so that one VIF's flows can be
// replaced without touching the others.

import { createHash } from 'node:crypto';
import type { VifLockSpec } from './desired.ts';

/** A VIF's effective locking (desired.ts), where it sits on the switch, and its meter. */
export interface VifLock extends VifLockSpec {
  /** The VIF's switch port name. */
  readonly port: string;
  readonly vifUuid: string;
  /** OpenFlow meter id for the VIF's rate limit, if any. */
  readonly meter?: number;
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

/** The flows of one VIF. Unlocked VIFs need flows only for a rate limit. */
export function vifFlows(v: VifLock): Flow[] {
  const cookie = cookieOf(v.vifUuid);
  const at = (priority: number, match: string, actions: string): Flow => ({ cookie, priority, match: `in_port=${v.port}${match ? `,${match}` : ''}`, actions });
  if (v.mode === 'disabled') return [at(9000, '', 'drop')];
  if (v.mode === 'unlocked') return v.meter ? [at(4000, '', pass(v))] : [];
  const M = v.mac.toLowerCase();
  const out: Flow[] = [
    at(8000, `udp,dl_src=${M},tp_dst=67`, pass(v)),
    at(7000, `arp,dl_src=${M},arp_sha=${M},arp_spa=0.0.0.0`, pass(v)),
  ];
  for (const a of v.ipv4) {
    out.push(at(7000, `arp,dl_src=${M},arp_sha=${M},arp_spa=${a}`, pass(v)));
    out.push(at(6000, `ip,dl_src=${M},nw_src=${a}`, pass(v)));
  }
  for (const a of v.ipv6) {
    out.push(at(8000, `icmp6,dl_src=${M},ipv6_src=${a},icmp_type=135,nd_sll=${M}`, pass(v)));
    out.push(at(8000, `icmp6,dl_src=${M},ipv6_src=${a},icmp_type=136,nd_target=${a}`, pass(v)));
    for (const proto of ['icmp6', 'tcp6', 'udp6']) out.push(at(5000, `${proto},dl_src=${M},ipv6_src=${a}`, pass(v)));
  }
  out.push(at(7000, 'icmp6,icmp_type=135', 'drop'), at(7000, 'icmp6,icmp_type=136', 'drop'));
  for (const t of ROUTER_ICMP6) out.push(at(6000, `icmp6,icmp_type=${t}`, 'drop'));
  out.push(at(4000, '', 'drop'));
  return out;
}

/** The order of String.prototype.localeCompare, without building a collator per comparison. */
const byName = new Intl.Collator();

/** A bridge's whole table: the per-VIF flows plus the default normal switching. */
export function bridgeFlows(vifs: readonly VifLock[]): Flow[] {
  const flows: Flow[] = [{ cookie: '0x0', priority: 0, match: '', actions: 'NORMAL' }];
  for (const v of [...vifs].sort((a, b) => byName.compare(a.port, b.port))) flows.push(...vifFlows(v));
  return flows;
}

/** ovs-ofctl flow syntax, one line per flow. */
export function flowText(f: Flow): string {
  return `cookie=${f.cookie},priority=${f.priority}${f.match ? `,${f.match}` : ''},actions=${f.actions}`;
}

/**
 * QoS: kbps in the API is kilobytes per second of what the VM sends, and a kilobyte is 1024 bytes
 * there: xapi hands it to netback as `kbps * 1024` bytes per second (xenopsd Vif.add), so the same
 * setting gives the same rate as on XenServer. OpenFlow meters count kilobits (1000 bits) per second.
 */
export function meterKbits(kiloBytesPerSecond: number): number {
  return Math.round((kiloBytesPerSecond * 1024 * 8) / 1000);
}
