// The pool's change stream at scale. Every commit on the master goes to every member, and each
// batch a member applies makes its agent compile the whole pool database again: in a 64-host
// pool a burst of commits (joins, VMs made, 63 members each reporting the status of a pool-wide
// VLAN) becomes thousands of batches and agent passes. Two remedies, one per side:
// - the master computes each batch once per generation and token, for every member waiting there
//   (instead of walking the database once per member);
// - a member, while the master has changes waiting each time it asks, waits a little longer
//   before it asks again, so that a burst reaches it in a few batches; a change after a quiet
//   spell still comes at once.

import type { Database, ReplicaBatch } from '../db/database.ts';

/** The master's side: the batch since a generation, shared by every member that asks at the same generation. */
export class ReplicaFeed {
  private generation = -1;
  private readonly batches = new Map<number, ReplicaBatch>();

  constructor(private readonly db: Database) {}

  since(since: number): ReplicaBatch {
    if (this.db.generation !== this.generation) {
      this.generation = this.db.generation;
      this.batches.clear();
    }
    let b = this.batches.get(since);
    if (!b) {
      b = this.db.replicaSince(since);
      // (the full copy is only asked at a join or a restart: not worth keeping)
      if (since >= 0) this.batches.set(since, b);
    }
    return b;
  }
}

/**
 * The member's side: how long to wait before the next poll. A batch that was already waiting when
 * the member asked (the long poll answered within `burstMs`) doubles the wait, from `minMs` up to
 * `maxMs`: the master is busy, and what it commits meanwhile comes in the next batch. A batch the
 * member had to wait for (a change after a quiet spell) resets it to nothing.
 */
export class PollPacer {
  private gap = 0;

  constructor(private readonly o: { burstMs: number; minMs: number; maxMs: number } = { burstMs: 250, minMs: 50, maxMs: 2000 }) {}

  /** A batch with changes came `waitedMs` after the poll was sent: the milliseconds to wait before the next. */
  changed(waitedMs: number): number {
    this.gap = waitedMs < this.o.burstMs ? Math.min(this.o.maxMs, Math.max(this.o.minMs, this.gap * 2)) : 0;
    return this.gap;
  }
}
