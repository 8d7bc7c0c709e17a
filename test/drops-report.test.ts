// A member's report of its VIFs' locking drops, on a real daemon (no switch): pool.replica_write
// takes `locking_drops` only from a pool session of the host the VM runs on (replica-write-owner
// tests the other hosts' rows), only with the known reasons and whole counts,
// never lower than stored, and stamps `locking_drops_changed` with the master's own time; xe shows
// both fields (vif-param-list) and the VIF_LOCKING_DROPS message (message-list, class VIF).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runXe } from '../src/cli/xe/main.ts';
import { VIF_LOCKING_DROPS, alertBody } from '../src/agent/dropstats.ts';
import { DropPoller } from '../src/agent/droppoller.ts';
import { ROOT_PASSWORD, call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost } from './helpers/fixtures.ts';

describe('locking drops reported to the master', () => {
  let d: TestDaemon;
  let home: string;
  let s: string;
  let pool: string;
  let vif: string;
  let vifUuid: string;

  const c = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);
  const rec = async () => (await c('VIF.get_record', vif)) as { locking_drops: Record<string, number | string>; locking_drops_changed: string; MAC: string };
  const counts = async () => Object.fromEntries(Object.entries((await rec()).locking_drops).map(([k, v]) => [k, Number(v)]));
  const xe = async (args: string[]): Promise<string> => {
    let out = '', err = '';
    const code = await runXe(args, {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '', readFile: (p) => readFileSync(p, 'utf8'),
      env: { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${d.port},nossl=true,password=${ROOT_PASSWORD}` },
    });
    assert.equal(code, 0, err);
    return out;
  };

  before(async () => {
    d = await startTestDaemon();
    home = mkdtempSync(join(tmpdir(), 'poolnet-drops-xe-'));
    s = await login(d.url);
    const network = Object.keys((await c('network.get_all_records')) as object)[0];
    const vm = (await c('VM.create', { name_label: 'spoofer', other_config: {} })) as string;
    vif = (await c('VIF.create', { device: '0', network, VM: vm, MAC: '02:aa:00:00:00:07', MTU: 1500, other_config: {} })) as string;
    vifUuid = (await c('VIF.get_uuid', vif)) as string;
    // the VM runs on a member (a host record: a one-host daemon cannot have joined one), whose
    // pool session names it
    const member = d.db.transact((tx) => makeHost(tx, { name_label: 'member', hostname: 'member', address: '10.0.0.12' }));
    d.db.transact((tx) => tx.update(vm, { power_state: 'Running', resident_on: member }));
    const secret = String([...d.db.all('pool')][0].rec.pool_secret);
    pool = (await call(d.url, 'session.slave_login', [member, secret])) as string;
  });
  after(async () => { await d?.dispose(); if (home) rmSync(home, { recursive: true, force: true }); });

  const report = (patch: Record<string, unknown>) => call(d.url, 'pool.replica_write', [pool, [[vif, patch]]]);

  it('starts with no drops', async () => {
    assert.deepEqual(await counts(), {});
  });

  it('takes a member\'s counts, stamped with the master\'s time, and nothing else of the VIF', async () => {
    const t0 = Date.now();
    await report({ locking_drops: { foreign_ip: 12, neighbour_spoof: 3 }, locking_drops_changed: '19990101T00:00:00Z', MAC: '02:bb:00:00:00:66' });
    const r = await rec();
    assert.deepEqual(await counts(), { foreign_ip: 12, neighbour_spoof: 3 });
    assert.equal(r.MAC, '02:aa:00:00:00:07');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(r.locking_drops_changed);
    assert.ok(m, r.locking_drops_changed);
    const at = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    assert.ok(at >= Math.floor(t0 / 1000) * 1000 - 1000, `the master's time, not the member's: ${r.locking_drops_changed}`);
  });

  it('refuses unknown reasons and counts that are not whole and non-negative, and never lowers a count', async () => {
    const before = await rec();
    for (const bad of [{ foreign_ip: 99, evil: 1 }, { foreign_ip: -5 }, { foreign_ip: 1.5 }, { foreign_ip: 'lots' }, 'x', [1], { foreign_ip: 2 ** 60 }]) {
      await report({ locking_drops: bad });
    }
    await report({ locking_drops: { foreign_ip: 1 } });
    assert.deepEqual(await rec(), before);
    await report({ locking_drops: { foreign_ip: 1, tagged: 4 } });
    assert.deepEqual(await counts(), { foreign_ip: 12, neighbour_spoof: 3, tagged: 4 });
  });

  it('is not a user\'s to write', async () => {
    const r = await failure(call(d.url, 'pool.replica_write', [s, [[vif, { locking_drops: { other: 100 } }]]]));
    assert.equal(r[0], 'RBAC_PERMISSION_DENIED');
    assert.equal((await counts()).other, undefined);
  });

  it('refuses updates that are not a list of [ref, record] pairs with a type error, writing nothing', async () => {
    const before = await rec();
    for (const bad of ['x', null, { [vif]: {} }, [null], [[vif]], [[vif, null]], [[vif, 'x']], [[vif, [1]]], [[7, { locking_drops: { other: 9 } }]], [[vif, { locking_drops: { other: 9 } }], 'x']]) {
      const r = await failure(call(d.url, 'pool.replica_write', [pool, bad]));
      assert.equal(r[0], 'FIELD_TYPE_ERROR', `${JSON.stringify(bad)}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(await rec(), before);
  });

  it('needs no agent pass for a commit that changes only the counts', async () => {
    const poller = new DropPoller({ db: d.db, host: () => 'OpaqueRef:NULL', backend: 'openvswitch', ovsRunDir: '/nonexistent', write: async () => undefined, raise: async () => undefined, log: { warn: () => undefined, error: () => undefined } });
    const seen: boolean[] = [];
    const off = d.db.onCommit((commit) => { const only = poller.onlyCounts(commit); if (commit.touched.includes(vif)) seen.push(only); });
    try {
      await report({ locking_drops: { foreign_ip: 20 } }); // first sight of the VIF: a pass
      await report({ locking_drops: { foreign_ip: 21 } });
      await c('VIF.set_locking_mode', vif, 'locked');
      await report({ locking_drops: { foreign_ip: 22 } });
    } finally { off(); }
    // the counts alone; the locking mode (in however many commits the operation takes); the counts alone
    assert.deepEqual([seen[0], seen[1], seen.at(-1)], [false, true, true], JSON.stringify(seen));
    assert.ok(seen.length >= 4 && seen.slice(2, -1).every((x) => !x), JSON.stringify(seen));
  });

  it('shows in xe vif-param-list, and the message in xe message-list', async () => {
    const list = await xe(['vif-param-list', `uuid=${vifUuid}`]);
    assert.match(list, /locking-drops \(MRO\): foreign_ip: 22; neighbour_spoof: 3; tagged: 4/);
    assert.match(list, /locking-drops-changed \( RO\): \d{8}T/);
    assert.equal((await xe(['vif-param-get', `uuid=${vifUuid}`, 'param-name=locking-drops', 'param-key=foreign_ip'])).trim(), '22');
    const body = alertBody({ vm: 'spoofer', device: '0', mac: '02:aa:00:00:00:07', network: 'net' }, { foreign_ip: 22 }, 1);
    await c('message.create', VIF_LOCKING_DROPS, 3, 'VIF', vifUuid, body);
    const msgs = await xe(['message-list', `obj-uuid=${vifUuid}`]);
    assert.match(msgs, /name \( RO\): VIF_LOCKING_DROPS/);
    assert.match(msgs, /class \( RO\): VIF/);
    assert.match(msgs, /spoofer/);
  });
});
