// The console's object cache, as plain data: records by lower-case class name and reference,
// exactly as event.from and get_record return them. Pure; shared by the page and the tests.

export type Ref = string;
export type Rec = Record<string, unknown>;

export const NULL_REF = 'OpaqueRef:NULL';

/** The classes the console watches (event.from subscriptions, lower-case as in event records). */
export const WATCHED = ['pool', 'host', 'pif', 'pif_metrics', 'network', 'bond', 'vlan', 'tunnel', 'network_sriov', 'vif', 'vm', 'sdn_controller', 'message'] as const;
export type WatchedClass = (typeof WATCHED)[number];

export interface XenEvent {
  readonly class: string;
  readonly operation: 'add' | 'mod' | 'del';
  readonly ref: Ref;
  readonly snapshot?: Rec;
}

export class Store {
  private readonly tables = new Map<string, Map<Ref, Rec>>();
  /** Bumped by every applied batch that changed something. */
  version = 0;
  /** Per class: bumped by every batch that changed that class (views depend on a few classes). */
  private readonly classVersions = new Map<string, number>();

  constructor() {
    for (const c of WATCHED) this.tables.set(c, new Map());
  }

  table(cls: string): Map<Ref, Rec> {
    // callers mostly name classes in lower case already: the common path is one lookup
    const hit = this.tables.get(cls);
    if (hit) return hit;
    let t = this.tables.get(cls.toLowerCase());
    if (!t) this.tables.set(cls.toLowerCase(), (t = new Map()));
    return t;
  }

  get(cls: string, ref: unknown): Rec | undefined {
    return typeof ref === 'string' ? this.table(cls).get(ref) : undefined;
  }

  /** The record of `ref` whatever its class (references are unique across classes). */
  find(ref: unknown): { cls: string; rec: Rec } | undefined {
    if (typeof ref !== 'string' || ref === NULL_REF) return undefined;
    for (const [cls, t] of this.tables) {
      const rec = t.get(ref);
      if (rec) return { cls, rec };
    }
    return undefined;
  }

  all(cls: string): [Ref, Rec][] {
    return [...this.table(cls)];
  }

  /** Apply one event.from batch; true when anything changed. */
  apply(events: readonly XenEvent[]): boolean {
    const touched = new Set<string>();
    for (const e of events) {
      const cls = e.class.toLowerCase();
      const t = this.table(cls);
      if (e.operation === 'del') { if (t.delete(e.ref)) touched.add(cls); }
      else if (e.snapshot) { t.set(e.ref, e.snapshot); touched.add(cls); }
    }
    if (!touched.size) return false;
    this.version++;
    for (const cls of touched) this.classVersions.set(cls, this.version);
    return true;
  }

  /** A number that changes whenever any of these classes changed (for caches that read only them). */
  versionOf(...classes: string[]): number {
    let v = 0;
    for (const c of classes) v = Math.max(v, this.classVersions.get(c) ?? 0);
    return v;
  }

  clear(): void {
    for (const t of this.tables.values()) t.clear();
    this.version++;
    for (const c of this.tables.keys()) this.classVersions.set(c, this.version);
  }
}

// ---------------------------------------------------------------- typed reads

export const str = (r: Rec | undefined, k: string): string => (typeof r?.[k] === 'string' ? (r[k] as string) : '');
export const num = (r: Rec | undefined, k: string): number => (typeof r?.[k] === 'number' ? (r[k] as number) : Number(r?.[k] ?? 0));
export const bool = (r: Rec | undefined, k: string): boolean => r?.[k] === true;
export const strs = (r: Rec | undefined, k: string): string[] => (Array.isArray(r?.[k]) ? (r[k] as string[]) : []);
export const smap = (r: Rec | undefined, k: string): Record<string, string> => (r?.[k] && typeof r[k] === 'object' && !Array.isArray(r[k]) ? (r[k] as Record<string, string>) : {});
export const isRef = (v: unknown): v is Ref => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== NULL_REF;

/** Natural order of names ("eth2" before "eth10"); one collator, as creating one per comparison is slow. */
const collator = new Intl.Collator('en', { numeric: true });
export const natural = (a: string, b: string): number => collator.compare(a, b);
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
