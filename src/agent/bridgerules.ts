// Port locking and QoS for the Linux bridge backend, as nftables text (pure).
//
// One table, `bridge poolnet`: a dispatch verdict map keyed by the frame's input port
// (`iifname vmap @vifs`) jumps to one chain per locked or rate-limited VIF; each locked VIF has
// two address sets (IPv4, IPv6 allowed). xapi's Linux-bridge rules (ebtables, FORWARD only) are
// followed with these differences, each on purpose:
//  - IPv6 is filtered per allowed address, like xapi's Open vSwitch table (src/agent/ovsflows.ts):
//    ebtables could not, so xapi let all IPv6 through as soon as one address was listed.
//    Neighbour solicitations/advertisements must come from an allowed address and carry no
//    link-layer option other than the VIF's MAC; advertisements may only claim an allowed
//    address; router advertisements, redirects and the mobile/multicast router messages are
//    dropped; other IPv6 only as ICMPv6, TCP or UDP from an allowed source.
//  - ARP requests and replies both need sender MAC = the VIF's MAC (ebtables checked it on
//    replies only), and ARP probes from 0.0.0.0 pass (RFC 5227; xapi's OVS table allows them).
//  - Frames from a VIF are filtered at the bridge's `prerouting` hook, before the bridge learns
//    their source MAC: a dropped frame with a forged source MAC cannot move another VM's MAC to
//    the attacker's port in the forwarding database (ebtables' FORWARD chain runs after learning).
//    That also covers frames to the host itself, which xapi's FORWARD-only rules missed.
//  - 802.1Q/802.1ad-tagged frames from any VIF are dropped: a VIF is an access port, as on OVS,
//    so a VM on an untagged network cannot send into a VLAN its uplink carries tagged. Priority-
//    tagged frames (VLAN 0) too, unlike on OVS: the locking rules cannot look behind a VLAN header,
//    and a second header behind a priority tag is the double-tagging attack. VIF `trunks` are not
//    realised here (no VLAN-filtering bridge), so a trunk VIF's tagged frames are dropped as well.
//  - Any `vif*` port that is on a bridge but not among the attached VIFs (a disabled VIF, which
//    the backend also takes off its bridge, or a stale one) gets nothing in either direction.
//    (The pattern covers every bridge of the namespace: on a poolnet host, vif* ports are its own.)
// QoS, where the kernel has no tc police action (linuxbridge.ts probes it): an nft byte `limit`
// in the VIF's chain, first after the MAC check, on what the VM sends.
// Every drop of a VIF's locking rules counts in a named counter per VIF and reason
// (counterName; the reasons of `locking_drops`, src/model/classes/vif.ts), which the drop poller
// reads (droppoller.ts): the catch-all is split by reason before the chain's last rule, and a
// tagged frame is counted, through the `tagcnt` map, by the rule before the one that drops it.

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { VifLockSpec } from './desired.ts';
import { isMeterKbps } from '../model/valid.ts';
import { bytesPerSecond } from '../domain/qos.ts';
import type { LockingDropReason } from '../model/classes/vif.ts';

export const TABLE = 'bridge poolnet';

/** A VIF's effective locking (desired.ts) on its bridge port. */
export interface VifFilter extends VifLockSpec {
  /** The VIF's bridge port, e.g. vif3.0. */
  readonly port: string;
  /** KiB/s of traffic the VM sends (the API's kbps), when nftables does the policing. */
  readonly rateKBps?: number;
}

export interface NftSet {
  readonly type: 'ifname' | 'ipv4_addr' | 'ipv6_addr';
  readonly elements: readonly string[];
}

/** The parts of the table that vary: the rest (base chains, constant sets) is fixed text. */
export interface NftState {
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** port -> chain */
  readonly vmap: ReadonlyMap<string, string>;
  /** Named counters (counterName), in order. */
  readonly counters: readonly string[];
  /** port -> its `tagged` counter, for every port in @ports. */
  readonly tagcnt: ReadonlyMap<string, string>;
  /** Entries that could not be used (bad address, bad MAC), for the report. */
  readonly rejected: readonly string[];
}

// ---- addresses -------------------------------------------------------------------------

interface Prefix { readonly family: 4 | 6; readonly addr: bigint; readonly len: number }

function v4Bits(s: string): bigint {
  return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6Bits(s: string): bigint {
  let text = s;
  let tail: number[] = [];
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v = Number(v4Bits(dotted[2]));
    tail = [v >>> 16, v & 0xffff];
    text = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':').map((h) => parseInt(h, 16)) : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':').map((h) => parseInt(h, 16)) : [];
  const fill = 8 - hs.length - rs.length - tail.length;
  const groups = [...hs, ...(rest !== undefined ? new Array<number>(fill).fill(0) : []), ...rs, ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** An address or CIDR of the given family, host bits cleared (OVS and ebtables match it as a masked prefix). */
export function parsePrefix(s: string, family: 4 | 6): Prefix | undefined {
  const [a, l, extra] = s.trim().split('/');
  if (extra !== undefined) return undefined;
  const ok = family === 4 ? isIPv4(a) : isIPv6(a) && !a.includes('%');
  const width = family === 4 ? 32 : 128;
  if (!ok || (l !== undefined && !/^\d{1,3}$/.test(l))) return undefined;
  const len = l === undefined ? width : Number(l);
  if (len > width) return undefined;
  const bits = family === 4 ? v4Bits(a) : v6Bits(a);
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(width - len);
  return { family, addr: bits & mask, len };
}

function formatAddr(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join('.');
  const g = [...Array(8).keys()].map((i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  // compress the longest run of zero groups (two or more), as RFC 5952 says
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j > i ? j : i + 1;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const prefixText = (p: Prefix): string => formatAddr(p.family, p.addr) + (p.len === (p.family === 4 ? 32 : 128) ? '' : `/${p.len}`);

/** Inclusive [lo, hi] ranges, overlapping and adjacent ones merged (what nft's auto-merge keeps). */
export function mergedRanges(ranges: readonly (readonly [bigint, bigint])[]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) { if (hi > last[1]) last[1] = hi; } else out.push([lo, hi]);
  }
  return out;
}

function rangeOf(p: Prefix): [bigint, bigint] {
  const width = p.family === 4 ? 32 : 128;
  return [p.addr, p.addr | ((1n << BigInt(width - p.len)) - 1n)];
}

// ---- the ruleset -------------------------------------------------------------------------

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** Interface names nft gets in quotes: no quotes, spaces or control characters. */
const IFNAME = /^[A-Za-z0-9_.@+-]{1,15}$/;
const ND_SPOOF = '{ nd-neighbor-solicit, nd-neighbor-advert }';
const ROUTER_ICMP6 = '{ nd-router-advert, nd-redirect, 146, 147, 151, 152, 153 }';
const ARP_ETH_IP = 'arp htype 1 arp ptype ip arp hlen 6 arp plen 4';

/** A chain name per port, never one of the fixed names. */
export function chainOf(port: string): string {
  return `v_${port.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** The named counter of a port's drops for one reason. */
export function counterName(port: string, reason: LockingDropReason): string {
  return `${chainOf(port)}_${reason}`;
}

/** The reasons a locked VIF's chain counts (tagged frames: in prerouting). */
const LOCKED_REASONS: readonly LockingDropReason[] = ['foreign_mac', 'neighbour_spoof', 'router_advertisement', 'foreign_ip', 'other'];

const counted = (port: string, reason: LockingDropReason) => `counter name "${counterName(port, reason)}" drop`;

/**
 * Extra bucket depth, in bytes, on top of what nft's byte limit always holds (one second of the
 * rate): 64 KiB, so that a GSO super-frame from the VM's TCP stack can pass even at a low rate
 * (a frame larger than the bucket would never pass, and the VM's TCP would stall).
 */
export const LIMIT_BURST_BYTES = 65536;

/** The API's kbps are KiB/s (src/domain/qos.ts). */
const limitRule = (kBps: number): string => `limit rate over ${bytesPerSecond(kBps)} bytes/second burst ${LIMIT_BURST_BYTES} bytes drop`;

/** The rules of a locked VIF's chain (sets S4/S6 hold its allowed addresses). */
function lockedRules(v: VifFilter, mac: string, c: string, v6: readonly Prefix[]): string[] {
  const m = mac.replace(/:/g, '');
  const n = (reason: LockingDropReason) => counted(v.port, reason);
  const rules = [`ether saddr != ${mac} ${n('foreign_mac')}`];
  if (v.rateKBps) rules.push(limitRule(v.rateKBps));
  rules.push(
    'ether type ip udp dport 67 accept',
    `${ARP_ETH_IP} arp saddr ether ${mac} arp saddr ip 0.0.0.0 accept`,
    `${ARP_ETH_IP} arp saddr ether ${mac} arp saddr ip @${c}_4 accept`,
    `ip saddr @${c}_4 accept`,
    // an ND message is 24 bytes, plus one 8-byte link-layer address option at most; that option must be the VIF's MAC
    `icmpv6 type nd-neighbor-solicit ip6 length 32 @th,192,64 != 0x0101${m} ${n('neighbour_spoof')}`,
    `icmpv6 type nd-neighbor-advert ip6 length 32 @th,192,64 != 0x0201${m} ${n('neighbour_spoof')}`,
    `icmpv6 type nd-neighbor-solicit ip6 saddr @${c}_6 ip6 length 24-32 accept`,
  );
  // the target an advertisement claims: one rule per allowed prefix (nft 1.0 has no `icmpv6 taddr`)
  for (const p of v6) {
    const target = p.len === 0 ? '' : ` @th,64,${p.len} 0x${(p.addr >> BigInt(128 - p.len)).toString(16)}`;
    rules.push(`icmpv6 type nd-neighbor-advert ip6 saddr @${c}_6 ip6 length 24-32${target} accept`);
  }
  rules.push(
    `icmpv6 type ${ND_SPOOF} ${n('neighbour_spoof')}`,
    `icmpv6 type ${ROUTER_ICMP6} ${n('router_advertisement')}`,
    `ip6 saddr @${c}_6 meta l4proto @l4_v6 accept`,
    // what is left, by reason (from the VIF's own MAC: others were dropped first)
    `ether type arp ${n('neighbour_spoof')}`,
    `ip6 saddr @${c}_6 ${n('other')}`,
    `ether type { ip, ip6 } ${n('foreign_ip')}`,
    n('other'),
  );
  return rules;
}

/** The varying part of the table for these VIFs (ports in any order; the result is canonical). */
export function nftState(vifs: readonly VifFilter[]): NftState {
  const sets = new Map<string, NftSet>();
  const chains = new Map<string, string[]>();
  const vmap = new Map<string, string>();
  const rejected: string[] = [];
  const ports: string[] = [];
  const counters: string[] = [];
  const tagcnt = new Map<string, string>();
  for (const v of [...vifs].sort((a, b) => a.port.localeCompare(b.port))) {
    if (!IFNAME.test(v.port)) { rejected.push(`${v.port}: not a usable interface name`); continue; }
    if (v.mode === 'disabled') continue; // not in @ports: the catch-all rules drop it both ways
    ports.push(v.port);
    const c = chainOf(v.port);
    tagcnt.set(v.port, counterName(v.port, 'tagged'));
    counters.push(counterName(v.port, 'tagged'));
    // checked where the text is built: a rate that is not a whole number of KiB/s a meter can carry
    if (v.rateKBps !== undefined && !isMeterKbps(v.rateKBps)) {
      rejected.push(`${v.port}: rate ${JSON.stringify(v.rateKBps)} KiB/s is not one poolnet sets: everything it sends is dropped`);
      chains.set(c, [counted(v.port, 'other')]);
      counters.push(counterName(v.port, 'other'));
      vmap.set(v.port, c);
      continue;
    }
    if (v.mode === 'unlocked') {
      if (v.rateKBps) { chains.set(c, [limitRule(v.rateKBps)]); vmap.set(v.port, c); }
      continue;
    }
    const mac = v.mac.toLowerCase();
    if (!MAC.test(mac)) {
      rejected.push(`${v.port}: locked with no valid MAC (${v.mac || 'empty'}): everything it sends is dropped`);
      chains.set(c, [counted(v.port, 'other')]);
      counters.push(counterName(v.port, 'other'));
      vmap.set(v.port, c);
      continue;
    }
    const parse = (xs: readonly string[], family: 4 | 6) => xs.flatMap((x) => {
      const p = parsePrefix(x, family);
      if (!p) rejected.push(`${v.port}: ignored ipv${family}_allowed entry ${JSON.stringify(x)}`);
      return p ? [p] : [];
    });
    const v4 = parse(v.ipv4, 4), v6 = parse(v.ipv6, 6);
    sets.set(`${c}_4`, { type: 'ipv4_addr', elements: [...new Set(v4.map(prefixText))].sort() });
    sets.set(`${c}_6`, { type: 'ipv6_addr', elements: [...new Set(v6.map(prefixText))].sort() });
    chains.set(c, lockedRules(v, mac, c, v6));
    counters.push(...LOCKED_REASONS.map((r) => counterName(v.port, r)));
    vmap.set(v.port, c);
  }
  sets.set('ports', { type: 'ifname', elements: ports });
  return { sets, chains, vmap, counters, tagcnt, rejected };
}

const q = (s: string) => `"${s}"`;
const elems = (s: NftSet) => s.elements.map((e) => (s.type === 'ifname' ? q(e) : e)).join(', ');
const setFlags = (s: NftSet) => (s.type === 'ifname' ? '' : ' flags interval; auto-merge;');
const vmapElems = (vmap: ReadonlyMap<string, string>) => [...vmap].map(([p, c]) => `${q(p)} : jump ${c}`).join(', ');
const tagcntElems = (m: ReadonlyMap<string, string>) => [...m].map(([p, c]) => `${q(p)} : ${q(c)}`).join(', ');

/** A chain's fingerprint, carried as the comment of its last rule, so a listing shows which rules it holds. */
export function chainTag(rules: readonly string[]): string {
  return createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 16);
}
const tagged = (rules: readonly string[]): string[] => rules.map((r, i) => (i === rules.length - 1 ? `${r} comment "${chainTag(rules)}"` : r));

/**
 * Rules of the base chains. From a VIF (prerouting, before MAC learning): tagged frames dropped,
 * then its chain, then nothing from a `vif*` port that is not an attached VIF; towards such a
 * port (forward, and output from the host itself), nothing either.
 */
export const BASE_CHAINS: Readonly<Record<'prerouting' | 'forward' | 'output', readonly string[]>> = {
  prerouting: [
    // counted first, then dropped by the next rule even for a port the map lacks (the lookup fails)
    'iifname @ports ether type { 8021q, 8021ad } counter name iifname map @tagcnt drop',
    'iifname @ports ether type { 8021q, 8021ad } drop',
    'iifname vmap @vifs',
    'iifname "vif*" iifname != @ports drop',
  ],
  forward: ['oifname "vif*" oifname != @ports drop'],
  output: ['oifname "vif*" oifname != @ports drop'],
};

/** The whole table, replacing whatever is there, in one transaction (`add` + `delete` makes the delete safe when absent). */
export function fullScript(s: NftState): string {
  const out = [`add table ${TABLE}`, `delete table ${TABLE}`, `table ${TABLE} {`];
  out.push('  set l4_v6 { type inet_proto; elements = { icmpv6, tcp, udp } }');
  for (const name of s.counters) out.push(`  counter ${name} { }`);
  for (const [name, set] of s.sets) out.push(`  set ${name} { type ${set.type};${setFlags(set)}${set.elements.length ? ` elements = { ${elems(set)} }` : ''} }`);
  out.push('  map vifs { type ifname : verdict; }');
  out.push(`  map tagcnt { type ifname : counter;${s.tagcnt.size ? ` elements = { ${tagcntElems(s.tagcnt)} }` : ''} }`);
  for (const [name, rules] of s.chains) out.push(`  chain ${name} {`, ...tagged(rules).map((r) => `    ${r}`), '  }');
  for (const [hook, rules] of Object.entries(BASE_CHAINS)) {
    out.push(`  chain ${hook} {`, `    type filter hook ${hook} priority filter; policy accept;`, ...tagged(rules).map((r) => `    ${r}`), '  }');
  }
  out.push('}');
  // map elements last: they jump to chains declared above
  if (s.vmap.size) out.push(`add element ${TABLE} vifs { ${vmapElems(s.vmap)} }`);
  return out.join('\n') + '\n';
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Only what differs between two states, as one nft script (one transaction), or undefined
 * when nothing does. New sets and chains are declared first (rules and map elements refer to
 * them), removed ones deleted last (after the rules and map elements that referred to them).
 */
export function deltaScript(prev: NftState, next: NftState): string | undefined {
  const out: string[] = [];
  const had = new Set(prev.counters), has = new Set(next.counters);
  for (const name of next.counters) if (!had.has(name)) out.push(`add counter ${TABLE} ${name}`);
  for (const [name, set] of next.sets) if (!prev.sets.has(name)) out.push(`add set ${TABLE} ${name} { type ${set.type};${setFlags(set)} }`);
  for (const name of next.chains.keys()) if (!prev.chains.has(name)) out.push(`add chain ${TABLE} ${name}`);
  for (const [name, set] of next.sets) {
    const old = prev.sets.get(name);
    if (old && sameList(old.elements, set.elements)) continue;
    if (old) out.push(`flush set ${TABLE} ${name}`);
    if (set.elements.length) out.push(`add element ${TABLE} ${name} { ${elems(set)} }`);
  }
  for (const [name, rules] of next.chains) {
    const old = prev.chains.get(name);
    if (old && sameList(old, rules)) continue;
    if (old) out.push(`flush chain ${TABLE} ${name}`);
    for (const r of tagged(rules)) out.push(`add rule ${TABLE} ${name} ${r}`);
  }
  const vmapSame = prev.vmap.size === next.vmap.size && [...next.vmap].every(([p, c]) => prev.vmap.get(p) === c);
  if (!vmapSame) {
    out.push(`flush map ${TABLE} vifs`);
    if (next.vmap.size) out.push(`add element ${TABLE} vifs { ${vmapElems(next.vmap)} }`);
  }
  if (prev.tagcnt.size !== next.tagcnt.size || [...next.tagcnt].some(([p, c]) => prev.tagcnt.get(p) !== c)) {
    out.push(`flush map ${TABLE} tagcnt`);
    if (next.tagcnt.size) out.push(`add element ${TABLE} tagcnt { ${tagcntElems(next.tagcnt)} }`);
  }
  for (const name of prev.chains.keys()) if (!next.chains.has(name)) out.push(`flush chain ${TABLE} ${name}`, `delete chain ${TABLE} ${name}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) out.push(`delete set ${TABLE} ${name}`);
  // last: no rule or map element refers to them any more
  for (const name of prev.counters) if (!has.has(name)) out.push(`delete counter ${TABLE} ${name}`);
  return out.length ? out.join('\n') + '\n' : undefined;
}

/** Ports whose filtering differs between two states (their chain, sets, map entry or membership of @ports). */
export function changedPorts(prev: NftState | undefined, next: NftState): string[] {
  const ports = new Set([...(prev?.sets.get('ports')?.elements ?? []), ...(next.sets.get('ports')?.elements ?? []), ...(prev?.vmap.keys() ?? []), ...next.vmap.keys()]);
  const key = (s: NftState | undefined, p: string) => {
    if (!s) return undefined;
    const c = chainOf(p);
    return JSON.stringify([s.sets.get('ports')?.elements.includes(p), s.vmap.get(p), s.chains.get(c), s.sets.get(`${c}_4`)?.elements, s.sets.get(`${c}_6`)?.elements]);
  };
  return [...ports].filter((p) => key(prev, p) !== key(next, p)).sort();
}

// ---- reading the table back (drift) ------------------------------------------------------

type Json = Record<string, unknown>;

/** One set element of a listing (an address, a prefix, a range, or any of them wrapped in `elem`) as a range. */
function rangeOfElement(family: 4 | 6, e: unknown): [bigint, bigint] | undefined {
  if (typeof e === 'string') {
    const p = parsePrefix(e, family);
    return p && rangeOf(p);
  }
  if (!e || typeof e !== 'object') return undefined;
  if ('elem' in e) return rangeOfElement(family, (e as { elem: { val: unknown } }).elem.val);
  if ('prefix' in e) {
    const pr = (e as { prefix: { addr: string; len: number } }).prefix;
    const p = parsePrefix(`${pr.addr}/${pr.len}`, family);
    return p && rangeOf(p);
  }
  if ('range' in e) {
    const [a, b] = (e as { range: [string, string] }).range;
    const lo = parsePrefix(a, family), hi = parsePrefix(b, family);
    return lo && hi ? [lo.addr, hi.addr] : undefined;
  }
  return undefined;
}

function rangesOfElements(type: NftSet['type'], elements: readonly unknown[]): string {
  const family = type === 'ipv4_addr' ? 4 : 6;
  // an element we cannot read becomes a range that never matches what we want
  const rs = elements.map((e) => rangeOfElement(family, e) ?? ([-1n, -1n] as [bigint, bigint]));
  return JSON.stringify(mergedRanges(rs).map(([a, b]) => [a.toString(), b.toString()]));
}

/** A canonical summary of what the table should hold: sets' contents, chains' rule fingerprints, the map. */
export function summarize(s: NftState): string {
  const sets = Object.fromEntries([...s.sets].map(([n, set]) => [n, set.type === 'ifname' ? JSON.stringify([...set.elements].sort()) : rangesOfElements(set.type, set.elements)]));
  const chains: Record<string, string> = Object.fromEntries([...s.chains].map(([n, r]) => [n, `${r.length}:${chainTag(r)}`]));
  for (const [n, r] of Object.entries(BASE_CHAINS)) chains[n] = `${r.length}:${chainTag(r)}`;
  const vmap = [...s.vmap].map(([p, c]) => `${p}>${c}`).sort();
  return JSON.stringify({ sets: sortKeys(sets), chains: sortKeys(chains), vmap });
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/** The same summary, from `nft -j list table bridge poolnet` (undefined when there is no such table). */
export function summarizeListing(json: string): string | undefined {
  let doc: { nftables?: Json[] };
  try { doc = JSON.parse(json) as { nftables?: Json[] }; } catch { return undefined; }
  const items = doc.nftables ?? [];
  if (!items.some((i) => i.table)) return undefined;
  const sets: Record<string, string> = {};
  const chains: Record<string, { n: number; tag: string }> = {};
  const vmap: string[] = [];
  for (const i of items) {
    if (i.set) {
      const set = i.set as { name: string; type: string; elem?: unknown[] };
      if (set.name === 'l4_v6') continue;
      const els = set.elem ?? [];
      sets[set.name] = set.type === 'ifname' ? JSON.stringify(els.map(String).sort()) : rangesOfElements(set.type as NftSet['type'], els);
    } else if (i.map) {
      const m = i.map as { name: string; elem?: [string, { jump?: { target: string } }][] };
      if (m.name !== 'vifs') continue;
      for (const [p, v] of m.elem ?? []) vmap.push(`${p}>${v.jump?.target ?? '?'}`);
    } else if (i.chain) {
      chains[(i.chain as { name: string }).name] ??= { n: 0, tag: '' };
    } else if (i.rule) {
      const r = i.rule as { chain: string; comment?: string };
      const c = (chains[r.chain] ??= { n: 0, tag: '' });
      c.n++;
      if (r.comment) c.tag = r.comment;
    }
  }
  const chainSummary = Object.fromEntries(Object.entries(chains).map(([n, c]) => [n, `${c.n}:${c.tag}`]));
  return JSON.stringify({ sets: sortKeys(sets), chains: sortKeys(chainSummary), vmap: vmap.sort() });
}
