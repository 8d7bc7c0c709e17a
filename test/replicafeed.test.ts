// The change stream's pace (src/daemon/replicafeed.ts): the master's batches shared by the members
// asking at the same generation, and a member's polls spaced out only while the master is busy.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PollPacer, ReplicaFeed } from '../src/daemon/replicafeed.ts';
import { Database } from '../src/db/database.ts';
import { initialise, type HostFacts } from '../src/db/init.ts';

describe('replica feed and poll pacing', () => {
  it('members asking at the same generation share one batch; a commit makes a new one holding the change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pn-feed-'));
    const db = new Database(join(dir, 'pool.db'));
    try {
      const facts: HostFacts = { hostname: 'h1', dns: [], nics: [{ device: 'eth0', mac: '02:00:00:00:00:01', mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '' }] };
      initialise(db, facts, { backend: 'openvswitch' });
      const feed = new ReplicaFeed(db);
      const g = db.generation;
      const a = feed.since(g - 1), b = feed.since(g - 1);
      assert.equal(a, b, 'the same batch object for the same token and generation');
      assert.deepEqual(a, db.replicaSince(g - 1));
      const net = [...db.all('network')][0];
      db.transact((tx) => tx.update(net.ref, { name_description: 'changed' }));
      const c = feed.since(g - 1);
      assert.notEqual(c, a, 'a new batch after a commit');
      assert.equal(c.generation, db.generation);
      assert.ok(c.rows.some(([ref, , rec]) => ref === net.ref && rec.name_description === 'changed'));
      assert.deepEqual(feed.since(g).rows.map((r) => r[0]), db.replicaSince(g).rows.map((r) => r[0]));
      assert.equal(feed.since(-1).full, true);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('polls are spaced out (doubling up to the bound) while batches were waiting, and at once after a quiet spell', () => {
    const p = new PollPacer({ burstMs: 250, minMs: 50, maxMs: 400 });
    assert.deepEqual([5, 5, 5, 5, 5, 5].map((w) => p.changed(w)), [50, 100, 200, 400, 400, 400]);
    assert.equal(p.changed(3000), 0, 'a batch the member waited for');
    assert.equal(p.changed(10), 50);
  });
});
