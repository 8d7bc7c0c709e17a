// A new master for the pool, twice, with nothing lost: pool.designate_new_master(host2) on the
// master host1, then, with host2's poolnetd stopped, pool.emergency_transition_to_master on
// host3. The pool holds bonds (eth1+eth2 on every host), a VLAN on every bond, a cross-server
// private network and three VMs pinging each other 10 times a second.
//
// Proven: after each change the new master's API lists the same hosts, PIFs, networks, bonds,
// VLANs, tunnels, VIFs and VMs (by uuid) as the old master's did before; the other hosts send
// clients to the new master; a change made through the new master reaches the members'
// switches (their replica follows it); no VM lost a ping.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLab, type TestLab } from './helpers/lab.ts';
import { hostVsctl, Pinger, poolLabSkip, reachable, until } from './helpers/pool-lab.ts';

const CLASSES = ['host', 'PIF', 'network', 'Bond', 'VLAN', 'tunnel', 'VIF', 'VM', 'SDN_controller'] as const;

describe('pool.designate_new_master and pool.emergency_transition_to_master lose nothing (3 hosts)', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  const pingers: Pinger[] = [];
  let before0: Record<string, string[]> = {};

  /** Every object's uuid, by class, as host i (the master) lists them. */
  const inventory = async (i: number): Promise<Record<string, string[]>> => {
    const s = (await t.lab.rpc(t.state.hosts[i - 1].socket, 'session.login_with_password', ['root', t.state.password])) as string;
    const out: Record<string, string[]> = {};
    for (const cls of CLASSES) {
      const recs = (await t.lab.rpc(t.state.hosts[i - 1].socket, `${cls}.get_all_records`, [s])) as Record<string, { uuid: string }>;
      out[cls] = Object.values(recs).map((r) => r.uuid).sort();
    }
    return out;
  };
  const counts = (inv: Record<string, string[]>) => Object.fromEntries(Object.entries(inv).map(([k, v]) => [k, v.length]));
  /** The master a host sends clients to, or 'master' when it is one. */
  const masterOf = async (i: number): Promise<string> => {
    try {
      await t.lab.rpc(t.state.hosts[i - 1].socket, 'session.login_with_password', ['root', t.state.password]);
      return 'master';
    } catch (e) {
      if ((e as { code?: string }).code !== 'HOST_IS_SLAVE') throw e;
      return (e as Error).message.split(' ')[1];
    }
  };
  const vlanOn = (i: number, tag: number) => {
    try { return hostVsctl(t.state.hosts[i - 1], t.lab.inNs, 'list-br').split('\n').some((b) => hostVsctl(t.state.hosts[i - 1], t.lab.inNs, 'br-to-vlan', b) === String(tag)); } catch { return false; }
  };
  /** A new VLAN made through master m on every host's eth1 reaches each of `hosts`' switches. */
  const replicaFollows = async (m: number, tag: number, hosts: number[]) => {
    const sock = t.state.hosts[m - 1].socket;
    const s = (await t.lab.rpc(sock, 'session.login_with_password', ['root', t.state.password])) as string;
    const eth0 = ((await t.lab.rpc(sock, 'PIF.get_all_where', [s, 'field "device"="eth0" and field "VLAN"="-1"'])) as string[])[0];
    const net = (await t.lab.rpc(sock, 'network.create', [s, { name_label: `VLAN ${tag}`, name_description: '', MTU: 1500, other_config: {} }])) as string;
    await t.lab.rpc(sock, 'pool.create_VLAN_from_PIF', [s, eth0, net, tag]);
    for (const i of hosts) await until(() => vlanOn(i, tag) || undefined, 60_000, `VLAN ${tag} on host${i}'s switch`);
  };

  before(async () => {
    t = await startLab({ tag: 'pm', hosts: 3, nics: 3, vms: 3, masterTimeoutMs: 4000 });
    const s = await t.session(1);
    const pifs = (await t.call(1, 'PIF.get_all_records', [s])) as Record<string, { device: string; host: string; VLAN: number; management: boolean }>;
    // a bond of eth1+eth2 on every host, on one network, with a VLAN on it
    const bondNet = (await t.call(1, 'network.create', [s, { name_label: 'bond', name_description: '', MTU: 1500, other_config: {} }])) as string;
    const hosts = (await t.call(1, 'host.get_all', [s])) as string[];
    for (const h of hosts) {
      const members = Object.entries(pifs).filter(([, p]) => p.host === h && p.VLAN === -1 && (p.device === 'eth1' || p.device === 'eth2')).map(([r]) => r);
      await t.call(1, 'Bond.create', [s, bondNet, members, '', 'active-backup', {}]);
    }
    const bondPif = ((await t.call(1, 'network.get_PIFs', [s, bondNet])) as string[])[0];
    const vlanNet = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 300', name_description: '', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'pool.create_VLAN_from_PIF', [s, bondPif, vlanNet, 300]);
    // a cross-server private network
    const priv = (await t.call(1, 'network.create', [s, { name_label: 'private', name_description: '', MTU: 1500, other_config: {} }])) as string;
    for (const [r] of Object.entries(pifs).filter(([, p]) => p.management)) await t.call(1, 'tunnel.create', [s, r, priv, 'gre']);
    for (const [a, b] of [[1, 2], [2, 3], [3, 1]]) {
      assert.ok(await reachable(t.state.vms[a - 1].ns, t.state.vms[b - 1].ip, 60_000), `vm${a} reaches vm${b}`);
      pingers.push(new Pinger(t.state.vms[a - 1].ns, t.state.vms[b - 1].ip, 0.1));
    }
    before0 = await inventory(1);
    const c = counts(before0);
    assert.deepEqual([c.host, c.Bond, c.VLAN, c.tunnel, c.VM - 3, c.VIF], [3, 3, 3, 3, 3, 3], `the pool before: ${JSON.stringify(c)}`);
  });
  after(async () => {
    for (const p of pingers) p.kill();
    await t?.dispose();
  });

  it('pool.designate_new_master(host2): host2 is master with every object, the others follow it', async () => {
    const s = await t.session(1);
    const host2 = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host2"'])) as string[])[0];
    const t0 = Date.now();
    await t.call(1, 'pool.designate_new_master', [s, host2]);
    await until(async () => (await masterOf(2)) === 'master' && (await masterOf(1)) === t.state.hosts[1].ip && (await masterOf(3)) === t.state.hosts[1].ip ? true : undefined, 60_000, 'host2 master, host1 and host3 sending clients to it');
    console.log(`# designate_new_master: the pool follows host2 after ${Date.now() - t0} ms; objects ${JSON.stringify(counts(before0))}`);
    assert.deepEqual(await inventory(2), before0, 'the new master lists every object of the old');
    await replicaFollows(2, 51, [1, 3]);
  });

  it('pool.emergency_transition_to_master on host3 with host2\'s poolnetd stopped: host3 is master with every object', async () => {
    const want = await inventory(2);
    const pid = t.lab.poolnetdPid(t.state.hosts[1]);
    process.kill(pid, 'SIGTERM');
    await until(() => { try { process.kill(pid, 0); return undefined; } catch { return true; } }, 30_000, 'host2\'s poolnetd to stop');
    const t0 = Date.now();
    const ls = (await t.lab.rpc(t.state.hosts[2].socket, 'session.slave_local_login_with_password', ['root', t.state.password])) as string;
    await t.lab.rpc(t.state.hosts[2].socket, 'pool.emergency_transition_to_master', [ls]);
    assert.equal(await masterOf(3), 'master');
    assert.deepEqual(await inventory(3), want, 'the new master lists every object of the old');
    assert.deepEqual(counts(want), { ...counts(before0), network: counts(before0).network + 1, PIF: counts(before0).PIF + 3, VLAN: counts(before0).VLAN + 3 }, 'the objects before, and VLAN 51');
    // host1 still follows the stopped host2: pool.recover_slaves on host3 points it here
    const s3 = (await t.lab.rpc(t.state.hosts[2].socket, 'session.login_with_password', ['root', t.state.password])) as string;
    const recovered = (await t.lab.rpc(t.state.hosts[2].socket, 'pool.recover_slaves', [s3])) as string[];
    const host1 = ((await t.lab.rpc(t.state.hosts[2].socket, 'host.get_all_where', [s3, 'field "hostname"="host1"'])) as string[])[0];
    assert.deepEqual(recovered, [host1], 'host1 accepted, the stopped host2 did not answer');
    await until(async () => ((await masterOf(1)) === t.state.hosts[2].ip ? true : undefined), 60_000, 'host1 sending clients to host3');
    console.log(`# emergency_transition_to_master + recover_slaves: host1 follows host3 after ${Date.now() - t0} ms`);
    await replicaFollows(3, 52, [1]);
  });

  it('no VM lost a ping throughout', async () => {
    // a fast run may end before the pingers have said much: let each answer 20 times first
    await until(() => (pingers.every((p) => p.replies >= 20) ? true : undefined), 30_000, 'every pinger answered 20 times');
    const results = await Promise.all(pingers.map((p) => p.stop()));
    console.log(`# pings: ${results.map((r, k) => `vm${k + 1}->vm${((k + 1) % 3) + 1} ${r.received}/${r.sent} (missing ${r.lost})`).join(', ')}`);
    for (const [k, r] of results.entries()) {
      assert.ok(r.received >= 20, `vm${k + 1}'s pinger ran: ${r.out}`);
      assert.deepEqual(r.missing, [], `vm${k + 1} -> vm${((k + 1) % 3) + 1}: lost pings`);
    }
  });
});
