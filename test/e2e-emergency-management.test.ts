// A member in emergency mode changes its own management interface (host.local_management_reconfigure,
// what `xe host-emergency-management-reconfigure` runs on the host itself), and pool.recover_slaves
// brings it back with that choice and nothing else lost.
//
//   host1 (master, 10.77.0.11 -> 10.77.0.21)
//   host2 (member): eth0 (management, the lab's address), eth1 Static 10.77.0.42 gateway 10.77.0.1
//   a VLAN 51 network made before; a VLAN 41 network made on the master during the emergency
//
// Proven: outside emergency mode the call answers NOT_IN_EMERGENCY_MODE; the master's address
// changes and host2 enters emergency mode; there, with a local session, it moves its management
// interface to xenbr1 and its default route moves there at once; after pool.recover_slaves the
// master's database has eth1 as host2's management PIF and 10.77.0.42 as its address, host2 is
// out of emergency mode, its default route stays on xenbr1, eth0 keeps its configuration, VLAN 51
// is still on its switch and VLAN 41 reaches it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLab, type TestLab } from './helpers/lab.ts';
import { hostVsctl, poolLabSkip, until } from './helpers/pool-lab.ts';

const TIMEOUT_MS = 4000;
const MASTER_NEW_IP = '10.77.0.21';
const ETH1_IP = '10.77.0.42';

type PifRec = { device: string; VLAN: number; host: string; management: boolean; ip_configuration_mode: string; IP: string };

describe('a member in emergency mode moves its management interface; pool.recover_slaves keeps it (2 hosts)', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  let host2 = '';
  let eth0Before: PifRec | undefined;

  /** A call on host2's own socket with a local session (the only kind a member in emergency mode serves). */
  const local = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const h = t.state.hosts[1];
    const s = (await t.lab.rpc(h.socket, 'session.slave_local_login_with_password', ['root', t.state.password])) as string;
    return t.lab.rpc(h.socket, method, [s, ...params]);
  };
  const emergency = async () => (await local('host.is_in_emergency_mode')) as boolean;
  const defaultDev = () => /dev (\S+)/.exec(t.host(2, 'ip', ['-4', 'route', 'show', 'default']))?.[1];
  const vlanOn = (tag: number) => {
    const h = t.state.hosts[1];
    try { return hostVsctl(h, t.lab.inNs, 'list-br').split('\n').some((b) => hostVsctl(h, t.lab.inNs, 'br-to-vlan', b) === String(tag)); } catch { return false; }
  };
  const pifsOf2 = async (): Promise<Record<string, PifRec>> => {
    const s = await t.session(1);
    return (await t.call(1, 'PIF.get_all_records_where', [s, `field "host"="${host2}"`])) as Record<string, PifRec>;
  };
  const pifOf2 = async (dev: string) => Object.entries(await pifsOf2()).find(([, p]) => p.device === dev && p.VLAN === -1)!;

  before(async () => {
    t = await startLab({ tag: 'em', hosts: 2, nics: 2, vms: 0, masterTimeoutMs: TIMEOUT_MS });
    const s = await t.session(1);
    host2 = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host2"'])) as string[])[0];
    // host2's eth1 gets an address of its own, with a gateway (the lab's fabric)
    const [eth1] = await pifOf2('eth1');
    await t.call(1, 'PIF.reconfigure_ip', [s, eth1, 'Static', ETH1_IP, '255.255.255.0', '10.77.0.1', '']);
    await until(() => t.host(2, 'ip', ['-4', 'addr', 'show', 'dev', 'xenbr1']).includes(ETH1_IP) || undefined, 60_000, 'eth1\'s address on host2');
    // a configuration made before the emergency
    const eth1s = (await t.call(1, 'PIF.get_all_where', [s, 'field "device"="eth1" and field "VLAN"="-1"'])) as string[];
    const net = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 51', name_description: 'made before', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'pool.create_VLAN_from_PIF', [s, eth1s[0], net, 51]);
    await until(() => vlanOn(51) || undefined, 60_000, 'VLAN 51 on host2');
    eth0Before = (await pifOf2('eth0'))[1];
  });
  after(async () => { await t?.dispose(); });

  it('answers NOT_IN_EMERGENCY_MODE while the member reaches its master', async () => {
    const e = await local('host.local_management_reconfigure', ['xenbr1']).then(() => undefined, (x: Error & { code?: string }) => x);
    assert.equal(e?.code, 'NOT_IN_EMERGENCY_MODE', e?.message);
    assert.equal(eth0Before?.management, true);
    assert.notEqual(defaultDev(), 'xenbr1');
  });

  it('in emergency mode the member moves its management interface to xenbr1 locally', async () => {
    const s = await t.session(1);
    const me = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host1"'])) as string[])[0];
    const pif = ((await t.call(1, 'PIF.get_all_where', [s, `field "management"="true" and field "host"="${me}"`])) as string[])[0];
    await t.call(1, 'PIF.reconfigure_ip', [s, pif, 'Static', MASTER_NEW_IP, '255.255.255.0', '10.77.0.1', '']);
    await until(async () => (await emergency()) || undefined, 60_000, 'host2 in emergency mode', 200);
    await local('host.local_management_reconfigure', ['xenbr1']);
    await until(() => defaultDev() === 'xenbr1' || undefined, 30_000, 'host2\'s default route on xenbr1');
    assert.equal(await emergency(), true, 'still in emergency mode');
    // a change on the master meanwhile
    const eth1s = (await t.call(1, 'PIF.get_all_where', [s, 'field "device"="eth1" and field "VLAN"="-1"'])) as string[];
    const net = (await t.call(1, 'network.create', [s, { name_label: 'VLAN 41', name_description: 'made during emergency mode', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'pool.create_VLAN_from_PIF', [s, eth1s[0], net, 41]);
  });

  it('pool.recover_slaves brings it back with its management interface, nothing lost', async () => {
    const s = await t.session(1);
    const recovered = (await t.call(1, 'pool.recover_slaves', [s])) as string[];
    assert.deepEqual(recovered, [host2]);
    await until(async () => !(await emergency()) || undefined, 60_000, 'host2 out of emergency mode', 200);
    // the master's database takes the member's choice
    await until(async () => (await pifOf2('eth1'))[1].management || undefined, 60_000, 'eth1 host2\'s management PIF in the master\'s database');
    assert.equal((await pifOf2('eth0'))[1].management, false);
    assert.equal(await t.call(1, 'host.get_address', [s, host2]), ETH1_IP);
    // nothing else lost: eth0's configuration, VLAN 51; VLAN 41 arrives
    const eth0 = (await pifOf2('eth0'))[1];
    assert.equal(eth0.ip_configuration_mode, eth0Before!.ip_configuration_mode);
    assert.equal(eth0.IP, eth0Before!.IP);
    await until(() => vlanOn(41) || undefined, 60_000, 'VLAN 41 on host2');
    assert.equal(vlanOn(51), true, 'VLAN 51 still on host2');
    assert.equal(defaultDev(), 'xenbr1');
    const e = await t.lab.rpc(t.state.hosts[1].socket, 'session.login_with_password', ['root', t.state.password]).then(() => undefined, (x: Error & { code?: string }) => x);
    assert.equal(e?.code, 'HOST_IS_SLAVE');
    assert.match(e?.message ?? '', new RegExp(MASTER_NEW_IP.replace(/\./g, '\\.')));
  });
});
