// VLANs with real packets: two VLAN networks (tags 100 and 200) on eth1 of two hosts, a VM on
// each VLAN on each host. All four VMs share one IP subnet, 10.100.0.0/24, so that only the VLANs
// keep them apart: a leak would show up as a ping answered or a frame seen.
//
//   host1: vm1 (VLAN 100, 10.100.0.1)   vm3 (VLAN 200, 10.100.0.3)
//   host2: vm2 (VLAN 100, 10.100.0.2)   vm4 (VLAN 200, 10.100.0.4)
//
// Proven: the fabric carries both (tcpdump on the fabric's port h1e1 sees 802.1Q tags 100 and
// 200); VMs on one VLAN reach each other across the fabric; a VLAN 100 VM neither reaches VLAN 200
// VMs nor sees their frames (broadcasts included); a VIF is an access port: 802.1Q frames tagged
// 200 that a VLAN 100 VM crafts (scapy) reach no VLAN 200 VM and leave no frame tagged 200 on the
// fabric.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LabVm } from '../src/lab/lab.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { Capture, PYTHON, ping as pingN, poolLabSkip, run, until } from './helpers/pool-lab.ts';

const SUBNET = '10.100.0';

const skip = poolLabSkip;

/** Five pings, 0.2 s apart. */
const ping = (ns: string, dst: string, args: string[] = []) => pingN(ns, dst, 5, args);

describe('VLANs on one NIC (tags 100 and 200, eth1 of two hosts)', { skip: skip() }, () => {
  let t: TestLab;
  const vms: LabVm[] = [];
  const captures: Capture[] = [];
  /** VM number (1..4) -> its address on the shared subnet. */
  const ip = (j: number) => `${SUBNET}.${j}`;
  const vm = (j: number) => vms[j - 1];
  const tagOf = (j: number) => (j <= 2 ? 100 : 200);
  const capture = async (ns: string, iface: string, filter: string) => { const c = await Capture.start(ns, iface, filter); captures.push(c); return c; };

  before(async () => {
    t = await startLab({ tag: 'vlan', hosts: 2, nics: 2, vms: 0 });
    // one pool (host1 the master): a VLAN network per tag, made on every host's eth1 at once
    const s = await t.session(1);
    const pifs = (await t.call(1, 'PIF.get_all_records', [s])) as Record<string, { device: string; VLAN: number; host: string }>;
    const host1 = ((await t.call(1, 'host.get_all_where', [s, 'field "hostname"="host1"'])) as string[])[0];
    const eth1 = Object.entries(pifs).find(([, p]) => p.device === 'eth1' && p.VLAN === -1 && p.host === host1)![0];
    const nets = new Map<number, string>(); // tag -> network ref
    for (const tag of [100, 200]) {
      const net = (await t.call(1, 'network.create', [s, { name_label: `VLAN ${tag}`, name_description: `tag ${tag} on eth1`, MTU: 1500, other_config: {} }])) as string;
      const made = (await t.call(1, 'pool.create_VLAN_from_PIF', [s, eth1, net, tag])) as string[];
      assert.equal(made.length, 2, `VLAN ${tag} on both hosts' eth1`);
      nets.set(tag, net);
    }
    for (const j of [1, 2, 3, 4]) {
      const h = j % 2 === 1 ? 1 : 2;
      const v = await t.lab.createVm(t.state.hosts[h - 1], j, t.state.password, nets.get(tagOf(j)));
      // the lab gives VMs a management address: these live on the VLAN's subnet instead
      t.lab.inNs(v.ns, 'ip', ['addr', 'flush', 'dev', 'eth0']);
      t.lab.inNs(v.ns, 'ip', ['addr', 'add', `${ip(j)}/24`, 'dev', 'eth0']);
      vms.push({ ...v, ip: ip(j) });
    }
  });
  after(async () => {
    for (const c of captures) c.kill();
    await t?.dispose();
  });

  const vsctl = (h: number, ...args: string[]) => t.host(h, 'ovs-vsctl', [`--db=unix:${t.state.hosts[h - 1].dir}/ovs/db.sock`, ...args]).trim();

  it('puts each VIF on eth1\'s bridge as an access port of its VLAN', async () => {
    for (const j of [1, 2, 3, 4]) {
      const h = j % 2 === 1 ? 1 : 2;
      const port = vm(j).port;
      await until(() => { try { return vsctl(h, 'get', 'Port', port, 'tag') === String(tagOf(j)) ? true : undefined; } catch { return undefined; } }, 10_000, `${port} on host${h} tagged ${tagOf(j)}`);
      assert.equal(vsctl(h, 'get', 'Port', port, 'vlan_mode'), 'access', `${port} on host${h}`);
      // on xenbr1 with the tag: ovs-vsctl shows it on the VLAN's fake bridge, whose parent is xenbr1
      const br = vsctl(h, 'port-to-br', port);
      assert.deepEqual([vsctl(h, 'br-to-parent', br), Number(vsctl(h, 'br-to-vlan', br))], ['xenbr1', tagOf(j)], `${port} on host${h}`);
    }
    // the VLAN networks' own bridges are fake bridges on xenbr1 with their tags
    for (const h of [1, 2]) {
      const fake = vsctl(h, 'list-br').split('\n').filter((b) => b !== 'xenbr0' && b !== 'xenbr1');
      assert.deepEqual(fake.map((b) => [vsctl(h, 'br-to-parent', b), Number(vsctl(h, 'br-to-vlan', b))]).sort(), [['xenbr1', 100], ['xenbr1', 200]]);
    }
  });

  it('connects VMs of one VLAN across the fabric, which carries tags 100 and 200', async () => {
    const fabric = await capture(t.lab.fabricNs, 'h1e1', 'vlan and icmp');
    const v100 = await ping(vm(1).ns, ip(2));
    const v200 = await ping(vm(3).ns, ip(4));
    const lines = await fabric.stop();
    assert.equal(v100.received, v100.sent, `VLAN 100, host1 -> host2: ${v100.out}`);
    assert.equal(v200.received, v200.sent, `VLAN 200, host1 -> host2: ${v200.out}`);
    const tagged = (tag: number, a: string, b: string) => lines.filter((l) => l.includes(`vlan ${tag},`) && l.includes(`${a} > ${b}: ICMP echo request`));
    assert.ok(tagged(100, ip(1), ip(2)).length >= 5, `h1e1 sees vm1's pings tagged 100:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.includes('vlan 100,') && l.includes(`${ip(2)} > ${ip(1)}: ICMP echo reply`)), 'h1e1 sees vm2\'s replies tagged 100');
    assert.ok(tagged(200, ip(3), ip(4)).length >= 5, `h1e1 sees vm3's pings tagged 200:\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => l.includes('vlan 100,') && (l.includes(ip(3)) || l.includes(ip(4)))), 'no VLAN 200 address in VLAN 100');
    assert.ok(!lines.some((l) => l.includes('vlan 200,') && (l.includes(ip(1)) || l.includes(ip(2)))), 'no VLAN 100 address in VLAN 200');
  });

  it('keeps VLAN 100 and VLAN 200 apart: no ping across, no frame seen, broadcasts included', async () => {
    // vm1 (VLAN 100) to vm3 (VLAN 200, same host) and vm4 (VLAN 200, the other host): same subnet, other VLAN
    for (const j of [3, 4]) {
      const r = await ping(vm(1).ns, ip(j));
      assert.equal(r.received, 0, `vm1 (VLAN 100) reached vm${j} (VLAN 200): ${r.out}`);
    }
    // what vm1 sees while VLAN 200 talks (unicast after ARP, broadcasts) and VLAN 100's vm2 broadcasts
    const seen = await capture(vm(1).ns, 'eth0', `not ether src ${vm(1).mac}`);
    t.lab.inNs(vm(3).ns, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    const v200 = await ping(vm(3).ns, ip(4));
    await ping(vm(3).ns, `${SUBNET}.255`, ['-b']);
    await ping(vm(2).ns, `${SUBNET}.255`, ['-b']);
    const lines = await seen.stop();
    assert.equal(v200.received, v200.sent, 'VLAN 200 works meanwhile');
    assert.ok(lines.some((l) => l.includes(`${ip(2)} > ${SUBNET}.255: ICMP echo request`)), `control: vm1 sees vm2's broadcasts in VLAN 100:\n${lines.join('\n')}`);
    const leaks = lines.filter((l) => l.includes(vm(3).mac) || l.includes(vm(4).mac) || l.includes(`${ip(3)} `) || l.includes(`${ip(4)} `) || l.includes(`${ip(3)}:`) || l.includes(`${ip(4)}:`) || l.includes('802.1Q'));
    assert.deepEqual(leaks, [], 'vm1 (VLAN 100) saw VLAN 200 frames');
  });

  it('drops 802.1Q frames a VM sends on its access port: no injection into VLAN 200', async () => {
    const a = vm(1);
    const onC = await capture(vm(3).ns, 'eth0', `ether src ${a.mac}`);
    const onD = await capture(vm(4).ns, 'eth0', `ether src ${a.mac}`);
    const onB = await capture(vm(2).ns, 'eth0', `ether src ${a.mac} and icmp`);
    const onFabric = await capture(t.lab.fabricNs, 'h1e1', `ether src ${a.mac}`);
    // tagged 200 to vm3 (unicast to its MAC, and broadcast ARP for it), then the same ICMP untagged to vm2 (a control)
    const script = `
import sys
from scapy.all import ARP, Dot1Q, Ether, ICMP, IP, sendp, conf
conf.verb = 0
me, my_ip, c_mac, c_ip, b_mac, b_ip = sys.argv[1:7]
frames = []
for i in range(5):
    frames.append(Ether(src=me, dst=c_mac) / Dot1Q(vlan=200) / IP(src=my_ip, dst=c_ip) / ICMP(id=0x4242, seq=i) / b'poolnet-inject')
    frames.append(Ether(src=me, dst='ff:ff:ff:ff:ff:ff') / Dot1Q(vlan=200) / ARP(op=1, hwsrc=me, psrc=my_ip, pdst=c_ip))
    frames.append(Ether(src=me, dst=c_mac) / Dot1Q(vlan=200) / Dot1Q(vlan=200) / IP(src=my_ip, dst=c_ip) / ICMP(id=0x4243, seq=i))
sendp(frames, iface='eth0', inter=0.02)
sendp([Ether(src=me, dst=b_mac) / IP(src=my_ip, dst=b_ip) / ICMP(id=0x4244, seq=i) / b'poolnet-control' for i in range(5)], iface='eth0', inter=0.02)
`;
    const r = await run(a.ns, PYTHON, ['-c', script, a.mac, ip(1), vm(3).mac, ip(3), vm(2).mac, ip(2)]);
    assert.equal(r.code, 0, r.out);
    const [c, d, b, f] = [await onC.stop(), await onD.stop(), await onB.stop(), await onFabric.stop()];
    assert.equal(b.filter((l) => l.includes(`${ip(1)} > ${ip(2)}: ICMP echo request, id ${0x4244}`)).length, 5, `control: vm2 gets vm1's untagged frames:\n${b.join('\n')}`);
    assert.deepEqual(c, [], 'vm3 (VLAN 200, same host) got frames vm1 tagged 200');
    assert.deepEqual(d, [], 'vm4 (VLAN 200, the other host) got frames vm1 tagged 200');
    assert.deepEqual(f.filter((l) => l.includes('vlan 200')), [], 'the fabric carried vm1\'s frames tagged 200');
  });
});
