// OvsBackend's flow writes against a real ovs-vswitchd (userspace datapath) in a namespace of
// the test's own: after the first write, a change rewrites only the cookies (VIFs) that changed;
// a port the switch could not open does not hold back the others; a pass that finds the switch
// as it left it reads nothing, yet a change made behind its back is still repaired; flows the
// switch refuses (a line ovs-ofctl cannot parse, a meter the switch lacks) put that VIF alone in
// quarantine (it drops everything) while the others are written; bridges are fail_mode=secure and
// VIF ports access ports.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeFlows, cookieOf, ovsTables, QUARANTINE_PRIORITY, vifFlows, type OvsTables, type VifLock } from '../src/agent/ovsflows.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const skip = switchNsSkipReason();

/** A VIF uuid (the switch's ports carry only well-formed ones). */
const uuid = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lock = (i: number, ipv4: string[]): VifLock => ({ port: `vif${i}.0`, vifUuid: uuid(i), mac: `02:00:00:00:00:0${i}`, mode: 'locked', ipv4, ipv6: [] });

const vifPort = (l: VifLock): PortSpec => ({ name: l.port, kind: 'vif', interfaces: [l.port], type: 'internal', vifUuid: l.vifUuid, lock: { mode: l.mode, mac: l.mac, ipv4: l.ipv4, ipv6: l.ipv6 } });

function host(locks: VifLock[], extraPorts: PortSpec[] = []): DesiredHost {
  const ports: PortSpec[] = [...locks.map(vifPort), ...extraPorts];
  return { hostname: 'h', bridges: [{ name: 'br0', ports, externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] };
}

/** host(locks) with its tables built from the locks as given (a lock's meter included, whether the desired state has it or not). */
function byHand(locks: VifLock[]): [DesiredHost, OvsTables] {
  const d = host(locks);
  return [d, { flows: { br0: bridgeFlows(locks, d.bridges[0].ports) }, meters: {} }];
}

describe('Open vSwitch backend: flow writes', { skip }, () => {
  let sw: SwitchNs;
  let ovs: OvsBackend;
  const target = () => `unix:${sw.dir}/br0.mgmt`;
  const flowsOf = (cookie: string) => sw.ofctl('dump-flows', '--no-stats', target(), `cookie=${cookie}/-1`).split('\n').filter((l) => l.includes('actions='));

  before(async () => {
    sw = await startSwitchNs(0, 'flows');
    // the flow monitor would repair at once what these tests write behind the backend's back to
    // see which cookies a change rewrites (test/openflow-monitor covers it); drift() reads back
    ovs = switchBackend(sw, { flowMonitor: false });
  });
  after(async () => { ovs?.close(); await sw?.dispose(); });

  it('writes the whole table, then only the flows of the VIF that changed', async () => {
    const locks = [lock(1, ['10.0.0.1']), lock(2, ['10.0.0.2']), lock(3, ['10.0.0.3'])];
    const first = await ovs.apply(host(locks));
    assert.deepEqual(first.filterBridges, ['br0']);
    const perVif = vifFlows(locks[1]).length;
    assert.equal(flowsOf(cookieOf(uuid(2))).length, perVif);
    // a flow under VIF 1's cookie that poolnet did not write: a rewrite of VIF 1's flows (or of
    // the whole table) would remove it
    sw.ofctl('add-flow', target(), `cookie=${cookieOf(uuid(1))},priority=1,dl_src=02:00:00:00:00:99,actions=drop`);
    const second = await ovs.apply(host([locks[0], lock(2, ['10.0.0.22']), locks[2]]));
    assert.deepEqual(second.filterBridges, ['br0']);
    assert.ok(flowsOf(cookieOf(uuid(2))).some((l) => l.includes('nw_src=10.0.0.22')));
    assert.ok(!flowsOf(cookieOf(uuid(2))).some((l) => l.includes('nw_src=10.0.0.2,')));
    assert.equal(flowsOf(cookieOf(uuid(1))).length, perVif + 1, 'VIF 1\'s flows were left alone');
    assert.deepEqual((await ovs.apply(host([locks[0], lock(2, ['10.0.0.22']), locks[2]]))).filterBridges, []);
  });

  it('leaves out the flows of a port the switch could not open, and writes the others', async () => {
    const locks = [lock(1, ['10.0.0.1']), lock(4, ['10.0.0.4'])];
    // vif4.0 as a system port whose device does not exist: ovs-vswitchd gives it ofport -1
    const ghost: PortSpec = { name: 'vif4.0', kind: 'vif', interfaces: ['vif4.0'], type: '' };
    const want = host([locks[0]], [ghost]);
    // the tables by hand: the ghost port's flows too, as if the switch had opened it
    const r = await ovs.apply(want, { flows: { br0: bridgeFlows(locks, want.bridges[0].ports) }, meters: {} });
    assert.deepEqual(r.filterBridges, ['br0']);
    assert.equal(flowsOf(cookieOf(uuid(4))).length, 0);
    assert.equal(flowsOf(cookieOf(uuid(1))).length, vifFlows(locks[0]).length);
  });

  it('reads nothing when the switch is as it left it, and still repairs a change made behind its back', async () => {
    const want = host([lock(1, ['10.0.0.1'])]);
    await ovs.apply(want);
    assert.equal((await ovs.apply(want)).switchChanges, 0);
    sw.vsctl('set', 'port', 'vif1.0', 'tag=7');
    assert.ok((await ovs.apply(want)).switchChanges > 0);
    assert.equal(sw.vsctl('get', 'port', 'vif1.0', 'tag').trim(), '[]');
    sw.vsctl('del-port', 'br0', 'vif1.0');
    assert.ok((await ovs.apply(want)).switchChanges > 0);
    assert.ok(sw.vsctl('list-ports', 'br0').includes('vif1.0'));
  });

  it('makes bridges fail_mode=secure and VIF ports access ports (or trunks of exactly their VLANs and 0)', async () => {
    const trunk: PortSpec = { ...vifPort(lock(6, [])), trunks: [300, 200] };
    const want = host([lock(5, [])], [trunk]);
    await ovs.apply(want);
    assert.equal(sw.vsctl('get', 'bridge', 'br0', 'fail_mode').trim(), 'secure');
    assert.equal(sw.vsctl('get', 'port', 'vif5.0', 'vlan_mode').trim(), 'access');
    assert.equal(sw.vsctl('get', 'port', 'vif6.0', 'vlan_mode').trim(), 'trunk');
    assert.equal(sw.vsctl('get', 'port', 'vif6.0', 'trunks').trim(), '[0, 200, 300]');
    // the table is an allow-list: its last flow drops, the bridge's own port switches normally
    const base = flowsOf('0x0');
    assert.ok(base.some((l) => /priority=0 actions=drop/.test(l)), base.join('\n'));
    assert.ok(base.some((l) => /priority=1,in_port=LOCAL actions=NORMAL/.test(l)), base.join('\n'));
  });

  it("quarantines a VIF whose flows ovs-ofctl refuses, writes the others, and keeps it there until its flows change", async () => {
    const good = [lock(1, ['10.0.0.1']), lock(3, ['10.0.0.3'])];
    const bad = lock(2, ['10.0.0.2']);
    /** With one line ovs-ofctl refuses among VIF 2's flows (compile() and ovsflows.ts check values, so built by hand here). */
    const damaged = (locks: VifLock[]): [DesiredHost, OvsTables] => {
      const d = host(locks);
      const line = { cookie: cookieOf(bad.vifUuid), priority: 5000, match: 'in_port=vif2.0,ipv6,ipv6_src=fe80::1%eth0', actions: 'NORMAL' };
      return [d, { flows: { br0: [...ovsTables(d).flows.br0, line] }, meters: {} }];
    };
    const first = await ovs.apply(...damaged([good[0], bad, good[1]]));
    assert.deepEqual(first.refused.map((r) => r.port), ['vif2.0']);
    assert.match(first.refused[0].reason, /fe80::1%eth0/);
    const q = flowsOf(cookieOf(uuid(2)));
    assert.equal(q.length, 1, q.join('\n'));
    assert.match(q[0], new RegExp(`priority=${QUARANTINE_PRIORITY},in_port=\\d+ actions=drop`));
    for (const l of good) assert.equal(flowsOf(cookieOf(l.vifUuid)).length, vifFlows(l).length, `${l.port}'s flows are in`);
    // the same refused flows are not sent again; the refusal is still reported
    const again = await ovs.apply(...damaged([good[0], bad, good[1]]));
    assert.deepEqual([again.filterBridges, again.refused.map((r) => r.port)], [[], ['vif2.0']]);
    // a change to another VIF goes in alone, the quarantine stays
    const changed = await ovs.apply(...damaged([lock(1, ['10.0.0.11']), bad, good[1]]));
    assert.deepEqual(changed.refused.map((r) => r.port), ['vif2.0']);
    assert.ok(flowsOf(cookieOf(uuid(1))).some((l) => l.includes('nw_src=10.0.0.11')));
    assert.equal(flowsOf(cookieOf(uuid(2))).length, 1);
    // fixed: its own flows replace the quarantine
    const fixed = await ovs.apply(host([lock(1, ['10.0.0.11']), lock(2, ['10.0.0.2']), good[1]]));
    assert.deepEqual(fixed.refused, []);
    assert.equal(flowsOf(cookieOf(uuid(2))).length, vifFlows(lock(2, ['10.0.0.2'])).length);
  });

  it('quarantines a VIF whose flows the switch itself refuses (a meter it does not have), in an incremental write', async () => {
    const locks = [lock(1, ['10.0.0.1']), lock(2, ['10.0.0.2'])];
    await ovs.apply(host(locks));
    // VIF 2 now points at meter 77, which the desired state never asked the switch for
    const metered = { ...locks[1], meter: 77 };
    const r = await ovs.apply(...byHand([locks[0], metered]));
    assert.deepEqual(r.refused.map((x) => x.port), ['vif2.0']);
    assert.match(r.refused[0].reason, /METER/);
    assert.equal(flowsOf(cookieOf(uuid(2))).length, 1);
    assert.equal(flowsOf(cookieOf(uuid(1))).length, vifFlows(locks[0]).length);
    // the whole table written anew (as after a reconnect) takes the same way out
    ovs.close();
    const whole = await ovs.apply(...byHand([locks[0], metered]));
    assert.deepEqual(whole.refused.map((x) => x.port), ['vif2.0']);
    assert.equal(flowsOf(cookieOf(uuid(2))).length, 1);
    assert.equal(flowsOf(cookieOf(uuid(1))).length, vifFlows(locks[0]).length);
  });
});
