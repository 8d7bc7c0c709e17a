// The store under the pool database: SQLite (WAL) for durability, an in-memory index for reads.
// Reverse references are derived here, never written by ops; every persisted change bumps the
// generation counter that event.from reads. Transactions (transaction.ts) and replication
// (replication.ts) change the store only through the primitives at the end of this class.

import BetterSqlite3 from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { CLASSES, classDef, NULL_REF, XapiError, zeroOf, type ClassDef, type ClassName, type FieldDef, type RecordOf } from '../model/index.ts';

export type Rec = Readonly<Record<string, unknown>>;

export interface Obj {
  readonly ref: string;
  readonly cls: string;
  rec: Rec;
  created: number;
  modified: number;
}

/** An object of a class named by a literal: its record typed by the model (src/model/index.ts). */
export interface ObjOf<C extends ClassName> {
  readonly ref: string;
  readonly cls: C;
  rec: RecordOf<C>;
  created: number;
  modified: number;
}

/**
 * The object a class name gives: typed when the name is a literal of the model ('PIF'), loose
 * when it is only known at run time (a `string`, as the generic messages and the agent have it).
 */
export type ObjFor<C extends string> = C extends ClassName ? ObjOf<C> : Obj;
/** The fields a create or update of that class may give. */
export type FieldsFor<C extends string> = C extends ClassName ? Partial<RecordOf<C>> : Record<string, unknown>;

export interface Tombstone { readonly ref: string; readonly cls: string; readonly created: number; readonly deleted: number }

/** What a commit changed, for the event engine and the agents. */
export interface Commit {
  readonly generation: number;
  readonly touched: readonly string[];
}

/** Puts the in-memory index back as it was before one change (a transaction's rollback). */
export type Undo = () => void;

/** The objects one transaction created, updated, only touched (event.inject, a reverse field) and deleted. */
export interface Changes {
  readonly created: readonly Obj[];
  readonly updated: readonly Obj[];
  readonly touchedOnly: readonly Obj[];
  readonly deleted: readonly Obj[];
}

/** Rows as the master sends them, written as they are: [ref, class, every stored field, created, modified]. */
export type RowIn = readonly [string, string, Rec, number, number];
/** Deletions as the master sends them: [ref, class, created, deleted]. */
export type DelIn = readonly [string, string, number, number];

/** A reverse relation: `srcCls.srcField` points at `dstCls`, whose `dstField` lists the referrers. */
export interface Relation { readonly srcCls: string; readonly srcField: string; readonly dstCls: string; readonly dstField: FieldDef }

function relations(): Relation[] {
  const out: Relation[] = [];
  for (const c of CLASSES.values()) {
    for (const fd of c.fields) {
      if (fd.reverseOf) out.push({ srcCls: fd.reverseOf.cls, srcField: fd.reverseOf.field, dstCls: c.name, dstField: fd });
    }
  }
  return out;
}

/** Every stored class has a uuid (Txn.create makes one): the one cast a loose record needs for it. */
export const uuidOf = (rec: Rec): string => rec.uuid as string;

export const newRef = (): string => `OpaqueRef:${randomUUID()}`;

/**
 * The database holds the root password's hash, the pool secret and every session reference:
 * readable by its owner only. SQLite creates the -wal and -shm files with the database file's
 * mode, so the file is made 0600 before SQLite opens it; older files are tightened too.
 */
function privateFiles(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

export class Store {
  readonly sql: BetterSqlite3.Database;
  private readonly objects = new Map<string, Obj>();
  private readonly byClass = new Map<string, Map<string, Obj>>();
  private readonly byUuid = new Map<string, Obj>();
  /** `${targetRef}\0${srcCls}.${srcField}` -> referring refs */
  private readonly reverse = new Map<string, Set<string>>();
  /** source class -> fields that feed a reverse relation */
  private readonly relBySrc = new Map<string, Relation[]>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Compacted change log in generation order: event.from scans only its tail. */
  private log: { gen: number; ref: string }[] = [];
  private gen = 0;
  /** Cache of getLocal. */
  private readonly local = new Map<string, string | undefined>();
  private readonly stmts;

  constructor(path: string, opts: { synchronous?: 'NORMAL' | 'FULL' } = {}) {
    if (path !== ':memory:') privateFiles(path);
    this.sql = new BetterSqlite3(path);
    this.sql.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a crash of the process (what SIGKILL tests);
    // FULL also survives a power cut, at the cost of an fsync per call.
    this.sql.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS objects (ref TEXT PRIMARY KEY, cls TEXT NOT NULL, uuid TEXT NOT NULL,
        created INTEGER NOT NULL, modified INTEGER NOT NULL, record TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS tombstones (ref TEXT PRIMARY KEY, cls TEXT NOT NULL, created INTEGER NOT NULL, deleted INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.stmts = {
      upsert: this.sql.prepare('INSERT INTO objects (ref, cls, uuid, created, modified, record) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(ref) DO UPDATE SET uuid=excluded.uuid, modified=excluded.modified, record=excluded.record'),
      touch: this.sql.prepare('UPDATE objects SET modified = ? WHERE ref = ?'),
      del: this.sql.prepare('DELETE FROM objects WHERE ref = ?'),
      tomb: this.sql.prepare('INSERT OR REPLACE INTO tombstones (ref, cls, created, deleted) VALUES (?, ?, ?, ?)'),
      setMeta: this.sql.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      getMeta: this.sql.prepare('SELECT value FROM meta WHERE key = ?'),
      delMeta: this.sql.prepare('DELETE FROM meta WHERE key = ?'),
    };
    for (const r of relations()) {
      const list = this.relBySrc.get(r.srcCls) ?? [];
      list.push(r);
      this.relBySrc.set(r.srcCls, list);
    }
    for (const c of CLASSES.values()) if (c.stored) this.byClass.set(c.name, new Map());
    this.load();
  }

  private load(): void {
    const g = this.sql.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string } | undefined;
    this.gen = g ? Number(g.value) : 0;
    const rows = this.sql.prepare('SELECT ref, cls, created, modified, record FROM objects').all() as { ref: string; cls: string; created: number; modified: number; record: string }[];
    for (const row of rows) {
      if (!this.byClass.has(row.cls)) continue; // a class this version no longer has
      const obj: Obj = { ref: row.ref, cls: row.cls, rec: upgrade(classDef(row.cls), JSON.parse(row.record) as Record<string, unknown>), created: row.created, modified: row.modified };
      this.index(obj);
    }
    for (const t of this.sql.prepare('SELECT ref, cls, created, deleted FROM tombstones').all() as Tombstone[]) this.tombstones.set(t.ref, t);
    this.compactLog();
  }

  private compactLog(): void {
    const entries: { gen: number; ref: string }[] = [];
    for (const o of this.objects.values()) entries.push({ gen: o.modified, ref: o.ref });
    for (const t of this.tombstones.values()) entries.push({ gen: t.deleted, ref: t.ref });
    entries.sort((a, b) => a.gen - b.gen);
    this.log = entries;
  }

  private index(o: Obj): void {
    this.objects.set(o.ref, o);
    this.byClass.get(o.cls)!.set(o.ref, o);
    this.byUuid.set(uuidOf(o.rec), o);
    for (const r of this.relBySrc.get(o.cls) ?? []) this.revAdd(o.rec[r.srcField], r, o.ref);
  }

  private unindex(o: Obj): void {
    this.objects.delete(o.ref);
    this.byClass.get(o.cls)!.delete(o.ref);
    this.byUuid.delete(uuidOf(o.rec));
    for (const r of this.relBySrc.get(o.cls) ?? []) this.revDel(o.rec[r.srcField], r, o.ref);
  }

  private revKey(target: string, r: Relation): string {
    return `${target}\0${r.srcCls}.${r.srcField}`;
  }

  private revAdd(target: unknown, r: Relation, ref: string): void {
    for (const t of refsIn(target)) {
      const k = this.revKey(t, r);
      let s = this.reverse.get(k);
      if (!s) this.reverse.set(k, (s = new Set()));
      s.add(ref);
    }
  }

  private revDel(target: unknown, r: Relation, ref: string): void {
    for (const t of refsIn(target)) {
      const k = this.revKey(t, r);
      const s = this.reverse.get(k);
      if (s) { s.delete(ref); if (s.size === 0) this.reverse.delete(k); }
    }
  }

  // ---- reads (also valid outside a transaction) ----

  get generation(): number { return this.gen; }

  get(ref: string): Obj | undefined { return this.objects.get(ref); }

  // The typed reads below check the class at run time; the cast to the class's record type rests
  // on Txn.create/update, which store only the class's fields (and the API's unmarshalling).

  getOf<C extends string>(cls: C, ref: string): ObjFor<C> | undefined {
    const o = this.objects.get(ref);
    return o && o.cls === cls ? (o as ObjFor<C>) : undefined;
  }

  /** The object, or HANDLE_INVALID [class, ref] as xapi raises it. */
  must<C extends string>(cls: C, ref: string): ObjFor<C> {
    const o = this.getOf(cls, ref);
    if (!o) throw new XapiError('HANDLE_INVALID', [cls, ref]);
    return o;
  }

  byUuidOf<C extends string>(cls: C, uuid: string): ObjFor<C> | undefined {
    const o = this.byUuid.get(uuid);
    return o && o.cls === cls ? (o as ObjFor<C>) : undefined;
  }

  all<C extends string>(cls: C): IterableIterator<ObjFor<C>> {
    const m = this.byClass.get(cls);
    if (!m) throw new Error(`class ${cls} is not stored`);
    return m.values() as IterableIterator<ObjFor<C>>;
  }

  count(cls: string): number { return this.byClass.get(cls)?.size ?? 0; }

  /** Every stored object, of every class. */
  everything(): IterableIterator<Obj> { return this.objects.values(); }

  /** Refs of `srcCls` objects whose `srcField` points at `target`. */
  referrers(target: string, srcCls: string, srcField: string): string[] {
    const s = this.reverse.get(`${target}\0${srcCls}.${srcField}`);
    return s ? [...s] : [];
  }

  /** The value of a field, reverse fields included. */
  fieldValue(o: Obj, fd: FieldDef): unknown {
    if (!fd.reverseOf) return o.rec[fd.name];
    const refs = this.referrers(o.ref, fd.reverseOf.cls, fd.reverseOf.field);
    if (fd.type.k === 'ref') return refs[0] ?? NULL_REF;
    return refs;
  }

  /** The published record of an object, as get_record returns it (internal values, not yet marshalled). */
  record(o: Obj): Record<string, unknown> {
    let build = recordBuilders.get(o.cls);
    if (!build) recordBuilders.set(o.cls, (build = recordBuilder(classDef(o.cls))));
    return build(o, this);
  }

  // ---- changes since a generation (event.from, replication) ----

  /** Distinct refs changed after `since`, newest generation last. Undefined: `since` predates the log. */
  changedSince(since: number): { ref: string; gen: number }[] {
    let lo = 0, hi = this.log.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.log[mid].gen <= since) lo = mid + 1; else hi = mid; }
    const seen = new Map<string, number>();
    for (let i = lo; i < this.log.length; i++) seen.set(this.log[i].ref, this.log[i].gen);
    return [...seen].map(([ref, gen]) => ({ ref, gen }));
  }

  /** changedSince over every stored class (events or not): replication needs sessions and all. */
  changedSinceAll(since: number): { ref: string; gen: number }[] {
    const out: { ref: string; gen: number }[] = [];
    for (const o of this.objects.values()) if (o.modified > since) out.push({ ref: o.ref, gen: o.modified });
    for (const t of this.tombstones.values()) if (t.deleted > since) out.push({ ref: t.ref, gen: t.deleted });
    return out.sort((a, b) => a.gen - b.gen);
  }

  tombstone(ref: string): Tombstone | undefined { return this.tombstones.get(ref); }

  /** Forget tombstones older than `keep` generations (event tokens older than that get a full resync). */
  gcTombstones(keep: number): void {
    const floor = this.gen - keep;
    const old = [...this.tombstones.values()].filter((t) => t.deleted < floor);
    if (old.length === 0) return;
    const del = this.sql.prepare('DELETE FROM tombstones WHERE ref = ?');
    this.sql.transaction(() => { for (const t of old) { del.run(t.ref); this.tombstones.delete(t.ref); } })();
    this.compactLog();
  }

  // ---- this daemon's own settings (not replicated): its host's uuid, its pool role ----

  getLocal(key: string): string | undefined {
    // asked on every API call (the member gate reads the role): answered from memory, as only
    // setLocal writes these rows
    if (this.local.has(key)) return this.local.get(key);
    const r = this.stmts.getMeta.get(`local:${key}`) as { value: string } | undefined;
    this.local.set(key, r?.value);
    return r?.value;
  }

  setLocal(key: string, value: string | undefined): void {
    if (value === undefined) this.stmts.delMeta.run(`local:${key}`);
    else this.stmts.setMeta.run(`local:${key}`, value);
    this.local.set(key, value);
  }

  close(): void { this.sql.close(); }

  // ---- changes: a transaction's (index first, with undo; SQLite at commit) and a replica's ----

  /** A new object, in the index only until `persist`. */
  insert(o: Obj): Undo { this.index(o); return () => this.unindex(o); }

  /** An object gone, from the index only until `persist`. */
  remove(o: Obj): Undo { this.unindex(o); return () => this.index(o); }

  /** An object's new record, in the index only until `persist`. */
  replace(o: Obj, rec: Rec): Undo {
    const old = o.rec;
    const rels = this.relBySrc.get(o.cls) ?? [];
    const uuidChanged = old.uuid !== rec.uuid;
    for (const r of rels) this.revDel(old[r.srcField], r, o.ref);
    if (uuidChanged) this.byUuid.delete(uuidOf(old));
    o.rec = rec;
    for (const r of rels) this.revAdd(rec[r.srcField], r, o.ref);
    if (uuidChanged) this.byUuid.set(uuidOf(rec), o);
    return () => this.replace(o, old);
  }

  /** The reverse relations a class's fields feed. */
  relationsOf(cls: string): readonly Relation[] { return this.relBySrc.get(cls) ?? []; }

  /** Write a transaction's changes (already in the index) to SQLite as the next generation; that generation. */
  persist(c: Changes): number {
    const gen = this.gen + 1;
    const write = this.sql.transaction(() => {
      for (const o of c.created) this.stmts.upsert.run(o.ref, o.cls, uuidOf(o.rec), gen, gen, JSON.stringify(o.rec));
      for (const o of c.updated) this.stmts.upsert.run(o.ref, o.cls, uuidOf(o.rec), o.created, gen, JSON.stringify(o.rec));
      for (const o of c.touchedOnly) this.stmts.touch.run(gen, o.ref);
      for (const o of c.deleted) {
        this.stmts.del.run(o.ref);
        this.stmts.tomb.run(o.ref, o.cls, o.created, gen);
      }
      this.stmts.setMeta.run('generation', String(gen));
    });
    write();
    this.gen = gen;
    for (const o of c.created) { o.created = gen; o.modified = gen; }
    for (const o of [...c.updated, ...c.touchedOnly]) o.modified = gen;
    for (const o of c.deleted) this.tombstones.set(o.ref, { ref: o.ref, cls: o.cls, created: o.created, deleted: gen });
    for (const o of [...c.created, ...c.updated, ...c.touchedOnly, ...c.deleted]) {
      if (classDef(o.cls).events) this.log.push({ gen, ref: o.ref });
    }
    if (this.log.length > 4 * (this.objects.size + this.tombstones.size) + 1024) this.compactLog();
    return gen;
  }

  /**
   * Write rows and deletions as given (a replica's batch from the master) in one SQLite
   * transaction, `full`: in place of everything; the store's generation becomes `generation`.
   * The refs written, of classes this version stores, and deleted.
   */
  overwrite(full: boolean, rows: readonly RowIn[], dels: readonly DelIn[], generation: number): string[] {
    const touched: string[] = [];
    const write = this.sql.transaction(() => {
      if (full) { this.sql.exec('DELETE FROM objects; DELETE FROM tombstones;'); }
      for (const [ref, cls, rec, created, modified] of rows) this.stmts.upsert.run(ref, cls, uuidOf(rec), created, modified, JSON.stringify(rec));
      for (const [ref, cls, created, deleted] of dels) { this.stmts.del.run(ref); this.stmts.tomb.run(ref, cls, created, deleted); }
      this.stmts.setMeta.run('generation', String(generation));
    });
    write();
    if (full) {
      for (const o of [...this.objects.values()]) this.unindex(o);
      this.tombstones.clear();
    }
    for (const [ref, cls, rec, created, modified] of rows) {
      if (!this.byClass.has(cls)) continue;
      const old = this.objects.get(ref);
      if (old) this.unindex(old);
      this.index({ ref, cls, rec: upgrade(classDef(cls), { ...rec }), created, modified });
      touched.push(ref);
    }
    for (const [ref, cls, created, deleted] of dels) {
      const old = this.objects.get(ref);
      if (old) this.unindex(old);
      this.tombstones.set(ref, { ref, cls, created, deleted });
      touched.push(ref);
    }
    this.gen = generation;
    this.compactLog();
    return touched;
  }
}

/** Fill fields added to the model since the row was written. */
function upgrade(c: ClassDef, rec: Record<string, unknown>): Rec {
  for (const fd of c.fields) if (!fd.reverseOf && !(fd.name in rec)) rec[fd.name] = defaultOf(fd);
  return rec;
}

type RecordBuilder = (o: Obj, store: Store) => Record<string, unknown>;
const recordBuilders = new Map<string, RecordBuilder>();

/**
 * Store.record for one class, generated once: a single object literal,
 * `{ "uuid": r["uuid"], ..., "VIFs": db.fieldValue(o, F[7]), ... }`. Every record of the class
 * then shares one hidden class, so building and serialising thousands of them (get_all_records,
 * event snapshots) is several times cheaper than assigning the fields one by one.
 * The keys are the model's field names, quoted; no value is ever part of the generated code.
 */
function recordBuilder(c: ClassDef): RecordBuilder {
  const fields = c.publicFields;
  const members = fields.map((fd, i) => `${JSON.stringify(fd.name)}: ${fd.reverseOf ? `db.fieldValue(o, F[${i}])` : `r[${JSON.stringify(fd.name)}]`}`);
  const build = new Function('o', 'db', 'F', `const r = o.rec; return { ${members.join(', ')} };`) as (o: Obj, db: Store, F: readonly FieldDef[]) => Record<string, unknown>;
  return (o, store) => build(o, store, fields);
}

/** The references a field's value holds (a ref, or a set of refs). */
export function refsIn(v: unknown): string[] {
  if (typeof v === 'string') return v.startsWith('OpaqueRef:') && v !== NULL_REF ? [v] : [];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== NULL_REF);
  return [];
}

export function defaultOf(fd: FieldDef): unknown {
  const d = fd.default !== undefined ? fd.default : zeroOf(fd.type);
  // never share mutable defaults between records
  return Array.isArray(d) ? [...d] : d && typeof d === 'object' ? { ...(d as object) } : d;
}
