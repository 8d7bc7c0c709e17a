// Sessions, local accounts and RBAC, as xapi_session.ml and rbac.ml behave.

import { timingSafeEqual } from 'node:crypto';
import type { Database, Obj, Txn } from '../db/database.ts';
import { NULL_REF, XapiError, classByLowerName, isRole, roleAllows, rolesAtLeast, type ClassDef, type LeastRole, type MessageDef, type Role } from '../model/index.ts';
import type { ImplTable } from './context.ts';
import { now } from './marshal.ts';
import { hashPassword, hashPasswordSync, verifyPassword } from './passwords.ts';
import { sessionKeeper } from './session-policy.ts';

export const LOCAL_PREFIX = 'local:';

function thePool(db: Database): Obj {
  const p = db.all('pool').next();
  if (p.done) throw new XapiError('INTERNAL_ERROR', ['the database has no pool']);
  return p.value;
}

/** A valid session, or SESSION_INVALID [ref]: unknown, or unused for longer than the inactivity timeout. */
export function checkSession(db: Database, ref: unknown): Obj {
  const s = typeof ref === 'string' ? db.getOf('session', ref) : undefined;
  const keeper = sessionKeeper(db);
  if (!s || keeper.isExpired(s)) throw new XapiError('SESSION_INVALID', [typeof ref === 'string' ? ref : JSON.stringify(ref)]);
  keeper.touch(s.ref);
  return s;
}

export function sessionRoles(s: Obj): Role[] {
  return (s.rec.roles as string[]).filter(isRole); // a session of any class-loose Obj: its roles field is a string set
}

/** The least role for this call: the message's, or a lesser one for guarded map keys. */
function leastRole(cls: ClassDef, msg: MessageDef, args: Record<string, unknown>): { role: LeastRole; permission: string } {
  const base = `${cls.name}.${msg.name}`.toLowerCase();
  if ((msg.generic === 'add_to' || msg.generic === 'remove_from') && msg.field) {
    const key = String(args.key);
    const guard = cls.fieldMap.get(msg.field)?.keyRoles?.find((k) => key === k.prefix || (k.prefix.endsWith('.') && key.startsWith(k.prefix)));
    if (guard) return { role: guard.role, permission: `${base}/key:${guard.prefix}` };
  }
  return { role: msg.role, permission: base };
}

/** RBAC_PERMISSION_DENIED [permission, message] unless the session may make this call. */
export function checkRbac(s: Obj, cls: ClassDef, msg: MessageDef, args: Record<string, unknown>): void {
  if (s.rec.is_local_superuser) return;
  const { role, permission } = leastRole(cls, msg, args);
  if (roleAllows(sessionRoles(s), role)) return;
  const allowed = rolesAtLeast(role);
  throw new XapiError('RBAC_PERMISSION_DENIED', [permission, `No permission in user session. (Roles with this permission: ${allowed.join(', ')})`]);
}

function authFailed(uname: string): never {
  throw new XapiError('SESSION_AUTHENTICATION_FAILED', [uname, 'Authentication failure']);
}

/** A new session, in its own transaction (callers have awaited a password check); the group's oldest make room. */
function newSession(db: Database, host: () => string, fields: Record<string, unknown>): string {
  return db.transact((tx) => {
    const t = now();
    const all = { this_host: host(), last_active: t, validation_time: t, ...fields };
    sessionKeeper(db).makeRoom(tx, all);
    const ref = tx.create('session', all);
    sessionKeeper(db).touch(ref);
    return ref;
  });
}

/**
 * Check a local account; the session fields it earns. Every refusal costs one password hash,
 * whether or not the user exists: timing does not reveal user names.
 */
export async function authenticate(db: Database, uname: string, pwd: string): Promise<Record<string, unknown>> {
  if (uname === 'root') {
    const hash = thePool(db).rec.root_password_hash as string;
    if (!(await verifyPassword(pwd, hash))) authFailed(uname);
    return { is_local_superuser: true, auth_user_name: 'root', roles: ['pool-admin'] };
  }
  const subj = [...db.all('subject')].find((s) => s.rec.subject_identifier === LOCAL_PREFIX + uname);
  const hash = subj?.rec.password_hash as string | undefined;
  const matches = await verifyPassword(pwd, hash);
  // read again after the wait: the account may have changed meanwhile
  const fresh = subj && db.getOf('subject', subj.ref);
  if (!fresh || !matches || fresh.rec.password_hash !== hash) authFailed(uname);
  const roles = (fresh.rec.roles as string[]).map((r) => db.get(r)?.rec.name_label as string).filter((r) => r && isRole(r));
  if (roles.length === 0) authFailed(uname); // a subject without a role may not log in
  return { is_local_superuser: false, subject: fresh.ref, auth_user_sid: fresh.rec.subject_identifier, auth_user_name: uname, roles };
}

/** At first start (before the server listens): the hash is made on the spot. */
export function setRootPassword(tx: Txn, password: string): void {
  tx.update(thePool(tx.db).ref, { root_password_hash: hashPasswordSync(password) });
}

function validPassword(pwd: string): void {
  if (pwd.length === 0) throw new XapiError('INVALID_VALUE', ['password', '']);
}

export const sessionImpls: ImplTable = {
  // Password checks wait for the hash off the event loop: the call's transaction is over by then,
  // so the session is made in a transaction of its own (ctx.tx is not used after an await).
  'session.login_with_password': async (ctx, a) => {
    const fields = await authenticate(ctx.db, a.uname, a.pwd);
    return newSession(ctx.db, ctx.svc.thisHost, { ...fields, originator: a.originator ?? '' });
  },
  'session.slave_local_login_with_password': async (ctx, a) => {
    const fields = await authenticate(ctx.db, a.uname, a.pwd);
    return newSession(ctx.db, ctx.svc.thisHost, { ...fields, originator: 'local' });
  },
  'session.slave_login': (ctx, a) => {
    const secret = thePool(ctx.db).rec.pool_secret as string;
    const given = Buffer.from(String(a.psecret));
    if (!secret || given.length !== secret.length || !timingSafeEqual(given, Buffer.from(secret))) authFailed('pool');
    // as xapi's: the session's this_host is the calling member's host, the one it speaks for
    // (pool.replica_write writes only that host's rows). A host this database does not hold (a
    // joining host names none; its first login after the join may name its ref from before it)
    // is NULL: such a session reports about no host.
    const host = typeof a.host === 'string' && ctx.db.getOf('host', a.host) ? a.host : NULL_REF;
    return newSession(ctx.db, () => host, { is_local_superuser: true, pool: true, auth_user_name: 'pool', roles: ['pool-admin'] });
  },
  'session.logout': (ctx) => { ctx.tx.delete(ctx.sessionRef); },
  'session.local_logout': () => undefined,
  'session.get_this_host': (ctx, a) => checkSession(ctx.db, a.self).rec.this_host,
  'session.get_this_user': () => 'OpaqueRef:NULL',
  'session.change_password': async (ctx, a) => {
    const s = ctx.session!;
    const uname = s.rec.auth_user_name as string;
    validPassword(a.new_pwd);
    try { await authenticate(ctx.db, uname, a.old_pwd); } catch { throw new XapiError('CHANGE_PASSWORD_REJECTED', ['Authentication failure']); }
    const hash = await hashPassword(a.new_pwd);
    ctx.db.transact((tx) => {
      const still = checkSession(ctx.db, ctx.sessionRef);
      if (still.rec.is_local_superuser && uname === 'root') tx.update(thePool(tx.db).ref, { root_password_hash: hash });
      else tx.update(tx.must('subject', still.rec.subject as string).ref, { password_hash: hash });
    });
  },
  'session.get_all_subject_identifiers': (ctx) => [...new Set([...ctx.db.all('session')].map((s) => s.rec.auth_user_sid as string).filter(Boolean))],
  'session.logout_subject_identifier': (ctx, a) => {
    for (const s of ctx.tx.all('session')) if (s.rec.auth_user_sid === a.subject_identifier) ctx.tx.delete(s.ref);
  },

  'subject.create_local_user': async (ctx, a) => {
    const name = a.user_name;
    if (!/^[a-z_][a-z0-9_.-]{0,31}$/i.test(name) || name === 'root') throw new XapiError('INVALID_VALUE', ['user_name', name]);
    validPassword(a.password);
    // checked before the hash (a quick refusal) and again after it (the database may have changed)
    const check = (tx: Txn): string[] => {
      if (tx.all('subject').some((s) => s.rec.subject_identifier === LOCAL_PREFIX + name)) throw new XapiError('DUPLICATE_SUBJECT', [LOCAL_PREFIX + name]);
      return a.roles.map((r) => {
        const hit = tx.all('role').find((o) => o.rec.name_label === r.toLowerCase() || o.ref === r);
        if (!hit) throw new XapiError('ROLE_NOT_FOUND', []);
        return hit.ref;
      });
    };
    check(ctx.tx);
    const password_hash = await hashPassword(a.password);
    return ctx.db.transact((tx) => tx.create('subject', {
      subject_identifier: LOCAL_PREFIX + name,
      other_config: { 'subject-name': name, 'subject-is-group': 'false', 'subject-account-disabled': 'false' },
      roles: check(tx),
      password_hash,
    }));
  },
  'subject.set_local_password': async (ctx, a) => {
    ctx.tx.must('subject', a.self);
    validPassword(a.password);
    const hash = await hashPassword(a.password);
    ctx.db.transact((tx) => tx.update(tx.must('subject', a.self).ref, { password_hash: hash }));
  },
  'subject.add_to_roles': (ctx, a) => {
    const s = ctx.tx.must('subject', a.self);
    if (!ctx.db.getOf('role', a.role)) throw new XapiError('ROLE_NOT_FOUND', []);
    const roles = s.rec.roles;
    if (!roles.includes(a.role)) ctx.tx.update(s.ref, { roles: [...roles, a.role] });
  },
  'subject.remove_from_roles': (ctx, a) => {
    const s = ctx.tx.must('subject', a.self);
    const roles = s.rec.roles;
    if (!roles.includes(a.role)) throw new XapiError('ROLE_NOT_FOUND', []);
    ctx.tx.update(s.ref, { roles: roles.filter((r) => r !== a.role) });
  },
  'subject.get_permissions_name_label': (ctx, a) => {
    const s = ctx.tx.must('subject', a.self);
    return (s.rec.roles).map((r) => ctx.db.get(r)?.rec.name_label as string);
  },
  'role.get_permissions': () => [],
  'role.get_permissions_name_label': () => [],
  'role.get_by_permission': () => [],
  'role.get_by_permission_name_label': (ctx, a) => {
    // permission names are lowercased wire names: the roles that may make that call
    const label = String(a.label).split('/')[0];
    const dot = label.indexOf('.');
    const cls = classByLowerName(label.slice(0, dot));
    const msg = cls && [...cls.allMessages.values()].find((x) => x.name.toLowerCase() === label.slice(dot + 1));
    if (!msg) return [];
    const names: string[] = rolesAtLeast(msg.role);
    return [...ctx.db.all('role')].filter((r) => names.includes(r.rec.name_label as string)).map((r) => r.ref);
  },
};
