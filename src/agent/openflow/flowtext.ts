// ovs-ofctl flow text -> the OpenFlow 1.4 encoding (pure), for exactly the vocabulary ovsflows.ts
// writes (with ports numbered, as ovs.ts hands flows to the switch): anything else throws
// UnsupportedFlow, and the caller sends the table through ovs-ofctl instead. Fail closed: a
// field this parser half-understood would be a filter that lets through what ovs-ofctl would not.
//
// Fields are encoded in an order where each field's prerequisites come first (Open vSwitch checks
// them field by field as it reads the match: ovs-fields(7)), as OXM_OF_* fields, except the VLAN
// TCI, which is Nicira's NXM_OF_VLAN_TCI: `vlan_tci=V/M` and `dl_vlan=N` are exactly that field.
// The decoder is the reverse, for flow statistics; it renders fields it does not know as numbers.

import { flowMod, OFPFC, OFPP, type Action, type FlowModSpec } from './wire.ts';

export class UnsupportedFlow extends Error {}

/** An OXM field: class, field number, value length, whether a mask may follow, and its ovs-ofctl name. */
interface FieldDef { readonly cls: number; readonly field: number; readonly len: number; readonly name: string }
const F = {
  in_port: { cls: 0x8000, field: 0, len: 4, name: 'in_port' },
  vlan_tci: { cls: 0x0000, field: 4, len: 2, name: 'vlan_tci' },
  dl_dst: { cls: 0x8000, field: 3, len: 6, name: 'dl_dst' },
  dl_src: { cls: 0x8000, field: 4, len: 6, name: 'dl_src' },
  dl_type: { cls: 0x8000, field: 5, len: 2, name: 'dl_type' },
  nw_proto: { cls: 0x8000, field: 10, len: 1, name: 'nw_proto' },
  nw_src: { cls: 0x8000, field: 11, len: 4, name: 'nw_src' },
  nw_dst: { cls: 0x8000, field: 12, len: 4, name: 'nw_dst' },
  tcp_dst: { cls: 0x8000, field: 14, len: 2, name: 'tp_dst' },
  udp_dst: { cls: 0x8000, field: 16, len: 2, name: 'tp_dst' },
  icmp_type: { cls: 0x8000, field: 19, len: 1, name: 'icmp_type' },
  arp_op: { cls: 0x8000, field: 21, len: 2, name: 'arp_op' },
  arp_spa: { cls: 0x8000, field: 22, len: 4, name: 'arp_spa' },
  arp_tpa: { cls: 0x8000, field: 23, len: 4, name: 'arp_tpa' },
  arp_sha: { cls: 0x8000, field: 24, len: 6, name: 'arp_sha' },
  ipv6_src: { cls: 0x8000, field: 26, len: 16, name: 'ipv6_src' },
  ipv6_dst: { cls: 0x8000, field: 27, len: 16, name: 'ipv6_dst' },
  icmpv6_type: { cls: 0x8000, field: 29, len: 1, name: 'icmp_type' },
  nd_target: { cls: 0x8000, field: 31, len: 16, name: 'nd_target' },
  nd_sll: { cls: 0x8000, field: 32, len: 6, name: 'nd_sll' },
} as const satisfies Record<string, FieldDef>;
type FieldKey = keyof typeof F;
/** The encoding order: each field after the fields it depends on. */
const ORDER = Object.keys(F) as FieldKey[];

/** One field of a match: value, and a mask when not exact. */
export interface MatchField { readonly field: FieldKey; readonly value: Buffer; readonly mask?: Buffer }

/** A flow as structure: what both the ovs-ofctl text and the OpenFlow message say. */
export interface ParsedFlow {
  readonly cookie: bigint;
  readonly priority: number;
  readonly match: readonly MatchField[];
  readonly meter?: number;
  readonly actions: readonly Action[];
}

const ETH_IP = 0x0800, ETH_ARP = 0x0806, ETH_IPV6 = 0x86dd;
const PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMP6 = 58;
/** ovs-ofctl's shorthands: an Ethernet type and, for some, an IP protocol (-1: none). */
const SHORTHANDS: Readonly<Record<string, readonly [number, number]>> = {
  ip: [ETH_IP, -1], arp: [ETH_ARP, -1], ipv6: [ETH_IPV6, -1], icmp: [ETH_IP, PROTO_ICMP], tcp: [ETH_IP, PROTO_TCP], udp: [ETH_IP, PROTO_UDP],
  icmp6: [ETH_IPV6, PROTO_ICMP6], tcp6: [ETH_IPV6, PROTO_TCP], udp6: [ETH_IPV6, PROTO_UDP],
};
const RESERVED_PORTS: Readonly<Record<string, number>> = { LOCAL: OFPP.LOCAL, NORMAL: OFPP.NORMAL, IN_PORT: OFPP.IN_PORT, FLOOD: OFPP.FLOOD, ALL: OFPP.ALL };

const fail = (why: string): never => { throw new UnsupportedFlow(why); };

// The parser writes each field's value (and mask) into a fixed slot of a scratch buffer, in
// ORDER's numbering: no allocation per field, and the encoding order falls out of the slots.
// (A line of a 15,000-flow table is parsed in a few microseconds: the whole table's first write
// must not cost more than ovs-ofctl's own parse.)
const SLOTS = ORDER.length;
const SLOT = Object.fromEntries(ORDER.map((k, i) => [k, i])) as Record<FieldKey, number>;
const WIDTH = 16;
const values = Buffer.alloc(SLOTS * WIDTH);
const masks = Buffer.alloc(SLOTS * WIDTH);
const present = new Uint8Array(SLOTS);
const masked = new Uint8Array(SLOTS);
const candidate = Buffer.alloc(2 * WIDTH);

const hexDigit = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

/** A decimal (digits only) or 0x-hexadecimal number below 2^bits. */
function uint(text: string, bits: number, what: string): number {
  let n = 0;
  if (text.length > 2 && text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    for (let i = 2; i < text.length; i++) { const d = hexDigit(text.charCodeAt(i)); if (d < 0) return fail(`${what}: not a number: ${text}`); n = n * 16 + d; }
  } else {
    if (text.length === 0) fail(`${what}: empty`);
    for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i) - 48; if (c < 0 || c > 9) return fail(`${what}: not a number: ${text}`); n = n * 10 + c; }
  }
  if (!Number.isSafeInteger(n) || n >= 2 ** bits) fail(`${what}: not a ${bits}-bit number: ${text}`);
  return n;
}

/** Six colon-separated pairs of hex digits into `b` at `at`. */
function macInto(text: string, b: Buffer, at: number): void {
  if (text.length !== 17) fail(`not a MAC address: ${text}`);
  for (let i = 0; i < 6; i++) {
    const h = hexDigit(text.charCodeAt(i * 3)), l = hexDigit(text.charCodeAt(i * 3 + 1));
    if (h < 0 || l < 0 || (i < 5 && text.charCodeAt(i * 3 + 2) !== 58)) fail(`not a MAC address: ${text}`);
    b[at + i] = (h << 4) | l;
  }
}

/** A dotted-quad IPv4 address (decimal octets without leading zeros) into `b` at `at`; false when it is not one. */
function ipv4Into(text: string, start: number, end: number, b: Buffer, at: number): boolean {
  let octet = 0, digits = 0, k = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || k > 3) return false;
      b[at + k++] = octet;
      octet = 0; digits = 0;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || (digits === 1 && octet === 0)) return false;
      octet = octet * 10 + d;
      if (++digits > 3 || octet > 255) return false;
    }
  }
  return k === 4;
}

/** An IPv6 address (RFC 4291 text: hex groups, one `::` at most, an IPv4 tail) into `b` at `at`; no zone, no prefix. */
function ipv6Into(text: string, b: Buffer, at: number): void {
  const bad = () => fail(`not an IPv6 address: ${text}`);
  const groups: number[] = [];
  let gap = -1, i = 0;
  const n = text.length;
  if (n < 2 || n > 45) bad();
  if (text.charCodeAt(0) === 58) { if (text.charCodeAt(1) !== 58) bad(); gap = 0; i = 2; }
  while (i < n) {
    // an IPv4 tail: the rest holds a dot, and only as the last 32 bits
    let j = i, v = 0, digits = 0;
    while (j < n && text.charCodeAt(j) !== 58) { if (text.charCodeAt(j) === 46) break; const d = hexDigit(text.charCodeAt(j)); if (d < 0) bad(); v = v * 16 + d; digits++; j++; }
    if (j < n && text.charCodeAt(j) === 46) {
      if (!ipv4Into(text, i, n, candidate, 0)) bad();
      groups.push((candidate[0] << 8) | candidate[1], (candidate[2] << 8) | candidate[3]);
      break;
    }
    if (digits === 0 || digits > 4) bad();
    groups.push(v);
    if (j === n) break;
    // a colon: a second one makes the gap (once), and a trailing single colon is malformed
    if (j + 1 < n && text.charCodeAt(j + 1) === 58) { if (gap >= 0) bad(); gap = groups.length; i = j + 2; } else { if (j + 1 === n) bad(); i = j + 1; }
  }
  if (groups.length > 8 || (gap < 0 && groups.length !== 8) || (gap >= 0 && groups.length > 7)) bad();
  const fill = 8 - groups.length;
  let k = 0;
  for (let g = 0; g < 8; g++) {
    const val = gap >= 0 && g >= gap && g < gap + fill ? 0 : groups[k++];
    b[at + g * 2] = val >> 8; b[at + g * 2 + 1] = val & 0xff;
  }
}

/** An IPv6 address's 16 bytes (UnsupportedFlow when the text is not one, or has a zone or prefix). */
export function ipv6Bytes(text: string): Buffer {
  const b = Buffer.alloc(16);
  ipv6Into(text, b, 0);
  return b;
}

// Setting a field: target(field) says where its value goes (its slot, or the candidate buffer
// when the field is already set), the caller writes it there, then done(field, mask) records it
// or checks that the second value is the first (a shorthand and an explicit field may say the
// same thing, ip,dl_type=0x0800; never two different things).
let tgt = values, tgtAt = 0;
function target(field: FieldKey): void {
  const slot = SLOT[field];
  if (present[slot]) { tgt = candidate; tgtAt = 0; } else { tgt = values; tgtAt = slot * WIDTH; }
}
function done(field: FieldKey, mask?: number): void {
  const slot = SLOT[field], len = F[field].len, at = slot * WIDTH;
  if (tgt === values) {
    present[slot] = 1;
    if (mask !== undefined) { masks.writeUIntBE(mask, at, len); masked[slot] = 1; }
    return;
  }
  if (values.compare(candidate, 0, len, at, at + len) !== 0 || (mask !== undefined) !== (masked[slot] === 1) || (mask !== undefined && masks.readUIntBE(at, len) !== mask)) fail(`${field} given twice`);
}

function putUint(field: FieldKey, n: number, mask?: number): void {
  target(field);
  tgt.writeUIntBE(n, tgtAt, F[field].len);
  done(field, mask);
}

let cookieText = '', cookieValue = 0n;

/** The parsed line's cookie, priority, meter and actions (the match is in the slots). */
interface Parsed { cookie: bigint; priority: number; meter: number | undefined; actions: Action[] }

/** Parse a flow line into the slots; UnsupportedFlow for anything outside the vocabulary. */
function parseInto(line: string): Parsed {
  const ai = line.indexOf(',actions=');
  if (ai < 0) fail(`not one flow line: ${line}`);
  for (let i = 0; i < line.length; i++) { const c = line.charCodeAt(i); if (c <= 32 || c === 127) fail(`not one flow line: ${line}`); }
  for (let i = 0; i < SLOTS; i++) { present[i] = 0; masked[i] = 0; }
  let cookie: bigint | undefined, priority = -1, proto = -1;
  // dependent items (icmp_type, tp_dst) read the protocol, which a shorthand anywhere in the line sets: they come second
  let deferred: [string, string][] | undefined;
  for (let start = 0; start <= ai;) {
    let end = line.indexOf(',', start);
    if (end < 0 || end > ai) end = ai;
    const eq = line.indexOf('=', start);
    if (eq < 0 || eq > end) {
      const item = line.slice(start, end);
      const sh = Object.hasOwn(SHORTHANDS, item) ? SHORTHANDS[item] : fail(`match item not supported: ${item}`);
      putUint('dl_type', sh[0]);
      if (sh[1] >= 0) { putUint('nw_proto', sh[1]); proto = sh[1]; }
    } else {
      const k = line.slice(start, eq), v = line.slice(eq + 1, end);
      if (k === 'cookie') {
        if (cookie !== undefined || v.length < 3 || v.length > 18 || !v.startsWith('0x')) fail(`cookie: ${v}`);
        if (v !== cookieText) { for (let i = 2; i < v.length; i++) if (hexDigit(v.charCodeAt(i)) < 0) fail(`cookie: ${v}`); cookieText = v; cookieValue = BigInt(v); }
        cookie = cookieValue;
      } else if (k === 'priority') {
        if (priority >= 0) fail('priority given twice');
        priority = uint(v, 16, 'priority');
      } else if (k === 'icmp_type' || k === 'tp_dst') (deferred ??= []).push([k, v]);
      else field(k, v);
    }
    start = end + 1;
  }
  if (cookie === undefined || priority < 0) throw new UnsupportedFlow(`a flow line without cookie or priority: ${line}`);
  for (const [k, v] of deferred ?? []) {
    if (k === 'icmp_type') {
      const t = uint(v, 8, 'icmp_type');
      if (proto === PROTO_ICMP6) putUint('icmpv6_type', t);
      else if (proto === PROTO_ICMP) putUint('icmp_type', t);
      else fail('icmp_type without icmp or icmp6');
    } else {
      const t = uint(v, 16, 'tp_dst');
      if (proto === PROTO_UDP) putUint('udp_dst', t);
      else if (proto === PROTO_TCP) putUint('tcp_dst', t);
      else fail('tp_dst without tcp or udp');
    }
  }
  prerequisites(proto, line);
  return { cookie, priority, ...parseActions(line.slice(ai + 9)) };
}

/** One `key=value` match item into its slot. */
function field(k: string, v: string): void {
  switch (k) {
    case 'in_port': {
      const p = Object.hasOwn(RESERVED_PORTS, v) ? RESERVED_PORTS[v] : uint(v, 32, 'in_port');
      if (p === 0 || (p > 0xffffff00 && p !== OFPP.LOCAL)) fail(`in_port: ${v}`);
      putUint('in_port', p);
      return;
    }
    case 'vlan_tci': {
      const slash = v.indexOf('/');
      const val = slash < 0 ? v : v.slice(0, slash), mask = slash < 0 ? undefined : v.slice(slash + 1);
      if (!val.startsWith('0x') || val.length > 6 || (mask !== undefined && (!mask.startsWith('0x') || mask.length > 6))) fail(`vlan_tci: ${v}`);
      if (present[SLOT.vlan_tci]) fail('two VLAN matches');
      const m = mask === undefined ? undefined : uint(mask, 16, 'vlan_tci');
      const x = uint(val, 16, 'vlan_tci');
      putUint('vlan_tci', m === undefined ? x : x & m, m);
      return;
    }
    case 'dl_vlan': {
      const vid = uint(v, 12, 'dl_vlan');
      if (present[SLOT.vlan_tci]) fail('two VLAN matches');
      // ovs-ofctl: a VLAN header with this VID (the CFI bit), any priority
      putUint('vlan_tci', 0x1000 | vid, 0x1fff);
      return;
    }
    case 'dl_type': putUint('dl_type', uint(v, 16, 'dl_type')); return;
    case 'arp_op': putUint('arp_op', uint(v, 16, 'arp_op')); return;
    case 'dl_src': case 'dl_dst': case 'arp_sha': case 'nd_sll': target(k); macInto(v, tgt, tgtAt); done(k); return;
    case 'nw_src': case 'nw_dst': case 'arp_spa': case 'arp_tpa':
      target(k);
      if (!ipv4Into(v, 0, v.length, tgt, tgtAt)) fail(`not an IPv4 address: ${v}`);
      done(k);
      return;
    case 'ipv6_src': case 'ipv6_dst': case 'nd_target': target(k); ipv6Into(v, tgt, tgtAt); done(k); return;
    default: fail(`match field not supported: ${k}`);
  }
}

const has = (f: FieldKey): boolean => present[SLOT[f]] === 1;

/** Fields whose prerequisite (ovs-fields(7)) is missing: the parser refuses, and ovs-ofctl says why. */
function prerequisites(proto: number, line: string): void {
  const et = has('dl_type') ? values.readUInt16BE(SLOT.dl_type * WIDTH) : -1;
  const icmp6 = proto === PROTO_ICMP6 && has('icmpv6_type') ? values[SLOT.icmpv6_type * WIDTH] : -1;
  if ((has('nw_src') || has('nw_dst')) && et !== ETH_IP) fail(`nw_src/nw_dst without ip: ${line}`);
  if ((has('arp_spa') || has('arp_tpa') || has('arp_sha') || has('arp_op')) && et !== ETH_ARP) fail(`arp fields without arp: ${line}`);
  if ((has('ipv6_src') || has('ipv6_dst')) && et !== ETH_IPV6) fail(`ipv6_src/ipv6_dst without ipv6: ${line}`);
  if (has('nd_sll') && icmp6 !== 135) fail(`nd_sll without icmp6,icmp_type=135: ${line}`);
  if (has('nd_target') && icmp6 !== 135 && icmp6 !== 136) fail(`nd_target without icmp6,icmp_type=135 or 136: ${line}`);
}

const NORMAL_ONLY: readonly Action[] = [{ type: 'output', port: OFPP.NORMAL }];

function parseActions(text: string): { meter: number | undefined; actions: Action[] } {
  if (text === 'drop') return { meter: undefined, actions: [] };
  if (text === 'NORMAL') return { meter: undefined, actions: NORMAL_ONLY as Action[] };
  let meter: number | undefined;
  const actions: Action[] = [];
  for (const a of text.split(',')) {
    if (a.startsWith('meter:')) {
      if (meter !== undefined || actions.length) fail(`meter where ovsflows.ts puts none: ${text}`);
      meter = uint(a.slice(6), 32, 'meter');
      if (meter === 0 || meter > 0xffff0000) fail(`meter id out of range: ${a}`);
    } else if (Object.hasOwn(RESERVED_PORTS, a)) actions.push({ type: 'output', port: RESERVED_PORTS[a] });
    else if (a.startsWith('output:')) {
      const p = uint(a.slice(7), 32, 'output');
      if (p === 0 || p > 0xffffff00) fail(`output port out of range: ${a}`);
      actions.push({ type: 'output', port: p });
    } else fail(`action not supported: ${a}`);
  }
  if (!actions.length) fail(`no action after the meter: ${text}`);
  return { meter, actions };
}

const oxmScratch = Buffer.alloc(SLOTS * (4 + 2 * WIDTH));

/** The slots' fields as OXM, in order (a view of a scratch buffer: copy before the next parse). */
function slotsOxm(): Buffer {
  let at = 0;
  for (let slot = 0; slot < SLOTS; slot++) {
    if (!present[slot]) continue;
    const d: FieldDef = F[ORDER[slot]];
    const m = masked[slot] === 1;
    oxmScratch.writeUInt16BE(d.cls, at);
    oxmScratch[at + 2] = (d.field << 1) | (m ? 1 : 0);
    oxmScratch[at + 3] = m ? d.len * 2 : d.len;
    const from = slot * WIDTH;
    for (let i = 0; i < d.len; i++) oxmScratch[at + 4 + i] = values[from + i];
    if (m) for (let i = 0; i < d.len; i++) oxmScratch[at + 4 + d.len + i] = masks[from + i];
    at += 4 + (m ? 2 : 1) * d.len;
  }
  return oxmScratch.subarray(0, at);
}

/** The ADD flow_mod (xid 0) of a flow line as ovs.ts writes it; UnsupportedFlow for anything outside the vocabulary. */
export function addFlowMod(line: string): Buffer {
  const p = parseInto(line);
  return flowMod(0, OFPFC.ADD, { cookie: p.cookie, priority: p.priority, oxm: slotsOxm(), meter: p.meter, actions: p.actions });
}

/**
 * A flow line as ovs.ts gives it to ovs-ofctl (`cookie=..,priority=..,<match>,actions=..`),
 * parsed into structure; UnsupportedFlow for anything outside the vocabulary.
 */
export function parseFlowText(line: string): ParsedFlow {
  const p = parseInto(line);
  const match: MatchField[] = [];
  for (let slot = 0; slot < SLOTS; slot++) {
    if (!present[slot]) continue;
    const len = F[ORDER[slot]].len;
    match.push({ field: ORDER[slot], value: Buffer.from(values.subarray(slot * WIDTH, slot * WIDTH + len)), mask: masked[slot] ? Buffer.from(masks.subarray(slot * WIDTH, slot * WIDTH + len)) : undefined });
  }
  return { cookie: p.cookie, priority: p.priority, match, meter: p.meter, actions: p.actions };
}

/** The OXM fields of a match, in order. */
export function encodeOxm(match: readonly MatchField[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of match) {
    const d: FieldDef = F[m.field];
    if (m.value.length !== d.len || (m.mask && m.mask.length !== d.len)) throw new RangeError(`${m.field}: wrong length`);
    const h = Buffer.alloc(4);
    h.writeUInt16BE(d.cls, 0);
    h.writeUInt8((d.field << 1) | (m.mask ? 1 : 0), 2);
    h.writeUInt8(m.mask ? d.len * 2 : d.len, 3);
    // OpenFlow wants value bits outside the mask clear
    const v = m.mask ? Buffer.from(m.value.map((x, i) => x & m.mask![i])) : m.value;
    parts.push(h, v, ...(m.mask ? [m.mask] : []));
  }
  return Buffer.concat(parts);
}

/** What a flow_mod that adds this flow carries. */
export function flowModSpec(f: ParsedFlow): FlowModSpec {
  return { cookie: f.cookie, priority: f.priority, oxm: encodeOxm(f.match), meter: f.meter, actions: f.actions };
}

// ---------------------------------------------------------------- decoding (flow statistics)

const BY_WIRE = new Map<number, FieldKey>(ORDER.map((k) => [(F[k].cls << 8) | F[k].field, k]));

/** The fields of an OXM match; fields poolnet does not write come back as `oxm:<class>:<field>`. */
export function decodeOxm(oxm: Buffer): { field: FieldKey | string; value: Buffer; mask?: Buffer }[] {
  const out: { field: FieldKey | string; value: Buffer; mask?: Buffer }[] = [];
  for (let at = 0; at + 4 <= oxm.length;) {
    const cls = oxm.readUInt16BE(at), fh = oxm.readUInt8(at + 2), len = oxm.readUInt8(at + 3);
    if (at + 4 + len > oxm.length) throw new Error('malformed OXM field');
    const field = fh >> 1, hasMask = (fh & 1) === 1;
    const body = oxm.subarray(at + 4, at + 4 + len);
    const half = hasMask ? len / 2 : len;
    const key = BY_WIRE.get((cls << 8) | field);
    out.push({ field: key ?? `oxm:0x${cls.toString(16)}:${field}`, value: body.subarray(0, half), mask: hasMask ? body.subarray(half) : undefined });
    at += 4 + len;
  }
  return out;
}

const hex = (b: Buffer) => `0x${b.toString('hex')}`;
const macText = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
function ipv6Text(b: Buffer): string {
  const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // the longest run of zero groups (two or more) becomes ::
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const h = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? h(g) : `${h(g.slice(0, best))}::${h(g.slice(best + bestLen))}`;
}

/** A decoded match as ovs-ofctl-like text (for reading statistics, not for writing flows). */
export function matchText(oxm: Buffer): string {
  return decodeOxm(oxm).map(({ field, value, mask }) => {
    const k = field as FieldKey;
    const name = k in F ? F[k].name : field;
    let v: string;
    if (k === 'in_port') { const p = value.readUInt32BE(0); v = p === OFPP.LOCAL ? 'LOCAL' : String(p); }
    else if (['dl_src', 'dl_dst', 'arp_sha', 'nd_sll'].includes(k)) v = macText(value);
    else if (['nw_src', 'nw_dst', 'arp_spa', 'arp_tpa'].includes(k)) v = [...value].join('.');
    else if (['ipv6_src', 'ipv6_dst', 'nd_target'].includes(k)) v = ipv6Text(value);
    else if (['nw_proto', 'icmp_type', 'icmpv6_type', 'tcp_dst', 'udp_dst', 'arp_op'].includes(k)) v = String(value.length === 1 ? value[0] : value.readUInt16BE(0));
    else v = hex(value);
    return `${name}=${v}${mask ? `/${['nw_src', 'nw_dst', 'arp_spa', 'arp_tpa'].includes(k) ? [...mask].join('.') : hex(mask)}` : ''}`;
  }).join(',');
}
