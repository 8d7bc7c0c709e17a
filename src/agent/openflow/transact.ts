// The transactions the agent runs on a bridge's OpenFlow connection: a bundle of flow_mods
// (atomic and ordered: all or nothing, in order), meter changes, and reads of meters and of flow
// statistics. A refusal names the messages the switch refused, by xid.

import { OfConnection, OfRefused } from './conn.ts';
import { matchText } from './flowtext.ts';
import {
  barrier, bundleControl, bundleStream, flowMod, flowStatsRequest, meterConfigRequest, meterMod, OFPBCT, OFPBF, OFPFC,
  parseFlowStats, parseMeterConfigs, type MeterConfig, type OfError,
} from './wire.ts';
import { errorName, OFPBFC_MSG_FAILED, OFPET_BUNDLE_FAILED } from './errors.ts';

/** How long a transaction may take before the connection is given up (a 10,000-flow bundle on a loaded machine). */
export const TRANSACTION_MS = 60_000;

/** The switch refused a transaction: each refused message's xid and the error. */
export class OfTransactionRefused extends Error {
  constructor(readonly failures: readonly { xid: number; error: OfError }[]) {
    super(failures.map((f) => errorName(f.error.type, f.error.code)).join('; ') || 'refused');
  }
}

/** Attach a no-op handler now (the promise is awaited later): a rejection meanwhile is not unhandled. */
function later<T>(p: Promise<T>): Promise<T> { p.catch(() => undefined); return p; }

let nextBundleId = 1;

/**
 * One atomic, ordered bundle of `messages` (each with its own xid). Opened, filled and fenced with
 * a barrier in one write; committed only when no message was refused while being added (Open
 * vSwitch checks each flow_mod as it is added, and what it refuses then would otherwise be left
 * out of a commit that succeeds); a refusal at commit (a meter that does not exist) names its
 * message too. Either way nothing of the bundle is in the switch after a refusal.
 */
export function bundle(c: OfConnection, messages: readonly Buffer[], xids: readonly number[]): Promise<void> {
  return c.exclusive(async () => {
    const id = nextBundleId = (nextBundleId % 0x7fffffff) + 1;
    const flags = OFPBF.ATOMIC | OFPBF.ORDERED;
    const openX = c.xid(), fenceX = c.xid();
    const opened = later(c.reply(openX, TRANSACTION_MS));
    const fenced = later(c.reply(fenceX, TRANSACTION_MS));
    c.send([bundleStream(id, flags, openX, messages, xids, fenceX)]);
    try { await opened; } catch (e) { await fenced.catch(() => undefined); throw e instanceof OfRefused ? new OfTransactionRefused([{ xid: e.xid, error: e.error }]) : e; }
    await fenced;
    const refusedAtAdd = c.takeStray();
    if (refusedAtAdd.length) {
      const discardX = c.xid();
      const discarded = later(c.reply(discardX, TRANSACTION_MS));
      c.send([bundleControl(discardX, id, OFPBCT.DISCARD_REQUEST, flags)]);
      await discarded.catch((e: unknown) => { if (!(e instanceof OfRefused)) throw e; });
      throw new OfTransactionRefused(refusedAtAdd);
    }
    const commitX = c.xid();
    const committed = later(c.reply(commitX, TRANSACTION_MS));
    c.send([bundleControl(commitX, id, OFPBCT.COMMIT_REQUEST, flags)]);
    try {
      await committed;
    } catch (e) {
      if (!(e instanceof OfRefused)) throw e;
      const inner = c.takeStray();
      // the commit's own error says "a message failed"; the messages' errors say which and why
      const own = e.error.type === OFPET_BUNDLE_FAILED && e.error.code === OFPBFC_MSG_FAILED && inner.length ? [] : [{ xid: e.xid, error: e.error }];
      throw new OfTransactionRefused([...inner, ...own]);
    }
  });
}

/** The flow_mod that deletes every flow of every table (the start of a whole-table bundle). */
export const deleteAll = (xid: number): Buffer => flowMod(xid, OFPFC.DELETE, { cookie: 0n, cookieMask: 0n, priority: 0, oxm: Buffer.alloc(0), actions: [] });

/** The flow_mod that deletes the flows of one cookie (one VIF's). */
export const deleteCookie = (xid: number, cookie: bigint): Buffer => flowMod(xid, OFPFC.DELETE, { cookie, cookieMask: 0xffffffffffffffffn, priority: 0, oxm: Buffer.alloc(0), actions: [] });

/** Messages sent as one write and fenced by a barrier; refused ones raise OfTransactionRefused. */
function fenced(c: OfConnection, messages: readonly Buffer[]): Promise<void> {
  return c.exclusive(async () => {
    const x = c.xid();
    const done = later(c.reply(x, TRANSACTION_MS));
    c.send([...messages, barrier(x)]);
    await done;
    const refused = c.takeStray();
    if (refused.length) throw new OfTransactionRefused(refused);
  });
}

/** A meter change: `meter=N,kbps,burst,band=type=drop,rate=R,burst_size=B` added or modified, or deleted. */
export function meterChange(c: OfConnection, command: 'add' | 'modify' | 'delete', id: number, kbits = 0, burst = 0): Promise<void> {
  const cmd = command === 'add' ? 0 : command === 'modify' ? 1 : 2;
  return fenced(c, [meterMod(c.xid(), cmd, id, kbits, burst)]);
}

/** Every meter of the bridge. */
export function meterConfigs(c: OfConnection): Promise<MeterConfig[]> {
  return c.exclusive(async () => {
    const x = c.xid();
    const r = later(c.reply(x, TRANSACTION_MS));
    c.send([meterConfigRequest(x)]);
    return parseMeterConfigs(await r);
  });
}

/** One flow's statistics. */
export interface FlowStat {
  readonly table: number;
  readonly cookie: string;
  readonly priority: number;
  /** The match as ovs-ofctl-like text (`in_port=3,dl_type=0x0800,nw_src=10.0.0.1`). */
  readonly match: string;
  readonly packet_count: bigint;
  readonly byte_count: bigint;
  readonly duration_sec: number;
}

/** The statistics of the flows whose cookie matches `cookie` under `mask` (every flow by default). */
export function flowStatsOn(c: OfConnection, cookie = 0n, mask = 0n): Promise<FlowStat[]> {
  return c.exclusive(async () => {
    const x = c.xid();
    const r = later(c.reply(x, TRANSACTION_MS));
    c.send([flowStatsRequest(x, cookie, mask)]);
    return parseFlowStats(await r).map((f) => ({
      table: f.tableId, cookie: `0x${f.cookie.toString(16)}`, priority: f.priority, match: matchText(f.oxm),
      packet_count: f.packetCount, byte_count: f.byteCount, duration_sec: f.durationSec,
    }));
  });
}

/** One round trip to the switch (a barrier): what each step of a transaction waits for at least. */
export function roundTrip(c: OfConnection): Promise<void> {
  return c.exclusive(async () => {
    const x = c.xid();
    const r = later(c.reply(x, TRANSACTION_MS));
    c.send([barrier(x)]);
    await r;
  });
}
