// Cross-server private networks with real packets, in a pool of three hosts (poolnet's own SDN
// controller introduced by the lab). Network A is a GRE mesh, network B a VXLAN mesh, both
// carried by the hosts' management PIFs (eth0, the very NIC and bridge the management network's
// VMs use). Every VM has an address on one subnet, 10.200.0.0/24, so that only the networks keep
// them apart: a leak would show up as a frame seen or a ping answered.
//
//   host1: vm1 (A, .1)   vm4 (management network, .4)   vm5 (B, .5)
//   host2: vm2 (A, .2)                                   vm6 (B, .6)
//   host3: vm3 (A, .3)
//
// Proven: each host's switch has a tunnel to each other host, keyed per network, its tunnel ports
// protected (split horizon); vm1..vm3 reach each other over A, which the fabric carries as GRE
// with A's key, and a broadcast crosses each tunnel once, never relayed; vm5 and vm6 reach each
// other over B (VXLAN); neither vm4 (same host and NIC, management network) nor
// vm5 (another private network) sees any of A's frames, broadcasts included; neither can inject
// into A: frames with A's VMs' MACs and addresses, broadcasts, and (from vm4) GRE packets with A's
// key sent to host2 reach no VM on A; vm1 live-migrated from host1 to host3 while vm2 pings it 10
// times a second is reachable again on host3, and only there (the pings lost are a figure of
// bench/migrate.ts, not a test's bound).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LabVm } from '../src/lab/lab.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { Capture, hostVsctl, ping, Pinger, poolLabSkip, PYTHON, readdress, reachable, run, sleep, until } from './helpers/pool-lab.ts';

const SUBNET = '10.200.0';

describe('cross-server private networks (3 hosts, GRE and VXLAN)', { skip: poolLabSkip() }, () => {
  let t: TestLab;
  const captures: Capture[] = [];
  const pingers: Pinger[] = [];
  const vms = new Map<number, LabVm>();
  const ip = (j: number) => `${SUBNET}.${j}`;
  const vm = (j: number) => vms.get(j)!;
  let netA = '', netB = '', keyA = 0, keyB = 0;
  const capture = async (ns: string, iface: string, filter: string) => { const c = await Capture.start(ns, iface, filter); captures.push(c); return c; };

  before(async () => {
    t = await startLab({ tag: 'pp', hosts: 3, nics: 2, vms: 0 });
    const s = await t.session(1);
    const pifs = (await t.call(1, 'PIF.get_all_records_where', [s, 'field "management"="true"'])) as Record<string, { host: string }>;
    assert.equal(Object.keys(pifs).length, 3, 'a management PIF per host');
    const privateNet = async (name: string, protocol: string) => {
      const net = (await t.call(1, 'network.create', [s, { name_label: name, name_description: `cross-server private network (${protocol})`, MTU: 1500, other_config: {} }])) as string;
      for (const pif of Object.keys(pifs)) await t.call(1, 'tunnel.create', [s, pif, net, protocol]);
      return net;
    };
    netA = await privateNet('private A', 'gre');
    netB = await privateNet('private B', 'vxlan');
    const mgmt = ((await t.call(1, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const place: [number, number, string][] = [[1, 1, netA], [2, 2, netA], [3, 3, netA], [4, 1, mgmt], [5, 1, netB], [6, 2, netB]];
    for (const [j, h, net] of place) {
      const v = await t.lab.createVm(t.state.hosts[h - 1], j, t.state.password, net);
      if (j === 4) t.lab.inNs(v.ns, 'ip', ['addr', 'add', `${ip(j)}/24`, 'dev', 'eth0']); // keeps its management address too
      else readdress(t.lab.inNs, v.ns, `${ip(j)}/24`);
      vms.set(j, { ...v, ip: ip(j) });
    }
    const tunnels = (await t.call(1, 'tunnel.get_all_records', [s])) as Record<string, { access_PIF: string; status: Record<string, string> }>;
    const keyOf = async (net: string) => {
      const access = (await t.call(1, 'network.get_PIFs', [s, net])) as string[];
      const status = Object.values(tunnels).filter((x) => access.includes(x.access_PIF)).map((x) => x.status);
      assert.equal(status.length, 3);
      const key = Number(status[0].key);
      assert.ok(key > 0 && status.every((st) => st.key === String(key)), `one key for the network on every host: ${JSON.stringify(status)}`);
      return key;
    };
    keyA = await keyOf(netA);
    keyB = await keyOf(netB);
    assert.notEqual(keyA, keyB);
  });
  after(async () => {
    for (const p of pingers) p.kill();
    for (const c of captures) c.kill();
    await t?.dispose();
  });

  it('builds a keyed mesh per network and marks the tunnels active', async () => {
    const s = await t.session(1);
    await until(async () => {
      const all = Object.values((await t.call(1, 'tunnel.get_all_records', [s])) as Record<string, { status: Record<string, string> }>);
      return all.length === 6 && all.every((x) => x.status.active === 'true') ? true : undefined;
    }, 60_000, 'six active tunnels');
    const bridgeA = (await t.call(1, 'network.get_bridge', [s, netA])) as string;
    for (const i of [1, 2, 3]) {
      const h = t.state.hosts[i - 1];
      const gre = await until(() => {
        const ports = hostVsctl(h, t.lab.inNs, 'list-ports', bridgeA).split('\n').filter((p) => p.startsWith('gre'));
        return ports.length === 2 ? ports : undefined;
      }, 60_000, `host${i}: two GRE ports on ${bridgeA}`);
      const remotes = gre.map((p) => hostVsctl(h, t.lab.inNs, 'get', 'Interface', p, 'options:remote_ip').replace(/"/g, '')).sort();
      assert.deepEqual(remotes, t.state.hosts.filter((x) => x !== h).map((x) => x.ip).sort(), `host${i}'s tunnels lead to the other two hosts`);
      for (const p of gre) {
        assert.equal(hostVsctl(h, t.lab.inNs, 'get', 'Interface', p, 'options:key').replace(/"/g, ''), String(keyA));
        // split horizon: the switch forwards nothing from one tunnel into another
        assert.equal(hostVsctl(h, t.lab.inNs, 'get', 'Port', p, 'protected'), 'true', `host${i}'s ${p} is protected`);
      }
    }
  });

  it('connects VMs on three hosts over network A (GRE with A\'s key on the fabric) and vm5, vm6 over B (VXLAN)', async () => {
    for (const [a, b] of [[1, 2], [1, 3], [2, 3], [5, 6]]) assert.ok(await reachable(vm(a).ns, ip(b), 60_000), `vm${a} reaches vm${b}`);
    const fabric = await capture(t.lab.fabricNs, 'h1e0', 'proto gre or udp port 4789');
    for (const [a, b] of [[1, 2], [1, 3], [2, 3], [3, 1], [5, 6]]) {
      const r = await ping(vm(a).ns, ip(b), 10);
      assert.equal(r.received, r.sent, `vm${a} -> vm${b}: ${r.out}`);
    }
    // a broadcast from vm1 reaches host2 and host3 once each, and host2 sends it on to no one
    const onH2 = await capture(t.lab.fabricNs, 'h2e0', 'proto gre');
    await ping(vm(1).ns, `${SUBNET}.255`, 3, ['-b']);
    const h2 = await onH2.stop();
    const bcast = (l: string) => l.includes(`${ip(1)} > ${SUBNET}.255: ICMP echo request`);
    assert.equal(h2.filter((l) => bcast(l) && l.includes(`${t.state.hosts[0].ip} > ${t.state.hosts[1].ip}: GRE`)).length, 3, `host2 gets vm1's 3 broadcasts:\n${h2.join('\n')}`);
    assert.deepEqual(h2.filter((l) => bcast(l) && l.includes(`${t.state.hosts[1].ip} > `)), [], 'host2 sent vm1\'s broadcasts on into a tunnel');
    const lines = await fabric.stop();
    assert.ok(lines.filter((l) => l.includes(`key=0x${keyA.toString(16)}`) && l.includes(`${ip(1)} > ${ip(2)}: ICMP echo request`)).length >= 10, `h1e0 carries vm1's pings to vm2 in GRE with key ${keyA}:\n${lines.slice(0, 40).join('\n')}`);
    // tcpdump prints a VXLAN packet's inner frame on a line of its own
    const vx = lines.findIndex((l, k) => l.includes('VXLAN') && l.includes(`vni ${keyB}`) && lines[k + 1]?.includes(`${ip(5)} > ${ip(6)}: ICMP echo request`));
    assert.ok(vx >= 0, `h1e0 carries vm5's pings in VXLAN with B's key ${keyB}:\n${lines.filter((l) => !l.includes('GRE')).slice(0, 40).join('\n')}`);
  });

  it('shows none of A\'s frames to a VM on the management network (same host and NIC) or on network B, broadcasts included', async () => {
    const notA = (lines: string[]) => lines.filter((l) => [1, 2, 3].some((j) => l.includes(vm(j).mac) || l.includes(`${ip(j)} `) || l.includes(`${ip(j)}:`) || l.includes(`${ip(j)},`)));
    const on4 = await capture(vm(4).ns, 'eth0', `not ether src ${vm(4).mac}`);
    const on5 = await capture(vm(5).ns, 'eth0', `not ether src ${vm(5).mac}`);
    const on6 = await capture(vm(6).ns, 'eth0', `not ether src ${vm(6).mac}`);
    // A talks: ARP again (broadcasts), unicast pings, broadcast pings, on every pair
    for (const j of [1, 2, 3]) t.lab.inNs(vm(j).ns, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    for (const [a, b] of [[1, 2], [2, 3], [3, 1]]) {
      const r = await ping(vm(a).ns, ip(b), 5);
      assert.equal(r.received, r.sent, `A works meanwhile: vm${a} -> vm${b}`);
    }
    for (const j of [1, 2, 3]) await ping(vm(j).ns, `${SUBNET}.255`, 3, ['-b']);
    // controls: each capture sees what its own network carries
    await ping(vm(6).ns, `${SUBNET}.255`, 3, ['-b']);
    await ping(vm(4).ns, '10.77.0.1', 3);
    const [l4, l5, l6] = [await on4.stop(), await on5.stop(), await on6.stop()];
    assert.ok(l5.some((l) => l.includes(`${ip(6)} > ${SUBNET}.255: ICMP echo request`)), `control: vm5 sees vm6's broadcasts on B:\n${l5.join('\n')}`);
    assert.ok(l4.some((l) => l.includes('10.77.0.1 > 10.77.0.104: ICMP echo reply')), `control: vm4 sees the gateway's replies:\n${l4.join('\n')}`);
    assert.deepEqual(notA(l4), [], 'vm4 (management network, host1) saw frames of network A');
    assert.deepEqual(notA(l5), [], 'vm5 (network B, host1) saw frames of network A');
    assert.deepEqual(notA(l6), [], 'vm6 (network B, host2) saw frames of network A');
    // and nothing on A answers their address-space neighbours
    for (const [a, b] of [[4, 1], [5, 1], [5, 2], [6, 3]]) assert.equal((await ping(vm(a).ns, ip(b), 3)).received, 0, `vm${a} reached vm${b} on A`);
  });

  it('lets neither the management network\'s VM nor B\'s inject into A (forged MACs and addresses, broadcasts, GRE with A\'s key)', async () => {
    const filter = 'icmp and (icmp[4:2] = 0x4242 or icmp[4:2] = 0x4243 or icmp[4:2] = 0x4244 or icmp[4:2] = 0x4245) or arp host 10.200.0.99';
    const onA = await Promise.all([1, 2, 3].map((j) => capture(vm(j).ns, 'eth0', filter)));
    const on6 = await capture(vm(6).ns, 'eth0', filter);
    const host2Mac = t.lab.inNs(t.state.hosts[1].ns, 'cat', ['/sys/class/net/xenbr0/address']).trim();
    const script = `
import sys
from scapy.all import ARP, Ether, GRE, ICMP, IP, sendp, conf
conf.verb = 0
me, macs, ips, host2_mac, host2_ip, my_ip, key, control_mac, control_ip = sys.argv[1:10]
macs, ips = macs.split(','), ips.split(',')
frames = []
for i in range(5):
    for m, a in zip(macs, ips):
        # as if from another VM of A, to each VM of A: unicast, and a broadcast
        frames.append(Ether(src=macs[0] if m != macs[0] else macs[1], dst=m) / IP(src=ips[0] if a != ips[0] else ips[1], dst=a) / ICMP(id=0x4242, seq=i) / b'poolnet-inject')
        frames.append(Ether(src=me, dst=m) / IP(src=my_ip, dst=a) / ICMP(id=0x4243, seq=i) / b'poolnet-inject')
    frames.append(Ether(src=me, dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc=me, psrc='10.200.0.99', pdst=ips[1]))
    if key != '0':
        # a GRE packet with A's key, as host1 would send it, from this VM's own address
        inner = Ether(src=macs[0], dst=macs[1]) / IP(src=ips[0], dst=ips[1]) / ICMP(id=0x4245, seq=i) / b'poolnet-gre'
        frames.append(Ether(src=me, dst=host2_mac) / IP(src=my_ip, dst=host2_ip) / GRE(key_present=1, key=int(key), proto=0x6558) / inner)
sendp(frames, iface='eth0', inter=0.01)
if control_mac:
    sendp([Ether(src=me, dst=control_mac) / IP(src=my_ip, dst=control_ip) / ICMP(id=0x4244, seq=i) / b'poolnet-control' for i in range(5)], iface='eth0', inter=0.02)
`;
    const macs = [1, 2, 3].map((j) => vm(j).mac).join(','), ips = [1, 2, 3].map(ip).join(',');
    // vm4 on the management network (its own address there for the GRE), vm5 on B (with a control to vm6)
    const r4 = await run(vm(4).ns, PYTHON, ['-c', script, vm(4).mac, macs, ips, host2Mac, t.state.hosts[1].ip, '10.77.0.104', String(keyA), '', '']);
    assert.equal(r4.code, 0, r4.out);
    const r5 = await run(vm(5).ns, PYTHON, ['-c', script, vm(5).mac, macs, ips, host2Mac, t.state.hosts[1].ip, ip(5), '0', vm(6).mac, ip(6)]);
    assert.equal(r5.code, 0, r5.out);
    await sleep(1000);
    const got = await Promise.all(onA.map((c) => c.stop()));
    const control = await on6.stop();
    assert.equal(control.filter((l) => l.includes(`${ip(5)} > ${ip(6)}: ICMP echo request, id ${0x4244}`)).length, 5, `control: vm6 gets vm5's frames on B:\n${control.join('\n')}`);
    for (const [k, lines] of got.entries()) assert.deepEqual(lines, [], `vm${k + 1} on A got injected frames`);
  });

  it('keeps A\'s traffic flowing while vm1 live-migrates from host1 to host3 (pings 10 a second)', async () => {
    assert.ok(await reachable(vm(2).ns, ip(1)), 'vm2 reaches vm1 before');
    const p = new Pinger(vm(2).ns, ip(1), 0.1);
    pingers.push(p);
    await until(() => (p.replies >= 20 ? true : undefined), 30_000, '20 answers before the migration');
    const oldPort = vm(1).port;
    const t0 = Date.now();
    const moved = await t.lab.migrateVm(vm(1), t.state.hosts[2], t.state.password);
    const took = Date.now() - t0;
    vms.set(1, moved);
    const before = p.replies;
    await until(() => (p.replies >= before + 30 ? true : undefined), 30_000, '30 answers after the migration');
    const r = await p.stop();
    console.log(`# migration of vm1 host1 -> host3: ${took} ms; pings sent ${r.sent}, received ${r.received}, lost ${r.lost} (seqs ${r.missing.join(' ')})`);
    assert.equal(moved.host, 'host3');
    // in two phases: host3 readied the port before it took the NIC over (e2e-lab-hypervisor observes it on the switches)
    const s1 = await t.session(1);
    const report = (await t.call(1, 'VM.get_migration_report', [s1, await t.call(1, 'VM.get_by_uuid', [s1, moved.uuid])])) as Record<string, string>;
    assert.equal(report.state, 'switched');
    assert.ok(Number(report.prepared_at) <= Number(report.switched_at), JSON.stringify(report));
    // the VIF is on host3's switch now, and gone from host1's: traffic resumes there, and only there
    const bridgeA = (await t.call(1, 'network.get_bridge', [await t.session(1), netA])) as string;
    assert.ok(hostVsctl(t.state.hosts[2], t.lab.inNs, 'list-ports', bridgeA).split('\n').includes(moved.port), `host3's ${bridgeA} has ${moved.port}`);
    await until(() => (hostVsctl(t.state.hosts[0], t.lab.inNs, 'list-ports', bridgeA).split('\n').includes(oldPort) ? undefined : true), 30_000, `${oldPort} gone from host1's ${bridgeA}`);
    // How many pings a migration costs is a figure (npm run bench:migrate prints it beside the
    // migration's duration), not something a busy machine can promise; what must hold is that the
    // VM is reachable again soon after the move: within 10 s of the migration's end, a bound a
    // loaded 2-core machine meets (the outage otherwise lasts about the migration itself).
    assert.ok(r.lost <= Math.ceil(took / 100) + 100, `lost ${r.lost} of ${r.sent} pings across a migration of ${took} ms`);
    // and A still connects all three
    for (const b of [2, 3]) assert.equal((await ping(vm(1).ns, ip(b), 5)).received, 5, `vm1 (now on host3) -> vm${b}`);
  });
});
