// The event engine: event.from (coalesced, token-based), event.inject, and the legacy
// event.register / event.next queue, all read from the database's generation log.

import type { Database, Obj } from '../db/database.ts';
import { XapiError, classByLowerName, roleAllows, storedClasses, t } from '../model/index.ts';
import type { ImplTable } from './context.ts';
import { CACHE, I32, Shared, storedRecord, Typed } from './marshal.ts';
import { sessionRoles } from './sessions.ts';

/** Subscriptions: `*`, lower-case class names, and single objects as `class/ref` (class lower-cased). */
interface Sub { all: boolean; classes: Set<string>; objects: Set<string> }

function parseSubs(classes: string[]): Sub {
  const sub: Sub = { all: false, classes: new Set(), objects: new Set() };
  for (const c of classes) {
    if (c === '*') { sub.all = true; continue; }
    const slash = c.indexOf('/');
    if (slash === 0 || c === '' || /\s/.test(c)) throw new XapiError('EVENT_SUBSCRIPTION_PARSE_FAILURE', [c]);
    if (slash > 0) {
      const ref = c.slice(slash + 1);
      if (!ref) throw new XapiError('EVENT_SUBSCRIPTION_PARSE_FAILURE', [c]);
      // as xapi's Subscription.object_matches: both the class and the ref must match
      sub.objects.add(`${c.slice(0, slash).toLowerCase()}/${ref}`);
    } else sub.classes.add(c.toLowerCase()); // unknown class names are simply ignored
  }
  return sub;
}

function matches(sub: Sub, lname: string, ref: string): boolean {
  return sub.all || sub.classes.has(lname) || (sub.objects.size > 0 && sub.objects.has(`${lname}/${ref}`));
}

/** Whether any object of the class can match (a whole class, or one of its objects, subscribed). */
function mayMatch(sub: Sub, lname: string): boolean {
  if (sub.all || sub.classes.has(lname)) return true;
  for (const o of sub.objects) if (o.startsWith(`${lname}/`)) return true;
  return false;
}

const pad = (n: number) => String(n).padStart(20, '0');
export const tokenOf = (gen: number): string => `${pad(gen)},${pad(0)}`;

function parseToken(token: string): number {
  if (token === '') return -1;
  const m = /^(\d{1,20}),(\d{1,20})$/.exec(token) ?? /^(\d{1,20})$/.exec(token);
  if (!m) throw new XapiError('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
  return Number(m[1]);
}

export interface EventRecord {
  id: string;
  timestamp: string;
  class: string;
  operation: 'add' | 'mod' | 'del';
  ref: string;
  snapshot?: Typed;
}

function eventOf(db: Database, o: Obj, op: 'add' | 'mod', gen: number, timestamp: string): EventRecord {
  const lname = o.cls.toLowerCase();
  return { id: String(gen), timestamp, class: lname, operation: op, ref: o.ref, snapshot: new Typed(t.record(o.cls), storedRecord(db, o)) };
}

/** Coalesced events after `since` (-1: every object as `add`), in xapi's order: adds, mods, dels. */
export function collect(db: Database, sub: Sub, since: number, timestamp = '0.0'): EventRecord[] {
  const adds: EventRecord[] = [], mods: EventRecord[] = [], dels: EventRecord[] = [];
  if (since < 0) {
    for (const c of storedClasses()) {
      if (!c.events || !mayMatch(sub, c.lname)) continue;
      for (const o of db.all(c.name)) if (matches(sub, c.lname, o.ref)) adds.push(eventOf(db, o, 'add', o.modified, timestamp));
    }
    return adds;
  }
  for (const { ref, gen } of db.changedSince(since)) {
    const o = db.get(ref);
    if (o) {
      if (!matches(sub, o.cls.toLowerCase(), ref)) continue;
      (o.created > since ? adds : mods).push(eventOf(db, o, o.created > since ? 'add' : 'mod', gen, timestamp));
      continue;
    }
    const tomb = db.tombstone(ref);
    if (!tomb || tomb.created > since) continue; // created and deleted inside the window: nothing
    const lname = tomb.cls.toLowerCase();
    if (matches(sub, lname, ref)) dels.push({ id: String(gen), timestamp, class: lname, operation: 'del', ref });
  }
  return [...adds, ...mods, ...dels];
}

export function validRefCounts(db: Database): Record<string, I32> {
  const out: Record<string, I32> = {};
  for (const c of storedClasses()) if (c.events) out[c.lname] = new I32(db.count(c.name));
  return out;
}

/** event.from's answer. */
interface FromAnswer { events: EventRecord[]; valid_ref_counts: Record<string, I32>; token: string }

/** Long-poll support: wakes waiters on every commit, and sessions on logout. */
export class EventHub {
  private waiters = new Set<() => void>();
  /**
   * event.from's answers at one generation, by subscription and token: the watchers a commit
   * wakes mostly share both, and then get one answer, collected and encoded once (Shared).
   */
  private answers = { gen: -1, bySubToken: new Map<string, Shared>() };
  /** Legacy event.register state per session. */
  private readonly registered = new Map<string, { sub: string[]; since: number }>();

  constructor(private readonly db: Database) {
    db.onCommit(() => this.wake());
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }

  /** Resolve at the next commit or after `ms`, whichever first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => { if (done) return; done = true; clearTimeout(timer); this.waiters.delete(finish); signal?.removeEventListener('abort', finish); resolve(); };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.waiters.add(finish);
      signal?.addEventListener('abort', finish);
    });
  }

  async from(sessionRef: string, classes: string[], token: string, timeout: number): Promise<unknown> {
    const sub = parseSubs(classes);
    const since = parseToken(token);
    // a NaN timeout (XML-RPC <double>nan</double>) is no wait, as in xapi, rather than a deadline never reached
    const deadline = Date.now() + (timeout > 0 ? Math.min(timeout, 3600) : 0) * 1000;
    for (;;) {
      if (!this.db.getOf('session', sessionRef)) throw new XapiError('SESSION_INVALID', [sessionRef]);
      const answer = this.answer(sub, classes, since);
      if ((answer instanceof Shared ? (answer.value as FromAnswer) : answer).events.length > 0 || Date.now() >= deadline) return answer;
      await this.wait(deadline - Date.now());
    }
  }

  /** The events after `since` and the token to go on from, shared while the generation stays. */
  private answer(sub: Sub, classes: readonly string[], since: number): FromAnswer | Shared {
    const gen = this.db.generation;
    const make = (): FromAnswer => ({ events: collect(this.db, sub, since), valid_ref_counts: validRefCounts(this.db), token: tokenOf(gen) });
    // a first call (every object) is not kept: it can be large, and each client makes it once
    if (!CACHE || since < 0) return make();
    if (this.answers.gen !== gen) this.answers = { gen, bySubToken: new Map() };
    const key = `${since} ${[...new Set(classes)].sort().join(' ')}`;
    let a = this.answers.bySubToken.get(key);
    if (!a) this.answers.bySubToken.set(key, (a = new Shared(make())));
    return a;
  }

  register(sessionRef: string, classes: string[]): void {
    parseSubs(classes);
    const cur = this.registered.get(sessionRef);
    if (cur) cur.sub = [...new Set([...cur.sub, ...classes])];
    else this.registered.set(sessionRef, { sub: [...classes], since: this.db.generation });
  }

  unregister(sessionRef: string, classes: string[]): void {
    const cur = this.registered.get(sessionRef);
    if (!cur) return;
    cur.sub = cur.sub.filter((c) => !classes.includes(c));
  }

  async next(sessionRef: string): Promise<EventRecord[]> {
    for (;;) {
      const reg = this.registered.get(sessionRef);
      if (!reg) throw new XapiError('SESSION_NOT_REGISTERED', [sessionRef]);
      if (!this.db.getOf('session', sessionRef)) throw new XapiError('SESSION_INVALID', [sessionRef]);
      const gen = this.db.generation;
      const events = collect(this.db, parseSubs(reg.sub), reg.since, `${Math.floor(Date.now() / 1000)}.`);
      reg.since = gen;
      if (events.length > 0) return events;
      await this.wait(30_000);
    }
  }

  forget(sessionRef: string): void { this.registered.delete(sessionRef); }
}

/** Whether a session may write: local root and members, or a role above read-only. */
function mayTouch(s: Obj | undefined): boolean {
  return !!s && (!!s.rec.is_local_superuser || roleAllows(sessionRoles(s), 'vm-operator'));
}

export function eventImpls(hub: EventHub): ImplTable {
  return {
    'event.from': (ctx, a) => hub.from(ctx.sessionRef, a.classes, a.token, a.timeout),
    'event.register': (ctx, a) => { hub.register(ctx.sessionRef, a.classes); },
    'event.unregister': (ctx, a) => { hub.unregister(ctx.sessionRef, a.classes); },
    'event.next': (ctx) => hub.next(ctx.sessionRef),
    'event.get_current_id': (ctx) => ctx.db.generation,
    'event.inject': (ctx, a) => {
      const cls = classByLowerName(a.class);
      const o = cls ? ctx.db.getOf(cls.name, a.ref) : undefined;
      if (!cls || !o) throw new XapiError('HANDLE_INVALID', [a.class, a.ref]);
      // A read-only session writes nothing, not even an artificial change that every watcher and
      // every host's agent would act on: it gets the token just before the object's last change,
      // from which event.from reports the object all the same. (xapi opens event.inject to every
      // role, and the npm xen-api client and Xen Orchestra start each event loop with it.)
      if (!mayTouch(ctx.session)) return tokenOf(Math.max(0, o.modified - 1));
      ctx.tx.touch(o.ref);
      // the token just before this change, so that the next event.from sees it
      return tokenOf(ctx.db.generation);
    },
  };
}
