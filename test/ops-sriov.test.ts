// SR-IOV through the XenAPI (JSON-RPC): network_sriov.create/destroy with every refusal, the
// logical PIF, VF accounting (a VIF of a running VM takes a VF; none free: refused; a VF is
// never shared), no hotplug and no migration for SR-IOV VIFs. This machine has no SR-IOV NIC:
// PIFs are made capable by writing their capabilities in the daemon's database.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { canonical, call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost, makeNetwork, makePif, makePifMetrics, makeVlanPif } from './helpers/fixtures.ts';

type Rec = Record<string, unknown>;

let d: TestDaemon;
let s: string;
let host1: string;
let host2: string;
let eth0: string; // management
let eth1: string; // SR-IOV capable, 2 VFs
let eth2: string; // not capable
let net0: string;
let h2eth1: string; // host2, capable, same kind of NIC as eth1
let h2eth2: string; // host2, capable, another vendor
let h2net: string; // network of a plain physical PIF on host2

const c = (method: string, ...params: unknown[]): Promise<unknown> => call(d.url, method, [s, ...params]);
const rec = async (cls: string, ref: string): Promise<Rec> => (await c(`${cls}.get_record`, ref)) as Rec;

const snapshot = async (refs: [string, string][]): Promise<unknown> => canonical(await Promise.all(refs.map(([cls, r]) => rec(cls, r))));

async function refused(p: () => Promise<unknown>, expected: string[], refs: [string, string][]): Promise<void> {
  const before = await snapshot(refs);
  const counts = canonical(await Promise.all(['PIF', 'network_sriov', 'VIF'].map((cls) => c(`${cls}.get_all`))));
  assert.deepEqual(await failure(p()), expected);
  assert.deepEqual(await snapshot(refs), before);
  assert.deepEqual(canonical(await Promise.all(['PIF', 'network_sriov', 'VIF'].map((cls) => c(`${cls}.get_all`)))), counts);
}

const newNet = async (label: string, extra: Rec = {}): Promise<string> =>
  (await c('network.create', { name_label: label, MTU: 1500, other_config: {}, ...extra })) as string;
let n = 0;
const newVm = async (): Promise<string> => (await c('VM.create', { name_label: `vm${++n}` })) as string;
const newVif = async (vm: string, network: string, device = '0'): Promise<string> =>
  (await c('VIF.create', { device, network, VM: vm, MAC: '', MTU: 1500, other_config: {} })) as string;
const capacity = async (sriov: string): Promise<number> => Number(await c('network_sriov.get_remaining_capacity', sriov));

// each test on a daemon of its own: nothing carries over from one test to the next
beforeEach(async () => {
  n = 0;
  d = await startTestDaemon();
  s = await login(d.url);
  host1 = ((await c('host.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
  for (const [ref, p] of Object.entries(pifs)) {
    if (p.device === 'eth0') { eth0 = ref; net0 = p.network as string; }
    if (p.device === 'eth1') eth1 = ref;
    if (p.device === 'eth2') eth2 = ref;
  }
  d.db.transact((tx) => {
    tx.update(eth1, { capabilities: ['sriov'], other_config: { 'sriov-max-vfs': '2' } });
    tx.update(eth2, { capabilities: [] });
    host2 = makeHost(tx, { name_label: 'host2', hostname: 'host2' });
    const same = tx.get(tx.get(eth1)!.rec.metrics as string)!.rec;
    const m1 = makePifMetrics(tx, { vendor_id: same.vendor_id, device_id: same.device_id });
    const m2 = makePifMetrics(tx, { vendor_id: '8086', device_id: '10ed' });
    h2net = makeNetwork(tx, { name_label: 'host2 only', bridge: 'xenbr8' });
    const pif = (device: string, metrics: string, network: string, capabilities: string[]) =>
      makePif(tx, { device, network, host: host2, MAC: `02:00:00:00:02:0${device.slice(-1)}`, metrics, properties: { gro: 'on' }, capabilities });
    h2eth1 = pif('eth1', m1, makeNetwork(tx, { name_label: 'h2 eth1', bridge: 'xenbr11' }), ['sriov']);
    h2eth2 = pif('eth2', m2, makeNetwork(tx, { name_label: 'h2 eth2', bridge: 'xenbr12' }), ['sriov']);
    pif('eth3', m2, h2net, []);
  });
});

afterEach(async () => { await d.dispose(); });

describe('network_sriov.create', () => {
  test('refusals, in xapi\'s order, change nothing', async () => {
    const net = await newNet('sriov refusals');
    const unmanaged = await newNet('unmanaged', { managed: false });
    await refused(() => c('network_sriov.create', eth1, unmanaged), ['NETWORK_UNMANAGED', unmanaged], [['PIF', eth1]]);
    d.db.transact((tx) => tx.update(eth1, { managed: false }));
    await refused(() => c('network_sriov.create', eth1, net), ['PIF_UNMANAGED', eth1], [['PIF', eth1]]);
    d.db.transact((tx) => tx.update(eth1, { managed: true }));
    await refused(() => c('network_sriov.create', eth2, net), ['PIF_IS_NOT_SRIOV_CAPABLE', eth2], [['PIF', eth2]]);
    // the network of eth0 already has a PIF on host1
    await refused(() => c('network_sriov.create', eth1, net0), ['NETWORK_ALREADY_CONNECTED', host1, eth0], [['PIF', eth1], ['network', net0]]);
    // a network carried by a plain NIC elsewhere cannot become an SR-IOV network
    await refused(() => c('network_sriov.create', eth1, h2net), ['NETWORK_INCOMPATIBLE_WITH_SRIOV', h2net], [['PIF', eth1], ['network', h2net]]);
  });

  test('creates the logical PIF and the record; a second enable, a logical PIF as NIC, another vendor are refused', async () => {
    const net = await newNet('sriov A');
    const sriov = (await c('network_sriov.create', eth1, net)) as string;
    const r = await rec('network_sriov', sriov);
    assert.equal(r.physical_PIF, eth1);
    assert.equal(r.requires_reboot, false);
    const logical = r.logical_PIF as string;
    const l = await rec('PIF', logical);
    const phys = await rec('PIF', eth1);
    assert.equal(l.device, 'eth1');
    assert.equal(l.host, host1);
    assert.equal(l.network, net);
    assert.equal(l.MAC, 'fe:ff:ff:ff:ff:ff');
    assert.equal(l.MTU, phys.MTU);
    assert.equal(l.metrics, phys.metrics, 'the logical PIF shares the NIC\'s metrics');
    assert.equal(l.physical, false);
    assert.equal(l.VLAN, -1);
    assert.deepEqual(l.IPv6, []);
    assert.deepEqual(l.properties, {});
    assert.equal(l.currently_attached, true);
    assert.equal(l.management, false);
    assert.deepEqual(l.sriov_logical_PIF_of, [sriov]);
    assert.deepEqual(phys.sriov_physical_PIF_of, [sriov]);
    assert.deepEqual(await c('network.get_PIFs', net), [logical]);
    assert.equal(await capacity(sriov), 2, 'VFs from other_config:sriov-max-vfs');

    const other = await newNet('sriov B');
    await refused(() => c('network_sriov.create', eth1, other), ['NETWORK_SRIOV_ALREADY_ENABLED', eth1], [['PIF', eth1]]);
    await refused(() => c('network_sriov.create', logical, other), ['PIF_IS_NOT_PHYSICAL', logical], [['PIF', logical]]);
    // the same network on host2: the same kind of NIC joins, another vendor's does not
    await refused(() => c('network_sriov.create', h2eth2, net), ['NETWORK_HAS_INCOMPATIBLE_SRIOV_PIFS', h2eth2, net], [['PIF', h2eth2], ['network', net]]);
    const s2 = (await c('network_sriov.create', h2eth1, net)) as string;
    assert.equal(await capacity(s2), 8, 'no sriov-max-vfs: the simulated default of 8 VFs');
    assert.equal(((await c('network.get_PIFs', net)) as string[]).length, 2);
    await c('network_sriov.destroy', s2);
    await c('network_sriov.destroy', sriov);
    assert.deepEqual(await c('PIF.get_sriov_physical_PIF_of', eth1), []);
  });
});

describe('VFs', () => {
  let net: string;
  let sriov: string;
  beforeEach(async () => {
    net = await newNet('sriov VFs');
    sriov = (await c('network_sriov.create', eth1, net)) as string;
  });

  test('a running VM\'s VIF takes a VF; a VF is never shared; none free: NETWORK_SRIOV_INSUFFICIENT_CAPACITY', async () => {
    const [vmA, vmB, vmC] = [await newVm(), await newVm(), await newVm()];
    const [a, b] = [await newVif(vmA, net), await newVif(vmB, net)];
    await newVif(vmC, net);
    assert.equal(await capacity(sriov), 2);
    await c('VM.start', vmA, false, false);
    assert.equal(await capacity(sriov), 1);
    await c('VM.start', vmB, false, false);
    assert.equal(await capacity(sriov), 0);
    const vfA = d.db.get(a)!.rec, vfB = d.db.get(b)!.rec;
    assert.equal(vfA.reserved_VF_of, sriov);
    assert.equal(vfB.reserved_VF_of, sriov);
    assert.notEqual(vfA.reserved_VF, vfB.reserved_VF, 'two VIFs never hold the same VF');
    assert.deepEqual([vfA.reserved_VF, vfB.reserved_VF].sort(), [0, 1]);
    await refused(() => c('VM.start', vmC, false, false), ['NETWORK_SRIOV_INSUFFICIENT_CAPACITY', net], [['VM', vmC]]);
    await refused(() => c('VM.assert_can_boot_here', vmC, host1), ['NETWORK_SRIOV_INSUFFICIENT_CAPACITY', net], [['VM', vmC]]);
    // stopping a VM gives its VF back
    await c('VM.clean_shutdown', vmA);
    assert.equal(await capacity(sriov), 1);
    assert.equal(d.db.get(a)!.rec.reserved_VF, -1);
    await c('VM.start', vmC, false, false);
    assert.equal(await capacity(sriov), 0);
    await c('VM.hard_shutdown', vmB);
    await c('VM.hard_shutdown', vmC);
    assert.equal(await capacity(sriov), 2);
  });

  test('a VM needing more VFs than are free starts with none of them', async () => {
    const holder = await newVm();
    await newVif(holder, net);
    await c('VM.start', holder, false, false);
    const greedy = await newVm();
    const g0 = await newVif(greedy, net, '0');
    const g1 = await newVif(greedy, net, '1');
    await c('VM.assert_can_boot_here', holder, host1); // its own VF counts as available to it
    await refused(() => c('VM.start', greedy, false, false), ['NETWORK_SRIOV_INSUFFICIENT_CAPACITY', net], [['VM', greedy], ['VIF', g0], ['VIF', g1]]);
    assert.equal(await capacity(sriov), 1);
    assert.equal(d.db.get(g0)!.rec.reserved_VF, -1, 'the first reservation was rolled back');
    await c('VM.hard_shutdown', holder);
    await c('VM.start', greedy, false, false);
    assert.equal(await capacity(sriov), 0);
    assert.notEqual(d.db.get(g0)!.rec.reserved_VF, d.db.get(g1)!.rec.reserved_VF);
    await c('VM.hard_shutdown', greedy);
  });

  test('SR-IOV VIFs: no hotplug, no move while live, and their VM cannot migrate', async () => {
    const vm = await newVm();
    const vif = await newVif(vm, net);
    await c('VM.start', vm, false, false);
    const msg = ['OPERATION_NOT_ALLOWED', 'Network SR-IOV VIF plug/unplug not allowed'];
    await refused(() => c('VIF.unplug', vif), msg, [['VIF', vif]]);
    await refused(() => c('VIF.unplug_force', vif), msg, [['VIF', vif]]);
    await refused(() => c('VIF.plug', vif), msg, [['VIF', vif]]);
    await refused(() => c('VIF.move', vif, net0), msg, [['VIF', vif]]);
    await refused(() => c('VM.pool_migrate', vm, host2, {}), ['VM_HAS_SRIOV_VIF', vm], [['VM', vm]]);
    // a plain VIF added to the running VM cannot move onto the SR-IOV network while live
    const plain = await newVif(vm, net0, '1');
    await c('VIF.plug', plain);
    await refused(() => c('VIF.move', plain, net), msg, [['VIF', plain]]);
    await c('VM.hard_shutdown', vm);
    // halted: the VIF holds no VF and may move
    await c('VIF.move', vif, net0);
    assert.equal(await c('VIF.get_network', vif), net0);
  });

  test('destroy: refused while a VLAN sits on the logical PIF, under HA, and while a running VM holds a VF', async () => {
    const logical = (await c('network_sriov.get_logical_PIF', sriov)) as string;
    const vlanNet = await newNet('vlan on sriov');
    const { vlan } = d.db.transact((tx) => makeVlanPif(tx, { tagged: logical, network: vlanNet, tag: 12 }));
    await refused(() => c('network_sriov.destroy', sriov), ['PIF_VLAN_STILL_EXISTS', logical], [['network_sriov', sriov], ['PIF', logical]]);
    // a VIF on the VLAN-on-SR-IOV network is an SR-IOV VIF too, backed by the same NIC
    const vm = await newVm();
    const vif = await newVif(vm, vlanNet);
    await c('VM.start', vm, false, false);
    assert.equal(d.db.get(vif)!.rec.reserved_VF_of, sriov);
    assert.equal(await capacity(sriov), 1);
    await refused(() => c('VM.pool_migrate', vm, host2, {}), ['VM_HAS_SRIOV_VIF', vm], [['VM', vm]]);
    await c('VM.hard_shutdown', vm);
    await c('VIF.destroy', vif);
    d.db.transact((tx) => {
      const v = tx.get(vlan)!;
      tx.delete(v.rec.untagged_PIF as string);
      tx.delete(vlan);
    });

    const pool = ((await c('pool.get_all')) as string[])[0];
    await c('pool.set_ha_enabled', pool, true);
    await refused(() => c('network_sriov.destroy', sriov), ['HA_IS_ENABLED'], [['network_sriov', sriov]]);
    await c('pool.set_ha_enabled', pool, false);

    const user = await newVm();
    const held = await newVif(user, net);
    await c('VM.start', user, false, false);
    await refused(() => c('network_sriov.destroy', sriov), ['VIF_IN_USE', net, held], [['network_sriov', sriov], ['PIF', logical], ['VIF', held]]);
    await c('VM.clean_shutdown', user);

    const metrics = (await c('PIF.get_metrics', eth1)) as string;
    await c('network_sriov.destroy', sriov);
    assert.deepEqual(await failure(c('network_sriov.get_record', sriov)), ['HANDLE_INVALID', 'network_sriov', sriov]);
    assert.deepEqual(await failure(c('PIF.get_record', logical)), ['HANDLE_INVALID', 'PIF', logical]);
    assert.deepEqual(await c('network.get_PIFs', net), []);
    assert.deepEqual(await c('PIF.get_sriov_physical_PIF_of', eth1), []);
    assert.equal((await rec('PIF_metrics', metrics)).uuid !== undefined, true, 'the NIC keeps its metrics');
    assert.equal(await c('VIF.get_network', held), net, 'halted VMs\' VIFs stay on the network');
  });
});
