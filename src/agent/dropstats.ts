// Frames dropped by each VIF's locking rules, by reason (pure): what the switch's counters say
// (Open vSwitch: the packet count of each drop flow, whose priority names its reason, ovsflows.ts
// DROP; the Linux bridge: one named nftables counter per VIF and reason, bridgerules.ts), turned
// into increases per VIF, the cumulative `locking_drops` the VIF record holds, and the pool
// message VIF_LOCKING_DROPS, rate-limited. The reads and writes are droppoller.ts's.

import { LOCKING_DROP_REASON_TEXT, LOCKING_DROP_REASONS, type LockingDropReason } from '../model/classes/vif.ts';
import { DROP_REASON } from './ovsflows.ts';

export type DropCounts = Partial<Record<LockingDropReason, number>>;

/** The name of the pool message about a VIF whose locking rules drop frames. */
export const VIF_LOCKING_DROPS = 'VIF_LOCKING_DROPS';

/** At most one VIF_LOCKING_DROPS message per VIF in this long. */
export const ALERT_INTERVAL_MS = 60_000;
/** And at most this many from one host in that time (the rest wait, their counts kept). */
export const ALERTS_PER_INTERVAL = 30;

/** Counts above this are not believed (2^53: what a JSON number holds exactly). */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

const REASONS: ReadonlySet<string> = new Set(LOCKING_DROP_REASONS);
export const isDropReason = (s: string): s is LockingDropReason => REASONS.has(s);

/**
 * A `locking_drops` value as the datamodel allows it, or undefined: a map from the known reasons
 * to whole numbers, 0 <= n <= 2^53. What a member reports, and what a replica holds, pass through
 * here: they may be anything.
 */
export function cleanLockingDrops(v: unknown): DropCounts | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: DropCounts = {};
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
    // XML-RPC carries ints as text
    const x = typeof n === 'string' && /^\d{1,16}$/.test(n) ? Number(n) : n;
    if (!isDropReason(k) || typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || x > MAX_COUNT) return undefined;
    out[k] = x;
  }
  return out;
}

/** Counts in the datamodel's order of reasons, zeros left out. */
export function ordered(c: DropCounts): DropCounts {
  const out: DropCounts = {};
  for (const r of LOCKING_DROP_REASONS) if (c[r]) out[r] = c[r];
  return out;
}

export const total = (c: DropCounts): number => LOCKING_DROP_REASONS.reduce((s, r) => s + (c[r] ?? 0), 0);

/** a + b, per reason (capped at 2^53). */
export function plus(a: DropCounts, b: DropCounts): DropCounts {
  const out: DropCounts = { ...a };
  for (const r of LOCKING_DROP_REASONS) if (b[r]) out[r] = Math.min(MAX_COUNT, (out[r] ?? 0) + b[r]);
  return ordered(out);
}

/** Per reason, the larger of the two: a cumulative count never goes back (pool.replica_write). */
export function atLeast(stored: DropCounts, given: DropCounts): DropCounts {
  const out: DropCounts = { ...stored };
  for (const r of LOCKING_DROP_REASONS) if ((given[r] ?? 0) > (out[r] ?? 0)) out[r] = given[r];
  return ordered(out);
}

/**
 * What the master stores of a member's report of a VIF's `locking_drops` (pool.replica_write): the
 * value checked as the datamodel allows it, never lower than what is stored (per reason), and the
 * master's own time as `locking_drops_changed`; undefined when the report is malformed or raises
 * nothing.
 */
export function reportedDrops(stored: unknown, given: unknown, stamp: string): { locking_drops: DropCounts; locking_drops_changed: string } | undefined {
  const g = cleanLockingDrops(given);
  if (!g) return undefined;
  const s = cleanLockingDrops(stored) ?? {};
  if (!LOCKING_DROP_REASONS.some((r) => (g[r] ?? 0) > (s[r] ?? 0))) return undefined;
  return { locking_drops: atLeast(s, g), locking_drops_changed: stamp };
}

// ---- Open vSwitch ------------------------------------------------------------------------

/** One flow's counters, as a flow-stats reply or `ovs-ofctl dump-flows` gives them. */
export interface FlowStat {
  readonly cookie: string;
  readonly priority: number;
  /** Distinguishes flows of one cookie and priority (the match as the switch prints it). */
  readonly match: string;
  readonly packets: number;
  /** Seconds since the flow was added (a flow replaced restarts its counts). */
  readonly ageSec: number;
  /** Whether the flow drops (no action). */
  readonly drop: boolean;
}

/**
 * The reason of a VIF's drop flow, from its priority (ovsflows.ts: no allow flow shares a
 * priority with a drop flow); undefined for an allow flow or a flow of the bridge's own (cookie 0).
 */
export function flowDropReason(f: Pick<FlowStat, 'cookie' | 'priority' | 'drop'>): LockingDropReason | undefined {
  if (!f.drop || /^0x0*$/.test(f.cookie)) return undefined;
  return DROP_REASON.get(f.priority);
}

const DUMP_LINE = /\bcookie=(0x[0-9a-f]+),\s*duration=([\d.]+)s,.*?\bn_packets=(\d+),.*?\bpriority=(\d+)(,[^\s]*)?\s+actions=(\S+)/;

/** The flows of `ovs-ofctl dump-flows` (with statistics). Lines it cannot read are left out. */
export function parseFlowDump(text: string): FlowStat[] {
  const out: FlowStat[] = [];
  for (const line of text.split('\n')) {
    const m = DUMP_LINE.exec(line);
    if (!m) continue;
    const packets = Number(m[3]);
    if (!Number.isSafeInteger(packets)) continue;
    out.push({ cookie: m[1], ageSec: Number(m[2]), packets, priority: Number(m[4]), match: (m[5] ?? '').slice(1), drop: m[6] === 'drop' });
  }
  return out;
}

// ---- readings and their increases -----------------------------------------------------------

/** One counter read from the switch, attributed to a VIF and a reason. */
export interface Reading {
  /** Stable per counter: the same counter reads under the same key next time. */
  readonly key: string;
  readonly vif: string;
  readonly reason: LockingDropReason;
  readonly packets: number;
  /**
   * Whether the counter was made since the previous read (its counts are all new): true or false
   * when the switch says (a flow's age), undefined when it does not (then: a counter first seen
   * after the first read is new).
   */
  readonly made?: boolean;
}

/**
 * Open vSwitch flow counters as readings: the drop flows of the VIFs named by cookie.
 * `ageResolution`: the seconds a flow's age is rounded down to (whole seconds over OpenFlow).
 */
export function flowReadings(bridge: string, flows: readonly FlowStat[], vifOfCookie: ReadonlyMap<string, string>, secondsSinceLastRead: number | undefined, ageResolution = 0.001): Reading[] {
  const out: Reading[] = [];
  for (const f of flows) {
    const reason = flowDropReason(f);
    const vif = vifOfCookie.get(f.cookie);
    if (!reason || !vif) continue;
    // a flow surely younger than the time since the last read was (re)added meanwhile: all its
    // counts are new (otherwise a count lower than the last one still shows a reset)
    const made = secondsSinceLastRead === undefined ? undefined : f.ageSec + ageResolution <= secondsSinceLastRead;
    out.push({ key: `${bridge} ${f.cookie} ${f.priority} ${f.match}`, vif, reason, packets: f.packets, made });
  }
  return out;
}

/**
 * The increase of every counter since the last read, summed per VIF and reason. A counter seen for
 * the first time counts in full only when it is new (a counter that was there before the first read
 * counts from then on); a counter that went down was reset and counts in full.
 */
export class DropCounter {
  private last = new Map<string, number>();
  private primed = false;

  /**
   * Increases per VIF uuid (VIFs with none left out). `unread`: key prefixes of sources that could
   * not be read this time; their counters keep their last values (else they would count in full,
   * as new, when read again).
   */
  add(readings: readonly Reading[], unread: readonly string[] = []): Map<string, DropCounts> {
    const next = new Map<string, number>();
    for (const [k, v] of this.last) if (unread.some((p) => k.startsWith(p))) next.set(k, v);
    const out = new Map<string, DropCounts>();
    for (const r of readings) {
      if (!Number.isSafeInteger(r.packets) || r.packets < 0) continue;
      const prev = this.last.get(r.key);
      next.set(r.key, r.packets);
      const made = r.made ?? (prev === undefined && this.primed);
      const delta = prev === undefined ? (made ? r.packets : 0) : made || r.packets < prev ? r.packets : r.packets - prev;
      if (delta <= 0) continue;
      const c = out.get(r.vif) ?? {};
      c[r.reason] = (c[r.reason] ?? 0) + delta;
      out.set(r.vif, c);
    }
    // counters gone (a VIF's flows replaced, a VIF gone) are forgotten
    this.last = next;
    this.primed = true;
    return out;
  }
}

// ---- the pool message ------------------------------------------------------------------------

/** What the message says about a VIF, from the database (names are the users': quoted, cut). */
export interface VifNames {
  readonly vm: string;
  readonly device: string;
  readonly mac: string;
  readonly network: string;
}

const quoted = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);

/** The body of a VIF_LOCKING_DROPS message: the VM, the VIF, the network and what was dropped. */
export function alertBody(n: VifNames, counts: DropCounts, seconds: number): string {
  const c = ordered(counts);
  const parts = LOCKING_DROP_REASONS.filter((r) => c[r]).map((r) => `${r} ${c[r]} (${LOCKING_DROP_REASON_TEXT[r]})`);
  const span = seconds <= 1 ? 'in the last second' : `in the last ${Math.round(seconds)} s`;
  return `VM ${quoted(n.vm)}, VIF ${quoted(n.device)} (MAC ${quoted(n.mac)}) on network ${quoted(n.network)}: its locking rules dropped ${total(c)} frames ${span}: ${parts.join(', ')}.`;
}

/**
 * Which VIFs get a message now. A VIF whose drops rose gets one at once when it had none in the
 * last ALERT_INTERVAL_MS, or when it drops for a reason not yet reported in that time (a new kind
 * of attack is never held back behind an earlier one); otherwise its counts wait and go in one
 * message when the interval is over. So a VIF gets at most one message a minute per reason, and a
 * host at most ALERTS_PER_INTERVAL a minute in all (the rest wait, their counts kept).
 */
export class AlertLimiter {
  private readonly pending = new Map<string, { counts: DropCounts; since: number }>();
  /** Per VIF: when its current interval began (its first message then) and the reasons reported since. */
  private readonly windows = new Map<string, { start: number; reasons: Set<LockingDropReason> }>();
  private sentAt: number[] = [];

  constructor(private readonly intervalMs = ALERT_INTERVAL_MS, private readonly perInterval = ALERTS_PER_INTERVAL) {}

  /** Record increases; returns the VIFs due a message now, with their counts and the seconds they span. */
  due(increases: ReadonlyMap<string, DropCounts>, present: ReadonlySet<string>, now: number): { vif: string; counts: DropCounts; seconds: number }[] {
    for (const [vif, c] of increases) {
      const p = this.pending.get(vif);
      this.pending.set(vif, p ? { counts: plus(p.counts, c), since: p.since } : { counts: ordered(c), since: now });
    }
    // VIFs gone from this host: nothing more to say about them here
    for (const vif of this.pending.keys()) if (!present.has(vif)) this.pending.delete(vif);
    for (const [vif, w] of this.windows) if (now - w.start >= this.intervalMs && !this.pending.has(vif)) this.windows.delete(vif);
    this.sentAt = this.sentAt.filter((t) => now - t < this.intervalMs);
    const out: { vif: string; counts: DropCounts; seconds: number }[] = [];
    for (const [vif, p] of [...this.pending].sort((a, b) => a[1].since - b[1].since)) {
      if (this.sentAt.length >= this.perInterval) break;
      const reasons = LOCKING_DROP_REASONS.filter((r) => p.counts[r]);
      let w = this.windows.get(vif);
      if (w && now - w.start < this.intervalMs) {
        if (reasons.every((r) => w!.reasons.has(r))) continue;
        for (const r of reasons) w.reasons.add(r);
      } else {
        w = { start: now, reasons: new Set(reasons) };
        this.windows.set(vif, w);
      }
      out.push({ vif, counts: p.counts, seconds: Math.max(1, (now - p.since) / 1000) });
      this.pending.delete(vif);
      this.sentAt.push(now);
    }
    return out;
  }

  /** A message that could not be sent: its counts wait for the next chance. */
  retry(vif: string, counts: DropCounts, since: number): void {
    const p = this.pending.get(vif);
    this.pending.set(vif, p ? { counts: plus(p.counts, counts), since: Math.min(p.since, since) } : { counts, since });
    this.windows.delete(vif);
  }
}
