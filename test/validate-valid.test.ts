// The value syntax predicates (src/model/valid.ts) on the cases that matter: what the kernel,
// ip, OpenFlow, resolv.conf and xapi take, and the hostile texts of issue 16.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XapiError } from '../src/model/index.ts';
import * as v from '../src/model/valid.ts';
import { checkHostInfo, type HostInfo } from '../src/ops/pool_join.ts';

const yes = (p: (x: never) => boolean, xs: unknown[]) => { for (const x of xs) assert.equal(p(x as never), true, `${JSON.stringify(x)} is accepted`); };
const no = (p: (x: never) => boolean, xs: unknown[]) => { for (const x of xs) assert.equal(p(x as never), false, `${JSON.stringify(x)} is refused`); };

test('addresses: IPv4, netmasks, IPv6 without zone index or brackets, CIDRs, DNS lists', () => {
  yes(v.isIpv4, ['10.0.0.1', '0.0.0.0', '255.255.255.255']);
  no(v.isIpv4, ['10.0.0.01', '10.0.0', '10.0.0.256', ' 10.0.0.1', '10.0.0.1\n', '::1', '']);
  yes(v.isNetmask, ['255.255.255.0', '255.255.0.0', '0.0.0.0', '255.255.255.255']);
  no(v.isNetmask, ['255.0.255.0', '255.255.255.1', '24', '']);
  yes(v.isIpv6, ['fe80::1', '::', '::ffff:10.0.0.1', 'FD00::A']);
  no(v.isIpv6, ['fe80::1%eth0', '[fd00::1]', 'fd00::1/64', 'fd00:::1', '', 'fd00::1\n']);
  yes(v.isIpv4Cidr, ['10.0.0.0/24', '10.0.0.1/32', '0.0.0.0/0']);
  no(v.isIpv4Cidr, ['10.0.0.0/33', '10.0.0.0', '10.0.0.0/', '10.0.0.0/024x', '10.0.0.0/24\n']);
  yes(v.isIpv6Cidr, ['fd00::/64', 'fd00::1/128']);
  no(v.isIpv6Cidr, ['fd00::/129', 'fe80::1%eth0/64', 'fd00::']);
  // a VIF's allowed entries: addresses, and prefixes without host bits (a typo must not widen a lock)
  yes(v.isIpv4Prefix, ['10.77.0.0/24', '10.0.0.1/32', '0.0.0.0/0', '10.79.0.8/29', '10.128.0.0/9']);
  no(v.isIpv4Prefix, ['10.77.0.104/24', '10.0.0.1/0', '10.79.0.9/29', '10.192.0.0/9', '10.0.0.0', '10.0.0.0/33']);
  yes(v.isIpv6Prefix, ['fd00::/64', 'fd00::1/128', '::/0', '2001:db8:1::/48', '::ffff:10.0.0.0/120', 'fd00:0:0:1::/64']);
  no(v.isIpv6Prefix, ['fd00::1/64', '::1/127', '2001:db8:1:8000::/48', '::ffff:10.0.0.1/120', 'fd00::/129', 'fd00::']);
  yes(v.isIpv4Allowed, ['10.77.0.104', '10.77.0.0/24']);
  no(v.isIpv4Allowed, ['10.77.0.104/24', 'fd00::1']);
  yes(v.isIpv6Allowed, ['fd00::1', 'fd00::/64']);
  no(v.isIpv6Allowed, ['fd00::1/64', '10.0.0.1']);
  const err = (t: 'ipv4OrCidr' | 'ipv6OrCidr', x: string) => { try { v.checkValue(t, `${t.slice(0, 4)}_allowed`, x); return undefined; } catch (e) { return e instanceof XapiError ? [e.code, ...e.params] : e; } };
  assert.deepEqual(err('ipv4OrCidr', '10.77.0.104/24'), ['INVALID_CIDR_ADDRESS_SPECIFIED', 'ipv4_allowed']);
  assert.deepEqual(err('ipv4OrCidr', '10.77.0.300'), ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv4_allowed']);
  assert.deepEqual(err('ipv6OrCidr', 'fd00::1/64'), ['INVALID_CIDR_ADDRESS_SPECIFIED', 'ipv6_allowed']);
  assert.equal(err('ipv4OrCidr', '10.77.0.0/24'), undefined);
  yes(v.isDnsList, ['', '10.0.0.1', '10.0.0.1,fd00::53']);
  no(v.isDnsList, ['10.0.0.1,', '10.0.0.1, 10.0.0.2', '10.0.0.1\nnameserver 6.6.6.6', 'dns.example.com']);
  yes(v.isMac, ['02:00:00:00:01:00', 'FE:ff:ff:ff:ff:ff']);
  no(v.isMac, ['02:00:00:00:01', '02-00-00-00-01-00', '02:00:00:00:01:00\n', '']);
});

test('names: interfaces (kernel rules, narrower), host names (RFC 1123 for the agent, xapi\'s for the API), search domains', () => {
  yes(v.isIfName, ['eth0', 'xenbr0', 'bond0', 'eth1.5', 'vif12.0', 'a', 'x'.repeat(15)]);
  no(v.isIfName, ['', 'x'.repeat(16), '.', '..', '-eth0', 'eth 0', 'eth0\n', 'eth/0', 'eth:0', 'eth0,x', 'eth0;x', 'éth0']);
  yes(v.isHostname, ['host1', 'xs-01.example.com', 'a'.repeat(63)]);
  no(v.isHostname, ['-F/etc/shadow', 'a'.repeat(64), 'host-', 'a..b', '', 'h\nx', 'h_1']);
  yes(v.isXapiHostname, ['host1', `${'a'.repeat(127)}.${'b-c'.repeat(42)}a`]);
  no(v.isXapiHostname, ['-F/etc/shadow', 'host-', 'a'.repeat(256), 'h x', '']);
  yes(v.isDomain, ['', 'example.com', 'example.com,lab.example.org', 'a.com b.org', 'example.com.']);
  no(v.isDomain, ['example.com\nnameserver 6.6.6.6', 'example.com;x', '-x.com', 'ex_ample.com']);
});

test('numbers: VLAN tags 0..4094, MTU 68..65535, meter rates within 32 bits of kbit/s, milliseconds within a C int', () => {
  yes(v.isVlanTag, [0, 1, 4094, '4094']);
  no(v.isVlanTag, [-1, 4095, 5000, 1.5, '5\n', NaN]);
  yes(v.isMtu, [68, 1500, 9000, 65535, '1500']);
  no(v.isMtu, [-5, 0, 67, 65536, 1.5, '1.5', '1e3', ' 1500']);
  yes(v.isMeterKbps, [1, '100', 524287999]);
  no(v.isMeterKbps, [0, -1, '1.5', 524288000, '99999999999999999999']);
  assert.ok(Math.round((524287999 * 1024 * 8) / 1000) <= 0xffffffff && Math.round((524288000 * 1024 * 8) / 1000) > 0xffffffff);
  yes(v.isMillis, [0, '31000', 2147483647]);
  no(v.isMillis, [-1, '99999999999999999999', 2147483648, '1.5']);
});

test('bond properties and the other settings the agent reads', () => {
  yes(v.isBondMode, ['balance-slb', 'active-backup', 'lacp']);
  no(v.isBondMode, ['LACP', 'balance-tcp', '']);
  yes(v.isHashingAlgorithm, ['src_mac', 'tcpudp_ports']);
  yes(v.isLacpTime, ['fast', 'slow']);
  no(v.isLacpTime, ['fast\n', 'medium']);
  yes(v.isStaticRoutes, ['', '10.1.0.0/16/10.0.0.1', '10.1.0.0/16/10.0.0.1,10.2.0.0/24/10.0.0.2']);
  no(v.isStaticRoutes, ['10.1.0.0/16', '10.1.0.0/16/10.0.0.1\nx', '10.1.0.0/16/10.0.0.1/x']);
  yes(v.isWord, ['on', 'x1', '100', 'a:b']);
  no(v.isWord, ['-x', 'a b', 'a;b', 'a,b', '"a"', '']);
});

test('every value type refuses newlines, NUL and non-ASCII text in a value it would otherwise take', () => {
  const sample: Record<v.ValueTypeName, string> = {
    ipv4: '10.0.0.1', ipv4Cidr: '10.0.0.0/24', ipv4OrCidr: '10.0.0.1', netmask: '255.0.0.0', ipv6: 'fd00::1', ipv6Cidr: 'fd00::/64',
    ipv6OrCidr: 'fd00::1', ipAny: '10.0.0.1', dnsList: '10.0.0.1', mac: '02:00:00:00:00:01', ifName: 'eth0', hostname: 'h1', domain: 'a.com',
    vlanTag: '5', mtu: '1500', meterKbps: '100', millis: '100', bondMode: 'lacp', hashingAlgorithm: 'src_mac', lacpTime: 'fast', boolText: 'true',
    lacpAggregationKey: '1', bondDetectMode: 'carrier', staticRoutes: '10.1.0.0/16/10.0.0.1', port: '80', vlanOrNone: '5', deviceIndex: '0',
    word: 'x', dnsInput: '10.0.0.1',
  };
  for (const [name, good] of Object.entries(sample) as [v.ValueTypeName, string][]) {
    const t = v.VALUE_TYPES[name];
    assert.equal(t.check(good), true, `${name}: ${good}`);
    for (const bad of [`${good}\n`, `${good}\0`, `${good}\r`, `${good}é`]) assert.equal(t.check(bad), false, `${name}: ${JSON.stringify(bad)}`);
  }
});

test('pool.join_introduce: what a joining host says about itself is checked like the API\'s values (host_info is a free struct)', () => {
  const good: HostInfo = {
    uuid: '6f1c1a8e-2f5b-4f5e-9d2a-0c1b2a3d4e5f', hostname: 'host2', address: '10.0.0.12', software_version: { network_backend: 'openvswitch' },
    nics: [{ device: 'eth0', mac: '02:00:00:00:02:00', mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '' }],
    management: { device: 'eth0', mode: 'Static', IP: '10.0.0.12', netmask: '255.255.255.0', gateway: '10.0.0.1', DNS: '10.0.0.1' },
  };
  checkHostInfo(good);
  const refused = (patch: Partial<HostInfo>, code: string) =>
    assert.throws(() => checkHostInfo({ ...good, ...patch }), (e: unknown) => e instanceof XapiError && e.code === code, JSON.stringify(patch));
  refused({ hostname: '-F/etc/shadow' }, 'HOST_NAME_INVALID');
  refused({ address: '10.0.0.12\nx' }, 'INVALID_IP_ADDRESS_SPECIFIED');
  refused({ nics: [{ ...good.nics[0], device: 'eth0\nlink del eth0' }] }, 'INVALID_VALUE');
  refused({ nics: [{ ...good.nics[0], mac: 'zz' }] }, 'MAC_INVALID');
  refused({ management: { ...good.management, IP: '10.0.0.12/24 dev x' } }, 'INVALID_IP_ADDRESS_SPECIFIED');
  refused({ management: { ...good.management, DNS: '10.0.0.1\nnameserver 6.6.6.6' } }, 'INVALID_IP_ADDRESS_SPECIFIED');
  refused({ management: { ...good.management, mode: 'Static\n' } }, 'INVALID_VALUE');
  refused({ nics: 'eth0' as never }, 'INVALID_VALUE');
});
