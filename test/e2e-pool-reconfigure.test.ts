// Two things a member tells or is told, on a real pool (2 hosts, 2 NICs each, Open vSwitch):
//
// 1. VLAN_IN_USE from a member's report: an Open vSwitch fake bridge made on host2 outside poolnet
//    (`ovs-vsctl add-br fake17 xenbr1 17`) reaches the master with host2's NICs, and
//    pool.create_VLAN_from_PIF with tag 17 is refused VLAN_IN_USE [eth1, 17], creating nothing.
//    The fake bridge is made once: poolnet's agent leaves ports it did not make alone (as
//    xcp-networkd does), so it is still there at the end.
// 2. pool.management_reconfigure runs pool.recover_slaves afterwards, as xapi: both hosts' eth1 have
//    addresses (10.77.0.31, 10.77.0.32); after the call the member names the master's new address
//    (HOST_IS_SLAVE), and once the master's old address is gone (eth0 mode None) the member stays
//    out of emergency mode and a VLAN made afterwards reaches its switch. Without recover_slaves the
//    member keeps the old address (a member does not follow the same master to a new address).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLab, type TestLab } from './helpers/lab.ts';
import { hostVsctl, poolLabSkip, sleep, until } from './helpers/pool-lab.ts';

const MASTER_OLD_IP = '10.77.0.11';
const MASTER_NEW_IP = '10.77.0.31';
const MEMBER_NEW_IP = '10.77.0.32';

describe('a member\'s foreign VLAN refuses pool.create_VLAN_from_PIF; pool.management_reconfigure recovers the members (2 hosts)', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  let host1 = '';
  let host2 = '';

  const local2 = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const h = t.state.hosts[1];
    const s = (await t.lab.rpc(h.socket, 'session.slave_local_login_with_password', ['root', t.state.password])) as string;
    return t.lab.rpc(h.socket, method, [s, ...params]);
  };
  const vsctl2 = (...args: string[]) => hostVsctl(t.state.hosts[1], t.lab.inNs, ...args);
  const vlanOn2 = (tag: number) => {
    try { return vsctl2('list-br').split('\n').some((b) => vsctl2('br-to-vlan', b) === String(tag)); } catch { return false; }
  };
  const pif = async (host: string, device: string): Promise<string> => {
    const s = await t.session(1);
    return ((await t.call(1, 'PIF.get_all_where', [s, `field "host"="${host}" and field "device"="${device}" and field "VLAN"="-1"`])) as string[])[0];
  };
  /** The master address host2 sends clients to (HOST_IS_SLAVE's parameter). */
  const masterOf2 = async (): Promise<string> => {
    const e = await t.lab.rpc(t.state.hosts[1].socket, 'session.login_with_password', ['root', t.state.password]).then(() => undefined, (x: Error & { code?: string; params?: string[] }) => x);
    assert.equal(e?.code, 'HOST_IS_SLAVE');
    return /(\d+\.\d+\.\d+\.\d+)/.exec(e?.message ?? '')?.[1] ?? '';
  };

  before(async () => {
    t = await startLab({ tag: 'rc', hosts: 2, nics: 2, vms: 0, masterTimeoutMs: 4000 });
    const s = await t.session(1);
    host1 = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host1"'])) as string[])[0];
    host2 = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host2"'])) as string[])[0];
  });
  after(async () => { await t?.dispose(); });

  it('a fake bridge made on the member outside poolnet: VLAN_IN_USE [eth1, 17], nothing created', async () => {
    const s = await t.session(1);
    const net = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 17', name_description: '', MTU: 1500, other_config: {} }])) as string;
    const eth1 = await pif(host1, 'eth1');
    vsctl2('add-br', 'fake17', 'xenbr1', '17');
    const refusal = await until(async () => {
      const e = await t.call(1, 'pool.create_VLAN_from_PIF', [s, eth1, net, 17]).then(async (made) => {
        // the report had not arrived yet: undo, and try again
        for (const p of made as string[]) await t.call(1, 'PIF.destroy', [s, p]);
        return undefined;
      }, (x: Error & { code?: string }) => x);
      if (!e) { await sleep(500); return undefined; }
      return e;
    }, 90_000, 'host2\'s report of VLAN 17 on eth1', 250);
    assert.equal(refusal.code, 'VLAN_IN_USE', refusal.message);
    assert.match(refusal.message, /eth1/);
    assert.match(refusal.message, /17/);
    assert.deepEqual(await t.call(1, 'VLAN.get_all', [s]), [], 'no VLAN created on either host');
    assert.equal(vsctl2('br-to-vlan', 'fake17'), '17', 'host2\'s agent left the fake bridge alone');
    vsctl2('del-br', 'fake17');
    await t.call(1, 'network.destroy', [s, net]);
  });

  it('pool.management_reconfigure: the member is pointed at the master\'s new address (recover_slaves)', async () => {
    const s = await t.session(1);
    await t.call(1, 'PIF.reconfigure_ip', [s, await pif(host1, 'eth1'), 'Static', MASTER_NEW_IP, '255.255.255.0', '', '']);
    await t.call(1, 'PIF.reconfigure_ip', [s, await pif(host2, 'eth1'), 'Static', MEMBER_NEW_IP, '255.255.255.0', '', '']);
    await until(() => t.host(1, 'ip', ['-4', 'addr', 'show', 'dev', 'xenbr1']).includes(MASTER_NEW_IP) || undefined, 60_000, 'the master\'s eth1 address');
    await until(() => t.host(2, 'ip', ['-4', 'addr', 'show', 'dev', 'xenbr1']).includes(MEMBER_NEW_IP) || undefined, 60_000, 'the member\'s eth1 address');
    assert.equal(await masterOf2(), MASTER_OLD_IP);
    const xenbr1 = ((await t.call(1, 'network.get_all_where', [s, 'field "bridge"="xenbr1"'])) as string[])[0];
    await t.call(1, 'pool.management_reconfigure', [s, xenbr1]);
    assert.equal(await t.call(1, 'host.get_address', [s, host1]), MASTER_NEW_IP);
    assert.equal(await t.call(1, 'host.get_address', [s, host2]), MEMBER_NEW_IP);
    await until(async () => (await masterOf2()) === MASTER_NEW_IP || undefined, 30_000, 'host2 pointed at the master\'s new address');
  });

  it('the master\'s old address gone: the member stays a member and follows new changes', async () => {
    const s = await t.session(1);
    await t.call(1, 'PIF.reconfigure_ip', [s, await pif(host1, 'eth0'), 'None', '', '', '', '']);
    await until(() => !t.host(1, 'ip', ['-4', 'addr', 'show']).includes(`${MASTER_OLD_IP}/`) || undefined, 60_000, 'the master\'s old address gone');
    const net = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 61', name_description: '', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'pool.create_VLAN_from_PIF', [s, await pif(host1, 'eth1'), net, 61]);
    await until(() => vlanOn2(61) || undefined, 60_000, 'VLAN 61 on host2');
    // longer than the member's master timeout (4 s): still no emergency
    await sleep(6000);
    assert.equal(await local2('host.is_in_emergency_mode'), false);
    assert.equal(await masterOf2(), MASTER_NEW_IP);
  });
});
