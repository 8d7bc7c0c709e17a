// Cross-server private networks through the XenAPI (reference §8, the seed's conditions):
// SDN_controller.introduce / forget, tunnel.create / destroy with every refusal and its
// parameters, the transport PIF's IP requirement, and tunnels following a bond.
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

const controller = (): Promise<string> => n.call('SDN_controller.introduce', 'pssl', '', 0) as Promise<string>;

async function tunnel(transport: string, protocol = 'gre'): Promise<{ tunnel: string; access: string; network: string }> {
  const network = await n.newNetwork('private');
  const t = (await n.call('tunnel.create', transport, network, protocol)) as string;
  return { tunnel: t, access: (await n.rec('tunnel', t)).access_PIF as string, network };
}

async function untunnel(t: { tunnel: string; network: string }): Promise<void> {
  await n.call('tunnel.destroy', t.tunnel);
  await n.call('network.destroy', t.network);
}

// ---- SDN controller ----

test('SDN_controller.introduce: ssl needs an IPv4 address (port 0 means 6632); pssl takes neither; one per pool', async () => {
  let c = (await n.call('SDN_controller.introduce', 'ssl', '192.168.0.10', 0)) as string;
  const ssl = await n.rec('SDN_controller', c);
  assert.deepEqual([ssl.protocol, ssl.address, ssl.port], ['ssl', '192.168.0.10', 6632]);
  await n.refusedDeep(['OPERATION_NOT_ALLOWED', 'SDN controller has been configured. Please forget it first.'], 'SDN_controller.introduce', 'pssl', '', 0);
  await n.call('SDN_controller.forget', c);
  assert.deepEqual(await n.all('SDN_controller'), {});
  c = (await n.call('SDN_controller.introduce', 'ssl', '192.168.0.10', 6640)) as string;
  assert.equal((await n.rec('SDN_controller', c)).port, 6640);
  await n.call('SDN_controller.forget', c);
  c = await controller();
  const r = await n.rec('SDN_controller', c);
  assert.deepEqual([r.protocol, r.address, r.port], ['pssl', '', 0]);
  await n.call('SDN_controller.forget', c);
});

test('SDN_controller.introduce refusals (INVALID_VALUE, INVALID_IP_ADDRESS_SPECIFIED, VALUE_NOT_SUPPORTED, OPERATION_NOT_ALLOWED)', async () => {
  await n.refusedDeep(['INVALID_VALUE', 'address', '10.0.0.5'], 'SDN_controller.introduce', 'pssl', '10.0.0.5', 0);
  await n.refused(['INVALID_VALUE', 'port', '6640'], 'SDN_controller.introduce', 'pssl', '', 6640);
  await n.refused(['INVALID_VALUE', 'address', ''], 'SDN_controller.introduce', 'ssl', '', 0);
  await n.refused(['INVALID_IP_ADDRESS_SPECIFIED', 'address'], 'SDN_controller.introduce', 'ssl', 'controller.example.com', 0);
  await n.refused(['INVALID_IP_ADDRESS_SPECIFIED', 'address'], 'SDN_controller.introduce', 'ssl', 'fd00::1', 0);
  await n.refused(['VALUE_NOT_SUPPORTED', 'port', '70000', 'Port out of range'], 'SDN_controller.introduce', 'ssl', '10.0.0.5', 70000);
  // the Linux bridge backend has no vswitch to manage
  const sv = (await n.rec('host', n.host)).software_version as Record<string, string>;
  n.db(n.host, { software_version: { ...sv, network_backend: 'bridge' } }); // the backend is chosen at install time
  try {
    await n.refusedDeep(['OPERATION_NOT_ALLOWED', 'host not configured for vswitch operation'], 'SDN_controller.introduce', 'pssl', '', 0);
  } finally { n.db(n.host, { software_version: sv }); }
  assert.deepEqual(await n.all('SDN_controller'), {});
});

// ---- tunnel.create ----

test('seed: tunnel.create on the management interface: an access PIF tunnel<N> on the private network, plugged', async () => {
  const sdn = await controller();
  const a = await tunnel(eth0);
  const t = await n.rec('tunnel', a.tunnel);
  assert.equal(t.transport_PIF, eth0);
  assert.equal(t.protocol, 'gre');
  // created inactive; poolnet's controller marks it active (transport has an IP) with the network's key
  const st = t.status as Record<string, string>;
  assert.equal(st.active, 'true');
  assert.match(st.key, /^[1-9]\d*$/);
  const p = await n.pif(a.access);
  const e0 = await n.pif(eth0);
  assert.equal(p.device, 'tunnel0');
  assert.equal(p.network, a.network);
  assert.equal(p.VLAN, -1);
  assert.equal(p.physical, false);
  assert.equal(p.currently_attached, true);
  assert.equal(p.ip_configuration_mode, 'None');
  assert.equal(p.metrics, e0.metrics, 'the access PIF shares the transport PIF\'s metrics');
  assert.match(p.MAC as string, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const b0 = parseInt((p.MAC as string).slice(0, 2), 16);
  assert.equal(b0 & 1, 0, 'unicast');
  assert.equal(b0 & 2, 2, 'locally administered');
  assert.deepEqual(p.tunnel_access_PIF_of, [a.tunnel]);
  assert.deepEqual(e0.tunnel_transport_PIF_of, [a.tunnel]);
  assert.deepEqual((await n.network(a.network)).PIFs, [a.access]);

  const b = await tunnel(eth0, 'vxlan');
  assert.equal((await n.rec('tunnel', b.tunnel)).protocol, 'vxlan');
  assert.equal((await n.pif(b.access)).device, 'tunnel1');
  await untunnel(a);
  assert.deepEqual(await n.fail('PIF.get_record', a.access), ['HANDLE_INVALID', 'PIF', a.access]);
  assert.deepEqual(await n.fail('tunnel.get_record', a.tunnel), ['HANDLE_INVALID', 'tunnel', a.tunnel]);
  assert.ok((await n.rec('PIF_metrics', e0.metrics as string)).uuid, 'the transport keeps its metrics');
  const c = await tunnel(eth0);
  assert.equal((await n.pif(c.access)).device, 'tunnel0', 'the smallest free number');
  await untunnel(b);
  await untunnel(c);
  assert.deepEqual((await n.pif(eth0)).tunnel_transport_PIF_of, []);
  await n.call('SDN_controller.forget', sdn);
});

test('the access PIF takes the transport PIF\'s primary address type, as xapi', async () => {
  const sdn = await controller();
  await n.reconfigureIp(eth1, 'Static', '192.168.61.5', '255.255.255.0');
  await n.call('PIF.set_primary_address_type', eth1, 'IPv6');
  const t = await tunnel(eth1);
  assert.equal((await n.pif(t.access)).primary_address_type, 'IPv6');
  await untunnel(t);
  await n.call('PIF.set_primary_address_type', eth1, 'IPv4');
  const u = await tunnel(eth1);
  assert.equal((await n.pif(u.access)).primary_address_type, 'IPv4');
  await untunnel(u);
  await n.reconfigureIp(eth1, 'None');
  await n.call('SDN_controller.forget', sdn);
});

test('seed: the transport must be IP-enabled (TRANSPORT_PIF_NOT_CONFIGURED, nothing created); a secondary interface, a VLAN and a bond qualify', async () => {
  const sdn = await controller();
  const net = await n.newNetwork('private');
  await n.refusedDeep(['TRANSPORT_PIF_NOT_CONFIGURED', eth1], 'tunnel.create', eth1, net, 'gre');
  assert.deepEqual(await n.all('tunnel'), {});

  await n.reconfigureIp(eth1, 'Static', '192.168.60.5', '255.255.255.0');
  const t = (await n.call('tunnel.create', eth1, net, 'gre')) as string;
  const access = (await n.rec('tunnel', t)).access_PIF as string;
  // the transport loses its IP: the access PIF cannot be plugged again
  await n.reconfigureIp(eth1, 'None');
  await n.call('PIF.unplug', access);
  await n.refusedDeep(['TRANSPORT_PIF_NOT_CONFIGURED', eth1], 'PIF.plug', access);
  await n.reconfigureIp(eth1, 'Static', '192.168.60.5', '255.255.255.0');
  await n.call('PIF.plug', access);
  assert.equal((await n.pif(access)).currently_attached, true);
  // unplugging the transport takes the tunnels it carries down with it
  await n.call('PIF.unplug', eth1);
  assert.equal((await n.pif(access)).currently_attached, false);
  await n.call('PIF.plug', eth1);
  await n.call('tunnel.destroy', t);

  const vnet = await n.newNetwork('vlan 70');
  const vlan = (await n.call('VLAN.create', eth2, 70, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  await n.reconfigureIp(untagged, 'Static', '192.168.70.5', '255.255.255.0');
  const onVlan = (await n.call('tunnel.create', untagged, net, 'gre')) as string;
  assert.equal((await n.rec('tunnel', onVlan)).transport_PIF, untagged);
  await n.call('tunnel.destroy', onVlan);
  await n.call('VLAN.destroy', vlan);
  await n.call('network.destroy', vnet);
  await n.reconfigureIp(eth1, 'None');
  await n.call('network.destroy', net);
  await n.call('SDN_controller.forget', sdn);
});

test('seed: tunnel.create needs a controller (OPERATION_NOT_ALLOWED) and the vSwitch on every host (OPENVSWITCH_NOT_ACTIVE)', async () => {
  const net = await n.newNetwork('private');
  const before = await n.snapshot();
  const err = await n.fail('tunnel.create', eth0, net, 'gre');
  assert.equal(err[0], 'OPERATION_NOT_ALLOWED');
  assert.equal(err.length, 2);
  assert.match(err[1], /controller/i);
  await n.assertUnchanged(before);

  const sdn = await controller();
  // a pool member on the Linux bridge: a host record the one-host daemon cannot have joined
  const h2 = n.secondHost([]);
  n.db(h2.host, { software_version: { network_backend: 'bridge' } });
  await n.refusedDeep(['OPENVSWITCH_NOT_ACTIVE'], 'tunnel.create', eth0, net, 'gre');
  n.d.db.transact((tx) => tx.delete(h2.host));
  const sv = (await n.rec('host', n.host)).software_version as Record<string, string>;
  n.db(n.host, { software_version: { ...sv, network_backend: 'bridge' } }); // the backend is chosen at install time
  try {
    await n.refused(['OPENVSWITCH_NOT_ACTIVE'], 'tunnel.create', eth0, net, 'gre');
  } finally { n.db(n.host, { software_version: sv }); }
  await n.call('SDN_controller.forget', sdn);
  await n.call('network.destroy', net);
});

test('tunnel.create refuses unmanaged networks and PIFs, connected networks, bond slaves and access PIFs', async () => {
  const sdn = await controller();
  const net = await n.newNetwork('private');
  const unmanaged = await n.newNetwork('unmanaged', { managed: false });
  await n.refusedDeep(['NETWORK_UNMANAGED', unmanaged], 'tunnel.create', eth0, unmanaged, 'gre');
  await n.call('network.destroy', unmanaged);
  await n.refused(['NETWORK_ALREADY_CONNECTED', n.host, eth1], 'tunnel.create', eth0, (await n.pif(eth1)).network, 'gre');

  n.nics.push(nic('eth3', '02:00:00:00:01:03'));
  const un = (await n.call('PIF.introduce', n.host, '', 'eth3', false)) as string;
  await n.refused(['PIF_UNMANAGED', un], 'tunnel.create', un, net, 'gre');
  const unNet = (await n.pif(un)).network;
  await n.call('PIF.forget', un);
  await n.call('network.destroy', unNet);
  n.nics.splice(3);

  const bnet = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', bnet, [eth1, eth2], '', 'balance-slb', {})) as string;
  await n.refusedDeep(['CANNOT_ADD_TUNNEL_TO_BOND_SLAVE', eth1], 'tunnel.create', eth1, net, 'gre');
  await n.call('Bond.destroy', bond);
  await n.call('network.destroy', bnet);

  const a = await tunnel(eth0);
  await n.refused(['IS_TUNNEL_ACCESS_PIF', a.access], 'tunnel.create', a.access, net, 'gre');
  await untunnel(a);
  await n.call('network.destroy', net);
  await n.call('SDN_controller.forget', sdn);
});

test('tunnel.create refuses SR-IOV transports and SR-IOV networks', async () => {
  const sdn = await controller();
  const net = await n.newNetwork('private');
  const snet = await n.newNetwork('sriov');
  const s = n.sriov(eth2, snet);
  await n.reconfigureIp(s.logical, 'Static', '192.168.80.5', '255.255.255.0');
  await n.refusedDeep(['CANNOT_ADD_TUNNEL_TO_SRIOV_LOGICAL', s.logical], 'tunnel.create', s.logical, net, 'gre');
  const vnet = await n.newNetwork('vlan on sriov');
  const vlan = (await n.call('VLAN.create', s.logical, 80, vnet)) as string;
  const untagged = (await n.rec('VLAN', vlan)).untagged_PIF as string;
  await n.reconfigureIp(untagged, 'Static', '192.168.81.5', '255.255.255.0');
  await n.refused(['CANNOT_ADD_TUNNEL_TO_VLAN_ON_SRIOV_LOGICAL', untagged], 'tunnel.create', untagged, net, 'gre');

  // networks whose PIFs (on another host) are SR-IOV logical PIFs or VLANs on them
  const h2 = n.secondHost([nic('eth2', '02:00:00:00:02:02')]);
  const s2net = await n.newNetwork('sriov on host2');
  const s2 = n.sriov(h2.pifs[0], s2net);
  await n.refusedDeep(['NETWORK_INCOMPATIBLE_WITH_TUNNEL', s2net], 'tunnel.create', eth0, s2net, 'gre');
  const v2net = await n.newNetwork('vlan on sriov on host2');
  await n.call('VLAN.create', s2.logical, 81, v2net);
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_TUNNEL', v2net], 'tunnel.create', eth0, v2net, 'gre');
  // and a bond cannot be made on such a network either
  await n.refused(['NETWORK_INCOMPATIBLE_WITH_BOND', v2net], 'Bond.create', v2net, [eth1, (await n.pifRef('eth0'))], '', 'balance-slb', {});

  n.d.db.transact((tx) => {
    dropVlans(tx);
    for (const x of [s, s2]) dropSriov(tx, x);
    dropHost(tx, h2);
  });
  for (const x of [net, snet, vnet, s2net, v2net]) await n.call('network.destroy', x);
  await n.call('SDN_controller.forget', sdn);
});

// ---- tunnel.destroy ----

test('tunnel.destroy runs PIF.unplug\'s checks on the access PIF (VIF_IN_USE, PIF_DOES_NOT_ALLOW_UNPLUG, HA_IS_ENABLED)', async () => {
  const sdn = await controller();
  const a = await tunnel(eth0);
  const vm = await n.vm('private guest', { running: true });
  const vif = await n.vif(vm, a.network, { attached: true });
  await n.refusedDeep(['VIF_IN_USE', a.network, vif], 'tunnel.destroy', a.tunnel);
  await n.dropVif(vif);
  await n.call('PIF.set_disallow_unplug', a.access, true);
  await n.refused(['PIF_DOES_NOT_ALLOW_UNPLUG', a.access], 'tunnel.destroy', a.tunnel);
  await n.call('PIF.set_disallow_unplug', a.access, false);
  await n.setHa(true);
  try {
    await n.refused(['HA_IS_ENABLED'], 'tunnel.destroy', a.tunnel);
  } finally { await n.setHa(false); }
  await untunnel(a);
  await n.call('SDN_controller.forget', sdn);
});

test('a tunnel on a bond member moves up to the bond, and back down to the primary slave', async () => {
  const sdn = await controller();
  await n.reconfigureIp(eth1, 'Static', '192.168.90.5', '255.255.255.0');
  const a = await tunnel(eth1, 'vxlan');
  const bnet = await n.newNetwork('bond');
  const bond = (await n.call('Bond.create', bnet, [eth1, eth2], '', 'balance-slb', {})) as string;
  const master = (await n.bond(bond)).master as string;
  let tunnels = Object.values(await n.all('tunnel'));
  assert.equal(tunnels.length, 1);
  assert.equal(tunnels[0].transport_PIF, master);
  assert.equal(tunnels[0].protocol, 'vxlan');
  assert.equal((await n.pif(tunnels[0].access_PIF as string)).network, a.network);
  assert.equal((await n.pif(master)).IP, '192.168.90.5', 'the transport\'s IP went with it');
  await n.call('Bond.destroy', bond);
  tunnels = Object.values(await n.all('tunnel'));
  assert.equal(tunnels.length, 1);
  assert.equal(tunnels[0].transport_PIF, eth1);
  assert.equal((await n.pif(tunnels[0].access_PIF as string)).network, a.network);
  await n.call('tunnel.destroy', Object.keys(await n.all('tunnel'))[0]);
  await n.call('network.destroy', a.network);
  await n.call('network.destroy', bnet);
  await n.reconfigureIp(eth1, 'None');
  await n.call('SDN_controller.forget', sdn);
});

/** What every test must leave behind it: the host as it started (checked after each test, on its own daemon). */
async function asStarted(): Promise<void> {
  assert.deepEqual(await n.all('tunnel'), {});
  assert.deepEqual(await n.all('SDN_controller'), {});
  assert.deepEqual(Object.keys(await n.all('PIF')).sort(), [eth0, eth1, eth2].sort());
  assert.equal(await n.mgmt(), eth0);
}
