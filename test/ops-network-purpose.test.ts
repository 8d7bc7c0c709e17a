// network.add_purpose / remove_purpose through the XenAPI (reference §2.4): the nbd and
// insecure_nbd purposes exclude each other across the pool, unmanaged networks take none,
// and removing is unconditional.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net } from './helpers/net.ts';

let n: Net;
beforeEach(async () => { n = await Net.start(); });
afterEach(async () => { await n.dispose(); });

test('add_purpose adds once; remove_purpose removes and tolerates an absent purpose', async () => {
  const net = await n.newNetwork('backup');
  await n.call('network.add_purpose', net, 'nbd');
  await n.call('network.add_purpose', net, 'nbd');
  assert.deepEqual((await n.network(net)).purpose, ['nbd']);
  await n.call('network.remove_purpose', net, 'nbd');
  assert.deepEqual((await n.network(net)).purpose, []);
  await n.call('network.remove_purpose', net, 'insecure_nbd');
  assert.deepEqual((await n.network(net)).purpose, []);
});

test('nbd and insecure_nbd conflict across networks of the pool (NETWORK_INCOMPATIBLE_PURPOSES)', async () => {
  const a = await n.newNetwork('a'), b = await n.newNetwork('b');
  await n.call('network.add_purpose', a, 'nbd');
  const before = await n.snapshot();
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_PURPOSES', 'insecure_nbd', 'nbd'], 'network.add_purpose', b, 'insecure_nbd');
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_PURPOSES', 'insecure_nbd', 'nbd'], 'network.add_purpose', a, 'insecure_nbd');
  await n.assertUnchanged(before);
  // the same purpose on a second network is fine; once nbd is gone, insecure_nbd is allowed
  await n.call('network.add_purpose', b, 'nbd');
  await n.call('network.remove_purpose', a, 'nbd');
  await n.call('network.remove_purpose', b, 'nbd');
  await n.call('network.add_purpose', b, 'insecure_nbd');
  assert.deepEqual((await n.network(b)).purpose, ['insecure_nbd']);
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_PURPOSES', 'nbd', 'insecure_nbd'], 'network.add_purpose', a, 'nbd');
});

test('an unmanaged network takes no purpose (NETWORK_UNMANAGED)', async () => {
  const net = await n.newNetwork('unmanaged');
  n.db(net, { managed: false });
  await n.refusedDeep(['NETWORK_UNMANAGED', net], 'network.add_purpose', net, 'nbd');
  assert.deepEqual((await n.network(net)).purpose, []);
});

test('an unknown purpose is refused by the enum', async () => {
  const net = await n.newNetwork('x');
  const err = await n.fail('network.add_purpose', net, 'iscsi');
  assert.notEqual(err[0], 'NOT_IMPLEMENTED');
  assert.deepEqual((await n.network(net)).purpose, []);
});
