// compile() + the Linux bridge backend in a namespace of the test's own, proven with real packets
// between VM namespaces: bridges and ports, port locking with nftables (the seed's examples, ARP and
// IP spoofing, IPv6 neighbour discovery and router advertisements), disabled and unlocked VIFs, QoS,
// idempotence (no nft process when nothing changed), one transaction per change, restart and drift.
// VLANs and bonds need kernel features this machine may lack: those tests skip and say why.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import { LinuxBridgeBackend, probeKernel, type LinuxBridgeReport } from '../src/agent/linuxbridge.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { bridgeNsSkipReason, startBridgeHost, type BridgeHostNs, type VmNs } from './helpers/bridge-ns.ts';

const skip = bridgeNsSkipReason();
const features = skip ? { vlan: false, bond: false, police: undefined, notes: [] } : await probeKernel();
if (!skip) for (const n of features.notes) console.log(`# kernel: ${n}`);
const noVlan = features.vlan ? false : 'this kernel has no 802.1Q VLAN devices (8021q): VLAN networks cannot be realised on the Linux bridge here';
const noBond = features.bond ? false : 'this kernel has no bonding driver: bonds cannot be realised on the Linux bridge here';

type Rec = Record<string, unknown>;
const MAC = (i: number) => `02:00:00:0a:00:0${i}`;
const IP = (i: number) => `10.77.0.${i}`;

interface Link { ifname: string; master?: string; flags: string[]; address: string; ifalias?: string; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } }

describe('Linux bridge backend', { skip }, () => {
  let d: TestDaemon;
  let h: BridgeHostNs;
  let lb: LinuxBridgeBackend;
  let s: string;
  let net: string;
  let bridge: string;
  const vms: VmNs[] = [];
  const vifs: string[] = [];
  const vmRefs: string[] = [];
  const c = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);
  const host = () => [...d.db.all('host')][0].ref;
  const apply = (): Promise<LinuxBridgeReport> => lb.apply(compile(d.db, host()));
  const links = () => new Map((JSON.parse(h.exec('ip', ['-j', '-d', 'link', 'show'])) as Link[]).map((l) => [l.ifname, l]));
  const ruleset = () => JSON.parse(h.exec('nft', ['-j', '-a', 'list', 'table', 'bridge', 'poolnet'])) as { nftables: Rec[] };
  /** One echo request, one second for its reply (where a reply must not come). */
  const ping = (from: VmNs, to: string, extra: string[] = []) => from.ok('ping', ['-c', '1', '-W', '1', ...extra, to]);
  /**
   * Where a reply must come: a few tries, since ARP may still be failing from a time the VIF was cut
   * off (ping gives up at once when the kernel reports the neighbour unreachable).
   */
  const reach = (from: VmNs, to: string, extra: string[] = []) =>
    from.ok('sh', ['-c', `for i in 1 2 3 4 5; do ping -c 1 -W 1 ${[...extra, to].join(' ')} >/dev/null && exit 0; sleep 0.3; done; exit 1`]);
  /** Frames counted by a watch in `at` while `act` runs. */
  const delta = (at: VmNs, name: string, act: () => void) => { const n0 = at.count(name); act(); return at.count(name) - n0; };

  before(async () => {
    d = await startTestDaemon({ backend: 'bridge' });
    s = await login(d.url);
    h = startBridgeHost(3);
    lb = new LinuxBridgeBackend({ netns: h.ns });
    net = (await c('network.create', { name_label: 'vms', MTU: 1500, other_config: {} })) as string;
    bridge = (await c('network.get_bridge', net)) as string;
  });
  after(async () => { await h?.dispose(); await d?.dispose(); });

  it('makes a bridge per attached NIC, with the NIC as its port, the PIF MAC, forward delay 0 and snooping off', async () => {
    const r = await apply();
    assert.ok(r.linkChanges > 0);
    assert.equal(r.nftRuns, 1);
    const l = links();
    for (const b of compile(d.db, host()).bridges) {
      const br = l.get(b.name)!;
      assert.equal(br.linkinfo?.info_kind, 'bridge', b.name);
      assert.equal(br.linkinfo?.info_data?.forward_delay, 0);
      assert.equal(br.linkinfo?.info_data?.mcast_snooping, 0);
      assert.equal(br.ifalias, 'poolnet');
      assert.ok(br.flags.includes('UP'));
      if (b.mac) assert.equal(br.address, b.mac);
      for (const p of b.ports) assert.equal(l.get(p.interfaces[0])?.master, b.name);
    }
    assert.equal(l.get('eth0')?.master, 'xenbr0');
    const ports = JSON.parse(h.exec('bridge', ['-j', 'link'])) as { ifname: string; master: string }[];
    assert.ok(ports.some((p) => p.ifname === 'eth1' && p.master === 'xenbr1'));
  });

  it('puts the VIFs of running VMs on their bridge; unlocked VIFs pass everything', async () => {
    for (let i = 1; i <= 3; i++) {
      const vm = (await c('VM.create', { name_label: `vm${i}` })) as string;
      vifs.push((await c('VIF.create', { device: '0', network: net, VM: vm, MAC: MAC(i), MTU: 1500, other_config: {} })) as string);
      await c('VM.start', vm, false, false);
      d.db.transact((tx) => tx.update(vm, { domid: i })); // VM.start has no hypervisor to give one
      vmRefs.push(vm);
      vms.push(h.addVm(`vif${i}.0`, MAC(i), { ipv4: [`${IP(i)}/24`], ipv6: [`fd00::${i}/64`] }));
    }
    const r = await apply();
    assert.equal(r.nftRuns, 1);
    const l = links();
    for (const v of vms) { assert.equal(l.get(v.vif)?.master, bridge); assert.ok(l.get(v.vif)?.flags.includes('UP')); }
    assert.ok(reach(vms[0], IP(2)));
    // unlocked: a source address the VM was never given goes through too
    vms[2].exec('ip', ['addr', 'add', `${IP(99)}/24`, 'dev', 'eth0']);
    vms[1].watch('from-99', `ip saddr ${IP(99)}`);
    assert.ok(delta(vms[1], 'from-99', () => reach(vms[2], IP(2), ['-I', IP(99)])) > 0);
    // no chain for an unlocked VIF: only the set of VIF ports knows it
    const t = ruleset().nftables;
    assert.deepEqual((t.find((x) => (x.set as Rec | undefined)?.name === 'ports')!.set as { elem: string[] }).elem.sort(), ['vif1.0', 'vif2.0', 'vif3.0']);
    assert.ok(!t.some((x) => (x.chain as Rec | undefined)?.name?.toString().startsWith('v_')));
  });

  it('changes nothing, and runs no nft, when applied again', async () => {
    const before = { ...lb.runs };
    const r = await apply();
    assert.equal(r.linkChanges, 0);
    assert.equal(r.nftRuns, 0);
    assert.equal(lb.runs.nft, before.nft);
    assert.equal(lb.runs.tc, before.tc);
  });

  it('locks VIFs: legitimate traffic passes; forged IPs (Example 2) and ARP replies (Example 1) are dropped', async () => {
    for (let i = 0; i < 3; i++) {
      await c('VIF.set_locking_mode', vifs[i], 'locked');
      await c('VIF.set_ipv4_allowed', vifs[i], [IP(i + 1)]);
    }
    const r = await apply();
    assert.equal(r.nftRuns, 1, 'one nft transaction for three VIFs');
    assert.deepEqual(r.filterPorts, ['vif1.0', 'vif2.0', 'vif3.0']);
    assert.deepEqual(r.filterBridges, [bridge]);
    const [a, b, attacker] = vms;
    a.exec('ip', ['neigh', 'flush', 'all']);
    assert.ok(reach(a, IP(2)), 'legitimate ping between locked VIFs');
    assert.ok(reach(attacker, IP(2)), 'the attacker\'s own address works');

    // Example 2: VM-c sends with VM-a's IP, with VM-a's MAC (attempt 1) and with its own (attempt 2)
    b.watch('ex2-1', 'udp dport 40001');
    b.watch('ex2-2', 'udp dport 40002');
    b.watch('ex2-own', 'udp dport 40003');
    const udp = (src: string, mac: string, port: number) => `Ether(src="${mac}", dst="${MAC(2)}")/IP(src="${src}", dst="${IP(2)}")/UDP(sport=5000, dport=${port})/Raw(b"x")`;
    assert.equal(delta(b, 'ex2-1', () => attacker.scapy(udp(IP(1), MAC(1), 40001))), 0, 'attempt 1: a_IP and a_MAC');
    // dropped before the bridge learns the source: VM-a's MAC was not moved to the attacker's port
    const fdb = JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'br', bridge])) as { mac: string; ifname: string }[];
    assert.ok(!fdb.some((e) => e.mac === MAC(1) && e.ifname === 'vif3.0'), 'no forwarding entry for a_MAC on VM-c\'s port');
    assert.ok(reach(b, IP(1)), 'VM-b still reaches VM-a');
    assert.equal(delta(b, 'ex2-2', () => attacker.scapy(udp(IP(1), MAC(3), 40002))), 0, 'attempt 2: a_IP with c_MAC');
    assert.equal(delta(b, 'ex2-own', () => attacker.scapy(udp(IP(3), MAC(3), 40003))), 3, 'the attacker\'s own address is delivered');
    // the kernel's own way: a second address in the VM and ping -I
    b.watch('from-99', `ip saddr ${IP(99)}`);
    assert.equal(delta(b, 'from-99', () => assert.ok(!ping(attacker, IP(2), ['-I', IP(99)]))), 0);

    // Example 1: VM-c claims b_IP is at c_MAC (dropped); VM-b's own reply reaches VM-a
    a.watch('arp-b-from-c', `arp saddr ip ${IP(2)} arp saddr ether ${MAC(3)}`);
    a.watch('arp-b-from-b', `arp saddr ip ${IP(2)} arp saddr ether ${MAC(2)}`);
    const reply = (mac: string) => `Ether(src="${mac}", dst="${MAC(1)}")/ARP(op=2, hwsrc="${mac}", psrc="${IP(2)}", hwdst="${MAC(1)}", pdst="${IP(1)}")`;
    assert.equal(delta(a, 'arp-b-from-c', () => attacker.scapy(reply(MAC(3)))), 0, 'spoofed ARP replies dropped');
    assert.equal(delta(a, 'arp-b-from-c', () => attacker.scapy(`Ether(src="${MAC(3)}", dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc="${MAC(3)}", psrc="${IP(2)}", pdst="${IP(1)}")`)), 0, 'spoofed ARP requests dropped');
    assert.ok(delta(a, 'arp-b-from-b', () => b.scapy(reply(MAC(2)))) >= 3, 'VM-b\'s reply delivered');
    assert.ok(reach(a, IP(2)));
    const neigh = JSON.parse(a.exec('ip', ['-j', 'neigh', 'show', IP(2)])) as { lladdr?: string }[];
    assert.equal(neigh[0]?.lladdr, MAC(2), 'VM-a still reaches VM-b at b_MAC');
    // ARP probes (RFC 5227, sender IP 0.0.0.0) pass
    b.watch('probe', `arp saddr ip 0.0.0.0 arp saddr ether ${MAC(3)}`);
    assert.equal(delta(b, 'probe', () => attacker.scapy(`Ether(src="${MAC(3)}", dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc="${MAC(3)}", psrc="0.0.0.0", pdst="${IP(50)}")`)), 3);
    // a frame from another MAC, and a VLAN-tagged frame, are dropped
    b.watch('tagged', 'udp dport 40004');
    assert.equal(delta(b, 'tagged', () => attacker.scapy(`Ether(src="${MAC(3)}", dst="${MAC(2)}")/Dot1Q(vlan=5)/IP(src="${IP(3)}", dst="${IP(2)}")/UDP(dport=40004)`)), 0);
  });

  it('serves several IPs on one VIF locked to one MAC (Example 3); one VIF\'s change is one small transaction', async () => {
    const handles = () => new Map(ruleset().nftables.filter((x) => x.rule).map((x) => { const r = x.rule as { chain: string; handle: number }; return [`${r.chain}#${r.handle}`, true]; }));
    const before = handles();
    const runs = lb.runs.nft;
    await c('VIF.set_ipv4_allowed', vifs[1], [IP(2), IP(20), '10.77.0.32/30']);
    const r = await apply();
    assert.equal(lb.runs.nft, runs + 1, 'one nft process');
    assert.deepEqual(r.filterPorts, ['vif2.0']);
    // the rules of the other VIFs were not touched (same handles); only the set changed
    const after = handles();
    assert.deepEqual([...after.keys()].filter((k) => !k.startsWith('v_vif2_0')), [...before.keys()].filter((k) => !k.startsWith('v_vif2_0')));
    const [a, b] = vms;
    for (const extra of [`${IP(20)}/24`, `${IP(33)}/24`]) b.exec('ip', ['addr', 'add', extra, 'dev', 'eth0']);
    for (const ip of [IP(2), IP(20), IP(33)]) assert.ok(reach(a, ip), `VM-b answers on ${ip}`);
    assert.ok(reach(b, IP(1), ['-I', IP(20)]));
    b.exec('ip', ['addr', 'add', `${IP(40)}/24`, 'dev', 'eth0']);
    a.watch('from-40', `ip saddr ${IP(40)}`);
    assert.equal(delta(a, 'from-40', () => assert.ok(!ping(b, IP(1), ['-I', IP(40)]))), 0, 'an address outside the list is still dropped');
  });

  it('filters IPv6 per address: the allowed address works; forged neighbour and router advertisements are dropped', async () => {
    for (let i = 0; i < 3; i++) await c('VIF.set_ipv6_allowed', vifs[i], [`fd00::${i + 1}`]);
    const r = await apply();
    assert.equal(r.nftRuns, 1);
    const [a, b, attacker] = vms;
    assert.ok(reach(a, 'fd00::2'), 'ping6 between allowed addresses');
    assert.ok(reach(attacker, 'fd00::1'));
    a.watch('na-forged', `icmpv6 type nd-neighbor-advert ether saddr ${MAC(3)}`);
    a.watch('ra', 'icmpv6 type nd-router-advert');
    a.watch('na-own', `icmpv6 type nd-neighbor-advert ip6 saddr fd00::3 ether saddr ${MAC(3)}`);
    const na = (src: string, tgt: string, ll: string) => `Ether(src="${MAC(3)}", dst="33:33:00:00:00:01")/IPv6(src="${src}", dst="ff02::1")/ICMPv6ND_NA(tgt="${tgt}", R=0, S=0, O=1)/ICMPv6NDOptDstLLAddr(lladdr="${ll}")`;
    assert.equal(delta(a, 'na-forged', () => attacker.scapy(na('fd00::3', 'fd00::2', MAC(3)))), 0, 'NA claiming VM-b\'s address');
    assert.equal(delta(a, 'na-forged', () => attacker.scapy(na('fd00::2', 'fd00::2', MAC(3)))), 0, 'NA from VM-b\'s address');
    assert.equal(delta(a, 'na-forged', () => attacker.scapy(na('fd00::3', 'fd00::3', MAC(2)))), 0, 'NA for its own address with another MAC as link-layer option');
    assert.equal(delta(a, 'ra', () => attacker.scapy(`Ether(src="${MAC(3)}", dst="33:33:00:00:00:01")/IPv6(src="fd00::3", dst="ff02::1")/ICMPv6ND_RA()/ICMPv6NDOptPrefixInfo(prefix="2001:db8:bad::", prefixlen=64)`)), 0, 'router advertisement');
    assert.ok(delta(a, 'na-own', () => attacker.scapy(na('fd00::3', 'fd00::3', MAC(3)))) >= 3, 'an honest NA for its own address is delivered');
    attacker.exec('ip', ['-6', 'addr', 'add', 'fd00::99/64', 'dev', 'eth0', 'nodad']);
    b.watch('from-v6-99', 'ip6 saddr fd00::99');
    assert.equal(delta(b, 'from-v6-99', () => assert.ok(!ping(attacker, 'fd00::2', ['-I', 'fd00::99']))), 0, 'a forged IPv6 source');
    const neigh = JSON.parse(a.exec('ip', ['-j', '-6', 'neigh', 'show', 'fd00::2'])) as { lladdr?: string }[];
    assert.ok(neigh.every((n) => !n.lladdr || n.lladdr === MAC(2)), 'VM-a never learnt a forged MAC for fd00::2');
  });

  it('disabled drops everything, both ways; unlocked again passes all', async () => {
    const [a, , attacker] = vms;
    await c('VIF.set_locking_mode', vifs[2], 'disabled');
    const r = await apply();
    assert.equal(links().get('vif3.0')?.master, undefined, 'off the bridge, as xapi');
    assert.deepEqual(r.filterPorts, ['vif3.0']);
    a.watch('from-c', `ether saddr ${MAC(3)}`);
    assert.equal(delta(a, 'from-c', () => { assert.ok(!ping(attacker, IP(1))); attacker.scapy(`Ether(src="${MAC(3)}", dst="ff:ff:ff:ff:ff:ff")/IP(src="${IP(3)}", dst="255.255.255.255")/UDP(dport=9)`); }), 0);
    attacker.watch('to-c', 'ip protocol icmp');
    assert.equal(delta(attacker, 'to-c', () => assert.ok(!ping(a, IP(3)))), 0, 'nothing reaches the VM either');
    // even put back on the bridge by someone else, the catch-all rules keep it silent
    h.exec('ip', ['link', 'set', 'vif3.0', 'master', bridge]);
    assert.equal(delta(a, 'from-c', () => assert.ok(!ping(attacker, IP(1)))), 0);
    assert.equal(delta(attacker, 'to-c', () => assert.ok(!ping(a, IP(3)))), 0);
    await apply();
    assert.equal(links().get('vif3.0')?.master, undefined, 'taken off again');

    await c('VIF.set_locking_mode', vifs[2], 'unlocked');
    assert.deepEqual((await apply()).filterPorts, ['vif3.0']);
    assert.equal(links().get('vif3.0')?.master, bridge);
    assert.ok(reach(attacker, IP(1)));
    assert.ok(delta(a, 'from-c', () => reach(attacker, IP(1), ['-I', IP(99)])) > 0, 'unlocked: any source');
  });

  it('keeps network_default VIFs of a network whose default is disabled off the bridge', async () => {
    const n2 = (await c('network.create', { name_label: 'closed', MTU: 1500, other_config: {} })) as string;
    await c('network.set_default_locking_mode', n2, 'disabled');
    const vm = (await c('VM.create', { name_label: 'vm4' })) as string;
    await c('VIF.create', { device: '0', network: n2, VM: vm, MAC: MAC(4), MTU: 1500, other_config: {} });
    await c('VM.start', vm, false, false);
    d.db.transact((tx) => tx.update(vm, { domid: 4 }));
    const v4 = h.addVm('vif4.0', MAC(4), { ipv4: [`${IP(4)}/24`] });
    await apply();
    assert.equal(links().get('vif4.0')?.master, undefined);
    assert.ok(!v4.ok('ping', ['-c', '1', '-W', '1', IP(1)]));
  });

  it(`limits what a VM sends (kbps is KiB/s; ${features.police ? 'tc police' : 'nftables limit: this kernel has no tc police action'}), not what it receives`, async () => {
    await c('VIF.set_qos_algorithm_type', vifs[0], 'ratelimit');
    await c('VIF.set_qos_algorithm_params', vifs[0], { kbps: '100' });
    const r = await apply();
    assert.equal(r.qos, features.police ? 'tc' : 'nftables');
    if (!features.police) assert.ok(JSON.stringify(ruleset()).includes('"limit"'), 'a limit rule in the VIF chain');
    const [a, b] = vms;
    const rate = (reverse: boolean) => {
      const server = b.spawn('iperf3', ['-s', '-1', '-B', IP(2)]);
      try {
        for (let i = 0; i < 50 && !b.ok('sh', ['-c', `ss -ltn | grep -q ':5201'`]); i++) a.exec('sleep', ['0.1']);
        // -O 2: leave out the first two seconds, while nft's bucket (one second of the rate, plus 64 KiB) drains
        const out = JSON.parse(a.exec('iperf3', ['-c', IP(2), '-t', '4', '-O', '2', '-J', ...(reverse ? ['-R'] : [])])) as { end: { sum_received: { bits_per_second: number } } };
        return out.end.sum_received.bits_per_second / 8 / 1024; // KiB/s, as the API's kbps
      } finally { server.kill(); }
    };
    const sent = rate(false);
    console.log(`# sent by the VM: ${sent.toFixed(1)} KiB/s with kbps=100`);
    assert.ok(sent > 80 && sent < 120, `within 20% of 100 KiB/s: ${sent}`);
    const received = rate(true);
    console.log(`# received by the VM: ${received.toFixed(0)} KiB/s`);
    assert.ok(received > 1000, `what the VM receives is not limited: ${received}`);
    await c('VIF.set_qos_algorithm_type', vifs[0], '');
    await apply();
    assert.ok(!JSON.stringify(ruleset()).includes('"limit"'));
  });

  it('a new backend (a daemon restart) finds everything in place and changes nothing', async () => {
    const fresh = new LinuxBridgeBackend({ netns: h.ns });
    const r = await fresh.apply(compile(d.db, host()));
    assert.equal(r.linkChanges, 0);
    assert.equal(r.nftRuns, 0);
    assert.equal(fresh.runs.nft, 1, 'one listing, no change');
  });

  it('detects drift in the table and repairs it', async () => {
    assert.deepEqual(await lb.drift(), []);
    const handle = (ruleset().nftables.find((x) => (x.rule as Rec | undefined)?.chain === 'v_vif1_0')!.rule as { handle: number }).handle;
    h.exec('nft', ['delete', 'rule', 'bridge', 'poolnet', 'v_vif1_0', 'handle', String(handle)]);
    assert.deepEqual(await lb.verify(), ['nftables table bridge poolnet']);
    const r = await apply();
    assert.equal(r.nftRuns, 1);
    assert.deepEqual(await lb.verify(), []);
    // and a table flushed by hand is rewritten too
    h.exec('nft', ['flush', 'ruleset']);
    assert.equal((await lb.verify()).length, 1);
    await apply();
    vms[0].watch('from-c-99', `ip saddr ${IP(99)}`);
    assert.equal(delta(vms[0], 'from-c-99', () => vms[1].scapy(`Ether(src="${MAC(2)}", dst="${MAC(1)}")/IP(src="${IP(99)}", dst="${IP(1)}")/UDP(dport=9)`)), 0);
  });

  it('takes off the bridge what the database no longer has, and removes only bridges it made', async () => {
    h.exec('ip', ['link', 'add', 'foreign', 'type', 'bridge']);
    await c('VM.hard_shutdown', vmRefs[1]);
    const r = await apply();
    assert.equal(links().get('vif2.0')?.master, undefined);
    assert.ok(r.filterPorts.includes('vif2.0'));
    assert.ok(!JSON.stringify(ruleset()).includes('v_vif2_0'));
    for (const vm of [vmRefs[0], vmRefs[2]]) await c('VM.hard_shutdown', vm);
    await c('network.destroy', net);
    assert.ok((await apply()).linkChanges > 0);
    const l = links();
    assert.ok(!l.has(bridge), 'the VMs\' bridge is gone');
    assert.ok(l.has('foreign'), 'a bridge poolnet did not make stays');
    assert.ok(l.has('xenbr0'));
  });

  it('reports VLAN networks and bonds it cannot realise on this kernel, and skips them', { skip: features.vlan && features.bond ? 'this kernel has VLANs and bonds' : false }, async () => {
    const pif = async (device: string) => Object.keys((await c('PIF.get_all_records_where', `field "device"="${device}" and field "VLAN"="-1"`)) as Rec)[0];
    const vnet = (await c('network.create', { name_label: 'vlan 100', MTU: 1500, other_config: {} })) as string;
    const vlan = await c('VLAN.create', await pif('eth0'), 100, vnet);
    const bnet = (await c('network.create', { name_label: 'bond', MTU: 1500, other_config: {} })) as string;
    const bond = await c('Bond.create', bnet, [await pif('eth1'), await pif('eth2')], '', 'active-backup', {});
    const r = await apply();
    if (!features.vlan) assert.ok(r.unrealisable.some((u) => u.includes('VLAN network') && u.includes('8021q')), JSON.stringify(r.unrealisable));
    if (!features.bond) assert.ok(r.unrealisable.some((u) => u.includes('bond') && u.includes('bonding')), JSON.stringify(r.unrealisable));
    const l = links();
    assert.ok(!l.has('eth0.100'));
    assert.equal(l.get('eth0')?.master, 'xenbr0', 'the rest is realised');
    assert.equal((await apply()).linkChanges, 0);
    await c('Bond.destroy', bond);
    await c('VLAN.destroy', vlan);
  });

  it('realises a VLAN network as a bridge on <uplink>.<tag>', { skip: noVlan }, async () => {
    const pif = Object.keys((await c('PIF.get_all_records_where', 'field "device"="eth0" and field "VLAN"="-1"')) as Rec)[0];
    const vnet = (await c('network.create', { name_label: 'vlan 200', MTU: 1500, other_config: {} })) as string;
    const vlan = await c('VLAN.create', pif, 200, vnet);
    await apply();
    const vb = (await c('network.get_bridge', vnet)) as string;
    const l = links();
    assert.equal(l.get('eth0.200')?.linkinfo?.info_kind, 'vlan');
    assert.equal(l.get('eth0.200')?.master, vb);
    assert.equal((await apply()).linkChanges, 0);
    await c('VLAN.destroy', vlan);
    await apply();
    assert.ok(!links().has('eth0.200'));
  });

  it('realises a bond as a Linux bond on the bridge', { skip: noBond }, async () => {
    const pif = async (device: string) => Object.keys((await c('PIF.get_all_records_where', `field "device"="${device}" and field "VLAN"="-1"`)) as Rec)[0];
    const bnet = (await c('network.create', { name_label: 'bond2', MTU: 1500, other_config: {} })) as string;
    const bond = await c('Bond.create', bnet, [await pif('eth1'), await pif('eth2')], '', 'active-backup', {});
    await apply();
    const l = links();
    const master = [...l.values()].find((x) => x.linkinfo?.info_kind === 'bond' && x.ifalias === 'poolnet')!;
    assert.equal(l.get('eth1')?.master, master.ifname);
    assert.equal(l.get('eth2')?.master, master.ifname);
    assert.equal(master.linkinfo?.info_data?.mode, 'active-backup');
    assert.equal((await apply()).linkChanges, 0);
    await c('Bond.destroy', bond);
    await apply();
  });
});
