// The agent loop against a real switch: it converges after a change, and when someone changes
// the switch behind its back (a flow deleted, a port removed) it notices on its timer, repairs
// it and reports it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../src/agent/agent.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';
import { until } from './helpers/until.ts';

const skip = switchNsSkipReason();


describe('agent loop', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let agent: Agent;
  const warnings: string[] = [];
  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(3, 'drift');
    const log = { info: () => undefined, warn: (_o: object, m?: string) => { warnings.push(m ?? ''); }, error: () => undefined };
    const host = [...d.db.all('host')][0].ref;
    agent = new Agent(d.db, () => host, switchBackend(sw), undefined, log, { intervalMs: 500, debounceMs: 2 });
    agent.start();
  });
  after(async () => { await agent?.stop(); await sw?.dispose(); await d?.dispose(); });

  const ports = (br: string) => sw.vsctl('list-ports', br).trim().split('\n').filter(Boolean);

  it('realises a change made through the API', async () => {
    await until(() => sw.vsctl('list-br').includes('xenbr2'), 'the bridges');
    const s = await login(d.url);
    const net = await call(d.url, 'network.create', [s, { name_label: 'v', MTU: 1500, other_config: {} }]);
    const eth1 = Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, 'field "device"="eth1"'])) as object)[0];
    await call(d.url, 'VLAN.create', [s, eth1, 42, net]);
    await until(() => sw.vsctl('list-br').includes('xapi0'), 'the VLAN fake bridge');
    assert.equal(sw.vsctl('br-to-vlan', 'xapi0').trim(), '42');
  });

  it('repairs a port and a flow removed behind its back, and reports it', async () => {
    warnings.length = 0;
    sw.vsctl('del-port', 'xenbr2', 'eth2');
    sw.ofctl('del-flows', `unix:${sw.dir}/xenbr1.mgmt`);
    await until(() => ports('xenbr2').includes('eth2'), 'the port back');
    await until(() => sw.ofctl('dump-flows', `unix:${sw.dir}/xenbr1.mgmt`).includes('actions=NORMAL'), 'the flow back');
    await until(() => warnings.some((w) => w.includes('drifted')), 'a drift report');
  });
});
