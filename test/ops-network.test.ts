// network.create / destroy / set_default_locking_mode through the XenAPI (reference §2):
// bridge naming and its refusals, MTU defaulting, what keeps a network alive, and the
// default locking mode that attached VIFs pin.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net } from './helpers/net.ts';

let n: Net;
beforeEach(async () => { n = await Net.start(); });
afterEach(async () => { await n.dispose(); });

test('network.create picks the next free xapi<N> bridge and defaults the record', async () => {
  const a = await n.newNetwork('auto-a', { bridge: '' });
  const b = await n.newNetwork('auto-b');
  const ra = await n.network(a), rb = await n.network(b);
  assert.equal(ra.bridge, 'xapi0');
  assert.equal(rb.bridge, 'xapi1');
  assert.equal(ra.default_locking_mode, 'unlocked');
  assert.deepEqual(ra.purpose, []);
  assert.deepEqual(ra.PIFs, []);
  assert.deepEqual(ra.VIFs, []);
  assert.equal(ra.managed, true);
  await n.call('network.destroy', a);
  await n.call('network.destroy', b);
});

test('network.create turns MTU <= 0 into 1500 and keeps any positive MTU', async () => {
  for (const [given, want] of [[0, 1500], [-5, 1500], [9000, 9000], [576, 576]]) {
    const net = await n.newNetwork(`mtu ${given}`, { MTU: given });
    assert.equal((await n.network(net)).MTU, want, `MTU ${given}`);
    await n.call('network.destroy', net);
  }
});

test('an explicit bridge name is kept; a second network cannot take it (BRIDGE_NAME_EXISTS)', async () => {
  const net = await n.newNetwork('storage', { bridge: 'storage0' });
  assert.equal((await n.network(net)).bridge, 'storage0');
  await n.refusedDeep(['BRIDGE_NAME_EXISTS', 'storage0'], 'network.create', { name_label: 'dup', bridge: 'storage0' });
  // exactly 15 characters is allowed
  const long = await n.newNetwork('fifteen', { bridge: 'abcdefghijklmno' });
  assert.equal((await n.network(long)).bridge, 'abcdefghijklmno');
  await n.call('network.destroy', long);
  await n.call('network.destroy', net);
});

test('bridge names with a reserved prefix or longer than 15 characters are INVALID_VALUE', async () => {
  for (const bridge of ['xenbr9', 'xapi77', 'vif1.0', 'tap3.0', 'eth5', 'abcdefghijklmnop']) {
    await n.refused(['INVALID_VALUE', 'bridge', bridge], 'network.create', { name_label: 'bad', bridge });
  }
  // the reserved-prefix rule comes before the existence rule: xenbr0 exists, yet the answer is INVALID_VALUE
  await n.refused(['INVALID_VALUE', 'bridge', 'xenbr0'], 'network.create', { name_label: 'bad', bridge: 'xenbr0' });
});

test('network.destroy refuses a network with PIFs (NETWORK_CONTAINS_PIF [pifs])', async () => {
  const xenbr1 = await n.netRef('xenbr1');
  const eth1 = await n.pifRef('eth1');
  await n.refusedDeep(['NETWORK_CONTAINS_PIF', eth1], 'network.destroy', xenbr1);
});

test('network.destroy refuses attached VIFs (NETWORK_CONTAINS_VIF [vifs]) and deletes detached ones with the network', async () => {
  const net = await n.newNetwork('guests');
  const vm = await n.vm('guest');
  const running = await n.vm('running guest', { running: true });
  const detached = await n.vif(vm, net);
  const attached1 = await n.vif(running, net, { attached: true, device: '0' });
  const attached2 = await n.vif(running, net, { attached: true, device: '1' });
  const before = await n.snapshot();
  const err = await n.fail('network.destroy', net);
  assert.equal(err[0], 'NETWORK_CONTAINS_VIF');
  assert.deepEqual(err.slice(1).sort(), [attached1, attached2].sort(), 'names every attached VIF, not the detached one');
  await n.assertUnchanged(before);
  await n.dropVif(attached1);
  await n.dropVif(attached2);
  await n.call('network.destroy', net);
  assert.deepEqual(await n.fail('network.get_record', net), ['HANDLE_INVALID', 'network', net]);
  assert.deepEqual(await n.fail('VIF.get_record', detached), ['HANDLE_INVALID', 'VIF', detached], 'the detached VIF went with its network');
});

test('network.destroy refuses the host-internal management network (CANNOT_DESTROY_SYSTEM_NETWORK)', async () => {
  const himn = await n.newNetwork('Host internal management network', { other_config: { is_host_internal_management_network: 'true' } });
  await n.refused(['CANNOT_DESTROY_SYSTEM_NETWORK', himn], 'network.destroy', himn);
  await n.call('network.remove_from_other_config', himn, 'is_host_internal_management_network');
  await n.call('network.destroy', himn);
});

test('set_default_locking_mode: refused while a VIF on the network is attached (VIF_IN_USE [network; vif]), free otherwise', async () => {
  const net = await n.newNetwork('locked-down');
  await n.call('network.set_default_locking_mode', net, 'disabled');
  assert.equal((await n.network(net)).default_locking_mode, 'disabled');
  const vm = await n.vm('locking guest', { running: true });
  const vif = await n.vif(vm, net, { attached: true });
  await n.refusedDeep(['VIF_IN_USE', net, vif], 'network.set_default_locking_mode', net, 'unlocked');
  assert.equal((await n.network(net)).default_locking_mode, 'disabled');
  // a detached VIF does not pin the mode
  n.db(vif, { currently_attached: false }); // VIF.unplug belongs to src/ops/vif.ts
  await n.call('network.set_default_locking_mode', net, 'unlocked');
  assert.equal((await n.network(net)).default_locking_mode, 'unlocked');
  await n.dropVif(vif);
  await n.call('network.destroy', net);
});

test('the attached VIF that pins the locking mode may run on any host of the pool (reference quirk 9)', async () => {
  const net = await n.newNetwork('pool-wide pin');
  const vm = await n.vm('elsewhere');
  const vif = await n.vif(vm, net, { attached: true }); // resident nowhere: still pins
  await n.refused(['VIF_IN_USE', net, vif], 'network.set_default_locking_mode', net, 'disabled');
  await n.dropVif(vif);
  await n.call('network.destroy', net);
});
