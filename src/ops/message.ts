// message: pool alerts for the administrator.

import type { ImplTable } from '../api/context.ts';
import { normaliseDate, now } from '../api/marshal.ts';
import type { Txn } from '../db/database.ts';

export function raiseAlert(tx: Txn, a: { name: string; priority: number; cls: string; obj_uuid: string; body: string }): string {
  return tx.create('message', { ...a, timestamp: now() });
}

export const messageImpls: ImplTable = {
  'message.create': (ctx, a) => raiseAlert(ctx.tx, a as Parameters<typeof raiseAlert>[1]),
  'message.destroy': (ctx, a) => { ctx.tx.must('message', a.self as string); ctx.tx.delete(a.self as string); },
  'message.get_since': (ctx, a) => {
    const since = normaliseDate(String(a.since)) ?? '';
    const out: Record<string, unknown> = {};
    for (const m of ctx.db.all('message')) if ((m.rec.timestamp as string) > since) out[m.ref] = ctx.db.record(m);
    return out;
  },
};
