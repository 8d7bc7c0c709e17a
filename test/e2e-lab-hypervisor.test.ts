// The lab's hypervisor, with packets: every VM and VIF call of the API reaches the namespaces on
// whichever host the VM runs, through that host's poolnetd (src/agent/vms.ts), and nothing else.
//
//   host1: vm1 (eth0 on the management network; eth1 hot-plugged on VLAN 300)
//   host2: vm2 (same), and vm3 created halted and started there with VM.start_on
//
// Proven: `lab up`'s VMs come from the API (their NIC has the VIF's MAC, on vif<domid>.0); a VIF
// created and plugged into a running VM gives it eth1 with the VIF's MAC and MTU and the host a
// vif<domid>.1 without IPv6, on which the VM reaches the other host's VM over VLAN 300; unplug takes
// both ends away (and the VM no longer reaches it); a VM started on host2 gets its namespace and
// NIC there and reaches vm1; shut down, its namespace is gone; VM.pool_migrate alone moves a VM's
// NIC to the target host, the guest keeping its address, in two phases (the target's port has its
// flows before the NIC leaves the source); a target that cannot ready the port (a stale device
// holds its name) fails the migration and the VM runs on where it was, its traffic flowing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asIfName, asMac, asMtu } from '../src/agent/checked.ts';
import { planVms, vmNamespace, type Link, type NicWant, type Observed, type VmsWanted } from '../src/agent/vms.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { ping, Pinger, poolLabSkip, reachable, run, until } from './helpers/pool-lab.ts';
import { cookieOf } from '../src/agent/ovsflows.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const VLAN_NET = '10.88.0';

interface IpLink { ifname: string; address: string; mtu: number; flags: string[] }

describe('the lab hypervisor: VIF hot-plug and VM start through the API', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  let s: string;
  let vlanNet: string;
  const hostRef = new Map<number, string>();
  const links = (ns: string): IpLink[] => JSON.parse(t.lab.inNs(ns, 'ip', ['-j', 'link', 'show'])) as IpLink[];
  const link = (ns: string, dev: string): IpLink | undefined => links(ns).find((l) => l.ifname === dev);
  const call = (method: string, params: unknown[]) => t.call(1, method, [s, ...params]);
  const vmRef = async (name: string) => ((await call('VM.get_by_name_label', [name])) as string[])[0];
  const vsctlList = (i: number) => t.host(i, 'ovs-vsctl', [`--db=unix:${t.state.hosts[i - 1].dir}/ovs/db.sock`, '--columns=name', 'list', 'Interface']);

  before(async () => {
    t = await startLab({ tag: 'hv', hosts: 2, nics: 2, vms: 2 });
    s = await t.session(1);
    for (const i of [1, 2]) hostRef.set(i, ((await call('host.get_all_where', [`field "hostname"="host${i}"`])) as string[])[0]);
    const pifs = (await call('PIF.get_all_records', [])) as Record<string, { device: string; VLAN: number; host: string }>;
    const eth1 = Object.entries(pifs).find(([, p]) => p.device === 'eth1' && p.VLAN === -1 && p.host === hostRef.get(1))![0];
    vlanNet = (await call('network.create', [{ name_label: 'VLAN 300', name_description: '', MTU: 1500, other_config: {} }])) as string;
    await call('pool.create_VLAN_from_PIF', [eth1, vlanNet, 300]);
  });
  after(async () => { await t?.dispose(); });

  it('lab up made its VMs through the API: eth0 has the VIF\'s MAC, and the host its vif<domid>.0', async () => {
    for (const [j, v] of t.state.vms.entries()) {
      const ref = await vmRef(v.name);
      const domid = (await call('VM.get_domid', [ref])) as number;
      assert.equal(v.port, `vif${domid}.0`);
      assert.equal(link(v.ns, 'eth0')?.address, v.mac.toLowerCase(), `${v.name}'s eth0`);
      assert.ok(link(t.state.hosts[j].ns, v.port), `${v.port} on ${t.state.hosts[j].name}`);
      assert.equal(await reachable(v.ns, t.state.vms[1 - j].ip), true, `${v.name} reaches the other VM`);
    }
  });

  const plugged: { vif: string; port: string; mac: string }[] = [];

  it('a VIF created and plugged into a running VM is its eth1, with the VIF\'s MAC and MTU, and reaches the other host over VLAN 300', async () => {
    for (const [j, v] of t.state.vms.entries()) {
      const ref = await vmRef(v.name);
      const vif = (await call('VIF.create', [{ device: '1', network: vlanNet, VM: ref, MAC: '', MTU: 1400, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }])) as string;
      await call('VIF.plug', [vif]);
      const mac = ((await call('VIF.get_MAC', [vif])) as string).toLowerCase();
      const domid = (await call('VM.get_domid', [ref])) as number;
      const eth1 = await until(() => { const l = link(v.ns, 'eth1'); return l?.flags.includes('UP') ? l : undefined; }, 30_000, `${v.name}'s eth1`);
      assert.equal(eth1.address, mac);
      assert.equal(eth1.mtu, 1400);
      const port = `vif${domid}.1`;
      const hostNs = t.state.hosts[j].ns;
      assert.ok(link(hostNs, port), `${port} on host${j + 1}`);
      // a backend device carries no IPv6 of its own
      assert.equal(t.lab.inNs(hostNs, 'cat', [`/proc/sys/net/ipv6/conf/${port}/disable_ipv6`]).trim(), '1');
      t.lab.inNs(v.ns, 'ip', ['addr', 'add', `${VLAN_NET}.${j + 1}/24`, 'dev', 'eth1']);
      plugged.push({ vif, port, mac });
    }
    assert.equal(await reachable(t.state.vms[0].ns, `${VLAN_NET}.2`), true, 'vm1 reaches vm2 over VLAN 300');
    const r = await ping(t.state.vms[0].ns, `${VLAN_NET}.2`);
    assert.ok(r.received >= 4, r.out);
    // the frames crossed the fabric tagged 300 (host1's eth1 faces h1e1): the VLAN, not a shortcut
    const vsctl = (...a: string[]) => t.host(1, 'ovs-vsctl', [`--db=unix:${t.state.hosts[0].dir}/ovs/db.sock`, ...a]).trim();
    assert.equal(vsctl('get', 'Port', plugged[0].port, 'tag'), '300');
  });

  it('VIF.unplug takes the NIC away from the VM and the host, and the VM no longer reaches the other', async () => {
    const v = t.state.vms[0];
    await call('VIF.unplug', [plugged[0].vif]);
    await until(() => (link(v.ns, 'eth1') ? undefined : true), 30_000, 'vm1\'s eth1 gone');
    await until(() => (link(t.state.hosts[0].ns, plugged[0].port) ? undefined : true), 30_000, `${plugged[0].port} gone from host1`);
    // no route left to the VLAN's subnet: the address went with the NIC
    assert.notEqual((await run(v.ns, 'ping', ['-n', '-c', '2', '-W', '1', `${VLAN_NET}.2`])).code, 0);
    // plugged again: back, with the same MAC
    await call('VIF.plug', [plugged[0].vif]);
    const eth1 = await until(() => link(v.ns, 'eth1'), 30_000, 'vm1\'s eth1 back');
    assert.equal(eth1.address, plugged[0].mac);
    await call('VIF.unplug', [plugged[0].vif]);
    await call('VIF.destroy', [plugged[0].vif]);
    await until(() => (link(v.ns, 'eth1') ? undefined : true), 30_000, 'vm1\'s eth1 gone again');
  });

  it('VM.pool_migrate alone moves the VM\'s NIC to the target host, in two phases: the target\'s port had its flows before the NIC left the source', async () => {
    const v = t.state.vms[1];
    const ref = await vmRef(v.name);
    const before = link(v.ns, 'eth0')!;
    const vif0 = ((await call('VM.get_VIFs', [ref])) as string[]);
    const vifUuid = (await Promise.all(vif0.map(async (r) => ({ dev: await call('VIF.get_device', [r]), uuid: await call('VIF.get_uuid', [r]) })))).find((x) => x.dev === '0')!.uuid as string;
    await call('VM.pool_migrate', [ref, hostRef.get(1), {}]);
    const domid = (await call('VM.get_domid', [ref])) as number;
    const port = `vif${domid}.0`;
    await until(() => link(t.state.hosts[0].ns, port), 30_000, `${port} on host1`);
    await until(() => (link(t.state.hosts[1].ns, v.port) ? undefined : true), 30_000, `${v.port} gone from host2`);
    // its hot-plugged NIC on VLAN 300 too
    await until(() => link(t.state.hosts[0].ns, `vif${domid}.1`), 30_000, `vif${domid}.1 on host1`);
    const after = link(v.ns, 'eth0')!;
    assert.equal(after.address, before.address);
    assert.match(t.lab.inNs(v.ns, 'ip', ['-4', 'addr', 'show', 'dev', 'eth0']), new RegExp(`inet ${v.ip.replace(/\./g, '\\.')}/`));
    assert.equal(await reachable(v.ns, t.state.vms[0].ip), true, `${v.name} on host1 reaches vm1`);

    // The two phases, as the destination answered them, and as the switches and host1's hypervisor recorded them.
    const report = (await call('VM.get_migration_report', [ref])) as Record<string, string>;
    assert.equal(report.state, 'switched');
    assert.ok(Number(report.prepared_at) <= Number(report.switched_at), JSON.stringify(report));
    assert.deepEqual(await call('VM.get_migration', [ref]), {}, 'the order is gone once the VM moved');
    // the port was numbered before its device came (the flows were written for that number)...
    const vsctl = (i: number, ...a: string[]) => t.host(i, 'ovs-vsctl', [`--db=unix:${t.state.hosts[i - 1].dir}/ovs/db.sock`, ...a]).trim();
    assert.equal(vsctl(1, 'get', 'Interface', port, 'ofport'), String(32768 + domid * 16));
    // ...and Open vSwitch's own age of the VIF's flows in host1's table against the moment host1's
    // hypervisor pulled the NIC away from host2 (its log): the flows were there first. (The age is
    // read after the dump returned: the install time computed from it can only come out later.)
    const dump = t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', `unix:${t.state.hosts[0].dir}/ovs/xenbr0.mgmt`, `cookie=${cookieOf(vifUuid)}/-1`]);
    const now = Date.now();
    const ages = [...dump.matchAll(/duration=([\d.]+)s/g)].map((m) => Number(m[1]) * 1000);
    assert.ok(ages.length > 0 && dump.includes(`in_port=${32768 + domid * 16}`), dump);
    const flowsSince = now - Math.max(...ages);
    const pulls = readFileSync(join(t.state.hosts[0].dir, 'poolnetd.log'), 'utf8').split('\n').filter((l) => l.includes('a NIC pulled in from its source')).map((l) => JSON.parse(l) as { dev: string; at: number });
    const pulled = pulls.filter((x) => x.dev === port).at(-1);
    assert.ok(pulled, `host1's log records pulling ${port}`);
    assert.ok(flowsSince < pulled.at, `the flows of ${port} (in the table since ${flowsSince}) were there before the NIC left host2 (${pulled.at})`);
    assert.ok(pulled.at >= Number(report.prepared_at), 'the NIC moved after the destination said it was prepared');
  });

  it('a destination that cannot ready the VM\'s ports leaves it running on its source, its traffic flowing', async () => {
    const v = t.state.vms[1]; // on host1 now
    const ref = await vmRef(v.name);
    const domidHere = (await call('VM.get_domid', [ref])) as number;
    // host2 would give it the smallest free domain id: a stale device there holds that port's name
    const there = (await call('VM.get_all_records_where', [`field "resident_on"="${hostRef.get(2)}"`])) as Record<string, { domid: number }>;
    const used = new Set(Object.values(there).map((r) => Number(r.domid)));
    let domid = 1;
    while (used.has(domid)) domid++;
    const squat = `vif${domid}.0`;
    const hostNs = t.state.hosts[1].ns;
    t.lab.inNs(hostNs, 'ip', ['link', 'add', squat, 'type', 'veth', 'peer', 'name', 'pnsquat0']);
    const p = new Pinger(v.ns, t.state.vms[0].ip, 0.1);
    try {
      await until(() => (p.replies >= 10 ? true : undefined), 30_000, '10 answers before');
      const err = await call('VM.pool_migrate', [ref, hostRef.get(2), {}]).then(() => undefined, (e: Error & { code?: string }) => e);
      assert.equal(err?.code, 'VM_MIGRATE_FAILED', String(err));
      assert.match(err.message, /already on this host/);
      assert.equal(await call('VM.get_resident_on', [ref]), hostRef.get(1));
      assert.equal(await call('VM.get_domid', [ref]), domidHere);
      assert.deepEqual(await call('VM.get_migration', [ref]), {});
      // the NIC never left host1, and traffic goes on through it
      assert.equal(link(t.state.hosts[0].ns, `vif${domidHere}.0`)?.flags.includes('UP'), true);
      const before = p.replies;
      await until(() => (p.replies >= before + 20 ? true : undefined), 30_000, '20 answers after the failed migration');
      const r = await p.stop();
      // nothing moved: a loss would be the machine's, not the migration's (bounded widely)
      assert.ok(r.lost <= r.sent / 4, `lost ${r.lost} of ${r.sent}`);
      // the port host2 readied went with the order
      await until(() => (vsctlList(2).includes(squat) ? undefined : true), 30_000, `${squat} gone from host2's switch`);
    } finally {
      p.kill();
      t.lab.inNs(hostNs, 'ip', ['link', 'del', squat]);
    }
  });

  it('a VM started on host2 with VM.start_on gets its namespace and NIC there; shut down, they are gone', async () => {
    const net = ((await call('network.get_all_where', ['field "bridge"="xenbr0"'])) as string[])[0];
    const vm = (await call('VM.create', [{ name_label: 'vm3', name_description: '', other_config: {} }])) as string;
    const vif = (await call('VIF.create', [{ device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }])) as string;
    const ns = t.lab.vmNs(3);
    assert.equal(t.lab.labNamespaces().includes(ns), false, 'a halted VM has no namespace');
    await call('VM.start_on', [vm, hostRef.get(2), false, false]);
    const mac = ((await call('VIF.get_MAC', [vif])) as string).toLowerCase();
    const domid = (await call('VM.get_domid', [vm])) as number;
    await t.lab.waitNic(ns, 'eth0', mac);
    assert.ok(link(t.state.hosts[1].ns, `vif${domid}.0`), `vif${domid}.0 on host2`);
    t.lab.inNs(ns, 'ip', ['addr', 'add', `${t.lab.vmIp(3)}/24`, 'dev', 'eth0']);
    assert.equal(await reachable(ns, t.state.vms[0].ip), true, 'vm3 on host2 reaches vm1 on host1');
    await call('VM.hard_shutdown', [vm]);
    await until(() => (t.lab.labNamespaces().includes(ns) ? undefined : true), 30_000, 'vm3\'s namespace gone');
    assert.equal(link(t.state.hosts[1].ns, `vif${domid}.0`), undefined, 'its host end gone with it');
  });
});

// The plan alone (pure, no namespaces): what it touches and what it leaves.
describe('the lab hypervisor\'s plan', () => {
  const P = 'pnx-';
  const nic = (domid: number, dev: number): NicWant => ({ host: asIfName(`vif${domid}.${dev}`), guest: asIfName(`eth${dev}`), mac: asMac('02:00:00:00:00:01'), mtu: asMtu(1500) });
  const ns = (name: string) => vmNamespace(P, name)!;
  const lk = (name: string, ifindex: number, peerNs?: string, peerIndex?: number): Link => ({ name, ifindex, mac: '02:00:00:00:00:01', mtu: 1500, up: true, peerNs, peerIndex });
  const seen = (o: Partial<Observed>): Observed => ({ namespaces: new Set(), here: [], guests: new Map(), noIpv6: new Set(), ...o });

  it('names namespaces only for VM names that cannot be a lab host\'s, the fabric\'s or a path', () => {
    assert.equal(vmNamespace(P, 'vm1'), 'pnx-vm1');
    for (const bad of ['host1', 'fabric', '../x', 'a b', '', 'x'.repeat(40), 7]) assert.equal(vmNamespace(P, bad), undefined, String(bad));
  });

  it('makes a running VM\'s namespace and NICs; nothing when all is there', () => {
    const want: VmsWanted = { vms: [{ ns: ns('vm1'), uuid: 'u', nics: [nic(1, 0)] }], elsewhere: [], problems: [] };
    assert.deepEqual(planVms(want, seen({}), new Set(), P).map((s) => s.op), ['add-ns', 'create']);
    const wired = seen({ namespaces: new Set(['pnx-vm1']), here: [lk('vif1.0', 7, 'pnx-vm1', 2)], guests: new Map([['pnx-vm1', [lk('eth0', 2, 'pnx-host1', 7)]]]), noIpv6: new Set(['vif1.0']) });
    assert.deepEqual(planVms(want, wired, new Set(), P), []);
  });

  it('takes an unplugged NIC away, and the namespace of a VM that stopped after running here', () => {
    const wired = seen({ namespaces: new Set(['pnx-vm1', 'pnx-vm2']), here: [lk('vif1.0', 7, 'pnx-vm1', 2), lk('vif1.1', 8, 'pnx-vm1', 3)], guests: new Map([['pnx-vm1', [lk('eth0', 2, 'pnx-host1', 7), lk('eth1', 3, 'pnx-host1', 8)]]]), noIpv6: new Set(['vif1.0']) });
    const want: VmsWanted = { vms: [{ ns: ns('vm1'), uuid: 'u', nics: [nic(1, 0)] }], elsewhere: [], problems: [] };
    assert.deepEqual(planVms(want, wired, new Set(['pnx-vm2']), P), [{ op: 'del-ns', ns: 'pnx-vm2' }, { op: 'del-here', dev: 'vif1.1' }, { op: 'del-guest', ns: 'pnx-vm1', dev: 'eth1' }]);
    // a VM that now runs on another host is not this host's to remove; nor is one never run here
    assert.deepEqual(planVms({ ...want, elsewhere: [ns('vm2')] }, wired, new Set(['pnx-vm2']), P).filter((s) => s.op === 'del-ns'), []);
    assert.deepEqual(planVms(want, wired, new Set(), P).filter((s) => s.op === 'del-ns'), []);
  });

  it('pulls a migrated VM\'s NIC from another lab host only, and leaves a device moved in ahead of its VM', () => {
    const want: VmsWanted = { vms: [{ ns: ns('vm1'), uuid: 'u', nics: [nic(2, 0)] }], elsewhere: [], problems: [] };
    const there = (peer: string) => seen({ namespaces: new Set(['pnx-vm1']), guests: new Map([['pnx-vm1', [lk('eth0', 2, peer, 7)]]]) });
    assert.deepEqual(planVms(want, there('pnx-host2'), new Set(), P).map((s) => s.op), ['pull']);
    // a peer anywhere else is not pulled: the NIC is made anew
    assert.deepEqual(planVms(want, there('other-ns'), new Set(), P).map((s) => s.op), ['del-guest', 'create']);
    // a VM leaving (its migration's destination may have its NIC before this host's copy says so): neither pulled back nor made anew
    assert.deepEqual(planVms({ ...want, vms: [{ ...want.vms[0], leaving: true }] }, there('pnx-host2'), new Set(), P), []);
    const early = seen({ here: [lk('vif3.0', 9, 'pnx-vm9', 2)] });
    assert.deepEqual(planVms({ vms: [], elsewhere: [], problems: [] }, early, new Set(), P), []);
  });
});
