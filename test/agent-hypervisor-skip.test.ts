// The lab hypervisor's pass (it reads every VM namespace: processes on every host) runs when what
// it wants changed, after a pass where it failed a step, and on every full pass (timer, start);
// a change to the switch alone (a VLAN) leaves it out. Against a real switch; the hypervisor is a
// counting stand-in (the real one is exercised by the lab tests: e2e-lab-hypervisor).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../src/agent/agent.ts';
import type { VmBackend, VmsWanted } from '../src/agent/vms.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';
import { until } from './helpers/until.ts';

const skip = switchNsSkipReason();


describe('agent: the lab hypervisor runs only when its part changed', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let agent: Agent;
  let s: string;
  let want: VmsWanted = { vms: [], elsewhere: [], problems: [] };
  const hv = { applies: 0, complete: true, desired: () => want, apply: async () => { hv.applies++; return 0; } };
  const vlan = async (tag: number) => {
    const net = await call(d.url, 'network.create', [s, { name_label: `v${tag}`, MTU: 1500, other_config: {} }]);
    const eth1 = Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, 'field "device"="eth1" and field "VLAN"="-1"'])) as object)[0];
    await call(d.url, 'VLAN.create', [s, eth1, tag, net]);
    await until(() => sw.vsctl('list-br').split('\n').some((b) => b && sw.vsctl('br-to-vlan', b).trim() === String(tag)), `VLAN ${tag} on the switch`);
  };

  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(3, 'hvskip');
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const host = [...d.db.all('host')][0].ref;
    // no timer pass during the test: each full pass is asked for
    agent = new Agent(d.db, () => host, switchBackend(sw), undefined, log, { intervalMs: 3_600_000, debounceMs: 2 });
    agent.hypervisor = hv as unknown as VmBackend;
    agent.start();
    s = await login(d.url);
    await until(() => sw.vsctl('list-br').includes('xenbr2'), 'the bridges');
  });
  after(async () => { await agent?.stop(); await sw?.dispose(); await d?.dispose(); });

  it('the first (full) pass runs it; a VLAN alone does not', async () => {
    assert.ok(hv.applies >= 1, 'the start pass ran the hypervisor');
    const n = hv.applies, p = agent.passes;
    await vlan(42);
    await until(() => agent.passes > p, 'a pass');
    assert.equal(hv.applies, n, 'a VLAN changes nothing of the VMs: no hypervisor pass');
  });

  it('what it wants changed: it runs', async () => {
    const n = hv.applies;
    want = { vms: [], elsewhere: [], problems: ['a change of the VMs'] };
    await vlan(43);
    assert.equal(hv.applies, n + 1);
  });

  it('a step that failed: the next change pass runs it again, though nothing of it changed', async () => {
    hv.complete = false;
    want = { vms: [], elsewhere: [], problems: ['another change'] };
    await vlan(44);
    const n = hv.applies;
    hv.complete = true;
    await vlan(45);
    assert.equal(hv.applies, n + 1, 'run again after an incomplete pass');
    await vlan(46);
    assert.equal(hv.applies, n + 1, 'and no more once it completed');
  });

  it('a full pass (settled) runs it whatever changed', async () => {
    const n = hv.applies;
    await agent.settled();
    assert.equal(hv.applies, n + 1);
  });
});
