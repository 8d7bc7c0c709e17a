// Bonds through the XenAPI (reference §6, the seed's "Creating a NIC bond" procedures):
// bonding the management NIC of a standalone host and undoing it, the primary slave and MAC
// rules, HA, LACP properties, set_mode, the legacy other-config:bond-mode, and every refusal
// of Bond.create / destroy / set_property with its parameters.
//
// The host starts with eth0 (management, static 10.0.0.11/24), eth1 and eth2 (plugged, no IP).
// Each test starts from a fresh daemon in that state, and must leave it so (asStarted, after each).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { NULL, Net, nic, type R } from './helpers/net.ts';
import { dropHost, dropSriov } from './helpers/fixtures.ts';

let n: Net;
let eth0: string, eth1: string, eth2: string;
let xenbr0: string, xenbr1: string;
const MAC = { eth0: '02:00:00:00:01:00', eth1: '02:00:00:00:01:01', eth2: '02:00:00:00:01:02' };

beforeEach(async () => {
  n = await Net.start();
  [eth0, eth1, eth2] = [await n.pifRef('eth0'), await n.pifRef('eth1'), await n.pifRef('eth2')];
  [xenbr0, xenbr1] = [await n.netRef('xenbr0'), await n.netRef('xenbr1')];
});
afterEach(async () => {
  try { await asStarted(); } finally { await n.dispose(); }
});

async function create(members: string[], opts: { mac?: string; mode?: string; properties?: Record<string, string> } = {}): Promise<{ bond: string; master: string; network: string }> {
  const network = await n.newNetwork('bond network');
  const bond = (await n.call('Bond.create', network, members, opts.mac ?? '', opts.mode ?? 'balance-slb', opts.properties ?? {})) as string;
  return { bond, master: (await n.bond(bond)).master as string, network };
}

async function destroy(b: { bond: string; network: string }): Promise<void> {
  await n.call('Bond.destroy', b.bond);
  await n.call('network.destroy', b.network);
}

const ipOf = (p: R) => [p.ip_configuration_mode, p.IP, p.netmask, p.gateway, p.DNS];
const MGMT_IP = ['Static', '10.0.0.11', '255.255.255.0', '10.0.0.1', '10.0.0.1'];
const NO_IP = ['None', '', '', '', ''];

test('seed: bond the management NIC of a standalone host — management, MAC, IP, VLANs and VIFs move to the bond', async () => {
  const vnet = await n.newNetwork('vlan 10');
  const oldVlan = (await n.call('VLAN.create', eth1, 10, vnet)) as string;
  const oldUntagged = (await n.rec('VLAN', oldVlan)).untagged_PIF as string;
  const halted = await n.vm('halted guest');
  const running = await n.vm('running guest', { running: true });
  const vifOn1 = await n.vif(halted, xenbr1, { device: '0' });
  const vifOn0 = await n.vif(running, xenbr0, { device: '0', attached: true });
  const vifOnVlan = await n.vif(running, vnet, { device: '1', attached: true });

  const network = await n.newNetwork('Bond 0+1');
  const bond = (await n.call('Bond.create', network, [eth0, eth1], '', 'balance-slb', {})) as string;
  const b = await n.bond(bond);
  const master = b.master as string;
  assert.deepEqual((b.slaves as string[]).slice().sort(), [eth0, eth1].sort());
  assert.equal(b.primary_slave, eth0, 'the management NIC is the primary slave');
  assert.equal(b.mode, 'balance-slb');
  assert.deepEqual(b.properties, {});
  assert.equal(b.auto_update_mac, true);

  const m = await n.pif(master);
  assert.equal(m.device, 'bond0');
  assert.equal(m.MAC, MAC.eth0, "the bond has the management NIC's MAC");
  assert.deepEqual(ipOf(m), MGMT_IP, 'the IP configuration is carried over');
  assert.equal(m.management, true);
  assert.equal(m.currently_attached, true);
  assert.equal(m.physical, false);
  assert.equal(m.VLAN, -1);
  assert.equal(m.network, network);
  assert.deepEqual(m.properties, { gro: 'on' });
  assert.deepEqual(m.IPv6, ['']);
  assert.deepEqual(m.bond_master_of, [bond]);
  assert.deepEqual((await n.network(network)).PIFs, [master]);
  for (const s of [eth0, eth1]) {
    const p = await n.pif(s);
    assert.equal(p.bond_slave_of, bond);
    assert.equal(p.currently_attached, false, 'members are not attached themselves');
    assert.equal(p.management, false);
    assert.deepEqual(ipOf(p), NO_IP);
  }
  assert.equal(await n.mgmt(), master);
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.11', 'the management address did not change');

  // the VLAN moved up: same network and tag, now on bond0
  const vlans = Object.entries(await n.all('VLAN'));
  assert.equal(vlans.length, 1);
  const [newVlan, v] = vlans[0];
  assert.notEqual(newVlan, oldVlan);
  assert.equal(v.tagged_PIF, master);
  assert.equal(v.tag, 10);
  const u = await n.pif(v.untagged_PIF as string);
  assert.equal(u.device, 'bond0');
  assert.equal(u.network, vnet);
  assert.equal(u.VLAN, 10);
  assert.deepEqual(await n.fail('PIF.get_record', oldUntagged), ['HANDLE_INVALID', 'PIF', oldUntagged]);
  assert.deepEqual((await n.pif(eth1)).VLAN_slave_of, []);
  // the VIFs of the members' networks moved to the bond network; the VLAN's stayed on its network
  assert.equal((await n.rec('VIF', vifOn1)).network, network);
  assert.equal((await n.rec('VIF', vifOn0)).network, network);
  assert.equal((await n.rec('VIF', vifOnVlan)).network, vnet);

  // ---- and back: bond-destroy makes the primary slave the management interface again ----
  await n.call('Bond.destroy', bond);
  assert.deepEqual(await n.fail('Bond.get_record', bond), ['HANDLE_INVALID', 'Bond', bond]);
  assert.deepEqual(await n.fail('PIF.get_record', master), ['HANDLE_INVALID', 'PIF', master]);
  const p0 = await n.pif(eth0), p1 = await n.pif(eth1);
  assert.equal(p0.management, true);
  assert.deepEqual(ipOf(p0), MGMT_IP, 'the IP configuration is back on the primary slave');
  assert.equal(await n.mgmt(), eth0);
  assert.equal((await n.rec('host', n.host)).address, '10.0.0.11');
  for (const p of [p0, p1]) {
    assert.equal(p.bond_slave_of, NULL);
    assert.equal(p.currently_attached, true);
  }
  assert.deepEqual(ipOf(p1), NO_IP);
  // all VIFs of the bond network go to the primary slave's network
  assert.equal((await n.rec('VIF', vifOn1)).network, xenbr0);
  assert.equal((await n.rec('VIF', vifOn0)).network, xenbr0);
  assert.equal((await n.rec('VIF', vifOnVlan)).network, vnet);
  const back = Object.values(await n.all('VLAN'));
  assert.equal(back.length, 1);
  assert.equal(back[0].tagged_PIF, eth0, 'the VLAN goes down to the primary slave');
  assert.equal((await n.pif(back[0].untagged_PIF as string)).device, 'eth0');
  assert.deepEqual((await n.network(network)).PIFs, []);

  for (const vif of [vifOn1, vifOn0, vifOnVlan]) await n.dropVif(vif);
  await n.call('VLAN.destroy', Object.keys(await n.all('VLAN'))[0]);
  await n.call('network.destroy', vnet);
  await n.call('network.destroy', network);
});

test('primary slave and MAC: the management NIC wherever it is named', async () => {
  const b = await create([eth1, eth0]);
  const r = await n.bond(b.bond);
  assert.equal(r.primary_slave, eth0);
  const m = await n.pif(b.master);
  assert.equal(m.MAC, MAC.eth0);
  assert.deepEqual(ipOf(m), MGMT_IP);
  assert.equal(m.management, true);
  await destroy(b);
  assert.equal(await n.mgmt(), eth0);
});

test('primary slave and MAC: without management NIC, the NIC with an IP (seed: "another management interface")', async () => {
  await n.reconfigureIp(eth2, 'Static', '192.168.30.5', '255.255.255.0', '192.168.30.1', '192.168.30.53');
  const b = await create([eth1, eth2]);
  assert.equal((await n.bond(b.bond)).primary_slave, eth2);
  const m = await n.pif(b.master);
  assert.equal(m.MAC, MAC.eth2, 'the MAC (and the IP) of the IP-enabled NIC');
  assert.deepEqual(ipOf(m), ['Static', '192.168.30.5', '255.255.255.0', '192.168.30.1', '192.168.30.53']);
  assert.equal(m.management, false);
  assert.equal(m.currently_attached, true);
  assert.deepEqual(ipOf(await n.pif(eth2)), NO_IP);
  assert.equal(await n.mgmt(), eth0, 'management stays where it was');
  await destroy(b);
  assert.deepEqual(ipOf(await n.pif(eth2)), ['Static', '192.168.30.5', '255.255.255.0', '192.168.30.1', '192.168.30.53']);
  assert.deepEqual(ipOf(await n.pif(eth1)), NO_IP);
  await n.reconfigureIp(eth2, 'None');
});

test('primary slave and MAC: otherwise the first named NIC; a given MAC wins', async () => {
  let b = await create([eth2, eth1]);
  assert.equal((await n.bond(b.bond)).primary_slave, eth2);
  let m = await n.pif(b.master);
  assert.equal(m.MAC, MAC.eth2);
  assert.deepEqual(ipOf(m), NO_IP);
  assert.equal(m.currently_attached, true, 'a non-management bond is plugged at once');
  await destroy(b);

  b = await create([eth1, eth2], { mac: '02:aa:bb:cc:dd:ee' });
  m = await n.pif(b.master);
  assert.equal(m.MAC, '02:aa:bb:cc:dd:ee');
  const r = await n.bond(b.bond);
  assert.equal(r.auto_update_mac, false);
  assert.equal(r.primary_slave, eth1);
  await destroy(b);

  b = await create([eth0, eth1], { mac: '02:aa:bb:cc:dd:ef' });
  m = await n.pif(b.master);
  assert.equal(m.MAC, '02:aa:bb:cc:dd:ef', 'even over the management NIC\'s');
  assert.equal(m.management, true);
  await destroy(b);
});

test('the device is the smallest free bond<N>', async () => {
  n.nics.push(nic('eth3', '02:00:00:00:01:03'), nic('eth4', '02:00:00:00:01:04'));
  await n.call('PIF.scan', n.host);
  const [eth3, eth4] = [await n.pifRef('eth3'), await n.pifRef('eth4')];
  const a = await create([eth1, eth2]);
  const b = await create([eth3, eth4]);
  assert.equal((await n.pif(a.master)).device, 'bond0');
  assert.equal((await n.pif(b.master)).device, 'bond1');
  await destroy(a);
  const c = await create([eth1, eth2]);
  assert.equal((await n.pif(c.master)).device, 'bond0');
  await destroy(c);
  await destroy(b);
  for (const p of [eth3, eth4]) await n.call('PIF.forget', p);
  n.nics.splice(3);
});

test('disallow_unplug moves up to the bond and back down to the primary slave', async () => {
  await n.call('PIF.set_disallow_unplug', eth2, true);
  const b = await create([eth1, eth2]);
  assert.equal((await n.pif(b.master)).disallow_unplug, true);
  assert.equal((await n.pif(eth2)).disallow_unplug, false);
  await n.refused(['PIF_DOES_NOT_ALLOW_UNPLUG', b.master], 'PIF.unplug', b.master);
  await destroy(b);
  assert.equal((await n.pif(eth1)).disallow_unplug, true, 'the primary slave (eth1, first named) gets it');
  await n.call('PIF.set_disallow_unplug', eth1, false);
});

// (beside the HA case above: the same flag, which pool.designate_new_master checks only for a real change)
test('pool.designate_new_master to the current master is a no-op, before the HA check', async () => {
  await n.setHa(true);
  const before = await n.snapshot();
  assert.equal(await n.call('pool.designate_new_master', n.host), '');
  assert.deepEqual((await n.snapshot()).records, before.records);
  await n.call('host.emergency_ha_disable', false);
});

test('seed: no bond while HA is enabled (HA_IS_ENABLED / HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE); host-emergency-ha-disable, then it works', async () => {
  const net = await n.newNetwork('ha bond');
  await n.setHa(true);
  await n.refusedDeep(['HA_IS_ENABLED'], 'Bond.create', net, [eth1, eth2], '', 'balance-slb', {});
  await n.refusedDeep(['HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE'], 'Bond.create', net, [eth0, eth1], '', 'balance-slb', {});
  await n.call('host.emergency_ha_disable', false);
  assert.equal((await n.rec('pool', n.pool)).ha_enabled, false);
  const bond = (await n.call('Bond.create', net, [eth0, eth1], '', 'balance-slb', {})) as string;
  assert.equal(await n.mgmt(), (await n.bond(bond)).master);

  // destroying is refused under HA as well
  await n.setHa(true);
  try {
    await n.refusedDeep(['HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE'], 'Bond.destroy', bond);
  } finally { await n.setHa(false); }
  await n.call('Bond.destroy', bond);
  const other = await create([eth1, eth2]);
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'Bond.destroy', other.bond);
  } finally { await n.setHa(false); }
  await destroy(other);
  await n.call('network.destroy', net);
  assert.equal(await n.mgmt(), eth0);
});

test('LACP: defaults are added, given properties validated (INVALID_VALUE [properties; "k = v"])', async () => {
  let b = await create([eth1, eth2], { mode: 'lacp' });
  let r = await n.bond(b.bond);
  assert.equal(r.mode, 'lacp');
  assert.deepEqual(r.properties, { hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow', 'lacp-fallback-ab': 'true' });
  await destroy(b);

  b = await create([eth1, eth2], { mode: 'lacp', properties: { 'lacp-time': 'fast', 'lacp-aggregation-key': '42', hashing_algorithm: 'src_mac' } });
  r = await n.bond(b.bond);
  assert.deepEqual(r.properties, { hashing_algorithm: 'src_mac', 'lacp-time': 'fast', 'lacp-aggregation-key': '42', 'lacp-fallback-ab': 'true' });
  await destroy(b);

  const net = await n.newNetwork('bad props');
  for (const [mode, props, text] of [
    ['lacp', { 'lacp-time': 'medium' }, 'lacp-time = medium'],
    ['lacp', { hashing_algorithm: 'dst_mac' }, 'hashing_algorithm = dst_mac'],
    ['lacp', { 'lacp-aggregation-key': 'abc' }, 'lacp-aggregation-key = abc'],
    ['lacp', { 'lacp-fallback-ab': 'yes' }, 'lacp-fallback-ab = yes'],
    ['lacp', { miimon: '100' }, 'miimon = 100'],
    ['balance-slb', { hashing_algorithm: 'src_mac' }, 'hashing_algorithm = src_mac'],
    ['active-backup', { 'lacp-time': 'fast' }, 'lacp-time = fast'],
  ] as const) {
    await n.refused(['INVALID_VALUE', 'properties', text], 'Bond.create', net, [eth1, eth2], '', mode, props);
  }
  await n.call('network.destroy', net);
});

test('Bond.set_property validates against the current mode; set_mode keeps only what the new mode accepts, adds its defaults', async () => {
  const b = await create([eth1, eth2], { mode: 'lacp' });
  await n.call('Bond.set_property', b.bond, 'hashing_algorithm', 'src_mac');
  await n.call('Bond.set_property', b.bond, 'lacp-time', 'fast');
  await n.call('Bond.set_property', b.bond, 'lacp-aggregation-key', '7');
  const custom = { hashing_algorithm: 'src_mac', 'lacp-time': 'fast', 'lacp-aggregation-key': '7', 'lacp-fallback-ab': 'true' };
  assert.deepEqual((await n.bond(b.bond)).properties, custom);
  await n.refusedDeep(['INVALID_VALUE', 'properties', 'lacp-aggregation-key = abc'], 'Bond.set_property', b.bond, 'lacp-aggregation-key', 'abc');
  await n.refused(['INVALID_VALUE', 'properties', 'lacp-time = medium'], 'Bond.set_property', b.bond, 'lacp-time', 'medium');
  await n.refused(['INVALID_VALUE', 'properties', 'updelay = 31000'], 'Bond.set_property', b.bond, 'updelay', '31000');

  await n.call('Bond.set_mode', b.bond, 'lacp'); // same mode: every property is still valid
  assert.deepEqual((await n.bond(b.bond)).properties, custom);
  await n.call('Bond.set_mode', b.bond, 'active-backup');
  let r = await n.bond(b.bond);
  assert.equal(r.mode, 'active-backup');
  assert.deepEqual(r.properties, {}, 'no LACP property survives in active-backup');
  await n.refused(['INVALID_VALUE', 'properties', 'hashing_algorithm = src_mac'], 'Bond.set_property', b.bond, 'hashing_algorithm', 'src_mac');
  await n.call('Bond.set_mode', b.bond, 'balance-slb');
  await n.call('Bond.set_mode', b.bond, 'lacp');
  r = await n.bond(b.bond);
  assert.deepEqual(r.properties, { hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow', 'lacp-fallback-ab': 'true' });
  assert.equal((await n.pif(b.master)).currently_attached, true, 'a live bond stays up');
  await destroy(b);
});

test('seed: the legacy other-config:bond-mode takes effect at the next PIF.unplug + PIF.plug of the bond master', async () => {
  const b = await create([eth1, eth2]);
  await n.call('PIF.add_to_other_config', b.master, 'bond-mode', 'active-backup');
  assert.equal((await n.bond(b.bond)).mode, 'balance-slb', 'not before the re-plug');
  await n.call('PIF.unplug', b.master);
  assert.equal((await n.pif(b.master)).currently_attached, false);
  assert.equal((await n.bond(b.bond)).mode, 'balance-slb');
  await n.call('PIF.plug', b.master);
  assert.equal((await n.bond(b.bond)).mode, 'active-backup');
  assert.equal((await n.pif(b.master)).currently_attached, true);
  for (const s of [eth1, eth2]) assert.equal((await n.pif(s)).currently_attached, false);

  await n.call('PIF.remove_from_other_config', b.master, 'bond-mode');
  await n.call('PIF.add_to_other_config', b.master, 'bond-mode', 'lacp');
  await n.call('PIF.unplug', b.master);
  await n.call('PIF.plug', b.master);
  const r = await n.bond(b.bond);
  assert.equal(r.mode, 'lacp');
  assert.deepEqual(r.properties, { hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow', 'lacp-fallback-ab': 'true' });
  await destroy(b);
  // an unplugged bond's members are not plugged again by destroy
  const c = await create([eth1, eth2]);
  await n.call('PIF.unplug', c.master);
  await destroy(c);
  for (const s of [eth1, eth2]) assert.equal((await n.pif(s)).currently_attached, false);
  for (const s of [eth1, eth2]) await n.call('PIF.plug', s);
});

test('Bond.create refusals on members and network, each with its parameters', async () => {
  const net = await n.newNetwork('refusals');
  const args = (members: string[], mac = '') => ['Bond.create', net, members, mac, 'balance-slb', {}] as const;
  await n.refusedDeep(['PIF_BOND_NEEDS_MORE_MEMBERS'], ...args([]));
  await n.refused(['PIF_BOND_NEEDS_MORE_MEMBERS'], ...args([eth1]));
  await n.refused(['PIF_BOND_NEEDS_MORE_MEMBERS'], ...args([eth1, eth1]));

  const unmanagedNet = await n.newNetwork('unmanaged', { managed: false });
  await n.refused(['NETWORK_UNMANAGED', unmanagedNet], 'Bond.create', unmanagedNet, [eth1, eth2], '', 'balance-slb', {});
  await n.call('network.destroy', unmanagedNet);
  await n.refusedDeep(['NETWORK_ALREADY_CONNECTED', n.host, eth0], 'Bond.create', xenbr0, [eth1, eth2], '', 'balance-slb', {});

  await n.refused(['MAC_INVALID', 'nonsense'], ...args([eth1, eth2], 'nonsense'));
  await n.refused(['MAC_INVALID', '02:00:00:00:00'], ...args([eth1, eth2], '02:00:00:00:00'));

  await n.call('PIF.set_primary_address_type', eth2, 'IPv6');
  await n.refusedDeep(['PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', eth2], ...args([eth1, eth2]));
  await n.call('PIF.set_primary_address_type', eth2, 'IPv4');

  await n.call('PIF.set_property', eth2, 'gro', 'off');
  await n.refusedDeep(['INCOMPATIBLE_PIF_PROPERTIES'], ...args([eth1, eth2]));
  await n.call('PIF.set_property', eth2, 'gro', 'on');

  await n.reconfigureIp(eth1, 'Static', '192.168.40.5', '255.255.255.0');
  await n.reconfigureIp(eth2, 'DHCP');
  await n.refusedDeep(['PIF_BOND_MORE_THAN_ONE_IP'], ...args([eth1, eth2]));
  await n.reconfigureIp(eth1, 'None');
  await n.reconfigureIp(eth2, 'None');
  await n.call('network.destroy', net);
});

test('Bond.create refuses members already bonded, VLAN, tunnel, SR-IOV and unmanaged PIFs', async () => {
  const net = await n.newNetwork('refusals 2');
  const args = (members: string[]) => ['Bond.create', net, members, '', 'balance-slb', {}] as const;
  n.nics.push(nic('eth3', '02:00:00:00:01:03'));
  await n.call('PIF.scan', n.host);
  const eth3 = await n.pifRef('eth3');
  n.nics.push(nic('eth4', '02:00:00:00:01:04'));
  const eth4u = (await n.call('PIF.introduce', n.host, '', 'eth4', false)) as string;
  await n.refusedDeep(['PIF_UNMANAGED', eth4u], ...args([eth3, eth4u]));

  const b = await create([eth1, eth2]);
  await n.refusedDeep(['PIF_ALREADY_BONDED', eth1], ...args([eth3, eth1]));
  await n.refused(['PIF_ALREADY_BONDED', b.master], ...args([eth3, b.master]));
  await destroy(b);

  const vnet = await n.newNetwork('vlan 5');
  const vlan = (await n.call('VLAN.create', eth1, 5, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  await n.refused(['PIF_VLAN_EXISTS', 'eth1'], ...args([eth3, untagged]));
  await n.call('VLAN.destroy', vlan);
  await n.call('network.destroy', vnet);

  const sdn = await n.call('SDN_controller.introduce', 'pssl', '', 0);
  const tnet = await n.newNetwork('private');
  const tunnel = (await n.call('tunnel.create', eth0, tnet, 'gre')) as string;
  const access = (await n.rec('tunnel', tunnel)).access_PIF as string;
  await n.refused(['IS_TUNNEL_ACCESS_PIF', access], ...args([eth3, access]));
  await n.call('tunnel.destroy', tunnel);
  await n.call('network.destroy', tnet);
  await n.call('SDN_controller.forget', sdn);

  const snet = await n.newNetwork('sriov');
  const { sriov, logical } = n.sriov(eth2, snet);
  await n.refused(['PIF_IS_SRIOV_LOGICAL', logical], ...args([eth3, logical]));
  n.d.db.transact((tx) => dropSriov(tx, { sriov, logical }));
  await n.call('network.destroy', snet);

  for (const p of [eth3, eth4u]) {
    const network = (await n.pif(p)).network as string;
    await n.call('PIF.forget', p);
    await n.call('network.destroy', network);
  }
  n.nics.splice(3);
  await n.call('network.destroy', net);
});

test('the VIFs that move with a bond, as xapi_bond.ml: of VMs running here, or halted ones that could start only here', async () => {
  const h2 = n.secondHost([nic('eth1', '02:00:00:00:02:01')]); // host2 sees xenbr1, not xenbr2
  const xenbr2 = await n.netRef('xenbr2');
  const onlyHere = await n.vif(await n.vm('halted, xenbr2: only this host'), xenbr2, { device: '0' });
  const anywhere = await n.vif(await n.vm('halted, xenbr1: either host'), xenbr1, { device: '0' });
  const runningHere = await n.vif(await n.vm('running here', { running: true }), xenbr1, { device: '0', attached: true });
  const elsewhere = await n.vm('running on host2');
  n.db(elsewhere, { power_state: 'Running', resident_on: h2.host });
  const runningThere = await n.vif(elsewhere, xenbr1, { device: '0', attached: true });
  const networkOf = async (vif: string): Promise<unknown> => (await n.rec('VIF', vif)).network;

  const b = await create([eth1, eth2]);
  assert.equal(await networkOf(onlyHere), b.network);
  assert.equal(await networkOf(runningHere), b.network);
  assert.equal(await networkOf(anywhere), xenbr1, 'it could start on host2: it stays');
  assert.equal(await networkOf(runningThere), xenbr1);
  await n.call('Bond.destroy', b.bond);
  // back to the primary slave's network (eth1's)
  assert.equal(await networkOf(onlyHere), xenbr1);
  assert.equal(await networkOf(runningHere), xenbr1);
  await n.call('network.destroy', b.network);

  for (const v of [onlyHere, anywhere, runningHere, runningThere]) await n.dropVif(v);
  n.d.db.transact((tx) => {
    dropHost(tx, h2);
  });
});

test('Bond.create across hosts (PIF_CANNOT_BOND_CROSS_HOST) and on an SR-IOV network (NETWORK_INCOMPATIBLE_WITH_BOND)', async () => {
  // a second host record: a pool member that a one-host daemon cannot have joined
  const h2 = n.secondHost([nic('eth1', '02:00:00:00:02:01'), nic('eth2', '02:00:00:00:02:02')]);
  const net = await n.newNetwork('cross');
  await n.refusedDeep(['PIF_CANNOT_BOND_CROSS_HOST'], 'Bond.create', net, [eth1, h2.pifs[0]], '', 'balance-slb', {});
  const snet = await n.newNetwork('sriov elsewhere');
  const s = n.sriov(h2.pifs[1], snet); // the SR-IOV network's only PIF is on host2
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_BOND', snet], 'Bond.create', snet, [eth1, eth2], '', 'balance-slb', {});
  n.d.db.transact((tx) => {
    dropSriov(tx, s);
    dropHost(tx, h2);
  });
  await n.call('network.destroy', snet);
  await n.call('network.destroy', net);
});

/** What every test must leave behind it: the host as it started (checked after each test, on its own daemon). */
async function asStarted(): Promise<void> {
  assert.deepEqual(await n.all('Bond'), {});
  assert.equal(await n.mgmt(), eth0);
  const pifs = await n.all('PIF');
  assert.deepEqual(Object.keys(pifs).sort(), [eth0, eth1, eth2].sort());
  for (const p of [eth1, eth2]) {
    assert.equal(pifs[p].currently_attached, true);
    assert.equal(pifs[p].bond_slave_of, NULL);
    assert.deepEqual(ipOf(pifs[p]), NO_IP);
  }
  assert.deepEqual(ipOf(pifs[eth0]), MGMT_IP);
}
