// compile() re-checks what the database holds: a value the API would refuse today may come from
// the replica or an older database. Each row of the security issue's table that reaches the
// agent is written straight into the database here (past the API's checks), and compile() must
// leave that object (or that value) out, report it, and keep the rest of the host's desired
// state exactly as it was. A locked VIF never ends up passing more than before.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import { newRejectionAlerts, REJECTED_MESSAGE } from '../src/agent/rejections.ts';
import type { DesiredHost, Rejection } from '../src/agent/desired.ts';
import { ovsTables, type OvsTables } from '../src/agent/ovsflows.ts';
import type { Obj } from '../src/db/database.ts';
import { raiseAlert } from '../src/ops/message.ts';
import { Agent } from '../src/agent/agent.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';
import { until } from './helpers/until.ts';

describe('compile with hostile database values', () => {
  let d: TestDaemon;
  let s: string;
  let host: string;
  let base: DesiredHost;
  const refs: Record<string, string> = {};
  before(async () => {
    d = await startTestDaemon();
    s = await login(d.url);
    host = [...d.db.all('host')][0].ref;
    const pif = async (dev: string) => Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, `field "device"="${dev}" and field "VLAN"="-1"`])) as object)[0];
    const [eth0, eth1, eth2] = [await pif('eth0'), await pif('eth1'), await pif('eth2')];
    refs.eth0 = eth0;
    const bnet = await call(d.url, 'network.create', [s, { name_label: 'bond', MTU: 9000, other_config: {} }]) as string;
    refs.bond = await call(d.url, 'Bond.create', [s, bnet, [eth1, eth2], '02:00:00:00:0b:00', 'lacp', { 'lacp-time': 'fast' }]) as string;
    refs.bondMaster = d.db.get(refs.bond)!.rec.master as string;
    refs.vnet = await call(d.url, 'network.create', [s, { name_label: 'vlan 100', MTU: 1500, other_config: {} }]) as string;
    refs.vlan = await call(d.url, 'VLAN.create', [s, eth0, 100, refs.vnet]) as string;
    refs.inet = await call(d.url, 'network.create', [s, { name_label: 'internal', MTU: 1500, other_config: {} }]) as string;
    const xenbr0 = ((await call(d.url, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const vm = await call(d.url, 'VM.create', [s, { name_label: 'vm', other_config: {} }]);
    const vif = (net: unknown, device: string, mac: string) => call(d.url, 'VIF.create', [s, { device, network: net, VM: vm, MAC: mac, MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }]) as Promise<string>;
    refs.locked = await vif(xenbr0, '0', '02:aa:00:00:00:01');
    await call(d.url, 'VIF.set_ipv4_allowed', [s, refs.locked, ['10.0.0.50']]);
    await call(d.url, 'VIF.set_ipv6_allowed', [s, refs.locked, ['2001:db8::50']]);
    await call(d.url, 'VIF.set_locking_mode', [s, refs.locked, 'locked']);
    await call(d.url, 'VIF.set_qos_algorithm_type', [s, refs.locked, 'ratelimit']);
    await call(d.url, 'VIF.add_to_qos_algorithm_params', [s, refs.locked, 'kbps', '100']);
    refs.onVlan = await vif(refs.vnet, '1', '02:aa:00:00:00:02');
    refs.internal = await vif(refs.inet, '2', '02:aa:00:00:00:03');
    await call(d.url, 'VM.start', [s, vm, false, false]);
    base = compile(d.db, host);
    assert.equal(base.rejected, undefined, 'the fixture itself is clean');
  });
  after(async () => { await d?.dispose(); });

  /** Compile with `patch` written into the database past the API (as a replica would), then put it back. */
  function withValue(ref: string, patch: Record<string, unknown>): DesiredHost {
    const o = d.db.get(ref)!;
    const old = Object.fromEntries(Object.keys(patch).map((k) => [k, o.rec[k]]));
    d.db.transact((tx) => tx.update(ref, patch));
    try { return compile(d.db, host); } finally { d.db.transact((tx) => tx.update(ref, old)); }
  }
  const uuid = (ref: string) => (d.db.get(ref) as Obj).rec.uuid as string;
  const oc = (ref: string, extra: Record<string, string>) => ({ other_config: { ...(d.db.get(ref)!.rec.other_config as object), ...extra } });
  function assertRejected(x: DesiredHost, cls: string, ref: string, field: string): Rejection {
    const r = x.rejected?.find((y) => y.cls === cls && y.uuid === uuid(ref) && y.field === field);
    assert.ok(r, `${cls}.${field} reported; got ${JSON.stringify(x.rejected)}`);
    return r;
  }
  /** The desired state without the parts a test expects to differ. */
  const rest = (x: DesiredHost, ...keys: (keyof DesiredHost)[]) => Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'rejected' && !keys.includes(k as keyof DesiredHost)));
  /** No part of the state handed to a backend carries the injected text. */
  const clean = (x: DesiredHost, needle: string) => assert.ok(!JSON.stringify(rest(x)).includes(needle), `"${needle}" reached the desired state`);
  const port = (x: DesiredHost, name: string) => x.bridges.flatMap((b) => b.ports).find((p) => p.name === name);

  it('a newline in a PIF\'s IP (root command execution): its IP configuration left out, its addresses left alone', () => {
    const x = withValue(refs.eth0, { IP: '10.0.0.11\nnetns exec x sh -c id' });
    assertRejected(x, 'PIF', refs.eth0, 'IP');
    clean(x, 'netns exec');
    assert.equal(x.interfaces.find((i) => i.device === 'xenbr0'), undefined);
    assert.deepEqual(x.frozenDevices, ['xenbr0']);
    assert.equal(x.defaultRoute, undefined, 'no route through a configuration that was left out');
    assert.deepEqual(x.bridges, base.bridges);
    assert.deepEqual(ovsTables(x).flows, ovsTables(base).flows);
    assert.deepEqual(x.interfaces, base.interfaces.filter((i) => i.device !== 'xenbr0'));
  });

  it('a newline in a network\'s bridge name (command injection on the Linux bridge stack): the network left out', () => {
    const x = withValue(refs.inet, { bridge: 'xapi9\nlink del eth0' });
    assertRejected(x, 'network', refs.inet, 'bridge');
    clean(x, 'link del');
    const name = d.db.get(refs.inet)!.rec.bridge as string;
    assert.equal(x.bridges.find((b) => b.name === name), undefined);
    assert.deepEqual(x.bridges, base.bridges.filter((b) => b.name !== name));
    // the bridge it had on the switch is held there (found by the network's uuid), not deleted
    assert.deepEqual(x.held, { bridges: [], networks: [uuid(refs.inet)], ports: [] });
    assert.deepEqual(rest(x, 'bridges', 'held'), rest(base, 'bridges'));
  });

  it('host.hostname "-F/etc/shadow": the hostname left as it is', () => {
    const x = withValue(host, { hostname: '-F/etc/shadow' });
    assertRejected(x, 'host', host, 'hostname');
    assert.equal(x.hostname, '');
    assert.deepEqual(rest(x, 'hostname'), rest(base, 'hostname'));
  });

  it('a newline in other_config:domain: resolv.conf left as it is', () => {
    assert.ok(base.dns, 'the management PIF has DNS');
    const x = withValue(refs.eth0, oc(refs.eth0, { domain: 'example.com\nnameserver 6.6.6.6' }));
    assertRejected(x, 'PIF', refs.eth0, 'other_config:domain');
    assert.equal(x.dns, undefined);
    clean(x, '6.6.6.6');
    assert.deepEqual(rest(x, 'dns'), rest(base, 'dns'));
  });

  it('a kbps too large for a meter: no meter, the VIF and its locking intact', () => {
    const x = withValue(refs.locked, { qos_algorithm_params: { kbps: '99999999999999' } });
    assertRejected(x, 'VIF', refs.locked, 'qos_algorithm_params:kbps');
    assert.deepEqual(ovsTables(x).meters, {});
    const p = port(x, 'vif1.0'), b = port(base, 'vif1.0');
    assert.ok(p && b);
    assert.equal(p.rateKbps, undefined);
    assert.deepEqual(p.lock, b.lock);
    const meterless = (f: OvsTables['flows']) => JSON.stringify(f).replace(/meter:\d+,/g, '');
    assert.equal(meterless(ovsTables(x).flows), meterless(ovsTables(base).flows), 'the same locking flows, without the meter');
    assert.deepEqual(rest(x, 'bridges'), rest(base, 'bridges'));
  });

  it('VIF other_config:mtu=1.5: the MTU left at the network\'s, the port kept', () => {
    const x = withValue(refs.locked, oc(refs.locked, { mtu: '1.5' }));
    assertRejected(x, 'VIF', refs.locked, 'other_config:mtu');
    assert.equal(port(x, 'vif1.0')?.mtu, 1500);
    assert.deepEqual(x.bridges, base.bridges);
    assert.deepEqual(rest(x), rest(base));
  });

  it('PIF other_config:bond-updelay=99999999999999999999: the bond keeps its default delay', () => {
    const x = withValue(refs.bondMaster, oc(refs.bondMaster, { 'bond-updelay': '99999999999999999999' }));
    assertRejected(x, 'PIF', refs.bondMaster, 'other_config:bond-updelay');
    const bond = x.bridges.flatMap((b) => b.ports).find((p) => p.kind === 'bond');
    assert.equal(bond?.bond?.updelay, 31000);
    assert.deepEqual(rest(x), rest(base));
  });

  it('a bad bond property (lacp-time with a newline): left out, the bond kept', () => {
    const x = withValue(refs.bond, { properties: { 'lacp-time': 'fast\nx' } });
    assertRejected(x, 'Bond', refs.bond, 'properties:lacp-time');
    const bond = x.bridges.flatMap((b) => b.ports).find((p) => p.kind === 'bond');
    assert.equal(bond?.bond?.otherConfig['lacp-time'], undefined);
    assert.deepEqual(rest(x, 'bridges'), rest(base, 'bridges'));
  });

  it('VLAN tag 5000: the VLAN network and its VIFs left out, nothing else', () => {
    const x = withValue(refs.vlan, { tag: 5000 });
    assertRejected(x, 'VLAN', refs.vlan, 'tag');
    const vlanBridge = d.db.get(refs.vnet)!.rec.bridge as string;
    assert.equal(port(x, vlanBridge), undefined);
    assert.equal(port(x, 'vif1.1'), undefined, 'the VIF on the VLAN network is not on the switch');
    assert.ok(port(x, 'vif1.0') && port(x, 'vif1.2'), 'the other VIFs are');
    const strip = (y: DesiredHost) => y.bridges.map((b) => ({ ...b, ports: b.ports.filter((p) => p.name !== vlanBridge && p.name !== 'vif1.1'), externalIds: undefined }));
    assert.deepEqual(strip(x), strip(base));
  });

  it('a zone index in an allowed IPv6 address: only that entry dropped, the VIF stays locked', () => {
    const x = withValue(refs.locked, { ipv6_allowed: ['fe80::1%eth0', '2001:db8::50'] });
    assertRejected(x, 'VIF', refs.locked, 'ipv6_allowed');
    assert.deepEqual(port(x, 'vif1.0')?.lock, port(base, 'vif1.0')?.lock);
    assert.deepEqual(ovsTables(x).flows, ovsTables(base).flows);
    const y = withValue(refs.locked, { ipv6_allowed: ['fe80::1%eth0'], ipv4_allowed: ['10.0.0.50,10.0.0.0/8'] });
    const lock = port(y, 'vif1.0')?.lock;
    assert.equal(lock?.mode, 'locked', 'never unlocked');
    assert.deepEqual([lock?.ipv4, lock?.ipv6], [[], []], 'nothing but DHCP and ARP probes pass');
  });

  it('a bad trunk, MAC or locking mode: the VIF is left off the switch (it passes nothing)', () => {
    for (const patch of [{ trunks: [5000] }, { MAC: '02:aa:00:00:00:01,actions=NORMAL' }, { locking_mode: 'open' }]) {
      const x = withValue(refs.locked, patch);
      assertRejected(x, 'VIF', refs.locked, Object.keys(patch)[0]);
      assert.equal(port(x, 'vif1.0'), undefined);
      assert.ok(!JSON.stringify(ovsTables(x).flows).includes('in_port=vif1.0,'), 'no flow lets it through');
      assert.ok(port(x, 'vif1.2'));
    }
  });

  it('a rejection becomes one pool message naming the object, raised once (also across restarts)', () => {
    const bad = '-F/etc/shadow';
    d.db.transact((tx) => tx.update(host, { hostname: bad }));
    try {
      const x = compile(d.db, host);
      const raised = new Set<string>();
      const alerts = newRejectionAlerts(d.db, host, x.rejected ?? [], raised);
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].name, REJECTED_MESSAGE);
      assert.equal(alerts[0].obj_uuid, uuid(host));
      assert.match(alerts[0].body, new RegExp(`host ${uuid(host)}: its hostname is "-F/etc/shadow"`));
      assert.deepEqual(newRejectionAlerts(d.db, host, compile(d.db, host).rejected ?? [], raised), [], 'not again on the next pass');
      d.db.transact((tx) => raiseAlert(tx, alerts[0]));
      assert.deepEqual(newRejectionAlerts(d.db, host, compile(d.db, host).rejected ?? [], new Set()), [], 'nor after a restart');
    } finally { d.db.transact((tx) => tx.update(host, { hostname: 'host1' })); }
  });
});

const skip = switchNsSkipReason();

// The medium row "one bad value blocks every switch change on the host": with a VLAN tag 5000, a
// VIF other_config:mtu=1.5 and a bond-updelay of 10^20 in the database, the agent on a real
// Open vSwitch still realises everything else, and later changes, and raises one message each.
describe('the agent with hostile values in the database, on a real switch', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let agent: Agent;
  let s: string;
  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(3, 'hostile');
    s = await login(d.url);
    const pif = async (dev: string) => Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, `field "device"="${dev}" and field "VLAN"="-1"`])) as object)[0];
    const eth1 = await pif('eth1');
    const vnet = await call(d.url, 'network.create', [s, { name_label: 'v5000', MTU: 1500, other_config: {} }]);
    const vlan = await call(d.url, 'VLAN.create', [s, eth1, 42, vnet]) as string;
    const xenbr0 = ((await call(d.url, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const vm = await call(d.url, 'VM.create', [s, { name_label: 'vm', other_config: {} }]);
    const vif = await call(d.url, 'VIF.create', [s, { device: '0', network: xenbr0, VM: vm, MAC: '02:aa:00:00:00:01', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }]) as string;
    await call(d.url, 'VM.start', [s, vm, false, false]);
    // past the API, as a replica or an older database would hold them
    d.db.transact((tx) => {
      tx.update(vlan, { tag: 5000 });
      tx.update(vif, { other_config: { mtu: '1.5' } });
      tx.update(eth1, { other_config: { 'bond-updelay': '99999999999999999999' } });
    });
    const host = [...d.db.all('host')][0].ref;
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    agent = new Agent(d.db, () => host, switchBackend(sw), undefined, log, { intervalMs: 500, debounceMs: 2 });
    agent.start();
  });
  after(async () => { await agent?.stop(); await sw?.dispose(); await d?.dispose(); });

  const rejections = () => [...d.db.all('message')].filter((m) => m.rec.name === REJECTED_MESSAGE).map((m) => m.rec.body as string);

  it('realises the rest of the host, raises one message per bad value, and takes later changes', async () => {
    await until(() => /xenbr0[\s\S]*xenbr1[\s\S]*xenbr2/.test(sw.vsctl('list-br')), 'the bridges');
    await until(() => sw.vsctl('list-ports', 'xenbr0').includes('vif1.0'), 'the VIF port');
    assert.equal(sw.vsctl('get', 'Interface', 'vif1.0', 'mtu_request').trim(), '1500', 'the network\'s MTU instead of 1.5');
    assert.ok(!sw.vsctl('list-br').includes('xapi'), 'no fake bridge for tag 5000');
    await agent.settled();
    await agent.settled();
    const bodies = rejections();
    assert.equal(bodies.length, 2, bodies.join('\n'));
    assert.ok(bodies.some((b) => b.includes('its tag is 5000')) && bodies.some((b) => b.includes('its other_config:mtu is "1.5"')), bodies.join('\n'));
    // eth1 is no bond master: its bond-updelay is not read, so not reported either
    const eth2 = Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, 'field "device"="eth2" and field "VLAN"="-1"'])) as object)[0];
    const net = await call(d.url, 'network.create', [s, { name_label: 'v43', MTU: 1500, other_config: {} }]);
    await call(d.url, 'VLAN.create', [s, eth2, 43, net]);
    await until(() => sw.vsctl('list-br').split('\n').some((b) => b.startsWith('xapi') && sw.vsctl('br-to-vlan', b).trim() === '43'), 'the new VLAN');
    await agent.settled();
    assert.equal(rejections().length, 2, 'raised once, not on every pass');
    assert.equal(agent.lastError, undefined);
  });
});

