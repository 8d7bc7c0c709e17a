// Fail safe on a real switch: a bridge or port whose value fails its check (a hostile value
// written into the database past the API, as a replica or an older database could hold it) is
// kept on the switch exactly as it is (not deleted with its NIC, not changed, its flow table the
// allow-list it had) and reported once as a NETWORK_VALUE_REJECTED pool message. Ports that
// poolnet did not make (an administrator's fake bridge) are left alone, and pass nothing; ports
// poolnet made and no longer wants are removed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import type { DesiredHost } from '../src/agent/desired.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { newRejectionAlerts } from '../src/agent/rejections.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const skip = switchNsSkipReason();

describe('Open vSwitch backend: held bridges and ports, foreign ports', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let ovs: OvsBackend;
  let s: string;
  let vlanNet: string;
  let vlan: string;
  let vbr: string;
  const host = () => [...d.db.all('host')][0].ref;
  const apply = () => ovs.apply(compile(d.db, host()));
  const netOf = async (bridge: string) => ((await call(d.url, 'network.get_all_where', [s, `field "bridge"="${bridge}"`])) as string[])[0];
  /** Every port of a bridge (list-ports leaves out a fake bridge's), its own internal port aside. */
  const ports = (br: string) => sw.vsctl('--bare', '--columns=ports', 'list', 'bridge', br).trim().split(/\s+/).filter(Boolean)
    .map((u) => sw.vsctl('--bare', '--columns=name', 'list', 'port', u).trim()).filter((n) => n !== br).sort();
  const flows = (br: string) => sw.ofctl('--no-stats', '--no-names', 'dump-flows', ovs.ofTarget(br)).trim().split('\n').map((l) => l.trim()).filter(Boolean).sort();
  /** `patch` written into the database past the API, as a replica would; returns a function that puts it back. */
  const hostile = (ref: string, patch: Record<string, unknown>) => {
    const o = d.db.get(ref)!;
    const old = Object.fromEntries(Object.keys(patch).map((k) => [k, o.rec[k]]));
    d.db.transact((tx) => tx.update(ref, patch));
    return () => d.db.transact((tx) => tx.update(ref, old));
  };

  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(3, 'held');
    ovs = switchBackend(sw);
    s = await login(d.url);
    const eth1 = Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, 'field "device"="eth1" and field "VLAN"="-1"'])) as object)[0];
    vlanNet = await call(d.url, 'network.create', [s, { name_label: 'vlan 300', MTU: 1500, other_config: {} }]) as string;
    vlan = await call(d.url, 'VLAN.create', [s, eth1, 300, vlanNet]) as string;
    vbr = await call(d.url, 'network.get_bridge', [s, vlanNet]) as string;
    await apply();
    assert.deepEqual(ports('xenbr1').sort(), ['eth1', vbr].sort());
  });
  after(async () => { ovs?.close(); await sw?.dispose(); await d?.dispose(); });

  it('a network with a hostile uuid: its bridge stays with its NIC, ports and flow table; reported once', async () => {
    const net = await netOf('xenbr1');
    const before = { ports: ports('xenbr1').sort(), flows: flows('xenbr1') };
    const restore = hostile(net, { uuid: 'x\ny' });
    try {
      await apply().catch(() => undefined);
      await apply().catch(() => undefined);
      assert.ok(sw.vsctl('list-br').split('\n').includes('xenbr1'), 'xenbr1 is still on the switch');
      assert.deepEqual(ports('xenbr1').sort(), before.ports, 'with its NIC and VLAN port');
      assert.deepEqual(flows('xenbr1'), before.flows, 'its flow table as it was');
      const desired = compile(d.db, host());
      assert.ok(!desired.bridges.some((b) => b.name === 'xenbr1'), 'left out of the desired bridges');
      assert.ok(desired.held?.bridges.includes('xenbr1'), 'held');
      const raised = new Set<string>();
      const alerts = newRejectionAlerts(d.db, host(), desired.rejected ?? [], raised);
      assert.equal(alerts.filter((a) => a.body.includes('"x\\ny"')).length, 1, alerts.map((a) => a.body).join('\n'));
      assert.match(alerts[0].body, /left on the switch exactly as it is/);
      assert.deepEqual(newRejectionAlerts(d.db, host(), compile(d.db, host()).rejected ?? [], raised), [], 'reported once');
    } finally { restore(); }
    await apply();
    assert.deepEqual(ports('xenbr1').sort(), before.ports);
  });

  it('a VLAN with a hostile tag: its fake bridge port stays as it is', async () => {
    const restore = hostile(vlan, { tag: 5000 });
    try {
      await apply();
      assert.ok(ports('xenbr1').includes(vbr), 'the VLAN port is still there');
      assert.equal(sw.vsctl('get', 'port', vbr, 'tag').trim(), '300', 'unchanged');
      assert.ok(compile(d.db, host()).held?.ports.includes(vbr));
    } finally { restore(); }
  });

  it('a bridge the switch step\'s own check refuses: kept, and the flow step says why at once', async () => {
    const good = compile(d.db, host());
    const bad: DesiredHost = { ...good, bridges: good.bridges.map((b) => (b.name === 'xenbr2' ? { ...b, externalIds: { ...b.externalIds, 'bad key': 'x' } } : b)) };
    const err = await ovs.apply(bad).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'the flow step fails for that bridge');
    assert.doesNotMatch(err.message, /never became ready/);
    assert.match(err.message, /xenbr2.*bad key/);
    assert.ok(sw.vsctl('list-br').split('\n').includes('xenbr2'), 'xenbr2 is still on the switch');
    assert.deepEqual(ports('xenbr2'), ['eth2']);
  });

  it('a port poolnet did not make (an administrator\'s fake bridge) is left alone and passes nothing; its own stale ports go', async () => {
    sw.vsctl('add-br', 'fake77', 'xenbr0', '77');
    await apply();
    await apply();
    assert.ok(ports('xenbr0').includes('fake77'), 'the fake bridge is still there');
    const ofport = sw.vsctl('get', 'interface', 'fake77', 'ofport').trim();
    const table = flows('xenbr0');
    assert.ok(!table.some((f) => f.includes(`in_port=${ofport},`) || f.endsWith(`in_port=${ofport} actions=NORMAL`)), `no flow lets port ${ofport} in:\n${table.join('\n')}`);
    assert.ok(table.some((f) => /priority=0 actions=drop/.test(f)), 'the last flow drops');
    // a frame from the fake bridge's port hits that last flow
    const trace = sw.exec('ovs-appctl', ['-t', `${sw.dir}/ovs-vswitchd.ctl`, 'ofproto/trace', 'xenbr0', `in_port=${ofport},dl_src=02:00:00:00:77:01,dl_dst=ff:ff:ff:ff:ff:ff`]);
    assert.match(trace, /Datapath actions: drop/);
    // a port poolnet made and no longer wants: removed
    await call(d.url, 'VLAN.destroy', [s, vlan]);
    await apply();
    assert.ok(!ports('xenbr1').includes(vbr), 'the VLAN port poolnet made is gone');
    assert.ok(ports('xenbr0').includes('fake77'));
    sw.vsctl('del-br', 'fake77');
  });
});
