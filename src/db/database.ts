// The pool database: the store (store.ts: SQLite and the in-memory index), one transaction per
// API call (transaction.ts), and replication to pool members (replication.ts). This facade runs
// transactions one at a time, tells listeners about every commit, and offers the store's reads.

import type { FieldDef } from '../model/index.ts';
import { applyReplica, replicaSince, type ReplicaBatch } from './replication.ts';
import { Store, type Commit, type Obj, type ObjFor, type Tombstone } from './store.ts';
import { Transaction } from './transaction.ts';

export { defaultOf, newRef, type Commit, type FieldsFor, type Obj, type ObjFor, type ObjOf, type Rec } from './store.ts';
export type { ReplicaBatch, ReplicaDel, ReplicaRow } from './replication.ts';

/** A transaction on the pool database. */
export type Txn = Transaction<Database>;

export class Database {
  private readonly store: Store;
  private current: Txn | undefined;
  private readonly listeners = new Set<(c: Commit) => void>();

  constructor(path: string, opts: { synchronous?: 'NORMAL' | 'FULL' } = {}) {
    this.store = new Store(path, opts);
  }

  get sql(): Store['sql'] { return this.store.sql; }

  // ---- reads (also valid outside a transaction): the store's ----

  get generation(): number { return this.store.generation; }
  get(ref: string): Obj | undefined { return this.store.get(ref); }
  getOf<C extends string>(cls: C, ref: string): ObjFor<C> | undefined { return this.store.getOf(cls, ref); }
  /** The object, or HANDLE_INVALID [class, ref] as xapi raises it. */
  must<C extends string>(cls: C, ref: string): ObjFor<C> { return this.store.must(cls, ref); }
  byUuidOf<C extends string>(cls: C, uuid: string): ObjFor<C> | undefined { return this.store.byUuidOf(cls, uuid); }
  all<C extends string>(cls: C): IterableIterator<ObjFor<C>> { return this.store.all(cls); }
  count(cls: string): number { return this.store.count(cls); }
  /** Refs of `srcCls` objects whose `srcField` points at `target`. */
  referrers(target: string, srcCls: string, srcField: string): string[] { return this.store.referrers(target, srcCls, srcField); }
  /** The value of a field, reverse fields included. */
  fieldValue(o: Obj, fd: FieldDef): unknown { return this.store.fieldValue(o, fd); }
  /** The published record of an object, as get_record returns it (internal values, not yet marshalled). */
  record(o: Obj): Record<string, unknown> { return this.store.record(o); }

  // ---- changes since a generation (event.from) ----

  /** Distinct refs changed after `since`, newest generation last. */
  changedSince(since: number): { ref: string; gen: number }[] { return this.store.changedSince(since); }
  tombstone(ref: string): Tombstone | undefined { return this.store.tombstone(ref); }
  /** Forget tombstones older than `keep` generations (event tokens older than that get a full resync). */
  gcTombstones(keep: number): void { this.store.gcTombstones(keep); }

  onCommit(fn: (c: Commit) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- transactions ----

  /** Run `fn` as one transaction: all its writes land together, or none (on throw). */
  transact<T>(fn: (tx: Txn) => T): T {
    if (this.current) return fn(this.current); // nested: part of the enclosing transaction
    const tx: Txn = new Transaction(this, this.store);
    this.current = tx;
    let result: T;
    try {
      result = fn(tx);
    } catch (e) {
      this.current = undefined;
      tx.rollback();
      throw e;
    }
    this.current = undefined;
    const commit = tx.commit();
    if (commit) this.tell(commit);
    return result;
  }

  // ---- this daemon's own settings (not replicated): its host's uuid, its pool role ----

  getLocal(key: string): string | undefined { return this.store.getLocal(key); }
  setLocal(key: string, value: string | undefined): void { this.store.setLocal(key, value); }

  // ---- replication (pool members keep a full replica of the master's database) ----

  /** Every row changed after `since` (-1: all), with every field, internal ones included, and the deletions. */
  replicaSince(since: number): ReplicaBatch { return replicaSince(this.store, since); }

  /** Apply a batch from the master, as one transaction; the replica's generation follows the master's. */
  applyReplica(b: ReplicaBatch): void {
    const touched = applyReplica(this.store, b);
    this.tell({ generation: this.store.generation, touched });
  }

  close(): void { this.store.close(); }

  private tell(c: Commit): void {
    for (const l of this.listeners) l(c);
  }
}
