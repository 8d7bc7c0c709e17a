// network.attach / attach_for_vm / detach_for_vm / pool_introduce through the XenAPI
// (xapi_network.ml): attaching plugs the network's managed PIFs on that host only, attach_for_vm
// does so for each network of the VM's VIFs, and pool_introduce stores the record as given. An
// unmanaged network's bridge is the admin's: attaching it on a host whose switch lacks that bridge
// is BRIDGE_NOT_AVAILABLE [bridge] (xapi's attach_internal), as the host knows its bridges (this
// daemon's own facts) or reported them (a member's host.bridge_facts); not known, nothing is refused.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net, nic } from './helpers/net.ts';
import type { HostFacts } from '../src/db/init.ts';
import { FACTS, call, failure, login, startTestDaemon } from './helpers/daemon.ts';

let n: Net;
beforeEach(async () => { n = await Net.start(); });
afterEach(async () => { await n.dispose(); });

test('network.attach plugs the network\'s unplugged PIF on the host and leaves other hosts alone', async () => {
  const xenbr1 = await n.netRef('xenbr1');
  const eth1 = await n.pifRef('eth1');
  const other = n.secondHost([nic('eth1', '02:00:00:00:09:01')]);
  await n.call('PIF.unplug', eth1);
  n.db(other.pifs[0], { currently_attached: false });
  assert.equal((await n.pif(eth1)).currently_attached, false);
  await n.call('network.attach', xenbr1, n.host);
  assert.equal((await n.pif(eth1)).currently_attached, true);
  assert.equal((await n.pif(other.pifs[0])).currently_attached, false, 'the other host\'s PIF stays down');
  // on an already attached network it is harmless
  await n.call('network.attach', xenbr1, n.host);
  assert.equal((await n.pif(eth1)).currently_attached, true);
});

test('network.attach leaves an unmanaged PIF and an unmanaged network alone; bad references are refused', async () => {
  const xenbr1 = await n.netRef('xenbr1');
  const eth1 = await n.pifRef('eth1');
  await n.call('PIF.unplug', eth1);
  n.db(eth1, { managed: false });
  await n.call('network.attach', xenbr1, n.host);
  assert.equal((await n.pif(eth1)).currently_attached, false);
  n.db(eth1, { managed: true });
  n.db(xenbr1, { managed: false });
  await n.call('network.attach', xenbr1, n.host);
  assert.equal((await n.pif(eth1)).currently_attached, false);
  const err = await n.fail('network.attach', 'OpaqueRef:nope', n.host);
  assert.equal(err[0], 'HANDLE_INVALID');
});

test('network.attach_for_vm plugs the PIFs of every network the VM\'s VIFs use; detach_for_vm changes no record', async () => {
  const xenbr1 = await n.netRef('xenbr1');
  const eth1 = await n.pifRef('eth1');
  const internal = await n.newNetwork('internal');
  await n.call('PIF.unplug', eth1);
  const vm = await n.vm('guest');
  await n.vif(vm, xenbr1, { device: '0' });
  await n.vif(vm, internal, { device: '1' });
  await n.call('network.attach_for_vm', n.host, vm);
  assert.equal((await n.pif(eth1)).currently_attached, true);
  const before = await n.snapshot();
  await n.call('network.detach_for_vm', n.host, vm);
  await n.assertUnchanged(before);
  assert.equal((await n.fail('network.attach_for_vm', n.host, 'OpaqueRef:nope'))[0], 'HANDLE_INVALID');
});

test('network.pool_introduce stores the record as given, purpose and unmanaged included, without bridge checks', async () => {
  const ref = (await n.call('network.pool_introduce', 'from master', 'desc', 9000, { a: 'b' }, 'xapi7', false, ['nbd'])) as string;
  const r = await n.network(ref);
  assert.equal(r.name_label, 'from master');
  assert.equal(r.name_description, 'desc');
  assert.equal(r.MTU, 9000);
  assert.deepEqual(r.other_config, { a: 'b' });
  assert.equal(r.bridge, 'xapi7');
  assert.equal(r.managed, false);
  assert.deepEqual(r.purpose, ['nbd']);
  assert.equal(r.default_locking_mode, 'unlocked');
});

test('network.create_new_blob makes a blob record and names it in the network\'s blobs', async () => {
  const net = await n.newNetwork('with blobs');
  const b = (await n.call('network.create_new_blob', net, 'notes', 'text/plain', true)) as string;
  const r = await n.rec('blob', b);
  assert.equal(r.mime_type, 'text/plain');
  assert.equal(r.public, true);
  assert.equal(r.size, 0);
  assert.deepEqual((await n.network(net)).blobs, { notes: b });
  // public defaults to false; a second name adds to the map
  const c = (await n.call('network.create_new_blob', net, 'more', 'application/octet-stream')) as string;
  assert.equal((await n.rec('blob', c)).public, false);
  assert.deepEqual((await n.network(net)).blobs, { notes: b, more: c });
  assert.equal((await n.fail('network.create_new_blob', 'OpaqueRef:nope', 'x', 'text/plain', false))[0], 'HANDLE_INVALID');
});

test('an unmanaged network whose bridge this host lacks: BRIDGE_NOT_AVAILABLE [bridge] from attach and attach_for_vm; present, attached', async () => {
  // a daemon of its own whose facts name the bridges of its switch (discoverHost's `bridges`)
  const bridges = ['xenbr0', 'xenbr1', 'xenbr2'];
  const facts: HostFacts = { ...FACTS, bridges };
  const d = await startTestDaemon({ facts });
  try {
    const s = await login(d.url);
    const host = ((await call(d.url, 'host.get_all', [s])) as string[])[0];
    const net = (await call(d.url, 'network.pool_introduce', [s, 'admin bridge', '', 1500, {}, 'br-admin', false, []])) as string;
    assert.deepEqual(await failure(call(d.url, 'network.attach', [s, net, host])), ['BRIDGE_NOT_AVAILABLE', 'br-admin']);
    const vm = (await call(d.url, 'VM.create', [s, { name_label: 'g', name_description: '', is_a_template: false, other_config: {}, tags: [] }])) as string;
    await call(d.url, 'VIF.create', [s, { device: '0', network: net, VM: vm, MAC: '02:16:3e:00:00:41', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }]);
    assert.deepEqual(await failure(call(d.url, 'network.attach_for_vm', [s, host, vm])), ['BRIDGE_NOT_AVAILABLE', 'br-admin']);
    // the admin makes the bridge: attaching succeeds
    bridges.push('br-admin');
    await call(d.url, 'network.attach', [s, net, host]);
    await call(d.url, 'network.attach_for_vm', [s, host, vm]);
    // a managed network is poolnet's to make: never refused on that ground
    const managed = (await call(d.url, 'network.create', [s, { name_label: 'internal', name_description: '', MTU: 1500, other_config: {} }])) as string;
    await call(d.url, 'network.attach', [s, managed, host]);
  } finally { await d.dispose(); }
});

test('a member\'s reported bridges decide for it; an unreported or malformed report refuses nothing', async () => {
  const other = n.secondHost([nic('eth1', '02:00:00:00:09:01')]);
  const net = (await n.call('network.pool_introduce', 'admin bridge', '', 1500, {}, 'br-admin', false, [])) as string;
  // not reported (a host that has not said): attached as before
  await n.call('network.attach', net, other.host);
  n.db(other.host, { bridge_facts: JSON.stringify(['xenbr0', 'xenbr1']) });
  await n.refused(['BRIDGE_NOT_AVAILABLE', 'br-admin'], 'network.attach', net, other.host);
  n.db(other.host, { bridge_facts: JSON.stringify(['xenbr0', 'br-admin']) });
  await n.call('network.attach', net, other.host);
  for (const bad of ['{', '"br-admin"', '{"0":"br-admin"}']) {
    n.db(other.host, { bridge_facts: bad });
    await n.call('network.attach', net, other.host);
  }
  // only strings count: a report of [["br-admin"]] names no bridge
  n.db(other.host, { bridge_facts: JSON.stringify([['br-admin']]) });
  await n.refused(['BRIDGE_NOT_AVAILABLE', 'br-admin'], 'network.attach', net, other.host);
});
