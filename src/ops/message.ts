// message: pool alerts for the administrator.

import type { ImplTable } from '../api/context.ts';
import { normaliseDate, now } from '../api/marshal.ts';
import type { Txn } from '../db/database.ts';
import type { RecordOf } from '../model/index.ts';

export type Alert = Pick<RecordOf<'message'>, 'name' | 'priority' | 'cls' | 'obj_uuid' | 'body'>;

export function raiseAlert(tx: Txn, a: Alert): string {
  return tx.create('message', { ...a, timestamp: now() });
}

export const messageImpls: ImplTable = {
  'message.create': (ctx, a) => raiseAlert(ctx.tx, a),
  'message.destroy': (ctx, a) => { ctx.tx.must('message', a.self); ctx.tx.delete(a.self); },
  'message.get_since': (ctx, a) => {
    const since = normaliseDate(String(a.since)) ?? '';
    const out: Record<string, Record<string, unknown>> = {};
    for (const m of ctx.db.all('message')) if (m.rec.timestamp > since) out[m.ref] = ctx.db.record(m);
    return out;
  },
};
