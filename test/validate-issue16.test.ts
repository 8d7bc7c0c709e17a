// The API-side rows of issue 16, one test each, over JSON-RPC to a real poolnetd: every value
// that was stored unchecked (and then reached ip, hostname, resolv.conf, OVSDB or an OpenFlow
// meter) is refused with the reference's code, and the pool database is left as it was.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, canonical, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

type Rec = Record<string, unknown>;

let d: TestDaemon;
let s: string;
let host: string;
let eth1: string;
let eth1Network: string;
let vm: string;

const c = (method: string, ...params: unknown[]): Promise<unknown> => call(d.url, method, [s, ...params]);
const all = async (cls: string): Promise<unknown> => canonical(await c(`${cls}.get_all_records`));

/** The call fails with exactly `expected`, and no record of `classes` changed. */
async function refused(classes: string[], expected: string[], method: string, ...params: unknown[]): Promise<void> {
  const before = await Promise.all(classes.map(all));
  assert.deepEqual(await failure(c(method, ...params)), expected);
  assert.deepEqual(await Promise.all(classes.map(all)), before, `${method}: nothing is stored`);
}

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  host = ((await c('host.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
  [eth1, eth1Network] = Object.entries(pifs).filter(([, r]) => r.device === 'eth1').map(([ref, r]) => [ref, r.network as string])[0];
  vm = (await c('VM.create', { name_label: 'tenant', other_config: {} })) as string;
});

after(async () => { await d?.dispose(); });

/** PIF.db_introduce's 23 parameters: a plausible secondary PIF on eth1's network, with `patch` over it. */
function introduceArgs(patch: Rec): unknown[] {
  const r: Rec = {
    device: 'eth7', network: eth1Network, host, MAC: '02:00:00:00:01:07', MTU: 1500, VLAN: -1, physical: true,
    ip_configuration_mode: 'Static', IP: '10.7.0.5', netmask: '255.255.255.0', gateway: '10.7.0.1', DNS: '10.7.0.1',
    bond_slave_of: 'OpaqueRef:NULL', VLAN_master_of: 'OpaqueRef:NULL', management: false, other_config: {}, disallow_unplug: false,
    ipv6_configuration_mode: 'None', IPv6: [], ipv6_gateway: '', primary_address_type: 'IPv4', managed: true, properties: {}, ...patch,
  };
  return Object.values(r);
}

test('high: PIF.db_introduce refuses an IP, netmask, gateway, DNS or MAC that is not one (a newline became an ip -batch line run as root)', async () => {
  const cmd = '\nnetns exec x sh -c id';
  await refused(['PIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'IP'], 'PIF.db_introduce', ...introduceArgs({ IP: `10.7.0.5/24 dev xenbr1${cmd}` }));
  await refused(['PIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'netmask'], 'PIF.db_introduce', ...introduceArgs({ netmask: `255.255.255.0${cmd}` }));
  await refused(['PIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'gateway'], 'PIF.db_introduce', ...introduceArgs({ gateway: `10.7.0.1${cmd}` }));
  await refused(['PIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'DNS'], 'PIF.db_introduce', ...introduceArgs({ DNS: `10.7.0.1\nnameserver 6.6.6.6` }));
  await refused(['PIF'], ['MAC_INVALID', `02:00:00:00:01:07${cmd}`], 'PIF.db_introduce', ...introduceArgs({ MAC: `02:00:00:00:01:07${cmd}` }));
  await refused(['PIF'], ['INVALID_VALUE', 'device', 'eth7 type dummy'], 'PIF.db_introduce', ...introduceArgs({ device: 'eth7 type dummy' }));
  // and the same record with good values is taken
  const pif = (await c('PIF.db_introduce', ...introduceArgs({}))) as string;
  assert.equal(((await c('PIF.get_record', pif)) as Rec).IP, '10.7.0.5');
  await c('PIF.db_forget', pif);
});

test('high: network.create refuses a bridge name with a newline (it became an ip command on the Linux bridge stack)', async () => {
  await refused(['network'], ['INVALID_VALUE', 'bridge', 'br7\nlink del eth0'], 'network.create', { name_label: 'evil', MTU: 1500, other_config: {}, bridge: 'br7\nlink del eth0' });
  await refused(['network'], ['INVALID_VALUE', 'bridge', '-br7'], 'network.create', { name_label: 'evil', MTU: 1500, other_config: {}, bridge: '-br7' });
});

test('high: an IPv6 zone index is not an allowed address (VIF.create, add_ipv6_allowed, set_ipv6_allowed): locking cannot fail open', async () => {
  const net = (await c('network.create', { name_label: 'locked', MTU: 1500, other_config: {}, bridge: '' })) as string;
  await refused(['VIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed'], 'VIF.create',
    { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, locking_mode: 'locked', ipv6_allowed: ['fe80::1%eth0'] });
  const vif = (await c('VIF.create', { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, locking_mode: 'locked' })) as string;
  await refused(['VIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed'], 'VIF.add_ipv6_allowed', vif, 'fe80::1%eth0');
  await refused(['VIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed'], 'VIF.set_ipv6_allowed', vif, ['fd00::1', 'fe80::1%eth0']);
  await refused(['VIF'], ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed'], 'VIF.add_ipv6_allowed', vif, '[fd00::1]');
  await c('VIF.add_ipv6_allowed', vif, 'fe80::1');
  assert.deepEqual(((await c('VIF.get_record', vif)) as Rec).ipv6_allowed, ['fe80::1']);
  await c('VIF.destroy', vif);
});

test('medium: VIF other_config:mtu=1.5, PIF other_config:bond-updelay=99999999999999999999 and VLAN.pool_introduce tag 5000 are refused', async () => {
  const vif = (await c('VIF.create', { device: '1', network: eth1Network, VM: vm, MAC: '', MTU: 1500, other_config: {} })) as string;
  await refused(['VIF'], ['INVALID_VALUE', 'other_config', 'mtu = 1.5'], 'VIF.add_to_other_config', vif, 'mtu', '1.5');
  await refused(['VIF'], ['INVALID_VALUE', 'other_config', 'mtu = 1.5'], 'VIF.set_other_config', vif, { mtu: '1.5' });
  await refused(['VIF'], ['INVALID_VALUE', 'other_config', 'mtu = 1.5'], 'VIF.create', { device: '2', network: eth1Network, VM: vm, MAC: '', MTU: 1500, other_config: { mtu: '1.5' } });
  const big = '99999999999999999999';
  await refused(['PIF'], ['INVALID_VALUE', 'other_config', `bond-updelay = ${big}`], 'PIF.add_to_other_config', eth1, 'bond-updelay', big);
  await refused(['PIF'], ['INVALID_VALUE', 'other_config', `bond-downdelay = -1`], 'PIF.set_other_config', eth1, { 'bond-downdelay': '-1' });
  const untagged = ((await c('PIF.get_all')) as string[]).find((r) => r !== eth1)!;
  await refused(['VLAN', 'PIF'], ['VLAN_TAG_INVALID', '5000'], 'VLAN.pool_introduce', eth1, untagged, 5000, {});
  await refused(['VLAN', 'PIF'], ['VLAN_TAG_INVALID', '-1'], 'VLAN.pool_introduce', eth1, untagged, -1, {});
  await c('VIF.destroy', vif);
});

test('low: host.set_hostname is checked like set_hostname_live (-F/etc/shadow reached hostname)', async () => {
  await refused(['host'], ['HOST_NAME_INVALID', 'hostname contains invalid characters'], 'host.set_hostname', host, '-F/etc/shadow');
  await refused(['host'], ['HOST_NAME_INVALID', 'hostname contains invalid characters'], 'host.set_hostname', host, 'host1\n127.0.0.1 evil');
  await refused(['host'], ['HOST_NAME_INVALID', 'hostname empty'], 'host.set_hostname', host, '');
  await refused(['host'], ['HOST_NAME_INVALID', 'hostname contains invalid characters'], 'host.set_hostname_live', host, '-F/etc/shadow');
});

test('low: newlines in PIF other_config:domain are refused (they became resolv.conf lines)', async () => {
  await refused(['PIF'], ['INVALID_VALUE', 'other_config', 'domain = example.com\nnameserver 6.6.6.6'], 'PIF.add_to_other_config', eth1, 'domain', 'example.com\nnameserver 6.6.6.6');
  await refused(['PIF'], ['INVALID_VALUE', 'other_config', 'domain = example.com;x'], 'PIF.set_other_config', eth1, { domain: 'example.com;x' });
  await c('PIF.add_to_other_config', eth1, 'domain', 'example.com,lab.example.org');
  await c('PIF.remove_from_other_config', eth1, 'domain');
});

test('low: network.set_MTU -5 is refused; network.create keeps xapi\'s "MTU <= 0 is 1500"', async () => {
  const net = (await c('network.create', { name_label: 'mtu', MTU: -5, other_config: {}, bridge: '' })) as string;
  assert.equal(((await c('network.get_record', net)) as Rec).MTU, 1500);
  await refused(['network'], ['INVALID_VALUE', 'MTU', '-5'], 'network.set_MTU', net, -5);
  await refused(['network'], ['INVALID_VALUE', 'MTU', '65536'], 'network.set_MTU', net, 65536);
  await refused(['network'], ['INVALID_VALUE', 'MTU', '70000'], 'network.create', { name_label: 'mtu', MTU: 70000, other_config: {}, bridge: '' });
  await c('network.set_MTU', net, 9000);
  await c('network.destroy', net);
});

test('low: a QoS rate an OpenFlow meter cannot carry (kbit/s over 32 bits) is refused; the largest one that fits is taken', async () => {
  // the agent sets kbps * 1024 * 8 / 1000 kbit/s: 524287999 KiB/s is 4294967288 kbit/s, 524288000 overflows
  const vif = (await c('VIF.create', { device: '3', network: eth1Network, VM: vm, MAC: '', MTU: 1500, other_config: {} })) as string;
  await refused(['VIF'], ['INVALID_VALUE', 'qos_algorithm_params', 'kbps = 524288000'], 'VIF.add_to_qos_algorithm_params', vif, 'kbps', '524288000');
  await refused(['VIF'], ['INVALID_VALUE', 'qos_algorithm_params', 'kbps = 99999999999999999999'], 'VIF.set_qos_algorithm_params', vif, { kbps: '99999999999999999999' });
  await refused(['VIF'], ['INVALID_VALUE', 'qos_algorithm_params', 'kbps = 600000000'], 'VIF.create',
    { device: '4', network: eth1Network, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '600000000' } });
  await c('VIF.add_to_qos_algorithm_params', vif, 'kbps', '524287999');
  assert.equal(((await c('VIF.get_record', vif)) as { qos_algorithm_params: Rec }).qos_algorithm_params.kbps, '524287999');
  await c('VIF.destroy', vif);
});
