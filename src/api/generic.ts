// The generic messages every stored class gets, implemented once from the model.

import type { Obj } from '../db/database.ts';
import { NULL_REF, XapiError, ctorFields, type ClassDef, type MessageDef } from '../model/index.ts';
import type { Ctx } from './context.ts';
import { fromWire, storedRecord } from './marshal.ts';
import { compileWhere } from './where.ts';
import type { WireValue } from './xmlrpc.ts';

/** Decode a constructor's struct: every StaticRO/RW field, defaults for those left out. */
export function decodeCtorArgs(cls: ClassDef, struct: Record<string, WireValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const fd of ctorFields(cls)) {
    if (fd.reverseOf) continue;
    const w = struct[fd.name];
    if (w !== undefined && w !== null) out[fd.name] = fromWire(w, fd.type, fd.name);
  }
  return out;
}

/**
 * The arguments of the generic messages (model/index.ts genericMessages): a ref `self`, the strings
 * `uuid`, `label` and `expr`, a constructor's decoded `args`, a map `key`, a field's `value`.
 * Which ones a call has follows its `generic` kind, known only at run time.
 */
export interface GenericArgs {
  readonly self?: string;
  readonly uuid?: string;
  readonly label?: string;
  readonly expr?: string;
  readonly args?: Record<string, unknown>;
  readonly key?: unknown;
  readonly value?: unknown;
}

export function runGeneric(ctx: Ctx, cls: ClassDef, msg: MessageDef, a: GenericArgs): unknown {
  const { db, tx } = ctx;
  const self = (): Obj => db.must(cls.name, a.self!);
  const fd = msg.field ? cls.fieldMap.get(msg.field)! : undefined;
  switch (msg.generic) {
    case 'get_record': return storedRecord(db, self());
    case 'get_by_uuid': {
      const o = db.byUuidOf(cls.name, a.uuid!);
      if (!o) throw new XapiError('UUID_INVALID', [cls.name, a.uuid]);
      return o.ref;
    }
    case 'get_by_name_label': return [...db.all(cls.name)].filter((o) => o.rec.name_label === a.label).map((o) => o.ref);
    case 'get_all': return [...db.all(cls.name)].map((o) => o.ref);
    case 'get_all_records': return allRecords(ctx, cls, () => true);
    case 'get_all_where': {
      const pred = compileWhere(a.expr!);
      return [...db.all(cls.name)].filter((o) => pred(db.record(o))).map((o) => o.ref);
    }
    case 'get_all_records_where': {
      const pred = compileWhere(a.expr!);
      return allRecords(ctx, cls, (r) => pred(r));
    }
    case 'create': return tx.create(cls.name, a.args!);
    case 'destroy': { self(); tx.delete(a.self!); return undefined; }
    case 'get': return db.fieldValue(self(), fd!);
    case 'set': { const o = self(); tx.update(o.ref, { [fd!.name]: a.value }); return undefined; }
    case 'add_to': {
      const o = self();
      const map = o.rec[fd!.name] as Record<string, unknown>;
      const key = String(a.key);
      if (Object.prototype.hasOwnProperty.call(map, key)) throw new XapiError('MAP_DUPLICATE_KEY', [cls.name, fd!.name, o.rec.uuid, key]);
      tx.update(o.ref, { [fd!.name]: { ...map, [key]: a.value } });
      return undefined;
    }
    case 'remove_from': {
      const o = self();
      const map = o.rec[fd!.name] as Record<string, unknown>;
      const key = String(a.key);
      if (!Object.prototype.hasOwnProperty.call(map, key)) return undefined; // absent key: no-op, as xapi
      const next = { ...map };
      delete next[key];
      tx.update(o.ref, { [fd!.name]: next });
      return undefined;
    }
    case 'add': {
      const o = self();
      const set = o.rec[fd!.name] as unknown[];
      if (!set.includes(a.value)) tx.update(o.ref, { [fd!.name]: [...set, a.value] });
      return undefined;
    }
    case 'remove': {
      const o = self();
      const set = o.rec[fd!.name] as unknown[];
      if (set.includes(a.value)) tx.update(o.ref, { [fd!.name]: set.filter((x) => x !== a.value) });
      return undefined;
    }
    default: throw new XapiError('NOT_IMPLEMENTED', [`${cls.name}.${msg.name}`]);
  }
}

function allRecords(ctx: Ctx, cls: ClassDef, keep: (r: Record<string, unknown>) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of ctx.db.all(cls.name)) {
    const r = storedRecord(ctx.db, o);
    if (keep(r.record)) out[o.ref] = r;
  }
  return out;
}

export const isNullRef = (r: unknown): boolean => r === NULL_REF || r === '' || r === undefined;
