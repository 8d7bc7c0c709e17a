// compile(db, host) is pure: the same database gives the same desired state. A golden file pins
// a host with a LACP bond, a VLAN, a private network, a locked and rate-limited VIF and a
// disabled one (uuids, cookies, keys and meter ids, which derive from random uuids, normalised);
// a second pins the OpenFlow tables and meters the Open vSwitch backend makes of it.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import { ovsTables } from '../src/agent/ovsflows.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

/** Replace what derives from random uuids by stable names, in order of appearance (`names` carries them from one text to the next). */
function normalise(v: unknown, names = new Map<string, string>()): string {
  let text = JSON.stringify(v, null, 2);
  const name = (kind: string, x: string) => { if (!names.has(x)) names.set(x, `<${kind}${[...names.values()].filter((n) => n.startsWith(`<${kind}`)).length + 1}>`); return names.get(x)!; };
  text = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => name('uuid', u));
  text = text.replace(/0x[0-9a-f]{9,16}/g, (c) => name('cookie', c));
  // tunnel access PIFs get random MACs (the test's own start with 02:)
  text = text.replace(/"((?!02:)[0-9a-f]{2}(:[0-9a-f]{2}){5})"/g, (_m, mac: string) => `"${name('mac', mac)}"`);
  text = text.replace(/"id": (\d+)/g, (_m, id: string) => `"id": "${name('meter', id)}"`).replace(/meter:(\d+)/g, (_m, id: string) => `meter:${name('meter', id)}`);
  text = text.replace(/"key": "(\d+)"/g, (_m, k: string) => `"key": "${name('key', k)}"`).replace(/gre(\d+)\./g, (_m, k: string) => `gre${name('key', k)}.`);
  return text + '\n';
}

describe('compile', () => {
  let d: TestDaemon;
  let s: string;
  before(async () => {
    d = await startTestDaemon();
    s = await login(d.url);
    const pif = async (dev: string) => Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, `field "device"="${dev}" and field "VLAN"="-1"`])) as object)[0];
    const [eth0, eth1, eth2] = [await pif('eth0'), await pif('eth1'), await pif('eth2')];
    const bnet = await call(d.url, 'network.create', [s, { name_label: 'bond', MTU: 9000, other_config: {} }]);
    await call(d.url, 'Bond.create', [s, bnet, [eth1, eth2], '02:00:00:00:0b:00', 'lacp', { 'lacp-time': 'fast' }]);
    const vnet = await call(d.url, 'network.create', [s, { name_label: 'vlan 100', MTU: 1500, other_config: {} }]);
    await call(d.url, 'VLAN.create', [s, eth0, 100, vnet]);
    await call(d.url, 'SDN_controller.introduce', [s, 'pssl', '', 0]);
    const pnet = await call(d.url, 'network.create', [s, { name_label: 'private', MTU: 1500, other_config: {} }]);
    await call(d.url, 'tunnel.create', [s, eth0, pnet, 'gre']);
    const xenbr0 = ((await call(d.url, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const vm = await call(d.url, 'VM.create', [s, { name_label: 'vm', other_config: {} }]);
    const vif = (net: unknown, device: string, mac: string) => call(d.url, 'VIF.create', [s, { device, network: net, VM: vm, MAC: mac, MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }]);
    const locked = await vif(xenbr0, '0', '02:aa:00:00:00:01');
    await call(d.url, 'VIF.set_ipv4_allowed', [s, locked, ['10.0.0.50']]);
    await call(d.url, 'VIF.set_locking_mode', [s, locked, 'locked']);
    await call(d.url, 'VIF.set_qos_algorithm_type', [s, locked, 'ratelimit']);
    await call(d.url, 'VIF.add_to_qos_algorithm_params', [s, locked, 'kbps', '100']);
    const onVlan = await vif(vnet, '1', '02:aa:00:00:00:02');
    await call(d.url, 'VIF.set_locking_mode', [s, onVlan, 'disabled']);
    await vif(pnet, '2', '02:aa:00:00:00:03');
    await call(d.url, 'VM.start', [s, vm, false, false]);
  });
  after(async () => { await d?.dispose(); });

  const host = () => [...d.db.all('host')][0].ref;

  const golden = (name: string, text: string) => {
    const file = new URL(`./golden/${name}`, import.meta.url);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
    assert.equal(text, readFileSync(file, 'utf8'));
  };

  it('matches the golden desired state, and its OpenFlow tables and meters theirs', () => {
    const desired = compile(d.db, host());
    const names = new Map<string, string>();
    golden('compile-host.json', normalise(desired, names));
    golden('compile-host-ovs.json', normalise(ovsTables(desired), names));
  });

  it('is pure: the same database gives the same state, and reading it changes nothing', () => {
    const gen = d.db.generation;
    assert.deepEqual(compile(d.db, host()), compile(d.db, host()));
    assert.equal(d.db.generation, gen);
  });
});
