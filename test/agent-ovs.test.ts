// compile() + the Open vSwitch backend against a real ovs-vswitchd (userspace datapath) in a
// namespace of the test's own: bridges per network, bonds, VLAN fake bridges, idempotence.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const skip = switchNsSkipReason();

describe('Open vSwitch backend', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let ovs: OvsBackend;
  let s: string;
  const host = () => [...d.db.all('host')][0].ref;
  const apply = () => ovs.apply(compile(d.db, host()));
  const pif = async (device: string) => ((await call(d.url, 'PIF.get_all_records_where', [s, `field "device"="${device}" and field "VLAN"="-1"`])) as Record<string, unknown>);

  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(3, 'ovs');
    ovs = switchBackend(sw);
    s = await login(d.url);
  });
  after(async () => { ovs?.close(); await sw?.dispose(); await d?.dispose(); });

  it('creates a bridge per attached NIC, with the NIC as its uplink', async () => {
    const r = await apply();
    assert.ok(r.switchChanges > 0);
    assert.deepEqual(sw.vsctl('list-br').trim().split('\n'), ['xenbr0', 'xenbr1', 'xenbr2']);
    assert.deepEqual(sw.vsctl('list-ports', 'xenbr1').trim().split('\n'), ['eth1']);
    assert.equal(sw.vsctl('get', 'bridge', 'xenbr0', 'datapath_type').trim(), 'netdev');
    assert.equal(sw.vsctl('get', 'bridge', 'xenbr0', 'other_config:hwaddr').trim(), '"02:00:00:00:01:00"');
  });

  it('changes nothing when applied again', async () => {
    const r = await apply();
    assert.equal(r.switchChanges, 0);
    assert.deepEqual(r.filterBridges, []);
  });

  it('turns a bond into one OVS bond port and removes the members\' own bridges', async () => {
    const net = await call(d.url, 'network.create', [s, { name_label: 'bond net', MTU: 1500, other_config: {} }]);
    const members = [...Object.keys(await pif('eth1')), ...Object.keys(await pif('eth2'))];
    await call(d.url, 'Bond.create', [s, net, members, '', 'lacp', { 'lacp-time': 'fast' }]);
    await apply();
    const bridges = sw.vsctl('list-br').trim().split('\n');
    assert.deepEqual(bridges, ['xapi0', 'xenbr0']);
    assert.deepEqual(sw.vsctl('list-ports', 'xapi0').trim().split('\n'), ['bond0']);
    assert.equal(sw.vsctl('get', 'port', 'bond0', 'bond_mode').trim(), 'balance-tcp');
    assert.equal(sw.vsctl('get', 'port', 'bond0', 'lacp').trim(), 'active');
    assert.equal(sw.vsctl('get', 'port', 'bond0', 'other_config:lacp-time').trim().replace(/"/g, ''), 'fast');
    assert.deepEqual(JSON.parse(sw.vsctl('--format=json', '--columns=name', 'find', 'interface', 'name=eth1')).data.length, 1);
    assert.equal((await apply()).switchChanges, 0);
  });

  it('puts a VLAN network on its parent bridge as a fake bridge with the tag', async () => {
    const net = await call(d.url, 'network.create', [s, { name_label: 'vlan 100', MTU: 1500, other_config: {} }]);
    await call(d.url, 'VLAN.create', [s, Object.keys(await pif('eth0'))[0], 100, net]);
    await apply();
    assert.ok(sw.vsctl('list-br').includes('xapi1'));
    assert.equal(sw.vsctl('br-to-parent', 'xapi1').trim(), 'xenbr0');
    assert.equal(sw.vsctl('br-to-vlan', 'xapi1').trim(), '100');
    assert.equal((await apply()).switchChanges, 0);
  });

  it('removes what the database no longer has, and leaves bridges it did not make alone', async () => {
    sw.vsctl('add-br', 'foreign', '--', 'set', 'bridge', 'foreign', 'datapath_type=netdev');
    const bonds = (await call(d.url, 'Bond.get_all', [s])) as string[];
    await call(d.url, 'Bond.destroy', [s, bonds[0]]);
    await apply();
    const bridges = sw.vsctl('list-br').trim().split('\n');
    assert.ok(bridges.includes('foreign'));
    assert.ok(!bridges.includes('xapi0'));
    assert.ok(bridges.includes('xenbr1') && bridges.includes('xenbr2'));
  });
});
