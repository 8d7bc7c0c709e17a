// Host addresses with real packets, on one lab host with three NICs:
// - a secondary interface (PIF.reconfigure_ip on eth2, static 10.78.0.11/24) is reachable on its
//   own subnet: the fabric puts eth2 and a peer (a namespace of the test's own, 10.78.0.1) in a
//   VLAN of their own, as a storage network would be, so only eth2 can answer; mode None
//   takes the address away again;
// - mode=DHCP on a PIF (eth1) gets a lease from the lab's dnsmasq: the agent runs dhclient and
//   writes the leased address back into PIF.IP;
// - the management interface's address changed (static, then DHCP as the seed's procedure does)
//   keeps the XenAPI answering on the unix socket, and the new address is the host's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';
import { run, sleep, until } from './helpers/pool-lab.ts';

const PEER_IP = '10.78.0.1';
const SECONDARY_IP = '10.78.0.11';
const STORAGE_VLAN = '78'; // the fabric's VLAN for eth2 and the peer
const DHCP_RANGE = /^10\.77\.0\.(2[0-4]\d|250)$/; // the lab's dnsmasq: 10.77.0.200-250

function skip(): string | false {
  const lab = labSkip();
  if (lab) return lab;
  if (spawnSync('which', ['dhclient']).status !== 0) return 'dhclient is not installed (Debian isc-dhcp-client)';
  return false;
}

async function ping(ns: string, dst: string): Promise<{ sent: number; received: number; out: string }> {
  const r = await run(ns, 'ping', ['-n', '-c', '5', '-i', '0.2', '-W', '1', dst]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.out);
  assert.ok(m, `ping output: ${r.out}`);
  return { sent: Number(m[1]), received: Number(m[2]), out: r.out };
}

interface PifRec { device: string; VLAN: number; IP: string; netmask: string; gateway: string; ip_configuration_mode: string; management: boolean; currently_attached: boolean; MAC: string }

describe('host addresses: secondary interface, DHCP, management', { skip: skip() }, () => {
  let t: TestLab;
  let s = '';
  let hostRef = '';
  const pifs: Record<string, string> = {}; // device -> PIF ref
  let peerNs = '';

  before(async () => {
    t = await startLab({ tag: 'ip', hosts: 1, nics: 3, vms: 0 });
    s = await t.session(1);
    hostRef = ((await t.call(1, 'host.get_all', [s])) as string[])[0];
    const all = (await t.call(1, 'PIF.get_all_records', [s])) as Record<string, PifRec>;
    for (const [ref, p] of Object.entries(all)) if (p.VLAN === -1) pifs[p.device] = ref;
    // a peer on the secondary interface's subnet: a namespace with one veth into the fabric,
    // made inside the lab's namespaces (never in the machine's own), removed by the lab's down
    peerNs = `${t.lab.PREFIX}peer`;
    spawnSync('ip', ['netns', 'add', peerNs]);
    const peer = (cmd: string, ...args: string[]) => t.lab.inNs(peerNs, cmd, args);
    peer('ip', 'link', 'set', 'lo', 'up');
    peer('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer78', 'netns', t.lab.fabricNs);
    for (const [ns, dev] of [[peerNs, 'eth0'], [t.lab.fabricNs, 'peer78']]) {
      t.lab.inNs(ns, 'ip', ['link', 'set', dev, 'up']);
      t.lab.inNs(ns, 'ethtool', ['-K', dev, 'tx', 'off']); // TCP through the userspace datapath needs it; harmless for ping
    }
    peer('ip', 'addr', 'add', `${PEER_IP}/24`, 'dev', 'eth0');
    // the physical switch: eth2's port and the peer's in a VLAN of their own
    t.lab.fabricVsctl('add-port', 'fabric', 'peer78', `tag=${STORAGE_VLAN}`, '--', 'set', 'port', 'h1e2', `tag=${STORAGE_VLAN}`);
  });
  after(async () => {
    if (peerNs) spawnSync('ip', ['netns', 'del', peerNs]);
    await t?.dispose();
  });

  const pif = async (dev: string) => (await t.call(1, 'PIF.get_record', [s, pifs[dev]])) as PifRec;
  const v4 = (dev: string) => {
    const j = JSON.parse(t.host(1, 'ip', ['-j', 'addr', 'show', 'dev', dev])) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
    return j[0].addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  };
  const addressIs = (dev: string, want: string[]) => until(() => (JSON.stringify(v4(dev)) === JSON.stringify(want) ? true : undefined), 10_000, `${dev} to carry ${want.join(', ') || 'no IPv4 address'} (has ${v4(dev).join(', ')})`);
  const apiAnswers = async () => {
    // a new session and a read, on the same unix socket
    const s2 = (await t.lab.rpc(t.state.hosts[0].socket, 'session.login_with_password', ['root', t.state.password])) as string;
    const name = (await t.lab.rpc(t.state.hosts[0].socket, 'host.get_name_label', [s2, hostRef])) as string;
    await t.lab.rpc(t.state.hosts[0].socket, 'session.logout', [s2]);
    return name;
  };

  it('makes a static secondary interface on eth2 reachable on its own subnet, and mode None removes it', async () => {
    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth2, 'Static', SECONDARY_IP, '255.255.255.0', '', '']);
    const p = await pif('eth2');
    assert.deepEqual([p.ip_configuration_mode, p.IP, p.netmask, p.management, p.currently_attached], ['Static', SECONDARY_IP, '255.255.255.0', false, true]);
    await addressIs('xenbr2', [`${SECONDARY_IP}/24`]);
    assert.match(t.host(1, 'ip', ['route', 'get', PEER_IP]), /dev xenbr2 /, 'the host reaches the subnet through eth2\'s bridge');
    // the peer shares no network with the management interface: only eth2 can answer it
    const r = await ping(peerNs, SECONDARY_IP);
    assert.equal(r.received, r.sent, r.out);
    const back = await run(t.state.hosts[0].ns, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '1', '-I', 'xenbr2', PEER_IP]);
    assert.equal(back.code, 0, `the host reaches the peer from the secondary interface: ${back.out}`);

    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth2, 'None', '', '', '', '']);
    await addressIs('xenbr2', []);
    assert.equal((await ping(peerNs, SECONDARY_IP)).received, 0, 'the address is gone from the network too');
  });

  it('gets a lease from the lab\'s dnsmasq with mode=DHCP, written back into PIF.IP', async (c) => {
    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth1, 'DHCP', '', '', '', '']);
    const ip = await until(async () => { const x = (await t.call(1, 'PIF.get_IP', [s, pifs.eth1])) as string; return DHCP_RANGE.test(x) ? x : undefined; }, 20_000, 'PIF.IP of eth1 to be a lease');
    c.diagnostic(`eth1 leased ${ip}`);
    const p = await pif('eth1');
    assert.deepEqual([p.ip_configuration_mode, p.netmask], ['DHCP', '255.255.255.0']);
    await addressIs('xenbr1', [`${ip}/24`]);
    // dnsmasq's own record of the lease, for eth1's MAC (the bridge carries the PIF's MAC)
    const leases = readFileSync(join(t.lab.LAB_DIR, 'fabric', 'dnsmasq.leases'), 'utf8');
    assert.ok(leases.split('\n').some((l) => l.includes(` ${p.MAC.toLowerCase()} ${ip} `)), `dnsmasq leased ${ip} to ${p.MAC}:\n${leases}`);
    const r = await ping(t.lab.fabricNs, ip);
    assert.ok(r.received > 0, r.out);

    // back to None: no dhclient, no address, and PIF.IP stays empty
    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth1, 'None', '', '', '', '']);
    await addressIs('xenbr1', []);
    await sleep(500); // a status report in flight must not write the old lease back
    assert.equal((await pif('eth1')).IP, '');
  });

  it('keeps the XenAPI answering while the management interface changes address (static, then DHCP)', async (c) => {
    const newIp = '10.77.0.31';
    const name = await apiAnswers();
    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth0, 'Static', newIp, '255.255.255.0', '10.77.0.1', '10.77.0.1']);
    await addressIs('xenbr0', [`${newIp}/24`]);
    // the default route goes with the address that made its gateway reachable: it must come back
    await until(() => (/default via 10\.77\.0\.1 dev xenbr0/.test(t.host(1, 'ip', ['route', 'show', 'default'])) ? true : undefined), 10_000, 'the default route through xenbr0');
    assert.equal(await apiAnswers(), name);
    assert.equal(await t.call(1, 'host.get_address', [s, hostRef]), newIp);
    assert.equal((await ping(t.lab.fabricNs, newIp)).received, 5, 'the new address answers on the management network');
    assert.equal((await ping(t.lab.fabricNs, t.state.hosts[0].ip)).received, 0, 'the old one does not');
    // the XenAPI over TCP at the new address, from the fabric
    const https = await run(t.lab.fabricNs, 'curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `https://${newIp}/`]);
    assert.match(https.out, /^\d{3}$/, `the XenAPI at https://${newIp}/: ${https.out}`);
    assert.notEqual(https.out, '000');

    // the seed's procedure: pif-reconfigure-ip mode=DHCP on the management interface
    await t.call(1, 'PIF.reconfigure_ip', [s, pifs.eth0, 'DHCP', '', '', '', '']);
    const leased = await until(async () => { const x = (await t.call(1, 'PIF.get_IP', [s, pifs.eth0])) as string; return DHCP_RANGE.test(x) ? x : undefined; }, 20_000, 'PIF.IP of the management interface to be a lease');
    c.diagnostic(`management interface: ${t.state.hosts[0].ip} -> ${newIp} (static) -> ${leased} (DHCP)`);
    await addressIs('xenbr0', [`${leased}/24`]);
    assert.equal(await apiAnswers(), name);
    await until(async () => ((await t.call(1, 'host.get_address', [s, hostRef])) === leased ? true : undefined), 10_000, `host.address to become ${leased}`);
    assert.equal((await ping(t.lab.fabricNs, leased)).received, 5);
    assert.equal((await pif('eth0')).management, true);
  });
});
