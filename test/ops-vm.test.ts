// VM life as networking sees it, through the XenAPI (JSON-RPC): start/start_on with the
// network placement check, shutdowns, pool_migrate, VIF device numbers, assert_can_boot_here,
// destroy. Refusals are checked for code, parameters, and for changing nothing.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { hostCanSeeNetwork } from '../src/ops/vm.ts';
import { canonical, call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost, makeNetwork, makePif, makePifMetrics, makeTunnel } from './helpers/fixtures.ts';

type Rec = Record<string, unknown>;

let d: TestDaemon;
let s: string;
let host1: string;
let host2: string;
let net0: string; // PIF on host1 only
let netShared: string; // PIFs on host1 and host2
let netTunnel: string; // tunnel access PIF on host2 only

const NULL = 'OpaqueRef:NULL';
const c = (method: string, ...params: unknown[]): Promise<unknown> => call(d.url, method, [s, ...params]);
const rec = async (cls: string, ref: string): Promise<Rec> => (await c(`${cls}.get_record`, ref)) as Rec;

const snapshot = async (refs: [string, string][]): Promise<unknown> => canonical(await Promise.all(refs.map(([cls, r]) => rec(cls, r))));

async function refused(p: () => Promise<unknown>, expected: string[], refs: [string, string][], why?: string): Promise<void> {
  const before = await snapshot(refs);
  assert.deepEqual(await failure(p()), expected, why);
  assert.deepEqual(await snapshot(refs), before);
}

let n = 0;
const newVm = async (extra: Rec = {}): Promise<string> => (await c('VM.create', { name_label: `vm${++n}`, ...extra })) as string;
const newVif = async (vm: string, network: string, device = '0'): Promise<string> =>
  (await c('VIF.create', { device, network, VM: vm, MAC: '', MTU: 1500, other_config: {} })) as string;

// each test on a daemon of its own: nothing carries over from one test to the next
beforeEach(async () => {
  n = 0;
  d = await startTestDaemon();
  s = await login(d.url);
  host1 = ((await c('host.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
  let eth1Pif = '';
  for (const [ref, p] of Object.entries(pifs)) {
    if (p.device === 'eth0') net0 = p.network as string;
    if (p.device === 'eth1') { netShared = p.network as string; eth1Pif = ref; }
  }
  d.db.transact((tx) => {
    host2 = makeHost(tx, { name_label: 'host2', hostname: 'host2' });
    const metrics = makePifMetrics(tx);
    const transport = makePif(tx, { device: 'eth1', network: netShared, host: host2, MAC: '02:00:00:00:02:01', metrics, ip_configuration_mode: 'Static', IP: '10.0.1.12', netmask: '255.255.255.0' });
    netTunnel = makeNetwork(tx, { name_label: 'private', bridge: 'xapi77' });
    const access = makePif(tx, { device: 'tunnel0', network: netTunnel, host: host2, MAC: '02:00:00:00:02:77', MTU: -1, metrics, physical: false });
    makeTunnel(tx, { access_PIF: access, transport_PIF: transport });
    assert.ok(eth1Pif);
  });
});

afterEach(async () => { await d.dispose(); });

describe('VM.start / start_on / shutdown', () => {
  test('start: Running on this host, VIFs attached; clean_shutdown: Halted, nowhere, VIFs detached', async () => {
    const vm = await newVm();
    const a = await newVif(vm, net0, '0');
    const b = await newVif(vm, netShared, '1');
    await c('VM.start', vm, false, false);
    let r = await rec('VM', vm);
    assert.equal(r.power_state, 'Running');
    assert.equal(r.resident_on, host1);
    assert.ok(((await c('host.get_resident_VMs', host1)) as string[]).includes(vm));
    for (const v of [a, b]) assert.equal(await c('VIF.get_currently_attached', v), true);
    await refused(() => c('VM.start', vm, false, false), ['VM_BAD_POWER_STATE', vm, 'Halted', 'Running'], [['VM', vm]]);
    await c('VM.clean_shutdown', vm);
    r = await rec('VM', vm);
    assert.equal(r.power_state, 'Halted');
    assert.equal(r.resident_on, NULL);
    for (const v of [a, b]) assert.equal(await c('VIF.get_currently_attached', v), false);
    await refused(() => c('VM.clean_shutdown', vm), ['VM_BAD_POWER_STATE', vm, 'Running', 'Halted'], [['VM', vm]]);
    await refused(() => c('VM.hard_shutdown', vm), ['VM_BAD_POWER_STATE', vm, 'Paused, Suspended, Running', 'Halted'], [['VM', vm]]);
  });

  test('start paused, then hard_shutdown from Paused', async () => {
    const vm = await newVm();
    await newVif(vm, net0);
    await c('VM.start', vm, true, false);
    assert.equal(await c('VM.get_power_state', vm), 'Paused');
    await refused(() => c('VM.clean_shutdown', vm), ['VM_BAD_POWER_STATE', vm, 'Running', 'Paused'], [['VM', vm]]);
    await c('VM.hard_shutdown', vm);
    assert.equal(await c('VM.get_power_state', vm), 'Halted');
  });

  test('start_on a host that cannot see a VIF\'s network: VM_REQUIRES_NETWORK [vm, network]', async () => {
    const vm = await newVm();
    const shared = await newVif(vm, netShared, '0');
    const local = await newVif(vm, net0, '1');
    await refused(() => c('VM.start_on', vm, host2, false, false), ['VM_REQUIRES_NETWORK', vm, net0], [['VM', vm], ['VIF', shared], ['VIF', local]]);
    await c('VIF.destroy', local);
    await c('VM.start_on', vm, host2, false, false);
    assert.equal(await c('VM.get_resident_on', vm), host2);
    await c('VM.hard_shutdown', vm);
  });

  test('a tunnel network is seen where it has an access PIF', async () => {
    const vm = await newVm();
    await newVif(vm, netTunnel);
    await refused(() => c('VM.start_on', vm, host1, false, false), ['VM_REQUIRES_NETWORK', vm, netTunnel], [['VM', vm]]);
    await refused(() => c('VM.start', vm, false, false), ['VM_REQUIRES_NETWORK', vm, netTunnel], [['VM', vm]], 'VM.start runs on this host');
    await c('VM.start_on', vm, host2, false, false);
    assert.equal(await c('VM.get_resident_on', vm), host2);
    await c('VM.hard_shutdown', vm);
  });

  test('an internal network is pinned to the host where running VMs use it', async () => {
    const internal = (await c('network.create', { name_label: 'single-server private', MTU: 1500, other_config: {} })) as string;
    const vmA = await newVm();
    const vmB = await newVm();
    await newVif(vmA, internal);
    await newVif(vmB, internal);
    assert.equal(hostCanSeeNetwork(d.db, host2, internal), true, 'unused: any host');
    await c('VM.start_on', vmA, host1, false, false);
    assert.equal(hostCanSeeNetwork(d.db, host2, internal), false);
    await refused(() => c('VM.start_on', vmB, host2, false, false), ['VM_REQUIRES_NETWORK', vmB, internal], [['VM', vmB]]);
    await c('VM.start_on', vmB, host1, false, false);
    await c('VM.hard_shutdown', vmA);
    await c('VM.hard_shutdown', vmB);
    // other_config:assume_network_is_shared lifts the pin
    await c('VM.start_on', vmA, host1, false, false);
    await c('network.add_to_other_config', internal, 'assume_network_is_shared', 'true');
    await c('VM.start_on', vmB, host2, false, false);
    assert.equal(await c('VM.get_resident_on', vmB), host2);
    await c('VM.hard_shutdown', vmA);
    await c('VM.hard_shutdown', vmB);
  });

  test('templates do not start; the control domain does not shut down', async () => {
    const tpl = await newVm({ is_a_template: true });
    await refused(() => c('VM.start', tpl, false, false), ['VM_IS_TEMPLATE', tpl, 'start'], [['VM', tpl]]);
    await refused(() => c('VM.start_on', tpl, host1, false, false), ['VM_IS_TEMPLATE', tpl, 'start_on'], [['VM', tpl]]);
    const dom0 = (await c('host.get_control_domain', host1)) as string;
    await refused(() => c('VM.clean_shutdown', dom0), ['OPERATION_NOT_ALLOWED', 'This operation is not allowed on a control domain'], [['VM', dom0]]);
    await refused(() => c('VM.pool_migrate', dom0, host2, {}), ['OPERATION_NOT_ALLOWED', 'This operation is not allowed on a control domain'], [['VM', dom0]]);
  });

  test('a bad host reference: HANDLE_INVALID', async () => {
    const vm = await newVm();
    await refused(() => c('VM.start_on', vm, 'OpaqueRef:nohost', false, false), ['HANDLE_INVALID', 'host', 'OpaqueRef:nohost'], [['VM', vm]]);
  });
});

describe('VM.pool_migrate', () => {
  test('needs a running VM, and a target that sees every VIF\'s network', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, netShared, '0');
    await refused(() => c('VM.pool_migrate', vm, host2, {}), ['VM_BAD_POWER_STATE', vm, 'Running', 'Halted'], [['VM', vm]]);
    await c('VM.start', vm, false, false);
    await c('VM.pool_migrate', vm, host2, { live: 'true' });
    assert.equal(await c('VM.get_resident_on', vm), host2);
    assert.equal(await c('VIF.get_currently_attached', vif), true);
    await c('VM.pool_migrate', vm, host1, {});
    const local = await newVif(vm, net0, '1');
    await refused(() => c('VM.pool_migrate', vm, host2, {}), ['VM_REQUIRES_NETWORK', vm, net0], [['VM', vm], ['VIF', local]]);
    assert.equal(await c('VM.get_resident_on', vm), host1);
    await c('VM.hard_shutdown', vm);
  });

  test('a VM alone on an internal network cannot leave its host', async () => {
    const internal = (await c('network.create', { name_label: 'lonely', MTU: 1500, other_config: {} })) as string;
    const vm = await newVm();
    await newVif(vm, internal);
    await c('VM.start', vm, false, false);
    await refused(() => c('VM.pool_migrate', vm, host2, {}), ['VM_REQUIRES_NETWORK', vm, internal], [['VM', vm]]);
    await c('VM.hard_shutdown', vm);
  });
});

describe('VIF devices, assert_can_boot_here, destroy', () => {
  test('get_allowed_VIF_devices: "0".."15" not in use', async () => {
    const vm = await newVm();
    assert.deepEqual(await c('VM.get_allowed_VIF_devices', vm), Array.from({ length: 16 }, (_, i) => String(i)));
    await newVif(vm, net0, '0');
    await newVif(vm, net0, '3');
    await newVif(vm, net0, '20');
    const allowed = (await c('VM.get_allowed_VIF_devices', vm)) as string[];
    assert.equal(allowed.length, 14);
    assert.ok(!allowed.includes('0') && !allowed.includes('3'));
    assert.deepEqual(allowed.slice(0, 3), ['1', '2', '4']);
  });

  test('assert_can_boot_here checks the networks without changing anything', async () => {
    const vm = await newVm();
    await newVif(vm, net0);
    await c('VM.assert_can_boot_here', vm, host1);
    await refused(() => c('VM.assert_can_boot_here', vm, host2), ['VM_REQUIRES_NETWORK', vm, net0], [['VM', vm]]);
    assert.equal(await c('VM.get_power_state', vm), 'Halted');
  });

  test('destroy: refused while running; takes the VM\'s VIFs with it', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net0);
    await c('VM.start', vm, false, false);
    await refused(() => c('VM.destroy', vm), ['VM_BAD_POWER_STATE', vm, 'Halted, Suspended', 'Running'], [['VM', vm], ['VIF', vif]]);
    await c('VM.hard_shutdown', vm);
    await c('VM.destroy', vm);
    assert.deepEqual(await failure(c('VIF.get_record', vif)), ['HANDLE_INVALID', 'VIF', vif]);
    assert.ok(!((await c('network.get_VIFs', net0)) as string[]).includes(vif));
  });
});
