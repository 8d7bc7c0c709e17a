// How long sessions live and how many there may be, as xapi does it (xapi_globs.ml, db_gc_util.ml):
// a session unused for 24 hours is gone; sessions are grouped (pool sessions; root without an
// originator; root per originator; every other user by name) and a group over its limit loses
// its least recently used sessions first. poolnet trims a group when a login would exceed it
// (xapi waits for its periodic GC), so no burst of logins can grow the table.
//
// Sessions are kept in the database and survive a restart, as xapi's do; the database is private
// to the daemon's user (see Database). Use is tracked in memory and written to `last_active` at
// most once a minute per session, so a call costs no write.

import type { Database, Obj, Txn } from '../db/database.ts';
import { formatDate } from './marshal.ts';
import { xapiTimeMs } from '../model/datetime.ts';

export interface SessionPolicy {
  /** A session unused this long is invalid (xapi: inactive_session_timeout = 86400 s). */
  readonly inactiveMs: number;
  /** xapi: max_sessions_per_user_name = 500. */
  readonly maxPerUser: number;
  /** xapi: max_sessions_per_originator = 500. */
  readonly maxPerOriginator: number;
  /** Pool sessions, and root sessions without an originator (xapi: max_sessions = 400 each). */
  readonly maxInternal: number;
  readonly maxExternal: number;
  /** How often last_active is written and expired sessions are destroyed. */
  readonly sweepMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  inactiveMs: 86_400_000, maxPerUser: 500, maxPerOriginator: 500, maxInternal: 400, maxExternal: 400, sweepMs: 60_000,
};

const parseDate = (s: unknown): number => xapiTimeMs(s) ?? 0;

export class SessionKeeper {
  private readonly lastUse = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database, public policy: SessionPolicy = DEFAULT_SESSION_POLICY, private readonly clock: () => number = Date.now) {}

  /** When the session was last used (ms since the epoch). */
  lastActive(s: Obj): number {
    return Math.max(this.lastUse.get(s.ref) ?? 0, parseDate(s.rec.last_active));
  }

  isExpired(s: Obj): boolean {
    return this.clock() - this.lastActive(s) > this.policy.inactiveMs;
  }

  /** A call used the session. */
  touch(ref: string): void { this.lastUse.set(ref, this.clock()); }

  /** xapi's session groups and their limits. */
  private groupOf(rec: Readonly<Record<string, unknown>>): { key: string; limit: number } {
    if (rec.pool) return { key: 'internal', limit: this.policy.maxInternal };
    const user = String(rec.auth_user_name ?? '');
    const originator = String(rec.originator ?? '');
    const root = user === '' || user === 'root';
    if (root && originator === '') return { key: 'external', limit: this.policy.maxExternal };
    return root ? { key: `originator:${originator}`, limit: this.policy.maxPerOriginator } : { key: `user:${user}`, limit: this.policy.maxPerUser };
  }

  /** Before a session with these fields is created: destroy the group's least recently used ones beyond its limit. */
  makeRoom(tx: Txn, fields: Readonly<Record<string, unknown>>): void {
    const { key, limit } = this.groupOf(fields);
    const group = tx.all('session').filter((s) => this.groupOf(s.rec).key === key);
    if (group.length < limit) return;
    group.sort((a, b) => this.lastActive(a) - this.lastActive(b));
    for (const s of group.slice(0, group.length - limit + 1)) { tx.delete(s.ref); this.lastUse.delete(s.ref); }
  }

  /** Destroy expired sessions and write last_active of the ones in use. Only the master writes. */
  sweep(): void {
    if (this.db.getLocal('role') === 'member') return;
    const now = this.clock();
    this.db.transact((tx) => {
      for (const s of tx.all('session')) {
        if (now - this.lastActive(s) > this.policy.inactiveMs) { tx.delete(s.ref); this.lastUse.delete(s.ref); continue; }
        const used = this.lastUse.get(s.ref);
        if (used !== undefined && used - parseDate(s.rec.last_active) >= this.policy.sweepMs) tx.update(s.ref, { last_active: formatDate(new Date(used)) });
      }
    });
    for (const ref of this.lastUse.keys()) if (!this.db.get(ref)) this.lastUse.delete(ref);
  }

  start(): this {
    this.timer ??= setInterval(() => this.sweep(), this.policy.sweepMs).unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const keepers = new WeakMap<Database, SessionKeeper>();

/** The session keeper of a database (one per database: sessions live there). */
export function sessionKeeper(db: Database): SessionKeeper {
  let k = keepers.get(db);
  if (!k) keepers.set(db, (k = new SessionKeeper(db)));
  return k;
}

/** Change the policy (tests: a short timeout, small limits). */
export function configureSessions(db: Database, policy: Partial<SessionPolicy>): SessionKeeper {
  const k = sessionKeeper(db);
  k.policy = { ...k.policy, ...policy };
  return k;
}
