// host management interface and hostname through the XenAPI (reference §5, the seed's
// "changing which NIC is used as the management interface", "disable remote access",
// "changing the hostname"): every refusal with its parameters, and the effects.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net } from './helpers/net.ts';

let n: Net;
let eth0: string, eth1: string, eth2: string;
beforeEach(async () => {
  n = await Net.start();
  [eth0, eth1, eth2] = [await n.pifRef('eth0'), await n.pifRef('eth1'), await n.pifRef('eth2')];
});
afterEach(async () => { await n.dispose(); });

const address = async (): Promise<unknown> => (await n.rec('host', n.host)).address;

test('get_management_interface names the management PIF', async () => {
  assert.equal(await n.mgmt(), eth0);
  assert.equal((await n.pif(eth0)).management, true);
  assert.equal(await address(), '10.0.0.11');
});

test('seed: move the management interface to another PIF with an IP configuration, and back', async () => {
  await n.reconfigureIp(eth1, 'Static', '192.168.10.5', '255.255.255.0', '192.168.10.1', '192.168.10.1');
  await n.call('PIF.unplug', eth1);
  await n.call('host.management_reconfigure', eth1);
  const [p0, p1] = [await n.pif(eth0), await n.pif(eth1)];
  assert.equal(p1.management, true);
  assert.equal(p1.currently_attached, true, 'the new management PIF is brought up');
  assert.equal(p0.management, false);
  assert.equal(p0.currently_attached, true, 'the old one is not unplugged');
  assert.equal(p0.IP, '10.0.0.11', 'and keeps its configuration');
  assert.equal(await n.mgmt(), eth1);
  assert.equal(await address(), '192.168.10.5');
  assert.deepEqual(Object.values(await n.all('PIF')).filter((p) => p.management).length, 1);

  // already the management interface: nothing to do, nothing changes
  const token = await n.token();
  await n.call('host.management_reconfigure', eth1);
  await n.assertNoEventSince(token);

  await n.call('host.management_reconfigure', eth0);
  assert.equal(await n.mgmt(), eth0);
  assert.equal((await n.pif(eth1)).management, false);
  assert.equal(await address(), '10.0.0.11');
  await n.reconfigureIp(eth1, 'None');
});

test('management_reconfigure refuses a PIF without IP configuration (PIF_HAS_NO_NETWORK_CONFIGURATION / _V6_)', async () => {
  await n.refusedDeep(['PIF_HAS_NO_NETWORK_CONFIGURATION', eth2], 'host.management_reconfigure', eth2);
  await n.call('PIF.set_primary_address_type', eth2, 'IPv6');
  await n.reconfigureIp(eth2, 'Static', '192.168.20.5', '255.255.255.0'); // IPv4 does not count for an IPv6 PIF
  await n.refused(['PIF_HAS_NO_V6_NETWORK_CONFIGURATION', eth2], 'host.management_reconfigure', eth2);
  await n.reconfigureIp(eth2, 'None');
  await n.call('PIF.set_primary_address_type', eth2, 'IPv4');
  assert.equal(await n.mgmt(), eth0);
});

test('management_reconfigure is refused while HA is on (HA_IS_ENABLED), ahead of anything else', async () => {
  await n.setHa(true);
  try {
    await n.refusedDeep(['HA_IS_ENABLED'], 'host.management_reconfigure', eth2);
    await n.refused(['HA_IS_ENABLED'], 'host.management_reconfigure', eth0);
  } finally { await n.setHa(false); }
});

test('management_reconfigure refuses a bond slave (CANNOT_PLUG_BOND_SLAVE)', async () => {
  const net = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', net, [eth1, eth2], '', 'balance-slb', {})) as string;
  await n.refused(['CANNOT_PLUG_BOND_SLAVE', eth1], 'host.management_reconfigure', eth1);
  await n.call('Bond.destroy', bond);
  await n.call('network.destroy', net);
});

test('seed: the management interface may not go on a VLAN (OPERATION_NOT_ALLOWED), even one with an IP', async () => {
  const vnet = await n.newNetwork('vlan 99');
  const vlan = (await n.call('VLAN.create', eth1, 99, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  await n.reconfigureIp(untagged, 'Static', '192.168.99.5', '255.255.255.0');
  const before = await n.snapshot();
  const err = await n.fail('host.management_reconfigure', untagged);
  assert.equal(err[0], 'OPERATION_NOT_ALLOWED');
  assert.equal(err.length, 2);
  assert.match(err[1], /VLAN/);
  await n.assertUnchanged(before);
  assert.equal(await n.mgmt(), eth0);
  await n.call('VLAN.destroy', vlan);
  await n.call('network.destroy', vnet);
});

test('management_disable: refused under HA; otherwise no PIF is management any more, the PIF stays plugged', async () => {
  await n.setHa(true);
  try {
    await n.refusedDeep(['HA_IS_ENABLED'], 'host.management_disable');
  } finally { await n.setHa(false); }
  await n.call('host.management_disable');
  const pifs = Object.values(await n.all('PIF'));
  assert.equal(pifs.filter((p) => p.management).length, 0);
  const p0 = await n.pif(eth0);
  assert.equal(p0.currently_attached, true);
  assert.equal(p0.IP, '10.0.0.11');
  const err = await n.fail('host.get_management_interface', n.host);
  assert.equal(err[0], 'INTERNAL_ERROR', 'no management interface to name');
  await n.call('host.management_reconfigure', eth0);
  assert.equal(await n.mgmt(), eth0);
});

test('local_management_reconfigure only works in emergency mode (NOT_IN_EMERGENCY_MODE)', async () => {
  assert.equal(await n.call('host.is_in_emergency_mode'), false);
  await n.refused(['NOT_IN_EMERGENCY_MODE'], 'host.local_management_reconfigure', 'xenbr1');
});

test('set_hostname_live validates the name (HOST_NAME_INVALID [reason])', async () => {
  await n.refusedDeep(['HOST_NAME_INVALID', 'hostname empty'], 'host.set_hostname_live', n.host, '');
  await n.refused(['HOST_NAME_INVALID', 'hostname is too long'], 'host.set_hostname_live', n.host, 'a'.repeat(256));
  for (const bad of ['bad_name', 'two words', '-lead', 'trail-', 'ünicode', 'semi;colon']) {
    await n.refused(['HOST_NAME_INVALID', 'hostname contains invalid characters'], 'host.set_hostname_live', n.host, bad);
  }
  assert.equal((await n.rec('host', n.host)).hostname, 'host1');
});

test('seed: set_hostname_live renames the host and its control domain', async () => {
  const h = await n.rec('host', n.host);
  const dom0 = h.control_domain as string;
  assert.equal((await n.rec('VM', dom0)).name_label, 'Control domain on host: host1');
  await n.call('host.set_hostname_live', n.host, 'xs-01.example.com');
  assert.equal((await n.rec('host', n.host)).hostname, 'xs-01.example.com');
  assert.equal((await n.rec('VM', dom0)).name_label, 'Control domain on host: xs-01.example.com');
  // hyphens inside are fine, and so are 255 characters
  const long = `${'a'.repeat(127)}.${'b-c'.repeat(42)}a`;
  assert.equal(long.length, 255);
  await n.call('host.set_hostname_live', n.host, long);
  assert.equal((await n.rec('host', n.host)).hostname, long);
  // a control domain the administrator renamed keeps its name
  await n.call('VM.set_name_label', dom0, 'my dom0');
  await n.call('host.set_hostname_live', n.host, 'host1');
  assert.equal((await n.rec('host', n.host)).hostname, 'host1');
  assert.equal((await n.rec('VM', dom0)).name_label, 'my dom0');
  await n.call('VM.set_name_label', dom0, 'Control domain on host: elsewhere');
  await n.call('host.set_hostname_live', n.host, 'host1');
  assert.equal((await n.rec('VM', dom0)).name_label, 'Control domain on host: host1');
});

test('host.emergency_ha_disable turns the pool HA flag off', async () => {
  await n.setHa(true);
  assert.equal((await n.rec('pool', n.pool)).ha_enabled, true);
  await n.call('host.emergency_ha_disable', false);
  assert.equal((await n.rec('pool', n.pool)).ha_enabled, false);
});

test('pool.management_reconfigure: every host needs a PIF on the network (PIF_NOT_PRESENT [host; network]), then moves them all', async () => {
  const empty = await n.newNetwork('nowhere');
  await n.refused(['PIF_NOT_PRESENT', n.host, empty], 'pool.management_reconfigure', empty);
  await n.call('network.destroy', empty);
  const xenbr1 = (await n.pif(eth1)).network as string;
  await n.refused(['PIF_HAS_NO_NETWORK_CONFIGURATION', eth1], 'pool.management_reconfigure', xenbr1);
  await n.reconfigureIp(eth1, 'DHCP');
  await n.call('pool.management_reconfigure', xenbr1);
  assert.equal(await n.mgmt(), eth1);
  await n.call('pool.management_reconfigure', (await n.pif(eth0)).network);
  assert.equal(await n.mgmt(), eth0);
  await n.reconfigureIp(eth1, 'None');
});
