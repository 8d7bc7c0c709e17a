// Replication: pool members keep a full replica of the master's database. The master sends
// every row changed since the member's generation (every field, internal ones included) and
// the deletions; the member writes them as one transaction and takes the master's generation.

import type { Rec, Store } from './store.ts';

/** Replication rows: [ref, class, every stored field, created, modified] and deletions [ref, class, created, deleted]. */
export type ReplicaRow = [string, string, Rec, number, number];
export type ReplicaDel = [string, string, number, number];
export interface ReplicaBatch { generation: number; full: boolean; rows: ReplicaRow[]; dels: ReplicaDel[] }

/** Every row changed after `since` (-1: all), with every field, internal ones included, and the deletions. */
export function replicaSince(store: Store, since: number): ReplicaBatch {
  const rows: ReplicaRow[] = [];
  const dels: ReplicaDel[] = [];
  if (since < 0) {
    for (const o of store.everything()) rows.push([o.ref, o.cls, o.rec, o.created, o.modified]);
    return { generation: store.generation, full: true, rows, dels };
  }
  const seen = new Set<string>();
  for (const { ref } of store.changedSinceAll(since)) {
    if (seen.has(ref)) continue;
    seen.add(ref);
    const o = store.get(ref);
    if (o) rows.push([o.ref, o.cls, o.rec, o.created, o.modified]);
    else { const t = store.tombstone(ref); if (t) dels.push([t.ref, t.cls, t.created, t.deleted]); }
  }
  return { generation: store.generation, full: false, rows, dels };
}

/** Write a batch from the master into the replica's store; the refs it changed. */
export function applyReplica(store: Store, b: ReplicaBatch): string[] {
  return store.overwrite(b.full, b.rows, b.dels, b.generation);
}
