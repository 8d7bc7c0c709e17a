// pool.join with real hosts: three standalone hosts; on host1 a bond of eth1+eth2 (active-backup:
// the fabric's ports stay plain switch ports) and a VLAN (tag 300) on the bond's network; then
// host2 and host3 join host1's pool over the lab's management network.
//
//   host1: bond0 = eth1 + eth2 (network "bond"), VLAN 300 on it (network "VLAN 300")
//   host2, host3: join, and get the same bond (by NIC position) and VLAN (by the bond's network)
//   vm1 on host1, vm2 on host2, vm3 on host3: VIFs on "VLAN 300", addresses 10.130.0.j/24
//
// Proven: the refusals a real joining host meets (it has a bond, a tunnel, a non-management
// VLAN, another SDN controller; a wrong password; an address where no master answers; a master
// of other hosts joining another pool); the joined hosts' switches carry a bond port of eth1+eth2 in the master's mode
// and a fake bridge for VLAN 300 on the bond's bridge; the three VMs reach each other over them,
// and the fabric sees their frames tagged 300 on the bonded ports.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LabVm } from '../src/lab/lab.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { Capture, hostVsctl, ping, poolLabSkip, readdress, reachable, until } from './helpers/pool-lab.ts';

type PifRec = { device: string; VLAN: number; host: string; network: string; management: boolean; bond_master_of: string[]; currently_attached: boolean };

describe('pool.join carries the master\'s bond and VLAN onto joining hosts (3 hosts)', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  const captures: Capture[] = [];
  const vms: LabVm[] = [];
  let bondNet = '', vlanNet = '';
  const ip = (j: number) => `10.130.0.${j}`;
  const vsctl = (i: number, ...args: string[]) => hostVsctl(t.state.hosts[i - 1], t.lab.inNs, ...args);
  /** Expect a XenAPI failure with this code (and these leading parameters, when given). */
  const refused = async (p: Promise<unknown>, code: string, what: string) => {
    const e = await p.then(() => undefined, (x: Error & { code?: string }) => x);
    assert.ok(e, `${what}: accepted`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return e.message;
  };
  const hostRef = async (i: number, on = i) => ((await t.call(on, 'host.get_all_where', [await t.session(on), `field "hostname"="host${i}"`])) as string[])[0];
  const pifOf = async (on: number, i: number, device: string) => {
    const pifs = (await t.call(on, 'PIF.get_all_records', [await t.session(on)])) as Record<string, PifRec>;
    const h = await hostRef(i, on);
    return Object.entries(pifs).find(([, p]) => p.host === h && p.device === device && p.VLAN === -1)![0];
  };

  before(async () => {
    t = await startLab({ tag: 'pj', hosts: 3, nics: 3, vms: 0, pool: false });
    const s = await t.session(1);
    bondNet = (await t.call(1, 'network.create', [s, { name_label: 'bond', name_description: 'eth1+eth2', MTU: 1500, other_config: {} }])) as string;
    const bond = (await t.call(1, 'Bond.create', [s, bondNet, [await pifOf(1, 1, 'eth1'), await pifOf(1, 1, 'eth2')], '', 'active-backup', {}])) as string;
    const bondPif = (await t.call(1, 'Bond.get_master', [s, bond])) as string;
    vlanNet = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 300', name_description: 'tag 300 on the bond', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'VLAN.create', [s, bondPif, 300, vlanNet]);
  });
  after(async () => {
    for (const c of captures) c.kill();
    await t?.dispose();
  });

  it('refuses a joining host with a bond, a non-management VLAN, another SDN controller, a tunnel; a wrong password; no master', async () => {
    const s3 = await t.session(3);
    const join = (addr = t.state.hosts[0].ip, pw = t.state.password) => t.call(3, 'pool.join', [s3, addr, 'root', pw]);
    const net = (name: string) => t.call(3, 'network.create', [s3, { name_label: name, name_description: '', MTU: 1500, other_config: {} }]) as Promise<string>;
    // a bond on the joining host
    const b = (await t.call(3, 'Bond.create', [s3, await net('b3'), [await pifOf(3, 3, 'eth1'), await pifOf(3, 3, 'eth2')], '', 'active-backup', {}])) as string;
    await refused(join(), 'POOL_JOINING_HOST_HAS_BONDS', 'host3 with a bond');
    await t.call(3, 'Bond.destroy', [s3, b]);
    // a non-management VLAN
    const v = (await t.call(3, 'VLAN.create', [s3, await pifOf(3, 3, 'eth1'), 77, await net('v3')])) as string;
    await refused(join(), 'POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS', 'host3 with VLAN 77 on eth1');
    await t.call(3, 'VLAN.destroy', [s3, v]);
    // an SDN controller other than the pool's (host1 has poolnet's own, pssl)
    const other = (await t.call(3, 'SDN_controller.introduce', [s3, 'ssl', '10.77.0.5', 6632])) as string;
    assert.match(await refused(join(), 'OPERATION_NOT_ALLOWED', 'host3 with another SDN controller'), /SDN controller differs/);
    await t.call(3, 'SDN_controller.forget', [s3, other]);
    // a tunnel (cross-server private networks need a controller: the pool's own, which may stay)
    const ctl = (await t.call(3, 'SDN_controller.introduce', [s3, 'pssl', '', 0])) as string;
    const tn = (await t.call(3, 'tunnel.create', [s3, await pifOf(3, 3, 'eth0'), await net('t3'), 'gre'])) as string;
    await refused(join(), 'POOL_JOINING_HOST_HAS_TUNNELS', 'host3 with a tunnel');
    await t.call(3, 'tunnel.destroy', [s3, tn]);
    await t.call(3, 'SDN_controller.forget', [s3, ctl]);
    // the master refuses the credentials; no master at the address
    await refused(join(undefined, 'not-the-password'), 'SESSION_AUTHENTICATION_FAILED', 'a wrong password');
    await refused(join('10.77.0.99'), 'JOINING_HOST_CONNECTION_FAILED', 'no host at 10.77.0.99');
    // host3 is still standalone and its own master
    assert.equal(((await t.call(3, 'host.get_all', [s3])) as string[]).length, 1);
  });

  it('joins host2 and host3, which get the bond and the VLAN', async () => {
    await t.call(2, 'pool.join', [await t.session(2), t.state.hosts[0].ip, 'root', t.state.password]);
    // the master of two hosts cannot join another pool (host3 is still standalone)
    await refused(t.call(1, 'pool.join', [await t.session(1), t.state.hosts[2].ip, 'root', t.state.password]), 'JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS', 'host1 (master of 2) joining host3');
    await t.call(3, 'pool.join', [await t.session(3), t.state.hosts[0].ip, 'root', t.state.password]);
    const s = await t.session(1);
    await until(async () => ((await t.call(1, 'host.get_all', [s])) as string[]).length === 3 || undefined, 60_000, 'three hosts in the pool');
    // members now send clients to the master
    await refused(t.lab.rpc(t.state.hosts[1].socket, 'session.login_with_password', ['root', t.state.password]), 'HOST_IS_SLAVE', 'a client calling host2');
    // the pool database: a bond with eth1+eth2 and a VLAN 300 PIF on every host
    for (const i of [2, 3]) {
      const h = await hostRef(i, 1);
      const pifs = await until(async () => {
        const all = (await t.call(1, 'PIF.get_all_records_where', [s, `field "host"="${h}"`])) as Record<string, PifRec>;
        const v = Object.values(all).find((p) => p.network === vlanNet && p.VLAN === 300);
        return v?.currently_attached ? all : undefined;
      }, 60_000, `host${i}'s VLAN 300 PIF`);
      const bondPif = Object.values(pifs).find((p) => p.network === bondNet)!;
      assert.equal(bondPif.bond_master_of.length, 1, `host${i} has a bond on the bond network`);
      const bond = (await t.call(1, 'Bond.get_record', [s, bondPif.bond_master_of[0]])) as { slaves: string[]; mode: string };
      assert.equal(bond.mode, 'active-backup');
      const slaves = await Promise.all(bond.slaves.map(async (p) => (await t.call(1, 'PIF.get_device', [s, p])) as string));
      assert.deepEqual(slaves.sort(), ['eth1', 'eth2'], `host${i}'s bond slaves by NIC position`);
    }
  });

  it('realises them on the joined hosts\' switches: a bond port of eth1+eth2, a fake bridge for VLAN 300', async () => {
    const bondBridge = (await t.call(1, 'network.get_bridge', [await t.session(1), bondNet])) as string;
    const vlanBridge = (await t.call(1, 'network.get_bridge', [await t.session(1), vlanNet])) as string;
    for (const i of [1, 2, 3]) {
      await until(() => {
        const ports = vsctl(i, 'list-ports', bondBridge).split('\n').filter(Boolean);
        const bondPort = ports.find((p) => vsctl(i, 'get', 'Port', p, 'bond_mode') === 'active-backup');
        if (!bondPort) return undefined;
        const ifaces = vsctl(i, 'list-ifaces', bondBridge).split('\n').filter((x) => x === 'eth1' || x === 'eth2');
        return ifaces.length === 2 ? bondPort : undefined;
      }, 60_000, `host${i}: an active-backup bond of eth1+eth2 on ${bondBridge}`);
      await until(() => (vsctl(i, 'br-to-parent', vlanBridge) === bondBridge && vsctl(i, 'br-to-vlan', vlanBridge) === '300') || undefined, 60_000, `host${i}: ${vlanBridge} a fake bridge of ${bondBridge} with tag 300`);
      // the management NIC is untouched
      assert.equal(vsctl(i, 'iface-to-br', 'eth0'), 'xenbr0', `host${i}'s eth0 stays on xenbr0`);
    }
  });

  it('passes packets over the joined hosts\' bond and VLAN: VMs on three hosts reach each other', async () => {
    for (const j of [1, 2, 3]) {
      const v = await t.lab.createVm(t.state.hosts[j - 1], j, t.state.password, vlanNet);
      readdress(t.lab.inNs, v.ns, `${ip(j)}/24`);
      vms.push({ ...v, ip: ip(j) });
    }
    // the first answers (VIF ports appear, ARP) before counting
    for (const [a, b] of [[1, 2], [1, 3], [2, 3]]) assert.ok(await reachable(vms[a - 1].ns, ip(b), 60_000), `vm${a} reaches vm${b}`);
    const fabric = await Promise.all(['h2e1', 'h2e2', 'h3e1', 'h3e2'].map(async (p) => { const c = await Capture.start(t.lab.fabricNs, p, 'vlan 300 and icmp'); captures.push(c); return c; }));
    for (const [a, b] of [[1, 2], [1, 3], [2, 3], [3, 1]]) {
      const r = await ping(vms[a - 1].ns, ip(b), 10);
      assert.equal(r.received, r.sent, `vm${a} -> vm${b}: ${r.out}`);
    }
    const [h2a, h2b, h3a, h3b] = await Promise.all(fabric.map((c) => c.stop()));
    // on each joined host, one of the bonded NICs (the active one) carries the VLAN's frames
    const on = (lines: string[], a: number, b: number) => lines.filter((l) => l.includes('vlan 300,') && l.includes(`${ip(a)} > ${ip(b)}: ICMP echo request`)).length;
    assert.ok(on([...h2a, ...h2b], 1, 2) >= 10, `host2's bonded ports see vm1's pings tagged 300:\n${[...h2a, ...h2b].join('\n')}`);
    assert.ok(on([...h3a, ...h3b], 2, 3) >= 10, `host3's bonded ports see vm2's pings tagged 300:\n${[...h3a, ...h3b].join('\n')}`);
  });
});
