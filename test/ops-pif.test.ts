// PIF operations through the XenAPI (reference §3, the seed's "changing DNS / IP" and
// "adding a new physical NIC" procedures, and its rule on secondary interfaces sharing a
// subnet): every refusal with its parameters, and that a refusal changes nothing.
//
// The host starts with eth0 (management, static 10.0.0.11/24), eth1 and eth2 (plugged, no IP).
// Each test starts from a fresh daemon in that state, and must leave it so (asStarted, after each).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { NULL, Net, nic, type R } from './helpers/net.ts';
import { dropSriov } from './helpers/fixtures.ts';

let n: Net;
let eth0: string, eth1: string, eth2: string;
beforeEach(async () => {
  n = await Net.start();
  [eth0, eth1, eth2] = [await n.pifRef('eth0'), await n.pifRef('eth1'), await n.pifRef('eth2')];
});
afterEach(async () => {
  try { await asStarted(); } finally { await n.dispose(); }
});

/** A bond of eth1 and eth2 on a fresh network; returns the bond and its master. */
async function bond12(): Promise<{ bond: string; master: string; network: string }> {
  const network = await n.newNetwork('bond net');
  const bond = (await n.call('Bond.create', network, [eth1, eth2], '', 'balance-slb', {})) as string;
  return { bond, master: (await n.bond(bond)).master as string, network };
}

async function unbond(b: { bond: string; network: string }): Promise<void> {
  await n.call('Bond.destroy', b.bond);
  await n.call('network.destroy', b.network);
}

// ---- scan / introduce / forget ----

test('PIF.scan picks up a new NIC: a PIF on a new pool-wide network xenbr3', async () => {
  const before = await n.all('PIF');
  n.nics.push(nic('eth3', '02:00:00:00:01:03'));
  await n.call('PIF.scan', n.host);
  const eth3 = await n.pifRef('eth3');
  assert.equal(Object.keys(await n.all('PIF')).length, Object.keys(before).length + 1);
  const p = await n.pif(eth3);
  assert.equal(p.MAC, '02:00:00:00:01:03');
  assert.equal(p.physical, true);
  assert.equal(p.currently_attached, false, 'a new PIF is not plugged');
  assert.equal(p.ip_configuration_mode, 'None');
  assert.equal(p.management, false);
  assert.equal(p.VLAN, -1);
  assert.equal(p.managed, true);
  assert.deepEqual(p.properties, { gro: 'on' });
  assert.equal(p.host, n.host);
  const net = await n.network(p.network as string);
  assert.equal(net.bridge, 'xenbr3');
  assert.equal(net.name_label, 'Pool-wide network associated with eth3');
  assert.deepEqual(net.PIFs, [eth3]);
  const metrics = await n.rec('PIF_metrics', p.metrics as string);
  assert.equal(typeof metrics.carrier, 'boolean');

  // a second scan adds nothing; a NIC whose MAC changed is refreshed, not duplicated
  await n.call('PIF.scan', n.host);
  assert.equal(Object.keys(await n.all('PIF')).length, Object.keys(before).length + 1);
  n.nics[n.nics.length - 1] = nic('eth3', '02:00:00:00:01:33');
  await n.call('PIF.scan', n.host);
  assert.equal((await n.pif(eth3)).MAC, '02:00:00:00:01:33');
  assert.equal(await n.pifRef('eth3'), eth3);

  // a NIC without an eth<position> name gets a br<device> bridge
  n.nics.push(nic('ens5', '02:00:00:00:01:05'));
  await n.call('PIF.scan', n.host);
  const ens5 = await n.pif(await n.pifRef('ens5'));
  assert.equal((await n.network(ens5.network as string)).bridge, 'brens5');

  // the pre-existing PIFs are untouched
  const now = await n.all('PIF');
  for (const ref of [eth0, eth1, eth2]) assert.deepEqual(now[ref], before[ref]);
  assert.equal((await n.pif(eth0)).management, true);

  for (const ref of [eth3, await n.pifRef('ens5')]) {
    const network = (await n.pif(ref)).network;
    await n.call('PIF.forget', ref);
    await n.call('network.destroy', network);
  }
  n.nics.splice(3);
});

test('PIF.introduce refuses a malformed MAC (MAC_INVALID), a known device (DUPLICATE_PIF_DEVICE_NAME), an unknown NIC', async () => {
  n.nics.push(nic('eth4', '02:00:00:00:0a:04'));
  await n.refused(['MAC_INVALID', '02:00:00:00:01'], 'PIF.introduce', n.host, '02:00:00:00:01', 'eth4', true);
  await n.refused(['MAC_INVALID', 'zz:00:00:00:01:04'], 'PIF.introduce', n.host, 'ZZ:00:00:00:01:04', 'eth4', true);
  await n.refused(['DUPLICATE_PIF_DEVICE_NAME', 'eth1'], 'PIF.introduce', n.host, '02:00:00:00:01:01', 'eth1', true);
  await n.refused(['COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS', 'eth9', '02:00:00:00:01:09'],
    'PIF.introduce', n.host, '02:00:00:00:01:09', 'eth9', true);
  // the device exists, the MAC is not its own
  await n.refused(['COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS', 'eth4', '02:00:00:00:01:99'],
    'PIF.introduce', n.host, '02:00:00:00:01:99', 'eth4', true);
  await n.refusedDeep(['DUPLICATE_PIF_DEVICE_NAME', 'eth0'], 'PIF.introduce', n.host, '02:00:00:00:01:00', 'eth0', true);
});

test('PIF.introduce: the MAC is lower-cased, "" takes the NIC\'s; managed=false gives an unmanaged PIF that plug/unplug/reconfigure refuse', async () => {
  n.nics.push(nic('eth4', '02:00:00:00:0a:04'));
  const pif = (await n.call('PIF.introduce', n.host, '02:00:00:00:0A:04', 'eth4', true)) as string;
  const p = await n.pif(pif);
  assert.equal(p.MAC, '02:00:00:00:0a:04');
  assert.equal(p.device, 'eth4');
  assert.equal((await n.network(p.network as string)).bridge, 'xenbr4');
  await n.call('PIF.forget', pif);

  n.nics.push(nic('eth5', '02:00:00:00:01:15'));
  const un = (await n.call('PIF.introduce', n.host, '', 'eth5', false)) as string;
  const u = await n.pif(un);
  assert.equal(u.MAC, '02:00:00:00:01:15', 'MAC "" means the NIC\'s own');
  assert.equal(u.managed, false);
  const unet = await n.network(u.network as string);
  assert.equal(unet.managed, false);
  assert.equal(unet.bridge, '', 'an unmanaged NIC gets no xapi bridge');
  await n.refused(['PIF_UNMANAGED', un], 'PIF.plug', un);
  await n.refused(['PIF_UNMANAGED', un], 'PIF.unplug', un);
  await n.refused(['PIF_UNMANAGED', un], 'PIF.reconfigure_ip', un, 'DHCP', '', '', '', '');
  await n.refused(['PIF_UNMANAGED', un], 'PIF.reconfigure_ipv6', un, 'Autoconf', '', '', '');
  await n.call('PIF.forget', un);
  await n.call('network.destroy', u.network);
  await n.call('network.destroy', p.network);
  n.nics.splice(3);
});

test('PIF.forget refuses the management interface (PIF_IS_MANAGEMENT_INTERFACE), also ahead of HA', async () => {
  await n.refusedDeep(['PIF_IS_MANAGEMENT_INTERFACE', eth0], 'PIF.forget', eth0);
  await n.setHa(true);
  try {
    await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth0], 'PIF.forget', eth0);
  } finally { await n.setHa(false); }
});

test('PIF.forget refuses bond slaves and bond masters (PIF_ALREADY_BONDED [pif])', async () => {
  const b = await bond12();
  await n.refusedDeep(['PIF_ALREADY_BONDED', eth1], 'PIF.forget', eth1);
  await n.refused(['PIF_ALREADY_BONDED', b.master], 'PIF.forget', b.master);
  await unbond(b);
});

test('PIF.forget refuses a VLAN\'s tagged PIF and a VLAN PIF (PIF_VLAN_STILL_EXISTS [pif])', async () => {
  const vnet = await n.newNetwork('vlan 10');
  const vlan = (await n.call('VLAN.create', eth1, 10, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  await n.refusedDeep(['PIF_VLAN_STILL_EXISTS', eth1], 'PIF.forget', eth1);
  await n.refused(['PIF_VLAN_STILL_EXISTS', untagged], 'PIF.forget', untagged);
  await n.call('VLAN.destroy', vlan);
  await n.call('network.destroy', vnet);
});

test('PIF.forget refuses a tunnel\'s transport and access PIFs (PIF_TUNNEL_STILL_EXISTS [pif])', async () => {
  const sdn = await n.call('SDN_controller.introduce', 'pssl', '', 0);
  await n.reconfigureIp(eth1, 'Static', '192.168.50.1', '255.255.255.0');
  const tnet = await n.newNetwork('private');
  const tunnel = (await n.call('tunnel.create', eth1, tnet, 'gre')) as string;
  const access = (await n.rec('tunnel', tunnel)).access_PIF as string;
  await n.refused(['PIF_TUNNEL_STILL_EXISTS', eth1], 'PIF.forget', eth1);
  await n.refused(['PIF_TUNNEL_STILL_EXISTS', access], 'PIF.forget', access);
  await n.call('tunnel.destroy', tunnel);
  await n.call('network.destroy', tnet);
  await n.call('SDN_controller.forget', sdn);
  await n.reconfigureIp(eth1, 'None');
});

test('PIF.forget refuses SR-IOV PIFs (CANNOT_FORGET_SRIOV_LOGICAL / PIF_SRIOV_STILL_EXISTS [pif])', async () => {
  const snet = await n.newNetwork('sriov');
  const { sriov, logical } = n.sriov(eth2, snet);
  await n.refused(['CANNOT_FORGET_SRIOV_LOGICAL', logical], 'PIF.forget', logical);
  await n.refused(['PIF_SRIOV_STILL_EXISTS', eth2], 'PIF.forget', eth2);
  n.d.db.transact((tx) => dropSriov(tx, { sriov, logical }));
  await n.call('network.destroy', snet);
});

test('PIF.forget of an attached PIF is refused while HA (HA_IS_ENABLED) or the redo log (REDO_LOG_IS_ENABLED) is on', async () => {
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'PIF.forget', eth2);
  } finally { await n.setHa(false); }
  n.db(n.pool, { redo_log_enabled: true }); // no API in poolnet enables the redo log
  try {
    await n.refused(['REDO_LOG_IS_ENABLED'], 'PIF.forget', eth2);
  } finally { n.db(n.pool, { redo_log_enabled: false }); }
});

test('PIF.forget of an unplugged PIF works under HA; the PIF and its metrics go, the network stays, scan brings it back', async () => {
  await n.call('PIF.unplug', eth2);
  const p = await n.pif(eth2);
  await n.setHa(true);
  try {
    await n.call('PIF.forget', eth2);
  } finally { await n.setHa(false); }
  assert.deepEqual(await n.fail('PIF.get_record', eth2), ['HANDLE_INVALID', 'PIF', eth2]);
  assert.deepEqual(await n.fail('PIF_metrics.get_record', p.metrics), ['HANDLE_INVALID', 'PIF_metrics', p.metrics]);
  assert.deepEqual((await n.network(p.network as string)).PIFs, []);
  await n.call('PIF.scan', n.host);
  eth2 = await n.pifRef('eth2');
  const back = await n.pif(eth2);
  assert.equal(back.network, p.network, 'back on its pool-wide network xenbr2');
  assert.equal(back.MAC, p.MAC);
  assert.equal(back.currently_attached, false);
  await n.call('PIF.plug', eth2);
  assert.equal((await n.pif(eth2)).currently_attached, true);
});

// ---- plug / unplug ----

test('PIF.plug / unplug: attached state, idempotent plug, bond slaves cannot be plugged (CANNOT_PLUG_BOND_SLAVE)', async () => {
  await n.call('PIF.unplug', eth1);
  assert.equal((await n.pif(eth1)).currently_attached, false);
  await n.call('PIF.plug', eth1);
  assert.equal((await n.pif(eth1)).currently_attached, true);
  await n.call('PIF.plug', eth1); // plugging an attached PIF re-pushes its configuration
  assert.equal((await n.pif(eth1)).currently_attached, true);

  const b = await bond12();
  assert.equal((await n.pif(eth1)).currently_attached, false, 'bond slaves are not attached themselves');
  assert.equal((await n.pif(b.master)).currently_attached, true);
  await n.refusedDeep(['CANNOT_PLUG_BOND_SLAVE', eth1], 'PIF.plug', eth1);
  await n.refused(['CANNOT_PLUG_BOND_SLAVE', eth2], 'PIF.plug', eth2);
  await unbond(b);
  assert.equal((await n.pif(eth1)).currently_attached, true);
});

test('PIF.unplug refuses the management interface (PIF_IS_MANAGEMENT_INTERFACE)', async () => {
  await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth0], 'PIF.unplug', eth0);
});

test('PIF.unplug of an attached PIF is refused under HA / redo log; of a detached one it is not', async () => {
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'PIF.unplug', eth1);
  } finally { await n.setHa(false); }
  n.db(n.pool, { redo_log_enabled: true }); // no API in poolnet enables the redo log
  try {
    await n.refused(['REDO_LOG_IS_ENABLED'], 'PIF.unplug', eth1);
  } finally { n.db(n.pool, { redo_log_enabled: false }); }
  await n.call('PIF.unplug', eth1);
  await n.setHa(true);
  try {
    await n.call('PIF.unplug', eth1);
    assert.equal((await n.pif(eth1)).currently_attached, false);
  } finally { await n.setHa(false); }
  await n.call('PIF.plug', eth1);
});

test('PIF.unplug refuses while a running VM here uses the network (VIF_IN_USE [network; vif])', async () => {
  const xenbr1 = (await n.pif(eth1)).network as string;
  const halted = await n.vm('halted');
  await n.vif(halted, xenbr1);
  const running = await n.vm('running', { running: true });
  const vif = await n.vif(running, xenbr1, { attached: true });
  await n.refusedDeep(['VIF_IN_USE', xenbr1, vif], 'PIF.unplug', eth1);
  // once the VIF is unplugged, the PIF may go
  n.db(vif, { currently_attached: false }); // VIF.unplug belongs to src/ops/vif.ts
  await n.call('PIF.unplug', eth1);
  await n.call('PIF.plug', eth1);
  await n.call('VIF.destroy', vif);
});

test('PIF.set_disallow_unplug: true makes unplug fail (PIF_DOES_NOT_ALLOW_UNPLUG), false allows it again', async () => {
  await n.call('PIF.set_disallow_unplug', eth1, true);
  assert.equal((await n.pif(eth1)).disallow_unplug, true);
  await n.refused(['PIF_DOES_NOT_ALLOW_UNPLUG', eth1], 'PIF.unplug', eth1);
  await n.call('PIF.set_disallow_unplug', eth1, true); // unchanged: a no-op
  await n.call('PIF.set_disallow_unplug', eth1, false);
  assert.equal((await n.pif(eth1)).disallow_unplug, false);
  await n.call('PIF.unplug', eth1);
  await n.call('PIF.plug', eth1);
});

// ---- IPv4 configuration ----

test('reconfigure_ip validates addresses (INVALID_IP_ADDRESS_SPECIFIED [field])', async () => {
  const cases: [string, string, string, string, string][] = [
    ['IP', 'Static', '', '255.255.255.0', ''],
    ['IP', 'Static', '300.1.1.1', '255.255.255.0', ''],
    ['netmask', 'Static', '192.168.7.1', '', ''],
    ['netmask', 'Static', '192.168.7.1', 'ffff:ff00::', ''],
    ['gateway', 'Static', '192.168.7.1', '255.255.255.0', 'router'],
    ['IP', 'DHCP', 'bogus', '', ''],
    ['netmask', 'None', '', 'x', ''],
    ['gateway', 'DHCP', '', '', '2001:db8::1'],
  ];
  for (const [field, mode, ip, mask, gw] of cases) {
    await n.refused(['INVALID_IP_ADDRESS_SPECIFIED', field], 'PIF.reconfigure_ip', eth1, mode, ip, mask, gw, '');
  }
});

test('reconfigure_ip to None on the management interface is refused (PIF_IS_MANAGEMENT_INTERFACE)', async () => {
  await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth0], 'PIF.reconfigure_ip', eth0, 'None', '', '', '', '');
});

test('seed: change the DNS servers of a static PIF (only DNS differs) — allowed even under HA', async () => {
  const before = await n.pif(eth0);
  await n.setHa(true);
  try {
    await n.reconfigureIp(eth0, 'Static', '10.0.0.11', '255.255.255.0', '10.0.0.1', '10.0.0.53,10.0.0.54');
    // anything beyond DNS is a change HA forbids on an attached PIF
    await n.refusedDeep(['HA_IS_ENABLED'], 'PIF.reconfigure_ip', eth0, 'Static', '10.0.0.12', '255.255.255.0', '10.0.0.1', '10.0.0.53');
    await n.refused(['HA_IS_ENABLED'], 'PIF.reconfigure_ip', eth0, 'DHCP', '', '', '', '');
    await n.refused(['HA_IS_ENABLED'], 'PIF.reconfigure_ip', eth1, 'Static', '192.168.9.1', '255.255.255.0', '', '');
  } finally { await n.setHa(false); }
  const p = await n.pif(eth0);
  assert.equal(p.DNS, '10.0.0.53,10.0.0.54');
  for (const f of ['ip_configuration_mode', 'IP', 'netmask', 'gateway', 'management', 'currently_attached']) assert.deepEqual(p[f], before[f], f);
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.11');
  n.db(n.pool, { redo_log_enabled: true }); // no API in poolnet enables the redo log
  try {
    await n.refused(['REDO_LOG_IS_ENABLED'], 'PIF.reconfigure_ip', eth0, 'DHCP', '', '', '', '');
    await n.reconfigureIp(eth0, 'Static', '10.0.0.11', '255.255.255.0', '10.0.0.1', '10.0.0.1');
  } finally { n.db(n.pool, { redo_log_enabled: false }); }
  assert.equal((await n.pif(eth0)).DNS, '10.0.0.1');
});

test('seed: change the IP address of the management PIF; host.address follows', async () => {
  await n.reconfigureIp(eth0, 'Static', '10.0.0.21', '255.255.255.0', '10.0.0.1', '10.0.0.1');
  let p = await n.pif(eth0);
  assert.deepEqual([p.ip_configuration_mode, p.IP, p.netmask, p.gateway, p.DNS], ['Static', '10.0.0.21', '255.255.255.0', '10.0.0.1', '10.0.0.1']);
  assert.equal(p.management, true);
  assert.equal(p.currently_attached, true);
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.21');
  await n.reconfigureIp(eth0, 'Static', '10.0.0.11', '255.255.255.0', '10.0.0.1', '10.0.0.1');
  p = await n.pif(eth0);
  assert.equal(p.IP, '10.0.0.11');
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.11');
});

test('a secondary interface: static on its own subnet, DHCP, back to None; the management address stays', async () => {
  const alerts = (await n.messages('PIF_SUBNET_SHARED')).length;
  await n.reconfigureIp(eth1, 'Static', '192.168.1.5', '255.255.255.0', '192.168.1.1', '192.168.1.53');
  let p = await n.pif(eth1);
  assert.deepEqual([p.ip_configuration_mode, p.IP, p.netmask, p.gateway, p.DNS, p.management], ['Static', '192.168.1.5', '255.255.255.0', '192.168.1.1', '192.168.1.53', false]);
  assert.equal(p.currently_attached, true);
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.11');
  assert.equal(await n.mgmt(), eth0);
  assert.equal((await n.messages('PIF_SUBNET_SHARED')).length, alerts, 'a subnet of its own raises no alert');
  await n.reconfigureIp(eth1, 'DHCP');
  assert.equal((await n.pif(eth1)).ip_configuration_mode, 'DHCP');
  await n.reconfigureIp(eth1, 'None');
  p = await n.pif(eth1);
  assert.deepEqual([p.ip_configuration_mode, p.IP, p.netmask, p.gateway], ['None', '', '', '']);
  // mode None stores the values given, as xapi does (the agent uses none of them)
  await n.reconfigureIp(eth1, 'None', '192.168.1.6', '255.255.255.0', '192.168.1.1');
  p = await n.pif(eth1);
  assert.deepEqual([p.ip_configuration_mode, p.IP, p.netmask, p.gateway], ['None', '192.168.1.6', '255.255.255.0', '192.168.1.1']);
  await n.reconfigureIp(eth1, 'None');
  // a detached PIF only stores its configuration
  await n.call('PIF.unplug', eth2);
  await n.reconfigureIp(eth2, 'Static', '192.168.2.5', '255.255.255.0');
  p = await n.pif(eth2);
  assert.equal(p.currently_attached, false);
  assert.equal(p.IP, '192.168.2.5');
  await n.reconfigureIp(eth2, 'None');
  await n.call('PIF.plug', eth2);
});

test('seed: a secondary interface on the management subnet is accepted, with an alert naming both interfaces and the subnet', async () => {
  const before = new Set((await n.messages('PIF_SUBNET_SHARED')).map((m) => m.uuid));
  const host = await n.rec('host', n.host);
  await n.reconfigureIp(eth1, 'Static', '10.0.0.50', '255.255.255.0', '', '');
  assert.equal((await n.pif(eth1)).IP, '10.0.0.50', 'accepted');
  const fresh = (await n.messages('PIF_SUBNET_SHARED')).filter((m) => !before.has(m.uuid));
  assert.equal(fresh.length, 1);
  const m = fresh[0];
  const [p0, p1] = [await n.pif(eth0), await n.pif(eth1)];
  assert.equal(m.cls, 'Host');
  assert.equal(m.obj_uuid, host.uuid);
  const body = m.body as string;
  for (const part of ['10.0.0.0/24', p0.uuid as string, p1.uuid as string, 'eth0', 'eth1', 'management interface', 'secondary interface']) {
    assert.ok(body.includes(part), `the alert names ${part}: ${body}`);
  }

  // two secondary interfaces on one subnet: eth2 joins, alerts name eth2 with each of the others
  const before2 = new Set((await n.messages('PIF_SUBNET_SHARED')).map((x) => x.uuid));
  await n.reconfigureIp(eth2, 'Static', '10.0.0.60', '255.255.255.0', '', '');
  const fresh2 = (await n.messages('PIF_SUBNET_SHARED')).filter((x) => !before2.has(x.uuid));
  const p2 = await n.pif(eth2);
  assert.equal(fresh2.length, 2);
  assert.ok(fresh2.every((x) => (x.body as string).includes(p2.uuid as string)));
  assert.ok(fresh2.some((x) => (x.body as string).includes(p1.uuid as string) && (x.body as string).includes('secondary interface eth1')));

  await n.reconfigureIp(eth1, 'None');
  await n.reconfigureIp(eth2, 'None');
  // a subnet of its own again: no new alert
  const before3 = (await n.messages('PIF_SUBNET_SHARED')).length;
  await n.reconfigureIp(eth1, 'Static', '10.0.1.50', '255.255.255.0', '', '');
  assert.equal((await n.messages('PIF_SUBNET_SHARED')).length, before3);
  await n.reconfigureIp(eth1, 'None');
});

// ---- IPv6 configuration, DNS families ----

test('reconfigure_ipv6 validates (INVALID_IP_ADDRESS_SPECIFIED [gateway], INVALID_CIDR_ADDRESS_SPECIFIED [IPv6]) and stores a one-element list', async () => {
  await n.refused(['INVALID_IP_ADDRESS_SPECIFIED', 'gateway'], 'PIF.reconfigure_ipv6', eth1, 'Static', 'fd00::5/64', '10.0.0.1', '');
  for (const bad of ['fd00::5', 'fd00::5/129', 'zz::1/64', '10.0.0.5/24']) {
    await n.refused(['INVALID_CIDR_ADDRESS_SPECIFIED', 'IPv6'], 'PIF.reconfigure_ipv6', eth1, 'Static', bad, '', '');
  }
  await n.call('PIF.reconfigure_ipv6', eth1, 'Static', 'fd00::5/64', 'fd00::1', '');
  let p = await n.pif(eth1);
  assert.deepEqual([p.ipv6_configuration_mode, p.IPv6, p.ipv6_gateway], ['Static', ['fd00::5/64'], 'fd00::1']);
  assert.equal(p.ip_configuration_mode, 'None', 'IPv4 untouched');
  await n.call('PIF.reconfigure_ipv6', eth1, 'Autoconf', '', '', '');
  p = await n.pif(eth1);
  assert.deepEqual([p.ipv6_configuration_mode, p.IPv6], ['Autoconf', ['']]);
  // only a non-empty address is checked: Static without one is stored as given (xapi)
  await n.call('PIF.reconfigure_ipv6', eth1, 'Static', '', '', '');
  p = await n.pif(eth1);
  assert.deepEqual([p.ipv6_configuration_mode, p.IPv6], ['Static', ['']]);
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'PIF.reconfigure_ipv6', eth1, 'None', '', '', '');
  } finally { await n.setHa(false); }
  await n.call('PIF.reconfigure_ipv6', eth1, 'None', '', '', '');
  assert.deepEqual((await n.pif(eth1)).IPv6, ['']);
});

test('each reconfigure call replaces only its own family in PIF.DNS (quirk 3)', async () => {
  await n.reconfigureIp(eth1, 'Static', '192.168.3.5', '255.255.255.0', '', '8.8.8.8,2001:db8::9, 1.1.1.1');
  assert.equal((await n.pif(eth1)).DNS, '8.8.8.8,1.1.1.1', 'IPv6 entries are dropped by reconfigure_ip');
  await n.call('PIF.reconfigure_ipv6', eth1, 'Static', 'fd00::7/64', '', '2001:db8::53,9.9.9.9');
  assert.equal((await n.pif(eth1)).DNS, '2001:db8::53,8.8.8.8,1.1.1.1');
  await n.reconfigureIp(eth1, 'Static', '192.168.3.5', '255.255.255.0', '', '9.9.9.9');
  assert.equal((await n.pif(eth1)).DNS, '9.9.9.9,2001:db8::53');
  await n.call('PIF.reconfigure_ipv6', eth1, 'None', '', '', '');
  await n.reconfigureIp(eth1, 'None');
  assert.equal((await n.pif(eth1)).DNS, '');
});

test('an IPv6 management interface cannot lose its IPv6 configuration; IPv4 None is then allowed', async () => {
  await n.call('PIF.set_primary_address_type', eth1, 'IPv6');
  await n.call('PIF.reconfigure_ipv6', eth1, 'Static', 'fd00::11/64', 'fd00::1', '');
  await n.call('host.management_reconfigure', eth1);
  try {
    assert.equal(await n.mgmt(), eth1);
    await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth1], 'PIF.reconfigure_ipv6', eth1, 'None', '', '', '');
    await n.reconfigureIp(eth1, 'None'); // its primary family is IPv6
    assert.equal((await n.pif(eth1)).ip_configuration_mode, 'None');
    await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth1], 'PIF.set_primary_address_type', eth1, 'IPv4');
  } finally {
    await n.call('host.management_reconfigure', eth0);
  }
  await n.call('PIF.set_primary_address_type', eth1, 'IPv4');
  await n.call('PIF.reconfigure_ipv6', eth1, 'None', '', '', '');
  assert.equal(await n.mgmt(), eth0);
});

test('set_primary_address_type: refused on the management PIF and, when attached, under HA (HA first)', async () => {
  await n.refused(['PIF_IS_MANAGEMENT_INTERFACE', eth0], 'PIF.set_primary_address_type', eth0, 'IPv6');
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'PIF.set_primary_address_type', eth0, 'IPv6');
    await n.refused(['HA_IS_ENABLED'], 'PIF.set_primary_address_type', eth2, 'IPv6');
  } finally { await n.setHa(false); }
  await n.call('PIF.set_primary_address_type', eth2, 'IPv6');
  assert.equal((await n.pif(eth2)).primary_address_type, 'IPv6');
  await n.call('PIF.set_primary_address_type', eth2, 'IPv4');
  assert.equal((await n.pif(eth2)).primary_address_type, 'IPv4');
});

// ---- properties ----

test('set_property: only gro=on|off (INVALID_VALUE [properties; "k = v"]), only physical unbonded PIFs and bond masters (CANNOT_CHANGE_PIF_PROPERTIES)', async () => {
  await n.refused(['INVALID_VALUE', 'properties', 'gro = maybe'], 'PIF.set_property', eth1, 'gro', 'maybe');
  await n.refused(['INVALID_VALUE', 'properties', 'mtu = 9000'], 'PIF.set_property', eth1, 'mtu', '9000');
  await n.call('PIF.set_property', eth1, 'gro', 'off');
  assert.deepEqual((await n.pif(eth1)).properties, { gro: 'off' });
  await n.call('PIF.set_property', eth1, 'gro', 'on');

  const vnet = await n.newNetwork('props vlan');
  const vlan = (await n.call('VLAN.create', eth1, 30, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  // the value is checked before the kind of PIF
  await n.refused(['INVALID_VALUE', 'properties', 'foo = bar'], 'PIF.set_property', untagged, 'foo', 'bar');
  await n.refused(['CANNOT_CHANGE_PIF_PROPERTIES', untagged], 'PIF.set_property', untagged, 'gro', 'off');
  await n.call('VLAN.destroy', vlan);
  await n.call('network.destroy', vnet);

  const b = await bond12();
  await n.refused(['CANNOT_CHANGE_PIF_PROPERTIES', eth1], 'PIF.set_property', eth1, 'gro', 'off');
  await n.call('PIF.set_property', b.master, 'gro', 'off');
  for (const p of [b.master, eth1, eth2]) assert.deepEqual((await n.pif(p)).properties, { gro: 'off' }, 'a bond master passes its properties to its slaves');
  await n.call('PIF.set_property', b.master, 'gro', 'on');
  await unbond(b);
  assert.deepEqual((await n.pif(eth1)).properties, { gro: 'on' });
});

// ---- deprecated calls ----

test('PIF.create_VLAN (deprecated) finds the PIF by device (INVALID_VALUE [device; name]); PIF.destroy only for VLAN PIFs (PIF_IS_PHYSICAL [])', async () => {
  const vnet = await n.newNetwork('legacy vlan');
  await n.refused(['INVALID_VALUE', 'device', 'eth9'], 'PIF.create_VLAN', 'eth9', vnet, n.host, 20);
  await n.refused(['VLAN_TAG_INVALID', '4095'], 'PIF.create_VLAN', 'eth1', vnet, n.host, 4095);
  const untagged = (await n.call('PIF.create_VLAN', 'eth1', vnet, n.host, 20)) as string;
  const u = await n.pif(untagged);
  assert.equal(u.VLAN, 20);
  assert.equal(u.device, 'eth1');
  assert.equal(u.network, vnet);
  const vlan = u.VLAN_master_of as string;
  assert.equal((await n.rec('VLAN', vlan)).tagged_PIF, eth1);
  await n.refused(['PIF_IS_PHYSICAL'], 'PIF.destroy', eth1);
  await n.call('PIF.destroy', untagged);
  assert.deepEqual(await n.fail('VLAN.get_record', vlan), ['HANDLE_INVALID', 'VLAN', vlan]);
  assert.deepEqual(await n.fail('PIF.get_record', untagged), ['HANDLE_INVALID', 'PIF', untagged]);
  assert.deepEqual((await n.pif(eth1)).VLAN_slave_of, []);
  await n.call('network.destroy', vnet);
});

test('PIF.db_introduce keeps VLAN_master_of and, for a VLAN PIF, refuses a network with trunked VIFs (NETWORK_INCOMPATIBLE_WITH_TRUNKS)', async () => {
  const args = (network: string, VLAN: number, VLAN_master_of: string): unknown[] => [
    'eth1', network, n.host, 'fe:ff:ff:ff:ff:ff', 1500, VLAN, false, 'None', '', '', '', '', NULL, VLAN_master_of, false, {}, false,
    'None', [], '', 'IPv4', true, {},
  ];
  // a VIF trunking VLAN 5 on this network: no VLAN PIF may join it
  const tnet = await n.newNetwork('trunked');
  const vm = await n.vm('trunk guest');
  const vif = await n.vif(vm, tnet, { trunks: [5] });
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_TRUNKS', tnet], 'PIF.db_introduce', ...args(tnet, 31, NULL));
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_TRUNKS', tnet], 'PIF.pool_introduce', ...args(tnet, 31, NULL));

  const vnet = await n.newNetwork('vlan 30');
  const vlan = (await n.call('VLAN.create', eth1, 30, vnet)) as string;
  const old = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  const introduced = (await n.call('PIF.db_introduce', ...args(vnet, 30, vlan))) as string;
  assert.equal((await n.pif(introduced)).VLAN_master_of, vlan);
  assert.equal((await n.rec('VLAN', vlan)).untagged_PIF, introduced);

  n.d.db.transact((tx) => {
    for (const p of [old, introduced]) { if (tx.get(p)) tx.delete(p); }
    tx.delete(vlan);
  });
  await n.dropVif(vif);
  for (const x of [vnet, tnet]) await n.call('network.destroy', x);
});

/** What every test must leave behind it: the host as it started (checked after each test, on its own daemon). */
async function asStarted(): Promise<void> {
  const pifs = await n.all('PIF');
  const p: Record<string, R> = { eth0: pifs[eth0], eth1: pifs[eth1], eth2: pifs[eth2] };
  assert.equal(p.eth0.management, true);
  assert.equal(p.eth0.IP, '10.0.0.11');
  for (const d of ['eth1', 'eth2']) {
    assert.equal(p[d].currently_attached, true, d);
    assert.equal(p[d].ip_configuration_mode, 'None', d);
    assert.equal(p[d].bond_slave_of, NULL, d);
  }
  assert.deepEqual(Object.keys(pifs).sort(), [eth0, eth1, eth2].sort());
  assert.deepEqual(Object.values(await n.all('network')).map((x) => x.bridge).sort(), ['xenbr0', 'xenbr1', 'xenbr2']);
  assert.deepEqual(await n.all('Bond'), {});
  assert.deepEqual(await n.all('VLAN'), {});
  assert.deepEqual(await n.all('tunnel'), {});
}
