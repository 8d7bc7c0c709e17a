// Tasks: Async.* calls return a task at once and report their result through it.

import type { Database, Obj } from '../db/database.ts';
import { XapiError, rbacDenied, roleAllows, type FieldType, type MessageDef } from '../model/index.ts';
import type { ImplTable } from './context.ts';
import { now, toXml } from './marshal.ts';
import { sessionRoles } from './sessions.ts';

export function createTask(db: Database, host: string, session: string, label: string, description = ''): string {
  const sid = db.getOf('session', session)?.rec.auth_user_sid ?? '';
  return db.transact((tx) => tx.create('task', {
    name_label: label, name_description: description, status: 'pending', progress: 0,
    created: now(), resident_on: host, session, auth_user_sid: sid, allowed_operations: ['cancel'],
  }));
}

/** xapi's extra permission to act on another subject's task (datamodel.ml: pool-operator and above). */
export const TASK_ANY = { permission: 'task.destroy/any', role: 'pool-operator' } as const;

/** Task messages that act on a task rather than read it: xapi's assert_op_valid guards these. */
function actsOnTask(msg: MessageDef): boolean {
  if (msg.generic) return ['set', 'add_to', 'remove_from', 'add', 'remove', 'destroy'].includes(msg.generic);
  return msg.name !== 'create';
}

/**
 * A session acts only on tasks of its own subject (or its own session's, for local root and
 * members, which have no subject); otherwise it needs task.destroy/any: RBAC_PERMISSION_DENIED.
 * An unknown task passes here and gets HANDLE_INVALID from the message itself.
 */
export function assertTaskOwner(db: Database, session: Obj, msg: MessageDef, args: Record<string, unknown>): void {
  if (!actsOnTask(msg)) return;
  const task = db.getOf('task', String(args.self ?? args.task));
  if (!task || session.rec.is_local_superuser) return;
  const sid = (session.rec.auth_user_sid as string | undefined) ?? '';
  const owner = task.rec.session === session.ref || (sid !== '' && task.rec.auth_user_sid === sid);
  if (owner || roleAllows(sessionRoles(session), TASK_ANY.role)) return;
  throw rbacDenied(TASK_ANY.permission, TASK_ANY.role);
}

export function finishTask(db: Database, task: string, outcome: { ok: true; value: unknown; type: FieldType } | { ok: false; error: XapiError }): void {
  db.transact((tx) => {
    const o = db.get(task);
    if (!o) return; // destroyed meanwhile
    const cancelling = o.rec.status === 'cancelling';
    if (outcome.ok) {
      tx.update(task, {
        status: cancelling ? 'cancelled' : 'success', progress: 1, finished: now(), allowed_operations: [],
        // the result is an XML-RPC value fragment, as xapi's task.result
        result: outcome.type.k === 'void' ? '' : toXml(outcome.value, outcome.type),
      });
    } else {
      tx.update(task, { status: cancelling ? 'cancelled' : 'failure', progress: 1, finished: now(), allowed_operations: [], error_info: outcome.error.description });
    }
  });
}

/** Mark tasks that a restart interrupted as failed: their caller would wait forever otherwise. */
export function failInterruptedTasks(db: Database): void {
  db.transact((tx) => {
    for (const t of tx.all('task')) {
      if (t.rec.status === 'pending' || t.rec.status === 'cancelling') {
        tx.update(t.ref, { status: 'failure', finished: now(), error_info: ['INTERNAL_ERROR', 'the server restarted while this task ran'] });
      }
    }
  });
}

export const taskImpls: ImplTable = {
  'task.create': (ctx, a) => ctx.tx.create('task', {
    name_label: a.label, name_description: a.description, status: 'pending', created: now(),
    resident_on: ctx.svc.thisHost(), session: ctx.sessionRef, auth_user_sid: ctx.session?.rec.auth_user_sid ?? '', allowed_operations: ['cancel', 'destroy'],
  }),
  'task.destroy': (ctx, a) => { ctx.tx.must('task', a.self); ctx.tx.delete(a.self); },
  'task.cancel': (ctx, a) => {
    const o = ctx.tx.must('task', a.task);
    if (o.rec.status !== 'pending') throw new XapiError('OPERATION_NOT_ALLOWED', ['task is not pending']);
    ctx.tx.update(o.ref, { status: 'cancelling' });
  },
  'task.set_status': (ctx, a) => { ctx.tx.update(ctx.tx.must('task', a.self), { status: a.value }); },
  'task.set_progress': (ctx, a) => { ctx.tx.update(ctx.tx.must('task', a.self), { progress: a.value }); },
  'task.set_result': (ctx, a) => { ctx.tx.update(ctx.tx.must('task', a.self), { result: a.value }); },
  'task.set_error_info': (ctx, a) => { ctx.tx.update(ctx.tx.must('task', a.self), { error_info: a.value }); },
};
