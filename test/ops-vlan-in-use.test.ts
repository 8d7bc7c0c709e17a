// VLAN_IN_USE [device, tag] (xapi_vlan.ml: the host's network daemon already has that tag on the
// device, made outside the toolstack). The host reports the tags it carries on each NIC outside
// poolnet with its NICs (NicFacts.vlans; src/agent/discover.ts finds them, test/discover-vlans
// shows that on a real Open vSwitch); VLAN.create, PIF.create_VLAN, pool.create_VLAN and
// pool.create_VLAN_from_PIF refuse such a tag, in xapi's order (after PIF_VLAN_EXISTS), storing
// nothing. A member's report is a value from another host: only well-formed tags count.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net, nic } from './helpers/net.ts';

let n: Net;
let eth1: string, eth2: string;
beforeEach(async () => {
  n = await Net.start();
  [eth1, eth2] = [await n.pifRef('eth1'), await n.pifRef('eth2')];
});
afterEach(async () => { await n.dispose(); });

/** The kernel of this host now has `tags` on `device` outside poolnet (what discoverHost would report). */
function foreign(device: string, tags: number[]): void {
  const i = n.nics.findIndex((x) => x.device === device);
  n.nics[i] = { ...n.nics[i], vlans: tags };
}

test('VLAN.create: a tag the host already carries on the device outside poolnet is VLAN_IN_USE [device, tag], nothing stored', async () => {
  const net = await n.newNetwork('v5');
  foreign('eth1', [5, 7]);
  await n.refusedDeep(['VLAN_IN_USE', 'eth1', '5'], 'VLAN.create', eth1, 5, net);
  await n.refusedDeep(['VLAN_IN_USE', 'eth1', '7'], 'PIF.create_VLAN', 'eth1', net, n.host, 7);
  // another tag on that NIC, and the same tag on another NIC, are free
  const v6 = (await n.call('VLAN.create', eth1, 6, net)) as string;
  assert.equal((await n.rec('VLAN', v6)).tag, 6);
  await n.call('VLAN.destroy', v6);
  const v5 = (await n.call('VLAN.create', eth2, 5, net)) as string;
  assert.equal((await n.rec('VLAN', v5)).tag, 5);
  await n.call('VLAN.destroy', v5);
  // gone from the host: free again
  foreign('eth1', []);
  const again = (await n.call('VLAN.create', eth1, 5, net)) as string;
  assert.equal((await n.rec('VLAN', again)).tag, 5);
  await n.call('VLAN.destroy', again);
});

test('VLAN_IN_USE comes after VLAN_TAG_INVALID and PIF_VLAN_EXISTS, as in xapi_vlan.ml', async () => {
  const a = await n.newNetwork('a');
  const b = await n.newNetwork('b');
  foreign('eth1', [5]);
  await n.refused(['VLAN_TAG_INVALID', '4095'], 'VLAN.create', eth1, 4095, a);
  // a VLAN poolnet made with that tag: the database's own answer first
  foreign('eth1', []);
  const v = (await n.call('VLAN.create', eth1, 5, a)) as string;
  foreign('eth1', [5]);
  await n.refused(['PIF_VLAN_EXISTS', 'eth1'], 'VLAN.create', eth1, 5, b);
  await n.call('VLAN.destroy', v);
});

test('a bond: a tag in use on one of its NICs is VLAN_IN_USE [bond device, tag]', async () => {
  const bnet = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', bnet, [eth1, eth2], '', 'active-backup', {})) as string;
  const master = (await n.bond(bond)).master as string;
  const device = (await n.pif(master)).device as string;
  const net = await n.newNetwork('v9');
  foreign('eth2', [9]);
  await n.refusedDeep(['VLAN_IN_USE', device, '9'], 'VLAN.create', master, 9, net);
  foreign('eth2', []);
  await n.call('Bond.destroy', bond);
});

test('pool.create_VLAN and pool.create_VLAN_from_PIF: a member\'s reported tag refuses the whole call; hostile reports count for nothing', async () => {
  const { host, pifs } = n.secondHost([nic('eth1', '02:00:00:00:02:01')]);
  const net = await n.newNetwork('v12');
  // what the member reported with its NICs (host.nic_facts, written through pool.replica_write)
  const report = (vlans: unknown) => n.db(host, { nic_facts: JSON.stringify([{ ...nic('eth1', '02:00:00:00:02:01'), vlans }]) });
  report([12]);
  await n.refusedDeep(['VLAN_IN_USE', 'eth1', '12'], 'pool.create_VLAN', 'eth1', net, 12);
  await n.refusedDeep(['VLAN_IN_USE', 'eth1', '12'], 'pool.create_VLAN_from_PIF', eth1, net, 12);
  await n.refusedDeep(['VLAN_IN_USE', 'eth1', '12'], 'VLAN.create', pifs[0], 12, net);
  for (const bad of ['12', [['12']], { 12: true }, null, ['12']]) {
    report(bad);
    const made = (await n.call('pool.create_VLAN', 'eth1', net, 12)) as string[];
    assert.equal(made.length, 2, `a report of ${JSON.stringify(bad)} is no tag`);
    for (const p of made) await n.call('PIF.destroy', p);
  }
});
