// What compile() leaves out of the desired state, and the pool messages that tell the
// administrator: each rejected (object, field, value, outcome) once.

import type { Obj } from '../db/database.ts';
import { CheckError, isUuid } from './checked.ts';
import type { Rejection } from './desired.ts';
import { read, str, type Raw, type Reader } from './raw.ts';

/** Collects rejections (once per object, field, value and outcome) during one compile. */
export class Rejections {
  private readonly seen = new Set<string>();
  readonly list: Rejection[] = [];

  add(o: Obj, field: string, value: unknown, outcome: string): void {
    let text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    if (text.length > 200) text = `${text.slice(0, 199)}…`;
    const r: Rejection = { cls: o.cls, uuid: isUuid(str(o, 'uuid')) ? str(o, 'uuid') : o.ref, field, value: text, outcome };
    const key = JSON.stringify(r);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(r);
  }

  /** `check(value)`, or undefined with the rejection recorded. */
  take<T>(o: Obj, field: string, value: unknown, check: (v: unknown, field: string) => T, outcome: string): T | undefined {
    try { return check(value, field); } catch (e) {
      if (!(e instanceof CheckError)) throw e;
      this.add(o, field, value, outcome);
      return undefined;
    }
  }
}

/** A pool message about a rejection (message.create's parameters). */
export interface RejectionAlert { readonly name: string; readonly priority: number; readonly cls: 'Host'; readonly obj_uuid: string; readonly body: string }

export const REJECTED_MESSAGE = 'NETWORK_VALUE_REJECTED';

/** The message that names a rejected object and why, on the host whose agent left it out. */
export function rejectionAlert(host: Raw<'host'>, r: Rejection): RejectionAlert {
  const label = typeof host.rec.name_label === 'string' ? JSON.stringify(host.rec.name_label) : str(host, 'uuid');
  return {
    name: REJECTED_MESSAGE, priority: 2, cls: 'Host', obj_uuid: str(host, 'uuid'),
    body: `The networking agent on host ${label} did not use ${r.cls} ${r.uuid}: its ${r.field} is ${r.value}, which is not valid there; ${r.outcome}. Correct the value through the API.`,
  };
}

/**
 * The alerts for `rejected` not yet raised: neither in `raised` (this process) nor already a
 * message in the database (an earlier run). Each (object, field, value, outcome) is raised once.
 */
export function newRejectionAlerts(db: Reader, hostRef: string, rejected: readonly Rejection[], raised: Set<string>): RejectionAlert[] {
  const host = read(db, 'host', hostRef);
  if (!host || !rejected.length) return [];
  const existing = new Set<string>();
  for (const m of db.all('message')) if (m.rec.name === REJECTED_MESSAGE && m.rec.obj_uuid === host.rec.uuid) existing.add(str(m, 'body'));
  const out: RejectionAlert[] = [];
  for (const r of rejected) {
    const a = rejectionAlert(host, r);
    if (raised.has(a.body) || existing.has(a.body)) continue;
    raised.add(a.body);
    out.push(a);
  }
  return out;
}
