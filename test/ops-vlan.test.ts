// VLANs through the XenAPI (reference §7): VLAN.create / destroy and
// pool.create_VLAN_from_PIF, the tag range 0..4094, every refusal with its parameters,
// SR-IOV compatibility, and that a refusal changes nothing.
//
// The host starts with eth0 (management, static 10.0.0.11/24), eth1 and eth2 (plugged, no IP).
// Each test starts from a fresh daemon in that state, and must leave it so (asStarted, after each).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net, nic } from './helpers/net.ts';
import { dropHost, dropSriov, dropVlans } from './helpers/fixtures.ts';

let n: Net;
let eth0: string, eth1: string, eth2: string;
beforeEach(async () => {
  n = await Net.start();
  [eth0, eth1, eth2] = [await n.pifRef('eth0'), await n.pifRef('eth1'), await n.pifRef('eth2')];
});
afterEach(async () => {
  try { await asStarted(); } finally { await n.dispose(); }
});

async function vlan(tagged: string, tag: number, name = `vlan ${tag}`): Promise<{ vlan: string; untagged: string; network: string }> {
  const network = await n.newNetwork(name);
  const v = (await n.call('VLAN.create', tagged, tag, network)) as string;
  return { vlan: v, untagged: (await n.rec('VLAN', v)).untagged_PIF as string, network };
}

async function unvlan(v: { vlan: string; network: string }): Promise<void> {
  await n.call('VLAN.destroy', v.vlan);
  await n.call('network.destroy', v.network);
}

test('VLAN.create: a VLAN record and a plugged untagged PIF on the network, sharing the tagged PIF\'s metrics', async () => {
  const v = await vlan(eth1, 10);
  const r = await n.rec('VLAN', v.vlan);
  assert.equal(r.tagged_PIF, eth1);
  assert.equal(r.tag, 10);
  const u = await n.pif(v.untagged);
  const t = await n.pif(eth1);
  assert.equal(u.device, 'eth1', 'a VLAN PIF keeps the tagged PIF\'s device name');
  assert.equal(u.MAC, 'fe:ff:ff:ff:ff:ff');
  assert.equal(u.VLAN, 10);
  assert.equal(u.physical, false);
  assert.equal(u.managed, true);
  assert.equal(u.currently_attached, true, 'VLAN.create plugs the new PIF');
  assert.equal(u.metrics, t.metrics);
  assert.equal(u.MTU, t.MTU);
  assert.equal(u.primary_address_type, t.primary_address_type);
  assert.deepEqual(u.properties, {});
  assert.deepEqual(u.IPv6, ['']);
  assert.equal(u.ip_configuration_mode, 'None');
  assert.equal(u.VLAN_master_of, v.vlan);
  assert.equal(u.host, n.host);
  assert.deepEqual(t.VLAN_slave_of, [v.vlan]);
  assert.deepEqual((await n.network(v.network)).PIFs, [v.untagged]);

  await n.call('PIF.unplug', v.untagged);
  assert.equal((await n.pif(v.untagged)).currently_attached, false);
  await n.call('PIF.plug', v.untagged);
  assert.equal((await n.pif(v.untagged)).currently_attached, true);

  await unvlan(v);
  assert.deepEqual(await n.fail('VLAN.get_record', v.vlan), ['HANDLE_INVALID', 'VLAN', v.vlan]);
  assert.deepEqual(await n.fail('PIF.get_record', v.untagged), ['HANDLE_INVALID', 'PIF', v.untagged]);
  assert.deepEqual((await n.pif(eth1)).VLAN_slave_of, []);
  assert.equal((await n.rec('PIF_metrics', t.metrics as string)).uuid !== undefined, true, 'the tagged PIF keeps its metrics');
});

test('tags 0 and 4094 are accepted; -1 and 4095 are VLAN_TAG_INVALID [tag]', async () => {
  for (const tag of [0, 4094]) {
    const v = await vlan(eth1, tag);
    assert.equal((await n.rec('VLAN', v.vlan)).tag, tag);
    assert.equal((await n.pif(v.untagged)).VLAN, tag);
    await unvlan(v);
  }
  const net = await n.newNetwork('bad tags');
  await n.refusedDeep(['VLAN_TAG_INVALID', '-1'], 'VLAN.create', eth1, -1, net);
  await n.refused(['VLAN_TAG_INVALID', '4095'], 'VLAN.create', eth1, 4095, net);
  await n.refused(['VLAN_TAG_INVALID', '100000'], 'VLAN.create', eth1, 100000, net);
  await n.call('network.destroy', net);
});

test('pool.create_VLAN_from_PIF: tags 0 and 4094 accepted, -1 and 4095 refused; returns the new PIFs', async () => {
  const xenbr1 = (await n.pif(eth1)).network as string;
  for (const tag of [0, 4094]) {
    const net = await n.newNetwork(`pool vlan ${tag}`);
    const pifs = (await n.call('pool.create_VLAN_from_PIF', eth1, net, tag)) as string[];
    assert.equal(pifs.length, 1);
    const u = await n.pif(pifs[0]);
    assert.deepEqual([u.VLAN, u.network, u.device, u.currently_attached], [tag, net, 'eth1', true]);
    await n.call('VLAN.destroy', u.VLAN_master_of);
    await n.call('network.destroy', net);
  }
  const net = await n.newNetwork('pool vlan bad');
  await n.refusedDeep(['VLAN_TAG_INVALID', '-1'], 'pool.create_VLAN_from_PIF', eth1, net, -1);
  await n.refused(['VLAN_TAG_INVALID', '4095'], 'pool.create_VLAN_from_PIF', eth1, net, 4095);
  await n.call('network.destroy', net);
  assert.deepEqual((await n.network(xenbr1)).PIFs, [eth1]);
});

test('VLAN.create refuses an unmanaged network or PIF and a network already connected on the host', async () => {
  const unmanaged = await n.newNetwork('unmanaged', { managed: false });
  await n.refusedDeep(['NETWORK_UNMANAGED', unmanaged], 'VLAN.create', eth1, 10, unmanaged);
  await n.call('network.destroy', unmanaged);
  const xenbr2 = (await n.pif(eth2)).network as string;
  await n.refusedDeep(['NETWORK_ALREADY_CONNECTED', n.host, eth2], 'VLAN.create', eth1, 10, xenbr2);
  const v = await vlan(eth1, 11);
  await n.refused(['NETWORK_ALREADY_CONNECTED', n.host, v.untagged], 'VLAN.create', eth2, 11, v.network);
  await unvlan(v);

  n.nics.push(nic('eth3', '02:00:00:00:01:03'));
  const un = (await n.call('PIF.introduce', n.host, '', 'eth3', false)) as string;
  const net = await n.newNetwork('on unmanaged');
  await n.refused(['PIF_UNMANAGED', un], 'VLAN.create', un, 10, net);
  const unNet = (await n.pif(un)).network;
  await n.call('PIF.forget', un);
  await n.call('network.destroy', unNet);
  await n.call('network.destroy', net);
  n.nics.splice(3);
});

test('VLAN.create refuses a bond slave, a VLAN PIF (no QinQ), a tunnel access PIF, a duplicate tag, a trunked network', async () => {
  const net = await n.newNetwork('target');
  const bnet = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', bnet, [eth1, eth2], '', 'balance-slb', {})) as string;
  await n.refusedDeep(['CANNOT_ADD_VLAN_TO_BOND_SLAVE', eth1], 'VLAN.create', eth1, 10, net);
  // on the bond master it is fine
  const master = (await n.bond(bond)).master as string;
  const onBond = (await n.call('VLAN.create', master, 10, net)) as string;
  const ub = await n.pif((await n.rec('VLAN', onBond)).untagged_PIF as string);
  assert.equal(ub.device, 'bond0');
  await n.call('VLAN.destroy', onBond);
  await n.call('Bond.destroy', bond);
  await n.call('network.destroy', bnet);

  const v = await vlan(eth1, 20);
  await n.refusedDeep(['PIF_IS_VLAN', v.untagged], 'VLAN.create', v.untagged, 21, net);
  await n.refused(['PIF_VLAN_EXISTS', 'eth1'], 'VLAN.create', eth1, 20, net);
  await unvlan(v);

  const sdn = await n.call('SDN_controller.introduce', 'pssl', '', 0);
  const tnet = await n.newNetwork('private');
  const tunnel = (await n.call('tunnel.create', eth0, tnet, 'gre')) as string;
  const access = (await n.rec('tunnel', tunnel)).access_PIF as string;
  await n.refused(['IS_TUNNEL_ACCESS_PIF', access], 'VLAN.create', access, 10, net);
  await n.call('tunnel.destroy', tunnel);
  await n.call('network.destroy', tnet);
  await n.call('SDN_controller.forget', sdn);

  const vm = await n.vm('trunk user');
  const vif = await n.vif(vm, net, { trunks: [10, 20] });
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_WITH_TRUNKS', net], 'VLAN.create', eth1, 10, net);
  await n.call('VIF.destroy', vif);
  await n.call('network.destroy', net);
});

test('VLANs on SR-IOV: on the logical PIF; never mixed with bridge VLANs or other NIC models', async () => {
  const h2 = n.secondHost([nic('eth1', '02:00:00:00:02:01'), nic('eth2', '02:00:00:00:02:02')]);
  const setModel = (pif: string, vendor: string, device: string) => n.db(n.d.db.get(pif)!.rec.metrics as string, { vendor_id: vendor, device_id: device });
  setModel(eth2, '8086', '1515');
  setModel(h2.pifs[1], '8086', '1515');
  setModel(h2.pifs[0], '15b3', '1017');
  const [s1net, s2net, s2bnet] = [await n.newNetwork('sriov h1'), await n.newNetwork('sriov h2'), await n.newNetwork('sriov h2 other nic')];
  const s1 = n.sriov(eth2, s1net);
  const s2 = n.sriov(h2.pifs[1], s2net);
  const s2b = n.sriov(h2.pifs[0], s2bnet);

  // host2 has a VLAN on its SR-IOV NIC in `mixed`: host1's VLAN on the same NIC model joins it
  const vsriov = await n.newNetwork('vlan on sriov');
  await n.call('VLAN.create', s2.logical, 30, vsriov);
  const onH1 = (await n.call('VLAN.create', s1.logical, 30, vsriov)) as string;
  assert.equal((await n.pif((await n.rec('VLAN', onH1)).untagged_PIF as string)).network, vsriov);
  await n.call('VLAN.destroy', onH1);
  // a bridge VLAN cannot join a VLAN-on-SR-IOV network, nor a plain SR-IOV network
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE', vsriov], 'VLAN.create', eth1, 30, vsriov);
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE', s2net], 'VLAN.create', eth1, 31, s2net);

  // another NIC model: refused
  const other = await n.newNetwork('vlan on other sriov');
  await n.call('VLAN.create', s2b.logical, 32, other);
  await n.refusedDeep(['NETWORK_HAS_INCOMPATIBLE_VLAN_ON_SRIOV_PIFS', s1.logical, other], 'VLAN.create', s1.logical, 32, other);

  // an SR-IOV VLAN cannot join a network of bridge VLANs
  const bridged = await n.newNetwork('bridge vlan');
  await n.call('VLAN.create', h2.pifs[0], 33, bridged);
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_VLAN_ON_SRIOV', bridged], 'VLAN.create', s1.logical, 33, bridged);

  n.d.db.transact((tx) => {
    dropVlans(tx);
    for (const s of [s1, s2, s2b]) dropSriov(tx, s);
    dropHost(tx, h2);
  });
  for (const net of [s1net, s2net, s2bnet, vsriov, other, bridged]) await n.call('network.destroy', net);
});

test('VLAN.destroy runs PIF.unplug\'s checks: management, VIFs in use, disallow_unplug, HA, redo log', async () => {
  const v = await vlan(eth1, 40);
  await n.call('PIF.set_disallow_unplug', v.untagged, true);
  await n.refusedDeep(['PIF_DOES_NOT_ALLOW_UNPLUG', v.untagged], 'VLAN.destroy', v.vlan);
  await n.call('PIF.set_disallow_unplug', v.untagged, false);

  const vm = await n.vm('vlan guest', { running: true });
  const vif = await n.vif(vm, v.network, { attached: true });
  await n.refusedDeep(['VIF_IN_USE', v.network, vif], 'VLAN.destroy', v.vlan);
  await n.dropVif(vif);

  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'VLAN.destroy', v.vlan);
  } finally { await n.setHa(false); }
  n.db(n.pool, { redo_log_enabled: true }); // no API in poolnet enables the redo log
  try {
    await n.refused(['REDO_LOG_IS_ENABLED'], 'VLAN.destroy', v.vlan);
  } finally { n.db(n.pool, { redo_log_enabled: false }); }

  // the API never puts the management interface on a VLAN (the seed): a state only the database can hold
  n.db(v.untagged, { management: true });
  await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', v.untagged], 'VLAN.destroy', v.vlan);
  n.db(v.untagged, { management: false });

  // nor can a VLAN PIF be bonded (PIF_VLAN_EXISTS); a database-only state, too
  const bnet = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', bnet, [eth2, (await n.pifRef('eth0'))], '', 'balance-slb', {})) as string;
  n.db(v.untagged, { bond_slave_of: bond });
  await n.refused(['PIF_ALREADY_BONDED', v.untagged], 'VLAN.destroy', v.vlan);
  n.db(v.untagged, { bond_slave_of: 'OpaqueRef:NULL' });
  await n.call('Bond.destroy', bond);
  await n.call('network.destroy', bnet);

  await unvlan(v);
});

test('VLAN.destroy of a VLAN record whose "untagged" PIF is physical is PIF_IS_PHYSICAL []; an orphan record just goes', async () => {
  const bogus = (await n.call('VLAN.pool_introduce', eth1, eth2, 50, {})) as string;
  await n.refusedDeep(['PIF_IS_PHYSICAL'], 'VLAN.destroy', bogus);
  n.d.db.transact((tx) => tx.delete(bogus));

  const v = await vlan(eth1, 51);
  n.d.db.transact((tx) => tx.delete(v.untagged)); // an orphaned VLAN record: the database's doing, never the API's
  await n.call('VLAN.destroy', v.vlan);
  assert.deepEqual(await n.fail('VLAN.get_record', v.vlan), ['HANDLE_INVALID', 'VLAN', v.vlan]);
  await n.call('network.destroy', v.network);
});

test('pool.create_VLAN_from_PIF makes the VLAN on every host\'s PIF of the network, or on none', async () => {
  const h2 = n.secondHost([nic('eth1', '02:00:00:00:02:01')]);
  const xenbr1 = (await n.pif(eth1)).network as string;
  assert.deepEqual(((await n.network(xenbr1)).PIFs as string[]).sort(), [eth1, h2.pifs[0]].sort());
  const net = await n.newNetwork('pool-wide vlan 60');
  const pifs = (await n.call('pool.create_VLAN_from_PIF', eth1, net, 60)) as string[];
  assert.equal(pifs.length, 2);
  const recs = await Promise.all(pifs.map((p) => n.pif(p)));
  assert.deepEqual(recs.map((r) => r.host).sort(), [n.host, h2.host].sort());
  assert.ok(recs.every((r) => r.VLAN === 60 && r.network === net && r.device === 'eth1'));

  // host2's eth1 already carries tag 61: nothing is created anywhere
  const net61a = await n.newNetwork('vlan 61 on host2');
  await n.call('VLAN.create', h2.pifs[0], 61, net61a);
  const net61 = await n.newNetwork('pool-wide vlan 61');
  await n.refusedDeep(['PIF_VLAN_EXISTS', 'eth1'], 'pool.create_VLAN_from_PIF', eth1, net61, 61);
  assert.deepEqual((await n.network(net61)).PIFs, []);

  n.d.db.transact((tx) => {
    dropVlans(tx);
    dropHost(tx, h2);
  });
  for (const x of [net, net61a, net61]) await n.call('network.destroy', x);
});

test('pool.create_VLAN: by device name on every host; a host without that device refuses it for all', async () => {
  const h2 = n.secondHost([nic('eth1', '02:00:00:00:02:01'), nic('eth3', '02:00:00:00:02:03')]);
  // host2's eth1 moved off xenbr1: create_VLAN_from_PIF would skip it, create_VLAN does not
  const other = await n.newNetwork('host2 eth1 alone');
  n.d.db.transact((tx) => tx.update('PIF', h2.pifs[0], { network: other }));
  const net = await n.newNetwork('pool-wide vlan 70');
  const pifs = (await n.call('pool.create_VLAN', 'eth1', net, 70)) as string[];
  const recs = await Promise.all(pifs.map((p) => n.pif(p)));
  assert.deepEqual(recs.map((r) => r.host).sort(), [n.host, h2.host].sort());
  assert.ok(recs.every((r) => r.VLAN === 70 && r.network === net && r.device === 'eth1'));

  // host2 has no eth2: INVALID_VALUE, and this host's eth2 keeps no VLAN either
  const net71 = await n.newNetwork('pool-wide vlan 71');
  await n.refusedDeep(['INVALID_VALUE', 'device', 'eth2'], 'pool.create_VLAN', 'eth2', net71, 71);
  assert.deepEqual((await n.network(net71)).PIFs, []);

  n.d.db.transact((tx) => {
    dropVlans(tx);
    dropHost(tx, h2);
  });
  for (const x of [net, net71, other]) await n.call('network.destroy', x);
});

/** What every test must leave behind it: the host as it started (checked after each test, on its own daemon). */
async function asStarted(): Promise<void> {
  assert.deepEqual(await n.all('VLAN'), {});
  assert.deepEqual(Object.keys(await n.all('PIF')).sort(), [eth0, eth1, eth2].sort());
  assert.equal(await n.mgmt(), eth0);
}
