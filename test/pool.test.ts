// Master and members, in process: two real daemons on loopback (plain HTTP between them).
// pool.join's refusals, the replica, HOST_IS_SLAVE, copies of bonds and VLANs, designate,
// emergency mode.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HostFacts } from '../src/db/init.ts';
import { call, failure, login, startTestDaemon, ROOT_PASSWORD, type TestDaemon } from './helpers/daemon.ts';
import type { BackendName } from '../src/domain/backend.ts';

const facts = (n: number): HostFacts => ({
  hostname: `host${n}`,
  nics: [0, 1, 2].map((k) => ({ device: `eth${k}`, mac: `02:00:00:00:0${n}:0${k}`, mtu: 1500, carrier: true, speed: 1000, ipv4: k === 0 ? [{ ip: `10.0.0.${10 + n}`, prefix: 24 }] : [], gateway: '' })),
  dns: [],
});

async function until<T>(f: () => Promise<T> | T, ok: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addr = (d: TestDaemon) => `127.0.0.1:${d.port}`;

/** Point a daemon's own host address at its loopback port, so that the master can call it. */
function loopbackAddress(d: TestDaemon): void {
  d.db.transact((tx) => { for (const h of tx.all('host')) tx.update(h.ref, { address: addr(d) }); });
}

describe('pool', () => {
  const daemons: TestDaemon[] = [];
  const start = async (n: number, backend?: BackendName) => {
    const d = await startTestDaemon({ facts: facts(n), backend, masterTimeoutMs: 1500 });
    loopbackAddress(d);
    daemons.push(d);
    return d;
  };
  after(async () => { for (const d of daemons) await d.dispose(); });

  it('refuses a joining host with bonds, tunnels, SR-IOV, non-management VLANs, another backend, another management VLAN', async () => {
    const master = await start(1);
    const joiner = await start(2);
    const js = await login(joiner.url);
    const join = () => call(joiner.url, 'pool.join', [js, addr(master), 'root', ROOT_PASSWORD]);
    const pif = async (dev: string) => Object.keys((await call(joiner.url, 'PIF.get_all_records_where', [js, `field "device"="${dev}" and field "VLAN"="-1"`])) as object)[0];

    const net = await call(joiner.url, 'network.create', [js, { name_label: 'b', MTU: 1500, other_config: {} }]);
    const bond = await call(joiner.url, 'Bond.create', [js, net, [await pif('eth1'), await pif('eth2')], '', 'balance-slb', {}]);
    assert.deepEqual(await failure(join()), ['POOL_JOINING_HOST_HAS_BONDS']);
    await call(joiner.url, 'Bond.destroy', [js, bond]);

    const vnet = await call(joiner.url, 'network.create', [js, { name_label: 'v', MTU: 1500, other_config: {} }]);
    const vlan = await call(joiner.url, 'VLAN.create', [js, await pif('eth1'), 5, vnet]);
    assert.deepEqual(await failure(join()), ['POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS']);
    await call(joiner.url, 'VLAN.destroy', [js, vlan]);

    await call(joiner.url, 'SDN_controller.introduce', [js, 'pssl', '', 0]);
    const tnet = await call(joiner.url, 'network.create', [js, { name_label: 't', MTU: 1500, other_config: {} }]);
    const tunnel = await call(joiner.url, 'tunnel.create', [js, await pif('eth0'), tnet, 'gre']);
    assert.deepEqual(await failure(join()), ['POOL_JOINING_HOST_HAS_TUNNELS']);
    await call(joiner.url, 'tunnel.destroy', [js, tunnel]);

    joiner.db.transact((tx) => { const p = tx.all('PIF').find((x) => x.rec.device === 'eth2')!; tx.update(p.ref, { capabilities: ['sriov'] }); });
    const snet = await call(joiner.url, 'network.create', [js, { name_label: 's', MTU: 1500, other_config: {} }]);
    const sriov = await call(joiner.url, 'network_sriov.create', [js, await pif('eth2'), snet]);
    assert.deepEqual(await failure(join()), ['POOL_JOINING_HOST_HAS_NETWORK_SRIOVS']);
    await call(joiner.url, 'network_sriov.destroy', [js, sriov]);

    // a management VLAN on the joiner, none on the master
    joiner.db.transact((tx) => { const p = tx.all('PIF').find((x) => x.rec.management)!; tx.update(p.ref, { VLAN: 7 }); });
    assert.deepEqual(await failure(join()), ['POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH', '7', '-1']);
    joiner.db.transact((tx) => { const p = tx.all('PIF').find((x) => x.rec.management)!; tx.update(p.ref, { VLAN: -1 }); });

    const other = await start(3, 'bridge');
    const os = await login(other.url);
    assert.deepEqual(await failure(call(other.url, 'pool.join', [os, addr(master), 'root', ROOT_PASSWORD])), ['OPERATION_NOT_ALLOWED', 'Network backends differ']);
    assert.equal((await failure(call(joiner.url, 'pool.join', [js, addr(master), 'root', 'wrong'])))[0], 'SESSION_AUTHENTICATION_FAILED');
  });

  it('joins: the member gets the master\'s bond and VLAN by NIC position, keeps a replica, and sends clients to the master', async () => {
    const master = await start(4);
    const member = await start(5);
    const ms = await login(master.url);
    const mpif = async (host: string, dev: string) => Object.keys((await call(master.url, 'PIF.get_all_records_where', [ms, `field "device"="${dev}" and field "VLAN"="-1" and field "host"="${host}"`])) as object)[0];
    const masterHost = ((await call(master.url, 'host.get_all', [ms])) as string[])[0];
    const bnet = await call(master.url, 'network.create', [ms, { name_label: 'bond net', MTU: 1500, other_config: {} }]);
    await call(master.url, 'Bond.create', [ms, bnet, [await mpif(masterHost, 'eth1'), await mpif(masterHost, 'eth2')], '', 'lacp', {}]);
    const vnet = await call(master.url, 'network.create', [ms, { name_label: 'vlan 100', MTU: 1500, other_config: {} }]);
    await call(master.url, 'VLAN.create', [ms, await mpif(masterHost, 'eth0'), 100, vnet]);

    const s = await login(member.url);
    await call(member.url, 'pool.join', [s, addr(master), 'root', ROOT_PASSWORD]);
    const hosts = (await call(master.url, 'host.get_all_records', [ms])) as Record<string, { hostname: string }>;
    assert.deepEqual(Object.values(hosts).map((h) => h.hostname).sort(), ['host4', 'host5']);
    const memberHost = Object.entries(hosts).find(([, h]) => h.hostname === 'host5')![0];
    const bonds = (await call(master.url, 'Bond.get_all_records', [ms])) as Record<string, { master: string; mode: string; slaves: string[] }>;
    assert.equal(Object.keys(bonds).length, 2);
    const memberBond = Object.values(bonds).find((b) => Object.keys(b.slaves).length && ((member.db.get(b.master)?.rec.host ?? master.db.get(b.master)?.rec.host) === memberHost));
    assert.ok(memberBond, 'the member has a bond');
    assert.equal(memberBond.mode, 'lacp');
    const vlans = (await call(master.url, 'VLAN.get_all_records', [ms])) as Record<string, { tag: number; untagged_PIF: string }>;
    assert.equal(Object.values(vlans).filter((v) => v.tag === 100).length, 2);
    // the replica converges on the member
    await until(() => member.db.count('Bond'), (n) => n === 2, 'the member replicates the bonds');
    await until(() => member.db.generation, (g) => g === master.db.generation, 'the replica catches up');
    assert.equal(member.db.count('PIF'), master.db.count('PIF'));
    // clients that call the member are sent to the master
    assert.deepEqual(await failure(call(member.url, 'session.login_with_password', ['root', ROOT_PASSWORD])), ['HOST_IS_SLAVE', '127.0.0.1']);
    // a change on the master reaches the member
    const n = await call(master.url, 'network.create', [ms, { name_label: 'later', MTU: 1500, other_config: {} }]);
    await until(() => member.db.get(n as string), (o) => !!o, 'a new network reaches the member');

    // designate the member as the new master: no object lost
    const before = master.db.count('PIF') + master.db.count('network') + master.db.count('Bond') + master.db.count('VLAN');
    await call(master.url, 'pool.designate_new_master', [ms, memberHost]);
    await until(() => member.membership.role, (r) => r === 'master', 'the member becomes master');
    await until(() => master.membership.role, (r) => r === 'member', 'the old master becomes a member');
    const ns = await login(member.url);
    const after = (await Promise.all(['PIF', 'network', 'Bond', 'VLAN'].map(async (c) => ((await call(member.url, `${c}.get_all`, [ns])) as string[]).length))).reduce((a, b) => a + b);
    assert.equal(after, before);
    assert.deepEqual(await failure(call(master.url, 'session.login_with_password', ['root', ROOT_PASSWORD])), ['HOST_IS_SLAVE', '127.0.0.1']);
    await until(() => master.db.generation, (g) => g === member.db.generation, 'the old master follows the new one');
  });

  it('enters emergency mode when the master is gone; emergency_transition_to_master makes the member master', async () => {
    const master = await start(6);
    const member = await start(7);
    const s = await login(member.url);
    await call(member.url, 'pool.join', [s, addr(master), 'root', ROOT_PASSWORD]);
    await until(() => member.db.count('host'), (n) => n === 2, 'joined');
    await master.close();
    const local = await call(member.url, 'session.slave_local_login_with_password', ['root', ROOT_PASSWORD]);
    await until(() => call(member.url, 'host.is_in_emergency_mode', [local]), (v) => v === true, 'emergency mode', 8000);
    await call(member.url, 'pool.emergency_transition_to_master', [local]);
    const ns = await login(member.url);
    const hosts = (await call(member.url, 'host.get_all', [ns])) as string[];
    assert.equal(hosts.length, 2, 'no host lost');
  });
});
