// ovs-ofctl flow text -> the OpenFlow 1.4 encoding (pure), for exactly the vocabulary ovsflows.ts
// writes (with ports numbered, as ovs.ts hands flows to the switch): anything else throws
// UnsupportedFlow, and the caller sends the table through ovs-ofctl instead. Fail closed: a
// field this parser half-understood would be a filter that lets through what ovs-ofctl would not.
//
// Fields are encoded in an order where each field's prerequisites come first (Open vSwitch checks
// them field by field as it reads the match: ovs-fields(7)), as OXM_OF_* fields, except the VLAN
// TCI, which is Nicira's NXM_OF_VLAN_TCI: `vlan_tci=V/M` and `dl_vlan=N` are exactly that field.
// The decoder is the reverse, for flow statistics; it renders fields it does not know as numbers.

import { isIPv4, isIPv6 } from 'node:net';
import { OFPP, type Action, type FlowModSpec } from './wire.ts';

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

const ETH = { ip: 0x0800, arp: 0x0806, ipv6: 0x86dd, vlan: 0x8100, qinq: 0x88a8 } as const;
const PROTO = { icmp: 1, tcp: 6, udp: 17, icmp6: 58 } as const;
/** ovs-ofctl's shorthands: an Ethernet type and, for some, an IP protocol. */
const SHORTHANDS: Record<string, [number, number?]> = {
  ip: [ETH.ip], arp: [ETH.arp], ipv6: [ETH.ipv6], icmp: [ETH.ip, PROTO.icmp], tcp: [ETH.ip, PROTO.tcp], udp: [ETH.ip, PROTO.udp],
  icmp6: [ETH.ipv6, PROTO.icmp6], tcp6: [ETH.ipv6, PROTO.tcp], udp6: [ETH.ipv6, PROTO.udp],
};
const RESERVED_PORTS: Record<string, number> = { LOCAL: OFPP.LOCAL, NORMAL: OFPP.NORMAL, IN_PORT: OFPP.IN_PORT, FLOOD: OFPP.FLOOD, ALL: OFPP.ALL };

const fail = (why: string): never => { throw new UnsupportedFlow(why); };

function uint(text: string, bits: number, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** bits) fail(`${what}: not a ${bits}-bit number: ${text}`);
  return n;
}

function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; }

function mac(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) fail(`not a MAC address: ${text}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

function ipv4(text: string): Buffer {
  if (!isIPv4(text)) fail(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split('.').map(Number));
}

/** An IPv6 address's 16 bytes (no zone, no prefix: those are not in ovsflows.ts's vocabulary). */
export function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text) || text.includes('%')) fail(`not an IPv6 address: ${text}`);
  let s = text;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    s = s.slice(0, -v4[1].length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.split('::');
  const words = (t: string | undefined) => (t ? t.split(':').filter((x) => x !== '').map((h) => parseInt(h, 16)) : []);
  const a = words(head), z = [...words(rest), ...tail];
  const groups = rest === undefined ? [...a, ...tail] : [...a, ...new Array<number>(8 - a.length - z.length).fill(0), ...z];
  if (groups.length !== 8) fail(`not an IPv6 address: ${text}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/** `key=value` items of a match, split at commas. */
function items(text: string): [string, string | undefined][] {
  return text === '' ? [] : text.split(',').map((it) => {
    const eq = it.indexOf('=');
    return eq < 0 ? [it, undefined] : [it.slice(0, eq), it.slice(eq + 1)];
  });
}

function parseActions(text: string): { meter?: number; actions: Action[] } {
  if (text === 'drop') return { actions: [] };
  let meter: number | undefined;
  const actions: Action[] = [];
  for (const a of text.split(',')) {
    if (a.startsWith('meter:')) {
      if (meter !== undefined || actions.length) fail(`meter where ovsflows.ts puts none: ${text}`);
      meter = uint(a.slice(6), 32, 'meter');
      if (meter === 0 || meter > 0xffff0000) fail(`meter id out of range: ${a}`);
    } else if (a in RESERVED_PORTS) actions.push({ type: 'output', port: RESERVED_PORTS[a] });
    else if (a.startsWith('output:')) {
      const p = uint(a.slice(7), 32, 'output');
      if (p === 0 || p > 0xffffff00) fail(`output port out of range: ${a}`);
      actions.push({ type: 'output', port: p });
    } else fail(`action not supported: ${a}`);
  }
  if (!actions.length) fail(`no action after the meter: ${text}`);
  return { meter, actions };
}

/**
 * A flow line as ovs.ts gives it to ovs-ofctl (`cookie=..,priority=..,<match>,actions=..`),
 * parsed; UnsupportedFlow for anything outside the vocabulary.
 */
export function parseFlowText(line: string): ParsedFlow {
  const ai = line.indexOf(',actions=');
  if (ai < 0 || /\s/.test(line)) fail(`not one flow line: ${line}`);
  const fields = new Map<FieldKey, MatchField>();
  const put = (field: FieldKey, value: Buffer, mask?: Buffer) => {
    const had = fields.get(field);
    if (had) {
      // a shorthand and an explicit field may say the same thing (ip,dl_type=0x0800); never two different things
      if (!had.value.equals(value) || !!had.mask !== !!mask || (mask && !had.mask!.equals(mask))) fail(`${field} given twice: ${line}`);
      return;
    }
    fields.set(field, { field, value, mask });
  };
  let cookie: bigint | undefined, priority: number | undefined;
  let proto: number | undefined;
  const pending: [string, string][] = [];
  for (const [k, v] of items(line.slice(0, ai))) {
    if (v === undefined) {
      const sh = SHORTHANDS[k] ?? fail(`match item not supported: ${k}`);
      put('dl_type', u16(sh[0]));
      if (sh[1] !== undefined) { put('nw_proto', Buffer.from([sh[1]])); proto = sh[1]; }
      continue;
    }
    if (k === 'cookie') {
      if (!/^0x[0-9a-f]{1,16}$/i.test(v) || cookie !== undefined) fail(`cookie: ${v}`);
      cookie = BigInt(v);
    } else if (k === 'priority') {
      if (priority !== undefined) fail('priority given twice');
      priority = uint(v, 16, 'priority');
    } else pending.push([k, v]);
  }
  if (cookie === undefined || priority === undefined) throw new UnsupportedFlow(`a flow line without cookie or priority: ${line}`);
  const ethType = () => fields.get('dl_type')?.value.readUInt16BE(0);
  // after the shorthands: fields whose meaning depends on them (icmp_type, tp_dst)
  for (const [k, v] of pending) {
    switch (k) {
      case 'in_port': {
        const p = v in RESERVED_PORTS ? RESERVED_PORTS[v] : uint(v, 32, 'in_port');
        if (p === 0 || (p > 0xffffff00 && p !== OFPP.LOCAL)) fail(`in_port: ${v}`);
        put('in_port', u32(p));
        break;
      }
      case 'vlan_tci': {
        const m = /^(0x[0-9a-f]{1,4})(?:\/(0x[0-9a-f]{1,4}))?$/i.exec(v) ?? fail(`vlan_tci: ${v}`);
        if (fields.has('vlan_tci')) fail('two VLAN matches');
        put('vlan_tci', u16(parseInt(m[1], 16)), m[2] ? u16(parseInt(m[2], 16)) : undefined);
        break;
      }
      case 'dl_vlan': {
        const vid = uint(v, 12, 'dl_vlan');
        if (fields.has('vlan_tci')) fail('two VLAN matches');
        // ovs-ofctl: a VLAN header with this VID (the CFI bit), any priority
        put('vlan_tci', u16(0x1000 | vid), u16(0x1fff));
        break;
      }
      case 'dl_type': put('dl_type', u16(uint(v, 16, 'dl_type'))); break;
      case 'dl_src': put('dl_src', mac(v)); break;
      case 'dl_dst': put('dl_dst', mac(v)); break;
      case 'nw_src': case 'nw_dst': case 'arp_spa': case 'arp_tpa': put(k, ipv4(v)); break;
      case 'arp_sha': put('arp_sha', mac(v)); break;
      case 'arp_op': put('arp_op', u16(uint(v, 16, 'arp_op'))); break;
      case 'ipv6_src': case 'ipv6_dst': case 'nd_target': put(k, ipv6Bytes(v)); break;
      case 'nd_sll': put('nd_sll', mac(v)); break;
      case 'icmp_type':
        if (proto === PROTO.icmp6) put('icmpv6_type', Buffer.from([uint(v, 8, 'icmp_type')]));
        else if (proto === PROTO.icmp) put('icmp_type', Buffer.from([uint(v, 8, 'icmp_type')]));
        else fail('icmp_type without icmp or icmp6');
        break;
      case 'tp_dst':
        if (proto === PROTO.udp) put('udp_dst', u16(uint(v, 16, 'tp_dst')));
        else if (proto === PROTO.tcp) put('tcp_dst', u16(uint(v, 16, 'tp_dst')));
        else fail('tp_dst without tcp or udp');
        break;
      default: fail(`match field not supported: ${k}`);
    }
  }
  // prerequisites ovs-ofctl would complain about: the parser refuses, and ovs-ofctl says why
  const et = ethType();
  const needs: [FieldKey[], boolean][] = [
    [['nw_src', 'nw_dst'], et === ETH.ip],
    [['arp_spa', 'arp_tpa', 'arp_sha', 'arp_op'], et === ETH.arp],
    [['ipv6_src', 'ipv6_dst'], et === ETH.ipv6],
    [['nd_sll'], proto === PROTO.icmp6 && fields.get('icmpv6_type')?.value[0] === 135],
    [['nd_target'], proto === PROTO.icmp6 && [135, 136].includes(fields.get('icmpv6_type')?.value[0] ?? -1)],
  ];
  for (const [fs, ok] of needs) if (!ok && fs.some((f) => fields.has(f))) fail(`${fs.filter((f) => fields.has(f)).join(',')} without its prerequisite: ${line}`);
  const { meter, actions } = parseActions(line.slice(ai + 9));
  return { cookie, priority, match: ORDER.flatMap((k) => fields.get(k) ?? []), meter, actions };
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
