// The OpenFlow 1.4 messages the agent sends and reads (pure): byte layouts from the OpenFlow
// 1.4.1 specification, as Open vSwitch implements them. Only what poolnet needs: HELLO, ECHO,
// ERROR, FLOW_MOD, BUNDLE_CONTROL / BUNDLE_ADD_MESSAGE, BARRIER, METER_MOD, and the flow-stats,
// meter-config and flow-monitor multiparts (the monitor's own layouts are in monitor.ts). 1.4 is the first version whose bundles are standard (1.3 has
// them only as an ONF extension).

export const OFP_VERSION = 0x05; // OpenFlow 1.4
export const HEADER_LEN = 8;
/** A message's length field is 16 bits. */
export const MAX_MESSAGE = 0xffff;

export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4,
  FLOW_MOD: 14, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21,
  METER_MOD: 29, BUNDLE_CONTROL: 33, BUNDLE_ADD_MESSAGE: 34,
} as const;

export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;
export const OFPBCT = { OPEN_REQUEST: 0, OPEN_REPLY: 1, CLOSE_REQUEST: 2, CLOSE_REPLY: 3, COMMIT_REQUEST: 4, COMMIT_REPLY: 5, DISCARD_REQUEST: 6, DISCARD_REPLY: 7 } as const;
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;
export const OFPMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPMF = { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 } as const;
export const OFPMP = { FLOW: 1, METER_CONFIG: 10, FLOW_MONITOR: 16 } as const;
export const OFPP = { IN_PORT: 0xfffffff8, NORMAL: 0xfffffffa, FLOOD: 0xfffffffb, ALL: 0xfffffffc, CONTROLLER: 0xfffffffd, LOCAL: 0xfffffffe, ANY: 0xffffffff } as const;
export const OFPTT_ALL = 0xff;
export const OFPG_ANY = 0xffffffff;
export const OFPM_ALL = 0xffffffff;
export const OFP_NO_BUFFER = 0xffffffff;
const OFPIT = { APPLY_ACTIONS: 4, METER: 6 } as const;
const OFPAT_OUTPUT = 0;
const OFPMT_OXM = 1;
const OFPMBT_DROP = 1;
const OFPMPF_REPLY_MORE = 1;

export interface Header { readonly version: number; readonly type: number; readonly length: number; readonly xid: number }

export function header(buf: Buffer, at = 0): Header {
  return { version: buf.readUInt8(at), type: buf.readUInt8(at + 1), length: buf.readUInt16BE(at + 2), xid: buf.readUInt32BE(at + 4) };
}

/** A whole message: the header written over the first 8 bytes of `body` (which must leave room for it). */
export function message(type: number, xid: number, body: Buffer): Buffer {
  if (body.length > MAX_MESSAGE) throw new RangeError(`OpenFlow message of ${body.length} bytes`);
  body.writeUInt8(OFP_VERSION, 0);
  body.writeUInt8(type, 1);
  body.writeUInt16BE(body.length, 2);
  body.writeUInt32BE(xid >>> 0, 4);
  return body;
}

export const pad8 = (n: number): number => (n + 7) & ~7;

/** HELLO with a version bitmap of exactly OpenFlow 1.4: a switch that cannot speak it refuses. */
export function hello(xid: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16BE(1, 8); // OFPHET_VERSIONBITMAP
  b.writeUInt16BE(8, 10);
  b.writeUInt32BE(1 << OFP_VERSION, 12);
  return message(OFPT.HELLO, xid, b);
}

/** The versions a peer's HELLO offers: its bitmap, else every version up to its header's. */
export function helloVersions(msg: Buffer): number[] {
  const h = header(msg);
  for (let at = HEADER_LEN; at + 4 <= h.length;) {
    const type = msg.readUInt16BE(at), len = msg.readUInt16BE(at + 2);
    if (len < 4) break;
    if (type === 1) {
      const out: number[] = [];
      for (let w = 0; w * 4 + 4 < len && at + 4 + w * 4 + 4 <= msg.length; w++) {
        const bits = msg.readUInt32BE(at + 4 + w * 4);
        for (let i = 0; i < 32; i++) if (bits & (1 << i)) out.push(w * 32 + i);
      }
      return out;
    }
    at += pad8(len);
  }
  return Array.from({ length: h.version }, (_, i) => i + 1);
}

export function echoReply(request: Buffer): Buffer {
  const b = Buffer.from(request);
  b.writeUInt8(OFPT.ECHO_REPLY, 1);
  return b;
}

export const barrier = (xid: number): Buffer => message(OFPT.BARRIER_REQUEST, xid, Buffer.alloc(HEADER_LEN));

export function bundleControl(xid: number, bundleId: number, type: number, flags: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(bundleId >>> 0, 8);
  b.writeUInt16BE(type, 12);
  b.writeUInt16BE(flags, 14);
  return message(OFPT.BUNDLE_CONTROL, xid, b);
}

/**
 * A bundle's opening, its messages (each added under its own xid) and a barrier, as one buffer:
 * a 15,000-flow table goes out in one write, with one copy of each message.
 */
export function bundleStream(bundleId: number, flags: number, openXid: number, inner: readonly Buffer[], xids: readonly number[], barrierXid: number): Buffer {
  let total = 16 + 8;
  for (const m of inner) total += 16 + m.length;
  if (inner.some((m) => 16 + m.length > MAX_MESSAGE)) throw new RangeError('a bundled message is too long');
  const b = Buffer.allocUnsafe(total);
  bundleControl(openXid, bundleId, OFPBCT.OPEN_REQUEST, flags).copy(b, 0);
  let at = 16;
  for (let i = 0; i < inner.length; i++) {
    const m = inner[i], len = 16 + m.length, xid = xids[i] >>> 0;
    b[at] = OFP_VERSION; b[at + 1] = OFPT.BUNDLE_ADD_MESSAGE; b.writeUInt16BE(len, at + 2); b.writeUInt32BE(xid, at + 4);
    b.writeUInt32BE(bundleId >>> 0, at + 8); b.writeUInt16BE(0, at + 12); b.writeUInt16BE(flags, at + 14);
    b.set(m, at + 16);
    b.writeUInt32BE(xid, at + 20);
    at += len;
  }
  barrier(barrierXid).copy(b, at);
  return b;
}

export interface BundleReply { readonly bundleId: number; readonly type: number }
export function parseBundleControl(msg: Buffer): BundleReply {
  return { bundleId: msg.readUInt32BE(8), type: msg.readUInt16BE(12) };
}

/** An action of a flow: output to a port (NORMAL is a port). */
export type Action = { readonly type: 'output'; readonly port: number };

/** What one flow_mod carries besides its command. */
export interface FlowModSpec {
  readonly cookie: bigint;
  readonly cookieMask?: bigint;
  readonly priority: number;
  /** An OXM match body (the fields, without ofp_match's header and padding). */
  readonly oxm: Buffer;
  readonly meter?: number;
  readonly actions: readonly Action[];
  readonly tableId?: number;
}

/**
 * An OXM match at byte 48, where flow_mod and the flow-stats request both carry it: its header
 * and fields (`b` zeroed, with room for the padding). Returns where the next part starts.
 */
function writeMatch(b: Buffer, oxm: Buffer): number {
  b.writeUInt16BE(OFPMT_OXM, 48);
  b.writeUInt16BE(4 + oxm.length, 50);
  oxm.copy(b, 52);
  return 48 + pad8(4 + oxm.length);
}

export function flowMod(xid: number, command: number, f: FlowModSpec): Buffer {
  const matchLen = 4 + f.oxm.length;
  const actionsLen = f.actions.length * 16;
  const instrLen = (f.meter !== undefined ? 8 : 0) + (actionsLen ? 8 + actionsLen : 0);
  // from the pool, zeroed: a table's first write makes 15,000 of these
  const b = Buffer.allocUnsafe(48 + pad8(matchLen) + instrLen).fill(0);
  b.writeBigUInt64BE(f.cookie, 8);
  b.writeBigUInt64BE(f.cookieMask ?? 0n, 16);
  b.writeUInt8(f.tableId ?? (command === OFPFC.DELETE ? OFPTT_ALL : 0), 24);
  b.writeUInt8(command, 25);
  // idle and hard timeouts 0
  b.writeUInt16BE(f.priority, 30);
  b.writeUInt32BE(OFP_NO_BUFFER, 32);
  b.writeUInt32BE(OFPP.ANY, 36);
  b.writeUInt32BE(OFPG_ANY, 40);
  // flags 0, importance 0
  let at = writeMatch(b, f.oxm);
  if (f.meter !== undefined) {
    b.writeUInt16BE(OFPIT.METER, at);
    b.writeUInt16BE(8, at + 2);
    b.writeUInt32BE(f.meter >>> 0, at + 4);
    at += 8;
  }
  if (actionsLen) {
    b.writeUInt16BE(OFPIT.APPLY_ACTIONS, at);
    b.writeUInt16BE(8 + actionsLen, at + 2);
    at += 8;
    for (const a of f.actions) {
      b.writeUInt16BE(OFPAT_OUTPUT, at);
      b.writeUInt16BE(16, at + 2);
      b.writeUInt32BE(a.port >>> 0, at + 4);
      b.writeUInt16BE(a.port === OFPP.CONTROLLER ? 0xffff : 0, at + 8);
      at += 16;
    }
  }
  return message(OFPT.FLOW_MOD, xid, b);
}

/** A meter with one drop band, in kbit/s with a burst (what `meter=N,kbps,burst,band=type=drop,rate=R,burst_size=B` is). */
export function meterMod(xid: number, command: number, id: number, kbits = 0, burst = 0): Buffer {
  const bands = command === OFPMC.DELETE ? 0 : 16;
  const b = Buffer.alloc(16 + bands);
  b.writeUInt16BE(command, 8);
  b.writeUInt16BE(command === OFPMC.DELETE ? 0 : OFPMF.KBPS | OFPMF.BURST, 10);
  b.writeUInt32BE(id >>> 0, 12);
  if (bands) {
    b.writeUInt16BE(OFPMBT_DROP, 16);
    b.writeUInt16BE(16, 18);
    b.writeUInt32BE(kbits >>> 0, 20);
    b.writeUInt32BE(burst >>> 0, 24);
  }
  return message(OFPT.METER_MOD, xid, b);
}

/** Flow stats of every table, for flows whose cookie matches `cookie` under `mask`. */
export function flowStatsRequest(xid: number, cookie = 0n, mask = 0n): Buffer {
  const b = Buffer.alloc(16 + 32 + 8);
  b.writeUInt16BE(OFPMP.FLOW, 8);
  b.writeUInt8(OFPTT_ALL, 16);
  b.writeUInt32BE(OFPP.ANY, 20);
  b.writeUInt32BE(OFPG_ANY, 24);
  b.writeBigUInt64BE(cookie, 32);
  b.writeBigUInt64BE(mask, 40);
  writeMatch(b, Buffer.alloc(0));
  return message(OFPT.MULTIPART_REQUEST, xid, b);
}

export function meterConfigRequest(xid: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(OFPMP.METER_CONFIG, 8);
  b.writeUInt32BE(OFPM_ALL, 16);
  return message(OFPT.MULTIPART_REQUEST, xid, b);
}

/** A multipart reply's type, whether more parts follow, and its body. */
export function multipartReply(msg: Buffer): { type: number; more: boolean; body: Buffer } {
  if (msg.length < 16 || header(msg).length < 16) throw new RangeError('multipart reply shorter than its header');
  return { type: msg.readUInt16BE(8), more: (msg.readUInt16BE(10) & OFPMPF_REPLY_MORE) !== 0, body: msg.subarray(16, header(msg).length) };
}

/** One entry of a flow-stats reply; `oxm` is the match's fields, `instructions` the raw rest. */
export interface RawFlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly priority: number;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly oxm: Buffer;
  readonly instructions: Buffer;
}

export function parseFlowStats(body: Buffer): RawFlowStats[] {
  const out: RawFlowStats[] = [];
  for (let at = 0; at + 56 <= body.length;) {
    const len = body.readUInt16BE(at);
    if (len < 56 || at + len > body.length) throw new Error('malformed flow stats entry');
    const matchLen = body.readUInt16BE(at + 50);
    if (matchLen < 4 || 48 + pad8(matchLen) > len) throw new Error('malformed flow stats match');
    out.push({
      tableId: body.readUInt8(at + 2),
      durationSec: body.readUInt32BE(at + 4),
      priority: body.readUInt16BE(at + 12),
      cookie: body.readBigUInt64BE(at + 24),
      packetCount: body.readBigUInt64BE(at + 32),
      byteCount: body.readBigUInt64BE(at + 40),
      oxm: body.subarray(at + 52, at + 48 + matchLen),
      instructions: body.subarray(at + 48 + pad8(matchLen), at + len),
    });
    at += len;
  }
  return out;
}

export interface MeterConfig { readonly id: number; readonly flags: number; readonly bands: readonly { type: number; rate: number; burst: number }[] }

export function parseMeterConfigs(body: Buffer): MeterConfig[] {
  const out: MeterConfig[] = [];
  for (let at = 0; at + 8 <= body.length;) {
    const len = body.readUInt16BE(at);
    if (len < 8 || at + len > body.length) throw new Error('malformed meter config');
    const bands: { type: number; rate: number; burst: number }[] = [];
    for (let b = at + 8; b + 16 <= at + len; b += 16) bands.push({ type: body.readUInt16BE(b), rate: body.readUInt32BE(b + 4), burst: body.readUInt32BE(b + 8) });
    out.push({ id: body.readUInt32BE(at + 4), flags: body.readUInt16BE(at + 2), bands });
    at += len;
  }
  return out;
}

/** An OFPT_ERROR: its type and code, and the start of the message it answers (its xid is the failed message's). */
export interface OfError { readonly type: number; readonly code: number; readonly data: Buffer }
export function parseError(msg: Buffer): OfError {
  return { type: msg.readUInt16BE(8), code: msg.readUInt16BE(10), data: msg.subarray(12, header(msg).length) };
}
