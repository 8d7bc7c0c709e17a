// An OpenFlow 1.4 flow monitor (OFPMP_FLOW_MONITOR) on the agent's own connection to a bridge:
// the switch tells at once of every flow that someone else adds, modifies or deletes (another
// controller, an administrator's `ovs-ofctl add-flow`), so that drift is found without reading
// the table back every few seconds.
//
// What Open vSwitch does (3.1; checked with `ovs-ofctl ofp-print`, its connmgr.c, and on a real
// switch in test/openflow-monitor.test.ts): it takes the OpenFlow 1.4 request as its own Nicira
// monitor. Changes made over the monitoring connection itself (the agent's bundles) arrive as one
// ABBREV update per batch (the xid of the message that made them), never in full; it reads
// OFPFMF_ONLY_OWN as NXFMF_OWN ("report this connection's own changes in full"), and refuses
// OFPFMF_NO_ABBREV as a bad flag. So the request asks for ADD, REMOVED and MODIFY, no more: a
// full update is always someone else's change (drift), an abbreviated one the agent's own
// (ignored). PAUSED (the switch's buffer for this connection overflowed: updates were lost; while
// paused it reports even the agent's own deletions in full) and RESUMED (sent after every flow
// again, as added) count as drift: what changed meanwhile is not known; the pass rewrites the table.
//
// Every update is read as hostile: lengths, event types and match bounds are checked, and a
// malformed reply ends the connection (conn.ts), which then reconnects and resyncs the table.

import { OfRefused, OfTransportError, type OfConnection } from './conn.ts';
import { roundTrip } from './transact.ts';
import { HEADER_LEN, message, multipartReply, OFPMP, OFPT, OFPG_ANY, OFPP, OFPTT_ALL, pad8 } from './wire.ts';

/** ofp_flow_monitor_flags (OpenFlow 1.4.1, 7.3.5.19). */
export const OFPFMF = { INITIAL: 1, ADD: 2, REMOVED: 4, MODIFY: 8, INSTRUCTIONS: 16, NO_ABBREV: 32, ONLY_OWN: 64 } as const;
/** ofp_flow_update_event. */
export const OFPFME = { INITIAL: 0, ADDED: 1, REMOVED: 2, MODIFIED: 3, ABBREV: 4, PAUSED: 5, RESUMED: 6 } as const;
const OFPFMC_ADD = 0;
const OFPMT_OXM = 1;

/** What the agent asks for: others' additions, deletions and modifications, in every table. */
export const MONITOR_FLAGS = OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY;

/**
 * A flow monitor request (multipart OFPMP_FLOW_MONITOR): monitor `id`, every table, any output
 * port and group, an empty match (every flow), `flags`.
 */
export function flowMonitorRequest(xid: number, id: number, flags: number = MONITOR_FLAGS): Buffer {
  const b = Buffer.alloc(16 + 16 + 8);
  b.writeUInt16BE(OFPMP.FLOW_MONITOR, 8);
  b.writeUInt32BE(id >>> 0, 16);
  b.writeUInt32BE(OFPP.ANY, 20);
  b.writeUInt32BE(OFPG_ANY, 24);
  b.writeUInt16BE(flags, 28);
  b.writeUInt8(OFPTT_ALL, 30);
  b.writeUInt8(OFPFMC_ADD, 31);
  b.writeUInt16BE(OFPMT_OXM, 32);
  b.writeUInt16BE(4, 34);
  return message(OFPT.MULTIPART_REQUEST, xid, b);
}

/** One update of a flow monitor reply. */
export type FlowUpdate =
  | { readonly event: 'initial' | 'added' | 'removed' | 'modified'; readonly table: number; readonly reason: number; readonly priority: number; readonly cookie: bigint }
  | { readonly event: 'abbrev'; readonly xid: number }
  | { readonly event: 'paused' | 'resumed' };

const FULL = ['initial', 'added', 'removed', 'modified'] as const;
/** ofp_flow_update_full up to its match: length, event, table, reason, timeouts, priority, pad, cookie. */
const FULL_HEAD = 24;

/** The updates of a flow monitor reply's body. Throws on anything malformed (a length out of bounds, an unknown event). */
export function parseFlowUpdates(body: Buffer): FlowUpdate[] {
  const out: FlowUpdate[] = [];
  for (let at = 0; at < body.length;) {
    if (body.length - at < 8) throw new RangeError('flow update shorter than its header');
    const len = body.readUInt16BE(at), event = body.readUInt16BE(at + 2);
    if (len < 8 || len % 8 !== 0 || at + len > body.length) throw new RangeError(`flow update of ${len} bytes at ${at} of ${body.length}`);
    if (event <= OFPFME.MODIFIED) {
      if (len < FULL_HEAD + 8) throw new RangeError(`full flow update of ${len} bytes`);
      const matchType = body.readUInt16BE(at + FULL_HEAD), matchLen = body.readUInt16BE(at + FULL_HEAD + 2);
      if (matchType !== OFPMT_OXM || matchLen < 4 || FULL_HEAD + pad8(matchLen) > len) throw new RangeError('flow update with a malformed match');
      out.push({ event: FULL[event], table: body.readUInt8(at + 4), reason: body.readUInt8(at + 5), priority: body.readUInt16BE(at + 10), cookie: body.readBigUInt64BE(at + 16) });
    } else if (event === OFPFME.ABBREV) {
      if (len !== 8) throw new RangeError(`abbreviated flow update of ${len} bytes`);
      out.push({ event: 'abbrev', xid: body.readUInt32BE(at + 4) });
    } else if (event === OFPFME.PAUSED || event === OFPFME.RESUMED) {
      if (len !== 8) throw new RangeError(`paused/resumed flow update of ${len} bytes`);
      out.push({ event: event === OFPFME.PAUSED ? 'paused' : 'resumed' });
    } else {
      throw new RangeError(`flow update event ${event}`);
    }
    at += len;
  }
  return out;
}

/** Whether an update is a change the agent did not make (or may not know of): drift. */
export const isDrift = (u: FlowUpdate): boolean => u.event !== 'abbrev';

let nextMonitorId = 1;
/** How long the switch may take to answer the monitor request (a loaded machine). */
const START_MS = 10_000;

/**
 * A flow monitor on one connection: `onDrift` hears of each change someone else made, from the
 * moment start() resolves until the connection ends (then the owner resyncs anyway). Also the
 * changes the agent itself makes by another way (ovs-ofctl, its fallback) arrive as someone
 * else's: quiet() runs such a write with updates ignored until a barrier on this connection
 * comes back after it, which orders every update the write caused before it.
 */
export class FlowMonitor {
  private established = NaN;
  private quietDepth = 0;
  /** Updates received and ignored (the agent's own), and reported as drift. */
  readonly counts = { ignored: 0, drift: 0 };

  private constructor(private readonly c: OfConnection, private readonly onDrift: (u: FlowUpdate) => void) {}

  /** When the switch took the request (ms since the epoch): changes before it were not reported. */
  get since(): number { return this.established; }

  /**
   * Ask the switch for updates on `c`; OfRefused when it does not implement OpenFlow 1.4 flow
   * monitors. Asked right after the connection opens, before anything else is queued on it: a
   * switch that takes longer than `timeoutMs` to answer one small request is given up (the
   * connection ends and is opened again), rather than holding up the writes that wait for it.
   */
  static async start(c: OfConnection, onDrift: (u: FlowUpdate) => void, timeoutMs = START_MS): Promise<FlowMonitor> {
    const m = new FlowMonitor(c, onDrift);
    // updates can come before the request's reply is read: the reader is in place first
    c.onAsync = (type, msg) => m.receive(type, msg);
    try {
      await c.exclusive(async () => {
        const x = c.xid();
        const r = c.reply(x, timeoutMs);
        r.catch(() => undefined); // awaited below; a send that throws must not leave it unhandled
        c.send([flowMonitorRequest(x, nextMonitorId = (nextMonitorId % 0x7fffffff) + 1)]);
        // without OFPFMF_INITIAL the reply holds no flows; whatever it holds is read as updates
        m.deliver(parseFlowUpdates(await r));
      });
    } catch (e) {
      c.onAsync = undefined;
      // a reply that does not parse ends the connection, as any malformed message does
      if (!(e instanceof OfRefused || e instanceof OfTransportError)) { c.abort(`malformed flow monitor reply: ${(e as Error).message}`); throw new OfTransportError('malformed flow monitor reply'); }
      throw e;
    }
    m.established = Date.now();
    return m;
  }

  /** Whether updates are still coming (the connection is open). */
  get up(): boolean { return this.c.open; }

  private receive(type: number, msg: Buffer): void {
    if (type !== OFPT.MULTIPART_REPLY || msg.length < HEADER_LEN) return;
    const r = multipartReply(msg);
    if (r.type !== OFPMP.FLOW_MONITOR) return;
    this.deliver(parseFlowUpdates(r.body));
  }

  private deliver(updates: readonly FlowUpdate[]): void {
    for (const u of updates) {
      if (this.quietDepth > 0 || !isDrift(u)) { this.counts.ignored++; continue; }
      this.counts.drift++;
      this.onDrift(u);
    }
  }

  /** Run `f` (a write of the agent's own by another connection) with the updates it causes ignored. */
  async quiet<T>(f: () => Promise<T>): Promise<T> {
    this.quietDepth++;
    try {
      return await f();
    } finally {
      // the switch queued the write's updates to this connection before answering its writer:
      // a barrier answered here after them ends the quiet
      if (this.c.open) await roundTrip(this.c).catch(() => undefined);
      this.quietDepth--;
    }
  }
}
