// VIF semantics through the XenAPI (JSON-RPC): creation checks, hot(un)plug, move, the seed's
// switch-port locking procedures, QoS of 100 kB/s, guest IP settings and trunks. Every refusal
// is checked for its code and parameters, and for leaving the records as they were.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { effectiveLockingMode } from '../src/ops/vif.ts';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

type Rec = Record<string, unknown>;

let d: TestDaemon;
let s: string;
let host1: string;
let host2: string;
let net0: string; // eth0's network (xenbr0): a PIF on host1 only
let netRemote: string; // a PIF on host2 only
let netVlan: string; // carried by a VLAN PIF on host1
let eth1: string;

const c = (method: string, ...params: unknown[]): Promise<unknown> => call(d.url, method, [s, ...params]);
const rec = async (cls: string, ref: string): Promise<Rec> => (await c(`${cls}.get_record`, ref)) as Rec;

/** A record with its sets sorted: XenAPI sets have no order, and a rolled-back call may reorder one. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  return v;
}
const snapshot = async (refs: [string, string][]): Promise<unknown> => canonical(await Promise.all(refs.map(([cls, r]) => rec(cls, r))));

/** The call fails with exactly `expected`, and the records of `refs` are unchanged by it. */
async function refused(p: () => Promise<unknown>, expected: string[], refs: [string, string][] = []): Promise<void> {
  const before = await snapshot(refs);
  assert.deepEqual(await failure(p()), expected);
  assert.deepEqual(await snapshot(refs), before);
}

let vmCount = 0;
async function newVm(otherConfig: Record<string, string> = {}): Promise<string> {
  return (await c('VM.create', { name_label: `vm${++vmCount}`, other_config: otherConfig })) as string;
}

async function newVif(vm: string, network: string, extra: Rec = {}): Promise<string> {
  return (await c('VIF.create', { device: '0', network, VM: vm, MAC: '', MTU: 1500, other_config: {}, ...extra })) as string;
}

/** A network with one PIF: on host2 (physical), or a VLAN PIF on host1 over eth1. */
function setUpTopology(): void {
  d.db.transact((tx) => {
    host2 = tx.create('host', { name_label: 'host2', hostname: 'host2', software_version: { network_backend: 'openvswitch' }, enabled: true });
    netRemote = tx.create('network', { name_label: 'remote', bridge: 'xenbr9', MTU: 1500, managed: true });
    const m2 = tx.create('PIF_metrics', {});
    tx.create('PIF', { device: 'eth0', device_name: 'eth0', network: netRemote, host: host2, MAC: '02:00:00:00:02:00', MTU: 1500, VLAN: -1, metrics: m2, physical: true, currently_attached: true, managed: true, properties: { gro: 'on' } });
    netVlan = tx.create('network', { name_label: 'vlan5', bridge: 'xapi50', MTU: 1500, managed: true });
    const tagged = tx.get(eth1)!;
    const untagged = tx.create('PIF', { device: 'eth1', device_name: 'eth1', network: netVlan, host: host1, MAC: 'fe:ff:ff:ff:ff:ff', MTU: 1500, VLAN: 5, metrics: tagged.rec.metrics, physical: false, currently_attached: true, managed: true });
    tx.create('VLAN', { tagged_PIF: eth1, untagged_PIF: untagged, tag: 5, other_config: {} });
  });
}

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  host1 = ((await c('host.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
  for (const [ref, p] of Object.entries(pifs)) {
    if (p.device === 'eth0') net0 = p.network as string;
    if (p.device === 'eth1') eth1 = ref;
  }
  setUpTopology();
});

after(async () => { await d.dispose(); });

// An independent transcription of xapi's gen_mac, to pin the deterministic MAC.
function expectedSeededMac(device: number, seed: string): string {
  let digest = createHash('md5').update(seed).digest();
  for (let i = 0; i < 2 * device; i++) digest = createHash('md5').update(digest).digest();
  const d2 = createHash('md5').update(digest).digest();
  const bytes = [...digest.subarray(0, 4), d2[1], d2[2]];
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

describe('VIF.create', () => {
  test('a VIF with every field given is stored as given', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0, { device: '2', MAC: '02:AB:cd:00:00:01', MTU: 9000, locking_mode: 'locked', ipv4_allowed: ['10.0.0.5', '10.0.0.5', '10.1.0.0/16'], ipv6_allowed: ['2001:db8::5'], qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '100' } });
    const r = await rec('VIF', vif);
    assert.equal(r.device, '2');
    assert.equal(r.MAC, '02:AB:cd:00:00:01');
    assert.equal(r.MAC_autogenerated, false);
    assert.equal(r.MTU, 9000);
    assert.equal(r.locking_mode, 'locked');
    assert.deepEqual(r.ipv4_allowed, ['10.0.0.5', '10.1.0.0/16']);
    assert.deepEqual(r.ipv6_allowed, ['2001:db8::5']);
    assert.deepEqual(r.qos_algorithm_params, { kbps: '100' });
    assert.equal(r.currently_attached, false);
    assert.deepEqual(await c('VM.get_VIFs', vm), [vif]);
    assert.ok(((await c('network.get_VIFs', net0)) as string[]).includes(vif));
  });

  test('MAC "" without a mac_seed: a random locally administered unicast MAC, flagged autogenerated', async () => {
    const vm = await newVm();
    const a = await rec('VIF', await newVif(vm, net0, { device: '0' }));
    const b = await rec('VIF', await newVif(vm, net0, { device: '1' }));
    for (const r of [a, b]) {
      assert.match(r.MAC as string, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      const first = parseInt((r.MAC as string).slice(0, 2), 16);
      assert.equal(first & 0x02, 0x02, 'locally administered');
      assert.equal(first & 0x01, 0, 'unicast');
      assert.equal(r.MAC_autogenerated, true);
    }
    assert.notEqual(a.MAC, b.MAC);
  });

  test('MAC "" with other_config:mac_seed: xapi\'s deterministic MAC per device', async () => {
    const seed = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    const vmA = await newVm({ mac_seed: seed });
    const vmB = await newVm({ mac_seed: seed });
    const a0 = await rec('VIF', await newVif(vmA, net0, { device: '0' }));
    const a3 = await rec('VIF', await newVif(vmA, net0, { device: '3' }));
    const b3 = await rec('VIF', await newVif(vmB, net0, { device: '3' }));
    assert.equal(a0.MAC, expectedSeededMac(0, seed));
    assert.equal(a3.MAC, expectedSeededMac(3, seed));
    assert.equal(b3.MAC, a3.MAC, 'same seed and device, same MAC');
    assert.notEqual(a0.MAC, a3.MAC);
    assert.equal(a3.MAC_autogenerated, true);
    const vmC = await newVm({ mac_seed: 'another seed' });
    for (let dev = 0; dev < 8; dev++) {
      const mac = (await rec('VIF', await newVif(vmC, net0, { device: String(dev) }))).MAC as string;
      assert.equal(mac, expectedSeededMac(dev, 'another seed'));
      assert.equal(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, 'locally administered unicast');
    }
    // a MAC given explicitly wins over the seed
    const given = await rec('VIF', await newVif(vmA, net0, { device: '4', MAC: '02:00:00:00:00:44' }));
    assert.equal(given.MAC, '02:00:00:00:00:44');
    assert.equal(given.MAC_autogenerated, false);
  });

  test('currently_attached is honoured only for a suspended VM', async () => {
    const halted = await newVm();
    const v1 = await newVif(halted, net0, { currently_attached: true });
    assert.equal(await c('VIF.get_currently_attached', v1), false);
    const suspended = await newVm();
    d.db.transact((tx) => tx.update(suspended, { power_state: 'Suspended' }));
    const v2 = await newVif(suspended, net0, { currently_attached: true });
    assert.equal(await c('VIF.get_currently_attached', v2), true);
  });

  test('refusals: INVALID_DEVICE, DEVICE_ALREADY_EXISTS, MAC_INVALID, HANDLE_INVALID; nothing is created', async () => {
    const vm = await newVm();
    await newVif(vm, net0, { device: '1' });
    for (const device of ['abc', '-1', '0x1', '1.0', '']) {
      assert.deepEqual(await failure(newVif(vm, net0, { device })), ['INVALID_DEVICE', device]);
    }
    assert.deepEqual(await failure(newVif(vm, net0, { device: '1' })), ['DEVICE_ALREADY_EXISTS', '1']);
    assert.deepEqual(await failure(newVif(vm, net0, { device: '01' })), ['DEVICE_ALREADY_EXISTS', '01'], 'device numbers compare as numbers');
    for (const mac of ['zz:00:00:00:00:00', '02:00:00:00:00', '0200.0000.0001', '02-00-00-00-00-01']) {
      assert.deepEqual(await failure(newVif(vm, net0, { device: '2', MAC: mac })), ['MAC_INVALID', mac]);
    }
    assert.deepEqual(await failure(newVif('OpaqueRef:nope', net0)), ['HANDLE_INVALID', 'VM', 'OpaqueRef:nope']);
    assert.deepEqual(await failure(newVif(vm, 'OpaqueRef:nope', { device: '2' })), ['HANDLE_INVALID', 'network', 'OpaqueRef:nope']);
    assert.equal(((await c('VM.get_VIFs', vm)) as string[]).length, 1);
  });

  test('refusals: trunks, allowed addresses and QoS are checked at creation', async () => {
    const vm = await newVm();
    const count = (await c('VIF.get_all') as string[]).length;
    assert.deepEqual(await failure(newVif(vm, netVlan, { trunks: [10] })), ['NETWORK_INCOMPATIBLE_WITH_TRUNKS', netVlan]);
    assert.deepEqual(await failure(newVif(vm, net0, { trunks: [4095] })), ['VLAN_TAG_INVALID', '4095']);
    assert.deepEqual(await failure(newVif(vm, net0, { ipv4_allowed: ['10.0.0.300'] })), ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv4_allowed']);
    assert.deepEqual(await failure(newVif(vm, net0, { ipv6_allowed: ['10.0.0.1'] })), ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed']);
    assert.deepEqual(await failure(newVif(vm, net0, { qos_algorithm_type: 'htb' })), ['INVALID_VALUE', 'qos_algorithm_type', 'htb']);
    assert.deepEqual(await failure(newVif(vm, net0, { qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '-5' } })), ['INVALID_VALUE', 'qos_algorithm_params', 'kbps = -5']);
    assert.equal((await c('VIF.get_all') as string[]).length, count);
    // trunks on a network without VLAN PIFs are fine
    const ok = await newVif(vm, net0, { trunks: [10, 20, 10] });
    assert.deepEqual(await c('VIF.get_trunks', ok), [10, 20]);
  });
});

describe('VIF.destroy, plug, unplug, unplug_force', () => {
  test('plug and unplug need a running VM: VM_BAD_POWER_STATE [vm, "running", actual]', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    for (const m of ['VIF.plug', 'VIF.unplug', 'VIF.unplug_force']) {
      await refused(() => c(m, vif), ['VM_BAD_POWER_STATE', vm, 'running', 'halted'], [['VIF', vif]]);
    }
    d.db.transact((tx) => tx.update(vm, { power_state: 'Paused' }));
    await refused(() => c('VIF.plug', vif), ['VM_BAD_POWER_STATE', vm, 'running', 'paused'], [['VIF', vif]]);
    d.db.transact((tx) => tx.update(vm, { power_state: 'Halted' }));
  });

  test('hot-unplug, hot-plug and their refusals on a running VM', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    assert.equal(await c('VIF.get_currently_attached', vif), true);
    await refused(() => c('VIF.plug', vif), ['DEVICE_ALREADY_ATTACHED', vif], [['VIF', vif]]);
    await c('VIF.unplug', vif);
    assert.equal(await c('VIF.get_currently_attached', vif), false);
    await refused(() => c('VIF.unplug', vif), ['DEVICE_ALREADY_DETACHED', vif], [['VIF', vif]]);
    await refused(() => c('VIF.unplug_force', vif), ['DEVICE_ALREADY_DETACHED', vif], [['VIF', vif]]);
    await c('VIF.plug', vif);
    assert.equal(await c('VIF.get_currently_attached', vif), true);
    await c('VIF.unplug_force', vif);
    assert.equal(await c('VIF.get_currently_attached', vif), false);
    await c('VM.hard_shutdown', vm);
  });

  test('a VIF on a network the VM\'s host cannot see cannot be plugged: HOST_CANNOT_ATTACH_NETWORK', async () => {
    const vm = await newVm();
    await c('VM.start', vm, false, false);
    const vif = await newVif(vm, netRemote);
    assert.equal(await c('VIF.get_currently_attached', vif), false, 'created detached on a running VM');
    await refused(() => c('VIF.plug', vif), ['HOST_CANNOT_ATTACH_NETWORK', host1, netRemote], [['VIF', vif], ['VM', vm]]);
    await c('VM.hard_shutdown', vm);
  });

  test('the control domain does not support hotplug', async () => {
    const dom0 = (await c('host.get_control_domain', host1)) as string;
    const vif = await newVif(dom0, net0, { device: '7' });
    await refused(() => c('VIF.plug', vif), ['OPERATION_NOT_ALLOWED', 'Control domain does not support hotplug'], [['VIF', vif]]);
    await c('VIF.destroy', vif);
  });

  test('destroy is refused while attached to a running VM', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    await refused(() => c('VIF.destroy', vif), ['OPERATION_NOT_ALLOWED', 'VIF currently attached to a running VM'], [['VIF', vif], ['VM', vm]]);
    await c('VIF.unplug', vif);
    await c('VIF.destroy', vif);
    assert.deepEqual(await c('VM.get_VIFs', vm), []);
    assert.deepEqual(await failure(c('VIF.get_record', vif)), ['HANDLE_INVALID', 'VIF', vif]);
    await c('VM.hard_shutdown', vm);
  });
});

describe('VIF.move', () => {
  test('a live VIF moves only to a network its host can see; a halted VM\'s VIF moves anywhere', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    await refused(() => c('VIF.move', vif, netRemote), ['HOST_CANNOT_ATTACH_NETWORK', host1, netRemote], [['VIF', vif]]);
    const internal = (await c('network.create', { name_label: 'internal', MTU: 1500, other_config: {} })) as string;
    await c('VIF.move', vif, internal);
    assert.equal(await c('VIF.get_network', vif), internal);
    assert.deepEqual(await c('network.get_VIFs', internal), [vif]);
    assert.ok(!((await c('network.get_VIFs', net0)) as string[]).includes(vif));
    assert.equal(await c('VIF.get_currently_attached', vif), true);
    await c('VM.hard_shutdown', vm);
    await c('VIF.move', vif, netRemote); // not active: no host to check
    assert.equal(await c('VIF.get_network', vif), netRemote);
  });

  test('a VIF with trunks cannot move to a VLAN network: NETWORK_INCOMPATIBLE_WITH_TRUNKS', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0, { trunks: [100] });
    await refused(() => c('VIF.move', vif, netVlan), ['NETWORK_INCOMPATIBLE_WITH_TRUNKS', netVlan], [['VIF', vif]]);
    await c('VIF.set_trunks', vif, []);
    await c('VIF.move', vif, netVlan);
    assert.equal(await c('VIF.get_network', vif), netVlan);
  });
});

describe('switch-port locking (the seed\'s procedures)', () => {
  test('change a VIF\'s locking mode: locked, unlocked, disabled, network_default (live, on a running VM)', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    assert.equal(await c('VIF.get_locking_mode', vif), 'network_default', 'VIFs start at network_default');
    assert.equal(effectiveLockingMode(d.db, d.db.get(vif)!), 'unlocked', 'networks start unlocked');
    for (const mode of ['locked', 'unlocked', 'disabled', 'network_default']) {
      await c('VIF.set_locking_mode', vif, mode);
      assert.equal(await c('VIF.get_locking_mode', vif), mode);
      assert.equal(effectiveLockingMode(d.db, d.db.get(vif)!), mode === 'network_default' ? 'unlocked' : mode);
    }
    assert.equal(await c('VIF.get_currently_attached', vif), true, 'changed live, without unplugging');
    assert.deepEqual(await failure(c('VIF.set_locking_mode', vif, 'closed')), ['INVALID_VALUE', 'value', 'closed']);
    await c('VM.hard_shutdown', vm);
  });

  test('restrict a VIF to addresses, add one, remove one (IPv4 and IPv6)', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    await c('VIF.set_locking_mode', vif, 'locked');
    await c('VIF.set_ipv4_allowed', vif, ['10.0.0.50']);
    assert.deepEqual(await c('VIF.get_ipv4_allowed', vif), ['10.0.0.50']);
    await c('VIF.add_ipv4_allowed', vif, '10.0.0.51');
    await c('VIF.add_ipv4_allowed', vif, '10.0.0.51'); // a set: no duplicate
    assert.deepEqual(await c('VIF.get_ipv4_allowed', vif), ['10.0.0.50', '10.0.0.51']);
    await c('VIF.remove_ipv4_allowed', vif, '10.0.0.50');
    await c('VIF.remove_ipv4_allowed', vif, '10.9.9.9'); // absent: no-op
    assert.deepEqual(await c('VIF.get_ipv4_allowed', vif), ['10.0.0.51']);
    await c('VIF.set_ipv6_allowed', vif, ['2001:db8::1', '2001:db8::1', '2001:db8:1::/64']);
    assert.deepEqual(await c('VIF.get_ipv6_allowed', vif), ['2001:db8::1', '2001:db8:1::/64'], 'de-duplicated');
    await c('VIF.add_ipv6_allowed', vif, 'fe80::1');
    await c('VIF.remove_ipv6_allowed', vif, '2001:db8::1');
    assert.deepEqual(await c('VIF.get_ipv6_allowed', vif), ['2001:db8:1::/64', 'fe80::1']);
    assert.deepEqual(await c('VIF.get_ipv4_allowed', vif), ['10.0.0.51'], 'remove_ipv6_allowed leaves IPv4 alone');
    await c('VIF.set_ipv4_allowed', vif, []);
    assert.deepEqual(await c('VIF.get_ipv4_allowed', vif), []);
    await c('VM.hard_shutdown', vm);
  });

  test('invalid allowed addresses: INVALID_IP_ADDRESS_SPECIFIED, nothing changes', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0, { ipv4_allowed: ['10.0.0.1'], ipv6_allowed: ['2001:db8::1'] });
    const v4 = ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv4_allowed'];
    const v6 = ['INVALID_IP_ADDRESS_SPECIFIED', 'ipv6_allowed'];
    await refused(() => c('VIF.set_ipv4_allowed', vif, ['10.0.0.2', 'not-an-ip']), v4, [['VIF', vif]]);
    await refused(() => c('VIF.set_ipv4_allowed', vif, ['10.0.0.0/33']), v4, [['VIF', vif]]);
    await refused(() => c('VIF.add_ipv4_allowed', vif, '2001:db8::2'), v4, [['VIF', vif]]);
    await refused(() => c('VIF.add_ipv4_allowed', vif, '10.0.0.256'), v4, [['VIF', vif]]);
    await refused(() => c('VIF.set_ipv6_allowed', vif, ['2001:db8::/129']), v6, [['VIF', vif]]);
    await refused(() => c('VIF.add_ipv6_allowed', vif, '10.0.0.2'), v6, [['VIF', vif]]);
  });

  test('an external SDN controller blocks effective "locked"; poolnet\'s built-in (pssl) does not', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    const ctrl = (await c('SDN_controller.introduce', 'ssl', '192.0.2.10', 0)) as string;
    await refused(() => c('VIF.set_locking_mode', vif, 'locked'), ['OPERATION_NOT_ALLOWED', 'A vswitch controller is active'], [['VIF', vif]]);
    await c('VIF.set_locking_mode', vif, 'disabled'); // not locked: allowed
    await c('VIF.set_locking_mode', vif, 'unlocked');
    await c('VIF.set_locking_mode', vif, 'network_default');
    assert.equal(await c('VIF.get_locking_mode', vif), 'network_default');
    await c('SDN_controller.forget', ctrl);
    const builtin = (await c('SDN_controller.introduce', 'pssl', '', 0)) as string;
    await c('VIF.set_locking_mode', vif, 'locked');
    assert.equal(await c('VIF.get_locking_mode', vif), 'locked');
    await c('SDN_controller.forget', builtin);
  });

  test('set a network\'s default locking mode with and without attached VIFs', async () => {
    const net = (await c('network.create', { name_label: 'tenants', MTU: 1500, other_config: {} })) as string;
    const vm = await newVm();
    const vif = await newVif(vm, net);
    const other = await newVif(vm, net, { device: '1', locking_mode: 'unlocked' });
    await c('VM.start', vm, false, false);
    await refused(() => c('network.set_default_locking_mode', net, 'disabled'), ['VIF_IN_USE', net, vif], [['network', net]]);
    await c('VM.clean_shutdown', vm);
    await c('network.set_default_locking_mode', net, 'disabled');
    assert.equal(await c('network.get_default_locking_mode', net), 'disabled');
    // network_default VIFs follow the network; the others keep their own mode
    assert.equal(effectiveLockingMode(d.db, d.db.get(vif)!), 'disabled');
    assert.equal(effectiveLockingMode(d.db, d.db.get(other)!), 'unlocked');
    // a new VIF with default settings is disabled too, until its own mode is set
    const fresh = await newVif(vm, net, { device: '2' });
    assert.equal(effectiveLockingMode(d.db, d.db.get(fresh)!), 'disabled');
    await c('VIF.set_locking_mode', fresh, 'unlocked');
    assert.equal(effectiveLockingMode(d.db, d.db.get(fresh)!), 'unlocked');
    await c('network.set_default_locking_mode', net, 'unlocked');
    assert.equal(effectiveLockingMode(d.db, d.db.get(vif)!), 'unlocked');
  });

  test('port-locking changes need pool-operator or pool-admin', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('subject.create_local_user', 'vmadmin', 'pw-vmadmin', ['vm-admin']);
    await c('subject.create_local_user', 'poolop', 'pw-poolop', ['pool-operator']);
    const weak = await login(d.url, 'vmadmin', 'pw-vmadmin');
    const strong = await login(d.url, 'poolop', 'pw-poolop');
    for (const [m, v] of [['VIF.set_locking_mode', 'locked'], ['VIF.add_ipv4_allowed', '10.0.0.9'], ['VIF.set_ipv6_allowed', []]] as const) {
      const e = await failure(call(d.url, m, [weak, vif, v]));
      assert.equal(e[0], 'RBAC_PERMISSION_DENIED', m);
      assert.match(e[2], /pool-operator/);
    }
    await call(d.url, 'VIF.set_locking_mode', [strong, vif, 'locked']);
    await call(d.url, 'VIF.add_ipv4_allowed', [strong, vif, '10.0.0.9']);
    assert.deepEqual(await rec('VIF', vif).then((r) => [r.locking_mode, r.ipv4_allowed]), ['locked', ['10.0.0.9']]);
  });
});

describe('QoS', () => {
  test('limit a VIF to 100 kilobytes per second (vif-param-set qos_algorithm_type / qos_algorithm_params:kbps)', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VIF.set_qos_algorithm_type', vif, 'ratelimit');
    await c('VIF.add_to_qos_algorithm_params', vif, 'kbps', '100');
    const r = await rec('VIF', vif);
    assert.equal(r.qos_algorithm_type, 'ratelimit');
    assert.deepEqual(r.qos_algorithm_params, { kbps: '100' });
    const uuid = r.uuid as string;
    await refused(() => c('VIF.add_to_qos_algorithm_params', vif, 'kbps', '200'), ['MAP_DUPLICATE_KEY', 'VIF', 'qos_algorithm_params', uuid, 'kbps'], [['VIF', vif]]);
    await c('VIF.remove_from_qos_algorithm_params', vif, 'kbps');
    await c('VIF.add_to_qos_algorithm_params', vif, 'kbps', '200');
    await c('VIF.add_to_qos_algorithm_params', vif, 'timeslice_us', '50000');
    assert.deepEqual(await c('VIF.get_qos_algorithm_params', vif), { kbps: '200', timeslice_us: '50000' });
    await c('VIF.set_qos_algorithm_params', vif, { kbps: '100' });
    assert.deepEqual(await c('VIF.get_qos_algorithm_params', vif), { kbps: '100' });
    await c('VIF.set_qos_algorithm_type', vif, '');
    assert.equal(await c('VIF.get_qos_algorithm_type', vif), '');
  });

  test('invalid QoS settings: INVALID_VALUE, nothing changes', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0, { qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '100' } });
    const snap: [string, string][] = [['VIF', vif]];
    await refused(() => c('VIF.set_qos_algorithm_type', vif, 'htb'), ['INVALID_VALUE', 'qos_algorithm_type', 'htb'], snap);
    for (const bad of ['0', '-1', '1.5', '100k', '', ' 100']) {
      await refused(() => c('VIF.set_qos_algorithm_params', vif, { kbps: bad }), ['INVALID_VALUE', 'qos_algorithm_params', `kbps = ${bad}`], snap);
    }
    await refused(() => c('VIF.set_qos_algorithm_params', vif, { kbps: '100', timeslice_us: 'abc' }), ['INVALID_VALUE', 'qos_algorithm_params', 'timeslice_us = abc'], snap);
    await refused(() => c('VIF.add_to_qos_algorithm_params', vif, 'timeslice_us', '0'), ['INVALID_VALUE', 'qos_algorithm_params', 'timeslice_us = 0'], snap);
  });
});

describe('guest IP settings (configure_ipv4 / configure_ipv6)', () => {
  test('syntax, gateway and locking checks, then the guest-agent feature', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0, { locking_mode: 'locked', ipv4_allowed: ['10.0.0.5', '10.1.0.0/16'], ipv6_allowed: ['2001:db8::5'] });
    const snap: [string, string][] = [['VIF', vif]];
    await refused(() => c('VIF.configure_ipv4', vif, 'Static', '10.0.0.5', ''), ['INVALID_CIDR_ADDRESS_SPECIFIED', 'address'], snap);
    await refused(() => c('VIF.configure_ipv4', vif, 'Static', '10.0.0.6/24', ''), ['ADDRESS_VIOLATES_LOCKING_CONSTRAINT', '10.0.0.6/24'], snap);
    await refused(() => c('VIF.configure_ipv4', vif, 'Static', '10.0.0.5/24', 'gw'), ['INVALID_IP_ADDRESS_SPECIFIED', 'gateway'], snap);
    await refused(() => c('VIF.configure_ipv6', vif, 'Static', '2001:db8::5', ''), ['INVALID_CIDR_ADDRESS_SPECIFIED', 'address'], snap);
    await refused(() => c('VIF.configure_ipv6', vif, 'Static', '2001:db8::6/64', ''), ['ADDRESS_VIOLATES_LOCKING_CONSTRAINT', '2001:db8::6/64'], snap);
    await refused(() => c('VIF.configure_ipv6', vif, 'Static', '2001:db8::5/64', '10.0.0.1'), ['INVALID_IP_ADDRESS_SPECIFIED', 'gateway'], snap);
    // valid and allowed (an allowed CIDR covers the address), but no guest agent advertises the feature
    await refused(() => c('VIF.configure_ipv4', vif, 'Static', '10.1.2.3/16', '10.1.0.1'), ['VM_LACKS_FEATURE', vm], snap);
    await refused(() => c('VIF.configure_ipv6', vif, 'Autoconf', '', ''), ['VM_LACKS_FEATURE', vm], snap);
  });

  test('with the feature advertised, the settings are recorded; unlocked VIFs take any address', async () => {
    const vm = await newVm({ 'feature-static-ip-setting': '1' });
    const vif = await newVif(vm, net0, { locking_mode: 'locked', ipv4_allowed: ['10.0.0.5'] });
    await c('VIF.configure_ipv4', vif, 'Static', '10.0.0.5/24', '10.0.0.1');
    // locked with no IPv6 address allowed: no IPv6 address may be configured
    await refused(() => c('VIF.configure_ipv6', vif, 'Static', '2001:db8::7/64', ''), ['ADDRESS_VIOLATES_LOCKING_CONSTRAINT', '2001:db8::7/64'], [['VIF', vif]]);
    await c('VIF.add_ipv6_allowed', vif, '2001:db8::7');
    await c('VIF.configure_ipv6', vif, 'Static', '2001:db8::7/64', '2001:db8::1');
    let r = await rec('VIF', vif);
    assert.deepEqual([r.ipv4_configuration_mode, r.ipv4_addresses, r.ipv4_gateway], ['Static', ['10.0.0.5/24'], '10.0.0.1']);
    assert.deepEqual([r.ipv6_configuration_mode, r.ipv6_addresses, r.ipv6_gateway], ['Static', ['2001:db8::7/64'], '2001:db8::1']);
    await c('VIF.set_locking_mode', vif, 'unlocked');
    await c('VIF.configure_ipv4', vif, 'Static', '192.168.1.1/24', '');
    await c('VIF.configure_ipv4', vif, 'DHCP', '', '');
    r = await rec('VIF', vif);
    assert.deepEqual([r.ipv4_configuration_mode, r.ipv4_addresses, r.ipv4_gateway], ['DHCP', [], '']);
  });
});

describe('trunks', () => {
  test('add, remove, set; tags 0..4094; not on a VLAN network', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VIF.add_trunks', vif, 0);
    await c('VIF.add_trunks', vif, 4094);
    await c('VIF.add_trunks', vif, 4094);
    assert.deepEqual(await c('VIF.get_trunks', vif), [0, 4094]);
    await c('VIF.remove_trunks', vif, 0);
    assert.deepEqual(await c('VIF.get_trunks', vif), [4094]);
    await c('VIF.set_trunks', vif, [7, 8, 7]);
    assert.deepEqual(await c('VIF.get_trunks', vif), [7, 8]);
    const snap: [string, string][] = [['VIF', vif]];
    await refused(() => c('VIF.add_trunks', vif, 4095), ['VLAN_TAG_INVALID', '4095'], snap);
    await refused(() => c('VIF.add_trunks', vif, -1), ['VLAN_TAG_INVALID', '-1'], snap);
    await refused(() => c('VIF.set_trunks', vif, [1, 5000]), ['VLAN_TAG_INVALID', '5000'], snap);
    const onVlan = await newVif(vm, netVlan, { device: '1' });
    await refused(() => c('VIF.add_trunks', onVlan, 10), ['NETWORK_INCOMPATIBLE_WITH_TRUNKS', netVlan], [['VIF', onVlan]]);
    await refused(() => c('VIF.set_trunks', onVlan, [10]), ['NETWORK_INCOMPATIBLE_WITH_TRUNKS', netVlan], [['VIF', onVlan]]);
    await c('VIF.set_trunks', onVlan, []);
  });
});
