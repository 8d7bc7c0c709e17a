// The master's side of a two-phase live migration (src/ops/vm.ts, src/domain/migration.ts),
// through the XenAPI: the order goes prepare -> switch -> commit, each phase only after the
// destination's answer; a destination that fails leaves the VM where it was. The destination's
// agent is played here by a listener on the database that answers as src/agent/migration.ts does
// (the lab tests, e2e-lab-hypervisor, run the real one with packets).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MIGRATION_CAPABILITY, MIGRATION_PROTOCOL, migrationOrder, type MigrationPhase } from '../src/domain/migration.ts';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost, makePif, makePifMetrics } from './helpers/fixtures.ts';

let d: TestDaemon;
let s: string;
let host1: string;
let host2: string;
let net: string;
const c = (method: string, ...params: unknown[]): Promise<unknown> => call(d.url, method, [s, ...params]);

beforeEach(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  host1 = ((await c('host.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, { device: string; network: string }>;
  net = Object.values(pifs).find((p) => p.device === 'eth1')!.network;
  d.db.transact((tx) => {
    host2 = makeHost(tx, { name_label: 'host2', hostname: 'host2', software_version: { [MIGRATION_CAPABILITY]: MIGRATION_PROTOCOL } });
    makePif(tx, { device: 'eth1', network: net, host: host2, MAC: '02:00:00:00:02:01', metrics: makePifMetrics(tx) });
  });
});
afterEach(async () => { await d?.dispose(); });

async function runningVm(): Promise<string> {
  const vm = (await c('VM.create', { name_label: 'mig' })) as string;
  await c('VIF.create', { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {} });
  await c('VM.start', vm, false, false);
  return vm;
}

/** host2's agent, as far as the master sees it: answers each phase of an order (or fails one), noting what it saw. */
function destination(answer: (phase: MigrationPhase) => 'ok' | 'fail' | 'silent'): { seen: string[]; stop: () => void } {
  const seen: string[] = [];
  const answered = new Set<string>();
  const stop = d.db.onCommit(() => {
    for (const vm of d.db.all('VM')) {
      const o = migrationOrder(vm.rec.migration);
      if (!o || o.destination !== host2 || answered.has(`${o.id} ${o.phase}`)) continue;
      answered.add(`${o.id} ${o.phase}`);
      seen.push(`${o.phase} resident_on=${vm.rec.resident_on === host1 ? 'host1' : 'host2'} domid=${o.domid}`);
      const a = answer(o.phase);
      if (a === 'silent') continue;
      const state = a === 'fail' ? 'failed' : o.phase === 'prepare' ? 'prepared' : 'switched';
      setImmediate(() => d.db.transact((tx) => tx.update(vm.ref, { migration_report: { id: o.id, state, ...(a === 'fail' ? { reason: 'no port' } : {}) } })));
    }
  });
  return { seen, stop };
}

describe('VM.pool_migrate in two phases', () => {
  test('the VM moves only after the destination readied its ports, then took its NICs over', async () => {
    const vm = await runningVm();
    const dest = destination(() => 'ok');
    await c('VM.pool_migrate', vm, host2, {});
    dest.stop();
    assert.deepEqual(dest.seen, ['prepare resident_on=host1 domid=1', 'switch resident_on=host1 domid=1']);
    assert.equal(await c('VM.get_resident_on', vm), host2);
    assert.equal(await c('VM.get_domid', vm), 1);
    assert.deepEqual(await c('VM.get_migration', vm), {});
    assert.deepEqual(await c('VM.get_current_operations', vm), {});
    assert.equal(((await c('VM.get_migration_report', vm)) as Record<string, string>).state, 'switched');
  });

  test('a destination that cannot prepare: VM_MIGRATE_FAILED, and the VM stays where it was', async () => {
    const vm = await runningVm();
    const domid = await c('VM.get_domid', vm);
    const dest = destination(() => 'fail');
    const err = await failure(c('VM.pool_migrate', vm, host2, {}));
    dest.stop();
    assert.deepEqual(err.slice(0, 4), ['VM_MIGRATE_FAILED', vm, host1, host2]);
    assert.match(err[4], /could not ready the VM's ports: no port/);
    assert.deepEqual(dest.seen, ['prepare resident_on=host1 domid=1'], 'never told to switch');
    assert.equal(await c('VM.get_resident_on', vm), host1);
    assert.equal(await c('VM.get_domid', vm), domid);
    assert.deepEqual(await c('VM.get_migration', vm), {});
  });

  test('one migration at a time: OTHER_OPERATION_IN_PROGRESS while one runs', async () => {
    const vm = await runningVm();
    const dest = destination((phase) => (phase === 'prepare' ? 'silent' : 'ok'));
    const first = c('VM.pool_migrate', vm, host2, {});
    // the first one's order is written (with the VM's current operation, in one transaction)
    for (let i = 0; i < 3000 && !migrationOrder(d.db.get(vm)?.rec.migration); i++) await new Promise((r) => setTimeout(r, 10));
    const err = await failure(c('VM.pool_migrate', vm, host2, {}));
    assert.equal(err[0], 'OTHER_OPERATION_IN_PROGRESS');
    assert.deepEqual(err.slice(1, 3), ['VM', vm]);
    // the first one's destination answers after all
    const o = migrationOrder(d.db.get(vm)!.rec.migration)!;
    d.db.transact((tx) => tx.update(vm, { migration_report: { id: o.id, state: 'prepared' } }));
    await first;
    dest.stop();
    assert.equal(await c('VM.get_resident_on', vm), host2);
  });
});
