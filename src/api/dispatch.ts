// The dispatcher: method lookup, parameter count, unmarshalling, session, RBAC, then the
// implementation inside one database transaction. Transport-independent.

import type { Database, ObjOf } from '../db/database.ts';
import { XapiError, allWireNames, lookupMethod, rbacDenied, roleAllows, t, type ClassDef, type FieldType, type MessageDef } from '../model/index.ts';
import { checkMessageValues } from '../model/checks.ts';
import { byWireName, type Ctx, type ImplTable, type Services } from './context.ts';
import { EventHub, eventImpls } from './events.ts';
import { decodeCtorArgs, runGeneric } from './generic.ts';
import { fromWire, isStruct } from './marshal.ts';
import { checkRbac, checkSession, sessionImpls, sessionRoles } from './sessions.ts';
import { assertTaskOwner, createTask, finishTask, taskImpls } from './tasks.ts';
import type { WireValue } from './xmlrpc.ts';

export type CallResult =
  | { ok: true; value: unknown; type: FieldType; bare?: boolean }
  | { ok: false; error: XapiError };

/**
 * The internal pool messages answer only sessions made with the pool secret: checked before
 * RBAC, whose local-superuser pass would let local root's own login through.
 */
function assertPoolMember(session: ObjOf<'session'>, cls: ClassDef, msg: MessageDef): void {
  if (msg.role === 'pool-member' && !session.rec.pool) throw rbacDenied(`${cls.name}.${msg.name}`.toLowerCase(), 'pool-member');
}

const WRITES = new Set(['set', 'add_to', 'remove_from', 'add', 'remove']);

/**
 * A session's own fields (other_config) are written by that session or another of its subject;
 * any other session's need pool-admin, as the permission `<message>/any`.
 */
function assertSessionOwner(db: Database, session: ObjOf<'session'>, msg: MessageDef, args: Record<string, unknown>): void {
  if (!msg.generic || !WRITES.has(msg.generic)) return;
  const target = db.getOf('session', String(args.self));
  if (!target || target.ref === session.ref || session.rec.is_local_superuser) return;
  const sid = session.rec.auth_user_sid ?? '';
  if ((sid !== '' && target.rec.auth_user_sid === sid) || roleAllows(sessionRoles(session), 'pool-admin')) return;
  throw rbacDenied(`session.${msg.name}/any`.toLowerCase(), 'pool-admin');
}

/** The caller's session, typed: checkSession (sessions.ts) answers a live session object or throws. */
function validSession(db: Database, ref: unknown): ObjOf<'session'> {
  return db.getOf('session', checkSession(db, ref).ref)!;
}

/** Decides, before anything else, whether this daemon answers a call (members, emergency mode). */
export type Gate = (method: string, cls: ClassDef, msg: MessageDef) => void;

export class Api {
  readonly hub: EventHub;
  /** Async calls still running: the daemon waits for them before it closes the database. */
  private readonly inflight = new Set<Promise<void>>();
  private readonly impls: ImplTable;
  private gate: Gate | undefined;

  constructor(readonly svc: Services, extra: ImplTable = {}) {
    this.hub = new EventHub(svc.db);
    this.impls = { ...sessionImpls, ...taskImpls, ...eventImpls(this.hub), ...extra };
  }

  setGate(g: Gate | undefined): void { this.gate = g; }

  /** Implementations that need the API itself (the daemon's pool membership). */
  addImpls(table: ImplTable): void { Object.assign(this.impls, table); }

  /** Wait, up to `ms`, for the Async calls still running (at shutdown, before the database closes). */
  async settle(ms = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
    await Promise.race([Promise.allSettled([...this.inflight]), late]);
    clearTimeout(timer);
  }

  async call(method: string, params: WireValue[]): Promise<CallResult> {
    try {
      return await this.callOrThrow(method, params);
    } catch (e) {
      if (e instanceof XapiError) return { ok: false, error: e };
      this.svc.log.error({ err: e, method }, 'internal error');
      return { ok: false, error: new XapiError('INTERNAL_ERROR', [(e as Error)?.message ?? String(e)]) };
    }
  }

  private async callOrThrow(method: string, params: WireValue[]): Promise<CallResult> {
    if (method === 'system.listMethods') return { ok: true, value: allWireNames(), type: t.set(t.string), bare: true };
    let wire = method;
    let isAsync = false;
    for (const prefix of ['Async.', 'InternalAsync.']) {
      if (wire.startsWith(prefix)) { wire = wire.slice(prefix.length); isAsync = true; }
    }
    const found = lookupMethod(wire);
    if (!found) throw new XapiError('MESSAGE_METHOD_UNKNOWN', [method]);
    const { cls, msg } = found;
    const name = `${cls.name}.${msg.name}`;
    if (isAsync && !msg.async) throw XapiError.relayed('Fault', [`No async mode for this operation (rpc: ${name})`]);
    this.gate?.(name, cls, msg);

    const given = msg.sessionless ? params : params.slice(1);
    if (!msg.sessionless && params.length === 0) throw new XapiError('SESSION_INVALID', ['']);
    const max = msg.params.length;
    let min = max;
    while (min > 0 && msg.params[min - 1].default !== undefined) min--;
    if (given.length < min || given.length > max) throw new XapiError('MESSAGE_PARAMETER_COUNT_MISMATCH', [name, max, given.length]);

    const args: Record<string, unknown> = {};
    msg.params.forEach((p, i) => {
      if (i >= given.length) { args[p.name] = p.default; return; }
      const w = given[i];
      if (msg.generic === 'create' && p.type.k === 'record') {
        if (!isStruct(w)) throw new XapiError('FIELD_TYPE_ERROR', [p.name]);
        args[p.name] = decodeCtorArgs(cls, w);
      } else args[p.name] = fromWire(w, p.type, p.name);
    });

    const sessionRef = msg.sessionless ? '' : (typeof params[0] === 'string' ? params[0] : '');
    const session = msg.sessionless ? undefined : validSession(this.svc.db, params[0]);
    if (session) {
      assertPoolMember(session, cls, msg);
      checkRbac(session, cls, msg, args);
      if (cls.name === 'task') assertTaskOwner(this.svc.db, session, msg, args);
      if (cls.name === 'session') assertSessionOwner(this.svc.db, session, msg, args);
    }
    checkMessageValues(cls, msg, args); // the datamodel's value syntax (model/checks.ts): refused before anything runs

    if (isAsync) {
      const task = createTask(this.svc.db, this.svc.thisHost(), sessionRef, `Async.${name}`);
      const done = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.run(cls, msg, args, sessionRef, task))
        .then((value) => finishTask(this.svc.db, task, { ok: true, value, type: msg.result }),
          (e: unknown) => finishTask(this.svc.db, task, { ok: false, error: e instanceof XapiError ? e : new XapiError('INTERNAL_ERROR', [String((e as Error)?.message ?? e)]) }))
        // a task that cannot be finished (the daemon is stopping) is failed at the next start (failInterruptedTasks)
        .catch(() => undefined)
        .finally(() => this.inflight.delete(done));
      this.inflight.add(done);
      return { ok: true, value: task, type: t.ref('task') };
    }
    const value = await this.run(cls, msg, args, sessionRef);
    return { ok: true, value: msg.result.k === 'void' ? '' : value, type: msg.result };
  }

  private async run(cls: ClassDef, msg: MessageDef, args: Record<string, unknown>, sessionRef: string, task?: string): Promise<unknown> {
    const name = `${cls.name}.${msg.name}`;
    const impl = byWireName(this.impls)[name];
    const db = this.svc.db;
    const result = db.transact((tx) => {
      // the session is re-read inside the transaction: an Async call may run after a logout
      const session = msg.sessionless ? undefined : validSession(db, sessionRef);
      const ctx: Ctx = { svc: this.svc, db, tx, sessionRef, session, cls, msg, task };
      if (impl) return impl(ctx, args);
      if (msg.generic) return runGeneric(ctx, cls, msg, args);
      throw new XapiError('NOT_IMPLEMENTED', [name]);
    });
    return await result;
  }
}
