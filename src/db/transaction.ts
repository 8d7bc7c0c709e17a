// A transaction on the store: one per API call. Writes apply to the in-memory index at once
// (each with its undo), and to SQLite at commit; a throw rolls the index back.

import { randomUUID } from 'node:crypto';
import { classDef, XapiError, type ClassName, type RecordOf } from '../model/index.ts';
import { defaultOf, newRef, refsIn, uuidOf, type Commit, type FieldsFor, type Obj, type ObjFor, type ObjOf, type Rec, type Store, type Undo } from './store.ts';

/** A field that is not a stored field of its class: a bug in the caller, refused before anything changes. */
function notStored(cls: string, field: string): XapiError {
  return new XapiError('INTERNAL_ERROR', [`${cls}.${field} is not a stored field`]);
}

/**
 * `D` is the database the transaction belongs to (database.ts names `Txn` for its own), handed
 * to the callers for the reads they share with code outside a transaction.
 */
export class Transaction<D> {
  private undo: Undo[] = [];
  private readonly created = new Map<string, Obj>();
  private readonly updated = new Map<string, Obj>();
  private readonly deleted = new Map<string, Obj>();
  private readonly touched = new Map<string, Obj>();
  /** Work to run after a successful commit (e.g. wake an agent). */
  readonly after: (() => void)[] = [];

  constructor(readonly db: D, private readonly store: Store) {}

  get(ref: string): Obj | undefined { return this.store.get(ref); }
  must<C extends string>(cls: C, ref: string): ObjFor<C> { return this.store.must(cls, ref); }
  all<C extends string>(cls: C): ObjFor<C>[] { return [...this.store.all(cls)]; }

  /** A new object: the fields given, the model's defaults for the others; an unknown field is refused. */
  create<C extends string>(cls: C, given: FieldsFor<C>, opts: { ref?: string } = {}): string {
    const c = classDef(cls);
    const fields: Record<string, unknown> = given;
    for (const k of Object.keys(fields)) {
      const fd = c.fieldMap.get(k);
      if (!fd || fd.reverseOf) throw notStored(cls, k);
    }
    const rec: Record<string, unknown> = {};
    for (const fd of c.fields) {
      if (fd.reverseOf) continue;
      rec[fd.name] = fd.name in fields ? fields[fd.name] : defaultOf(fd);
    }
    if (!rec.uuid) rec.uuid = randomUUID();
    const ref = opts.ref ?? newRef();
    if (this.store.get(ref)) throw new XapiError('INTERNAL_ERROR', [`duplicate reference ${ref}`]);
    if (this.store.byUuidOf(cls, uuidOf(rec))) throw new XapiError('INTERNAL_ERROR', [`duplicate uuid ${String(rec.uuid)}`]);
    const o: Obj = { ref, cls, rec, created: 0, modified: 0 };
    this.undo.push(this.store.insert(o));
    this.created.set(ref, o);
    this.touchTargets(o, undefined, rec);
    return ref;
  }

  /**
   * Change some fields of an object: typed when given the object itself (or its class), loose
   * with a bare ref. An unknown field is refused, as in create.
   */
  update<C extends ClassName>(target: ObjOf<C>, patch: Partial<RecordOf<C>>): void;
  update<C extends ClassName>(cls: C, ref: string, patch: Partial<RecordOf<C>>): void;
  update(ref: string, patch: Record<string, unknown>): void;
  update(target: string | Obj, a: Record<string, unknown> | string, b?: Record<string, unknown>): void {
    const ref = typeof target === 'string' ? (typeof a === 'string' ? a : target) : target.ref;
    const patch = typeof a === 'string' ? b! : a;
    const o = this.store.get(ref);
    if (!o) throw new Error(`update of missing ${ref}`);
    // the class named (or the typed object's) is the class the patch was typed by
    const named = typeof target === 'string' ? (typeof a === 'string' ? target : undefined) : target.cls;
    if (named !== undefined && named !== o.cls) throw new XapiError('INTERNAL_ERROR', [`${ref} is a ${o.cls}, not a ${named}`]);
    const c = classDef(o.cls);
    for (const k of Object.keys(patch)) {
      const fd = c.fieldMap.get(k);
      if (!fd || fd.reverseOf) throw notStored(o.cls, k);
    }
    const next = { ...o.rec, ...patch };
    this.touchTargets(o, o.rec, next);
    this.undo.push(this.store.replace(o, next));
    if (!this.created.has(ref)) this.updated.set(ref, o);
  }

  delete(ref: string): void {
    const o = this.store.get(ref);
    if (!o) return;
    this.touchTargets(o, o.rec, undefined);
    this.undo.push(this.store.remove(o));
    if (this.created.has(ref)) { this.created.delete(ref); this.updated.delete(ref); return; }
    this.updated.delete(ref);
    this.touched.delete(ref);
    this.deleted.set(ref, o);
  }

  /** Generate a `mod` event without changing the object (event.inject). */
  touch(ref: string): void {
    const o = this.store.get(ref);
    if (o && !this.created.has(ref) && !this.updated.has(ref)) this.touched.set(ref, o);
  }

  /** The objects on the other end of a relation changed too: their reverse field did. */
  private touchTargets(o: Obj, before: Rec | undefined, after: Rec | undefined): void {
    for (const r of this.store.relationsOf(o.cls)) {
      const a = refsIn(before?.[r.srcField]);
      const b = refsIn(after?.[r.srcField]);
      if (before && after && a.length === b.length && a.every((x, i) => x === b[i])) continue;
      for (const t of [...a, ...b]) this.touch(t);
    }
  }

  /** @internal */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo = [];
  }

  /** @internal */
  commit(): Commit | undefined {
    for (const ref of this.created.keys()) this.touched.delete(ref);
    for (const ref of this.updated.keys()) this.touched.delete(ref);
    for (const ref of this.deleted.keys()) this.touched.delete(ref);
    if (this.created.size + this.updated.size + this.deleted.size + this.touched.size === 0) {
      for (const a of this.after) a();
      return undefined;
    }
    let gen: number;
    try {
      gen = this.store.persist({ created: [...this.created.values()], updated: [...this.updated.values()], touchedOnly: [...this.touched.values()], deleted: [...this.deleted.values()] });
    } catch (e) {
      this.rollback();
      throw new XapiError('INTERNAL_ERROR', [`database write failed: ${(e as Error).message}`]);
    }
    for (const a of this.after) a();
    return { generation: gen, touched: [...this.created.keys(), ...this.updated.keys(), ...this.touched.keys(), ...this.deleted.keys()] };
  }
}
