// Spoofing alarms: what a VIF's locking rules dropped, and which VIFs are misbehaving now.
//
// The contract (a poolnet extension of the VIF class): `locking_drops`, a map reason -> the
// cumulative number of frames the VIF's locking rules dropped (the reasons are the datamodel's,
// LOCKING_DROP_REASONS; any other key is shown too), and `locking_drops_changed`, when that map
// last grew. The pool also raises a message named VIF_LOCKING_DROPS whose obj_uuid is the VIF's
// uuid. A server without the extension sends neither field: then nothing is marked. Every value
// is checked here, since a guest chooses what its VIF drops and so, indirectly, what these
// numbers are.

import { LOCKING_DROP_REASONS, LOCKING_DROP_REASON_TEXT } from '../../../src/model/classes/vif.ts';
import { parseXapiTime } from './time.ts';
import { isRef, str, type Rec, type Ref, type Store } from './store.ts';
import { uuidIndex } from './search.ts';

export const ALARM_MESSAGE = 'VIF_LOCKING_DROPS';

const REASON_TEXT: Readonly<Record<string, string>> = LOCKING_DROP_REASON_TEXT;

/** A reason in words (the datamodel's); an unknown key as it is (only when it looks like a key). */
export const reasonText = (k: string): string => (Object.hasOwn(REASON_TEXT, k) ? REASON_TEXT[k] : k);

export interface Drops {
  /** Frames dropped in all, since the VIF's rules were made. */
  readonly total: number;
  /** Per reason, known reasons first in the datamodel's order, then others by name. */
  readonly byReason: readonly { readonly reason: string; readonly count: number }[];
  /** When the counts last rose (ms since the epoch), if the server says. */
  readonly changedAt?: number;
}

const KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** A count from the wire: a non-negative integer (JSON number or decimal string), else undefined. */
function count(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= MAX_COUNT ? n : undefined;
}

/** Records are replaced, never changed, when an event arrives: their counts are read once. */
const dropsCache = new WeakMap<Rec, Drops | undefined>();

/** The VIF's drop counts, or undefined when the server does not report them (field absent or malformed). */
export function vifDrops(vif: Rec | undefined): Drops | undefined {
  if (!vif) return undefined;
  if (dropsCache.has(vif)) return dropsCache.get(vif);
  const d = readDrops(vif);
  dropsCache.set(vif, d);
  return d;
}

function readDrops(vif: Rec): Drops | undefined {
  const m = vif.locking_drops;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const order: readonly string[] = LOCKING_DROP_REASONS;
  const byReason: { reason: string; count: number }[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    const c = count(v);
    if (!KEY.test(k) || c === undefined) continue;
    byReason.push({ reason: k, count: c });
    total = Math.min(MAX_COUNT, total + c);
  }
  const rank = (r: string) => { const i = order.indexOf(r); return i < 0 ? order.length : i; };
  byReason.sort((a, b) => rank(a.reason) - rank(b.reason) || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
  const t = parseXapiTime(vif.locking_drops_changed);
  return { total, byReason, changedAt: t !== undefined && t > 0 ? t : undefined };
}

/**
 * What this page saw first of each VIF's counts: a rise is measured against it. Kept by the page
 * across reconnections; `observe` adds VIFs seen for the first time and returns the same map.
 */
export type Baseline = Map<Ref, number>;

export function observe(baseline: Baseline, store: Store): Baseline {
  for (const [ref, v] of store.table('vif')) {
    if (baseline.has(ref)) continue;
    const d = vifDrops(v);
    if (d) baseline.set(ref, d.total);
  }
  return baseline;
}

/** How long a rise, a change time or an alarm message keeps a VIF marked. */
export const ALARM_WINDOW_MS = 15 * 60_000;

export interface VifAlarm {
  readonly vif: Ref;
  readonly total: number;
  /** Frames dropped since this page first saw the VIF. */
  readonly rose: number;
  readonly changedAt?: number;
  /** The VIF_LOCKING_DROPS messages naming this VIF within the window. */
  readonly messages: number;
}

export interface AlarmMessage {
  readonly ref: Ref;
  readonly at: number | undefined;
  readonly body: string;
  /** The VIF it names, when it is in the cache. */
  readonly vif?: Ref;
  readonly uuid: string;
}

/** The pool's VIF_LOCKING_DROPS messages, newest first. */
export function alarmMessages(store: Store): AlarmMessage[] {
  const out: AlarmMessage[] = [];
  for (const [ref, m] of store.table('message')) {
    if (str(m, 'name') !== ALARM_MESSAGE) continue;
    const uuid = str(m, 'obj_uuid');
    const hit = uuidIndex(store).get(uuid.toLowerCase());
    out.push({ ref, at: parseXapiTime(m.timestamp), body: str(m, 'body'), uuid, vif: hit?.cls === 'vif' ? hit.ref : undefined });
  }
  return out.sort((a, b) => (b.at ?? 0) - (a.at ?? 0) || (a.ref < b.ref ? -1 : 1));
}

/**
 * The VIFs in alarm at `now`: their counts rose since this page first saw them, or rose within
 * the window by the server's clock, or a VIF_LOCKING_DROPS message within the window names them.
 */
export function vifAlarms(store: Store, baseline: ReadonlyMap<Ref, number>, now: number, windowMs = ALARM_WINDOW_MS): Map<Ref, VifAlarm> {
  const msgs = new Map<Ref, number>();
  for (const m of alarmMessages(store)) {
    if (m.vif && m.at !== undefined && now - m.at <= windowMs) msgs.set(m.vif, (msgs.get(m.vif) ?? 0) + 1);
  }
  const out = new Map<Ref, VifAlarm>();
  for (const [ref, v] of store.table('vif')) {
    const d = vifDrops(v);
    const n = msgs.get(ref) ?? 0;
    if (!d && !n) continue;
    const total = d?.total ?? 0;
    const base = baseline.get(ref);
    const rose = base === undefined ? 0 : Math.max(0, total - base);
    const recent = d?.changedAt !== undefined && total > 0 && now - d.changedAt <= windowMs;
    if (rose > 0 || recent || n > 0) out.set(ref, { vif: ref, total, rose, changedAt: d?.changedAt, messages: n });
  }
  return out;
}

/** Alarms counted where the overview shows them: per VM, per host the VM runs on, per network. */
export interface AlarmRollup {
  readonly vms: ReadonlyMap<Ref, number>;
  readonly hosts: ReadonlyMap<Ref, number>;
  readonly networks: ReadonlyMap<Ref, number>;
}

export function rollup(store: Store, alarms: ReadonlyMap<Ref, VifAlarm>): AlarmRollup {
  const vms = new Map<Ref, number>(), hosts = new Map<Ref, number>(), networks = new Map<Ref, number>();
  const add = (m: Map<Ref, number>, k: unknown) => { if (isRef(k)) m.set(k, (m.get(k) ?? 0) + 1); };
  for (const ref of alarms.keys()) {
    const v = store.get('vif', ref);
    if (!v) continue;
    add(vms, v.VM);
    add(networks, v.network);
    add(hosts, store.get('vm', v.VM)?.resident_on);
  }
  return { vms, hosts, networks };
}
