// OvsBackend's flow writes against a real ovs-vswitchd (userspace datapath) in a namespace of
// the test's own: after the first write, a change rewrites only the cookies (VIFs) that changed;
// a port the switch could not open does not hold back the others; a pass that finds the switch
// as it left it reads nothing, yet a change made behind its back is still repaired.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeFlows, cookieOf, type VifLock } from '../src/agent/flows.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { canMakeNamespaces, startSwitchNs, type SwitchNs } from './helpers/netns.ts';

const skip = canMakeNamespaces() ? false : 'needs root, network namespaces and Open vSwitch (Debian openvswitch-switch)';

const lock = (i: number, ipv4: string[]): VifLock => ({ port: `vif${i}.0`, vifUuid: `vif-uuid-${i}`, mac: `02:00:00:00:00:0${i}`, mode: 'locked', ipv4, ipv6: [] });

function host(locks: VifLock[], extraPorts: PortSpec[] = []): DesiredHost {
  const ports: PortSpec[] = [...locks.map((l): PortSpec => ({ name: l.port, kind: 'vif', interfaces: [l.port], type: 'internal' })), ...extraPorts];
  return {
    hostname: 'h', bridges: [{ name: 'br0', ports, externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [],
    flows: { br0: bridgeFlows(locks) }, meters: {},
  };
}

describe('Open vSwitch backend: flow writes', { skip }, () => {
  let sw: SwitchNs;
  let ovs: OvsBackend;
  const target = () => `unix:${sw.dir}/br0.mgmt`;
  const flowsOf = (cookie: string) => sw.ofctl('dump-flows', '--no-stats', target(), `cookie=${cookie}/-1`).split('\n').filter((l) => l.includes('actions='));

  before(async () => {
    sw = await startSwitchNs(0, 'flows');
    ovs = new OvsBackend({ dbSocket: sw.dbSocket, runDir: sw.dir, datapathType: 'netdev' });
  });
  after(async () => { ovs?.close(); await sw?.dispose(); });

  it('writes the whole table, then only the flows of the VIF that changed', async () => {
    const locks = [lock(1, ['10.0.0.1']), lock(2, ['10.0.0.2']), lock(3, ['10.0.0.3'])];
    const first = await ovs.apply(host(locks));
    assert.deepEqual(first.flowBridges, ['br0']);
    assert.equal(flowsOf(cookieOf('vif-uuid-2')).length, 14);
    // a flow under VIF 1's cookie that poolnet did not write: a rewrite of VIF 1's flows (or of
    // the whole table) would remove it
    sw.ofctl('add-flow', target(), `cookie=${cookieOf('vif-uuid-1')},priority=1,dl_src=02:00:00:00:00:99,actions=drop`);
    const second = await ovs.apply(host([locks[0], lock(2, ['10.0.0.22']), locks[2]]));
    assert.deepEqual(second.flowBridges, ['br0']);
    assert.ok(flowsOf(cookieOf('vif-uuid-2')).some((l) => l.includes('nw_src=10.0.0.22')));
    assert.ok(!flowsOf(cookieOf('vif-uuid-2')).some((l) => l.includes('nw_src=10.0.0.2,')));
    assert.equal(flowsOf(cookieOf('vif-uuid-1')).length, 15, 'VIF 1\'s flows were left alone');
    assert.deepEqual((await ovs.apply(host([locks[0], lock(2, ['10.0.0.22']), locks[2]]))).flowBridges, []);
  });

  it('leaves out the flows of a port the switch could not open, and writes the others', async () => {
    const locks = [lock(1, ['10.0.0.1']), lock(4, ['10.0.0.4'])];
    // vif4.0 as a system port whose device does not exist: ovs-vswitchd gives it ofport -1
    const ghost: PortSpec = { name: 'vif4.0', kind: 'vif', interfaces: ['vif4.0'], type: '' };
    const r = await ovs.apply({ ...host([locks[0]], [ghost]), flows: { br0: bridgeFlows(locks) } });
    assert.deepEqual(r.flowBridges, ['br0']);
    assert.equal(flowsOf(cookieOf('vif-uuid-4')).length, 0);
    assert.equal(flowsOf(cookieOf('vif-uuid-1')).length, 14);
  });

  it('reads nothing when the switch is as it left it, and still repairs a change made behind its back', async () => {
    const want = host([lock(1, ['10.0.0.1'])]);
    await ovs.apply(want);
    assert.equal((await ovs.apply(want)).ovsdbChanges, 0);
    sw.vsctl('set', 'port', 'vif1.0', 'tag=7');
    assert.ok((await ovs.apply(want)).ovsdbChanges > 0);
    assert.equal(sw.vsctl('get', 'port', 'vif1.0', 'tag').trim(), '[]');
    sw.vsctl('del-port', 'br0', 'vif1.0');
    assert.ok((await ovs.apply(want)).ovsdbChanges > 0);
    assert.ok(sw.vsctl('list-ports', 'br0').includes('vif1.0'));
  });
});
