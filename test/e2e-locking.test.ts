// Switch-port locking with real packets (the seed's Examples 1-3, the four modes, the network's
// default-locking-mode, IPv6 neighbour discovery and router advertisements), in one lab: one
// host, VMs a, b, c on the management network and two more on an internal network. Attacks are
// crafted with scapy by a probe in each VM (test/scapy/probe.py), which also records every
// frame the VM receives: a forged frame "dropped" means the receiver's probe never saw it,
// although it did see the frames the attacker sent right after it (a sentinel).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { cookieOf, vifFlows } from '../src/agent/ovsflows.ts';
import type { LabVm } from '../src/lab/lab.ts';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';
import { run, sleep, until } from './helpers/pool-lab.ts';

const PROBE = fileURLToPath(new URL('./scapy/probe.py', import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's python3-scapy installs for this interpreter only
const SWITCH_WAIT_MS = 10_000;

function skip(): string | false {
  const lab = labSkip();
  if (lab) return lab;
  if (spawnSync(PYTHON, ['-c', 'import scapy.layers.inet6']).status !== 0) return `scapy is missing for ${PYTHON} (Debian python3-scapy)`;
  return false;
}

/** Pings sent from a VM: how many were answered. */
async function ping(vm: LabVm, dst: string, o: { count?: number; from?: string; interval?: number; wait?: number } = {}): Promise<{ sent: number; received: number; out: string }> {
  const args = [...(dst.includes(':') ? ['-6'] : []), '-n', '-c', String(o.count ?? 3), '-i', String(o.interval ?? 0.2), '-W', String(o.wait ?? 2), ...(o.from ? ['-I', o.from] : []), dst];
  const r = await run(vm.ns, 'ping', args);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.out);
  assert.ok(m, `ping output: ${r.out}`);
  return { sent: Number(m[1]), received: Number(m[2]), out: r.out };
}

interface Pkt {
  out: boolean; src: string; dst: string; type: number;
  arp?: { op: number; hwsrc: string; psrc: string; hwdst: string; pdst: string };
  ip?: { src: string; dst: string; proto: number };
  icmp?: number;
  ip6?: { src: string; dst: string; nh: number };
  icmp6?: number; tgt?: string;
  udp?: { sport: number; dport: number };
  dhcp?: { op: number; xid: number; yiaddr: string; type: number | string | null };
  data?: string;
}

interface Message { ready?: boolean; pkt?: Pkt; done?: number; error?: number; msg?: string; synced?: number }

/** A scapy probe inside a VM: every frame its eth0 sees, and crafted frames sent on command. */
class Probe {
  readonly messages: Message[] = [];
  private readonly proc: ChildProcessWithoutNullStreams;
  private exited = false;
  private stderr = '';
  private nextId = 1;

  constructor(readonly vm: LabVm) {
    this.proc = spawn('ip', ['netns', 'exec', vm.ns, PYTHON, PROBE, 'eth0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.on('exit', () => { this.exited = true; });
    this.proc.stderr.on('data', (c: Buffer) => { this.stderr = (this.stderr + c.toString()).slice(-4000); });
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      try { this.messages.push(JSON.parse(l) as Message); } catch { /* not ours */ }
    });
  }

  private wait<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return until(() => {
      if (this.exited) throw new Error(`the probe in ${this.vm.name} exited: ${this.stderr}`);
      return check();
    }, ms, `${what} (probe in ${this.vm.name})`);
  }

  ready(): Promise<boolean> { return this.wait(() => this.messages.find((m) => m.ready)?.ready, 60_000, 'the probe to start'); }

  /** A position in the record: frames received after it are `since(mark)`. */
  mark(): number { return this.messages.length; }

  /** Frames this VM received (not sent) since `mark`. */
  since(mark: number): Pkt[] {
    return this.messages.slice(mark).flatMap((m) => (m.pkt && !m.pkt.out ? [m.pkt] : []));
  }

  /** Wait until a received frame since `mark` matches. */
  seen(mark: number, pred: (p: Pkt) => boolean, what: string, ms = 10_000): Promise<Pkt> {
    return this.wait(() => this.since(mark).find(pred), ms, what);
  }

  private command(cmd: object, done: (m: Message, id: number) => boolean, what: string): Promise<void> {
    const id = this.nextId++;
    const start = this.messages.length;
    this.proc.stdin.write(JSON.stringify({ id, ...cmd }) + '\n');
    return this.wait(() => {
      const m = this.messages.slice(start).find((x) => x.error === id || done(x, id));
      if (m?.error === id) throw new Error(`probe in ${this.vm.name}: ${m.msg}`);
      return m ? true : undefined;
    }, 30_000, what).then(() => undefined);
  }

  /** Send frames (scapy expressions), each `count` times, in order. */
  send(frames: { pkt: string; count?: number }[], inter = 0.02): Promise<void> {
    return this.command({ send: frames, inter }, (m, id) => m.done === id, 'frames to be sent');
  }

  /** Returns once every frame that reached the VM before this call is in `messages`. */
  sync(): Promise<void> {
    return this.command({ sync: true }, (m, id) => m.synced === id, 'a sync');
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}

// scapy expressions (JSON string literals are Python string literals for these values)
const q = (s: string) => JSON.stringify(s);
const BCAST = 'ff:ff:ff:ff:ff:ff';
const eth = (src: string, dst: string) => `Ether(src=${q(src)}, dst=${q(dst)})`;
const arp = (o: { src: string; dst: string; op: number; hwsrc: string; psrc: string; hwdst?: string; pdst: string }) =>
  `${eth(o.src, o.dst)}/ARP(op=${o.op}, hwsrc=${q(o.hwsrc)}, psrc=${q(o.psrc)}, hwdst=${q(o.hwdst ?? '00:00:00:00:00:00')}, pdst=${q(o.pdst)})`;
const udp = (o: { src: string; dst: string; ipsrc: string; ipdst: string; data: string }) =>
  `${eth(o.src, o.dst)}/IP(src=${q(o.ipsrc)}, dst=${q(o.ipdst)})/UDP(sport=40000, dport=9999)/Raw(${q(o.data)})`;
const ip6 = (src: string, dst: string, ipsrc: string, ipdst: string) => `${eth(src, dst)}/IPv6(src=${q(ipsrc)}, dst=${q(ipdst)}, hlim=255)`;
const na = (o: { src: string; dst: string; ipsrc: string; ipdst: string; tgt: string; lladdr: string }) =>
  `${ip6(o.src, o.dst, o.ipsrc, o.ipdst)}/ICMPv6ND_NA(tgt=${q(o.tgt)}, R=0, S=0, O=1)/ICMPv6NDOptDstLLAddr(lladdr=${q(o.lladdr)})`;
const ra = (o: { src: string; ipsrc: string; prefix: string }) =>
  `${ip6(o.src, '33:33:00:00:00:01', o.ipsrc, 'ff02::1')}/ICMPv6ND_RA(routerlifetime=1800)/ICMPv6NDOptSrcLLAddr(lladdr=${q(o.src)})/ICMPv6NDOptPrefixInfo(prefix=${q(o.prefix)}, prefixlen=64)`;
const echo6 = (o: { src: string; dst: string; ipsrc: string; ipdst: string; data: string }) =>
  `${eth(o.src, o.dst)}/IPv6(src=${q(o.ipsrc)}, dst=${q(o.ipdst)})/ICMPv6EchoRequest(data=${q(o.data)})`;

const v6 = (j: number) => `fd00:77::${100 + j}`;

describe('switch-port locking with real packets', { skip: skip(), timeout: 300_000 }, () => {
  let t: TestLab;
  let s: string;
  const probes: Probe[] = [];
  let a: LabVm, b: LabVm, c: LabVm;
  let pa: Probe, pb: Probe, pc: Probe;
  let carrierAtStart: string[] = [];

  const vifRef = async (vm: LabVm) => (await t.call(1, 'VIF.get_by_uuid', [s, vm.vif])) as string;
  const hostDir = () => t.state.hosts[0].dir;
  const vsctl = (...args: string[]) => t.host(1, 'ovs-vsctl', [`--db=unix:${hostDir()}/ovs/db.sock`, ...args]);

  /** The VIF's ports and flows on the switch, as ovs-vsctl and ovs-ofctl show them. */
  const switchView = (vm: LabVm, bridge: string) => {
    let ports: string[] = [];
    try { ports = vsctl('list-ports', bridge).split('\n').filter(Boolean); } catch { /* no bridge (yet) */ }
    let flows: string[] = [];
    try {
      flows = t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', '--names', 'dump-flows', '--no-stats', `unix:${hostDir()}/ovs/${bridge}.mgmt`, `cookie=${cookieOf(vm.vif)}/-1`])
        .split('\n').filter((l) => l.includes('actions='));
    } catch { /* no bridge (yet) */ }
    return { onBridge: ports.includes(vm.port), flows };
  };

  /** Wait until the switch holds exactly what `mode` (and the allowed addresses) asks for this VIF. */
  const settled = async (vm: LabVm, mode: 'locked' | 'unlocked' | 'disabled', ipv4: string[] = [], ipv6: string[] = [], bridge = 'xenbr0') => {
    const want = vifFlows({ port: vm.port, vifUuid: vm.vif, mac: vm.mac, mode, ipv4, ipv6 });
    const set = (flows: string[], re: RegExp) => [...new Set(flows.flatMap((f) => [...f.matchAll(re)].map((m) => m[1])))].sort();
    let last: ReturnType<typeof switchView> | undefined;
    await until(() => {
      const v = (last = switchView(vm, bridge));
      if (mode === 'disabled') return v.onBridge ? undefined : true;
      if (!v.onBridge || v.flows.length !== want.length) return undefined;
      if (!v.flows.every((f) => f.includes(`in_port=${vm.port}`) || f.includes(`in_port="${vm.port}"`))) return undefined;
      if (JSON.stringify(set(v.flows, /nw_src=([^,\s]+)/g)) !== JSON.stringify([...ipv4].sort())) return undefined;
      return JSON.stringify(set(v.flows, /ipv6_src=([^,\s]+)/g)) === JSON.stringify([...ipv6].sort()) ? true : undefined;
    }, SWITCH_WAIT_MS, `${vm.name}'s VIF ${mode} [${[...ipv4, ...ipv6].join(' ')}] in the switch; last seen ${JSON.stringify(last)}`);
  };

  const setLock = async (vm: LabVm, mode: 'locked' | 'unlocked' | 'disabled' | 'network_default', ipv4?: string[], ipv6?: string[]) => {
    const ref = await vifRef(vm);
    if (ipv4) await t.call(1, 'VIF.set_ipv4_allowed', [s, ref, ipv4]);
    if (ipv6) await t.call(1, 'VIF.set_ipv6_allowed', [s, ref, ipv6]);
    await t.call(1, 'VIF.set_locking_mode', [s, ref, mode]);
  };

  /** Lock a VM's VIF to its own MAC, its IPv4 address (plus `extra`) and its IPv6 address, and wait for the switch. */
  const lockOwn = async (vm: LabVm, extra: string[] = []) => {
    const ipv4 = [vm.ip, ...extra], ipv6 = [v6(Number(vm.name.slice(2)))];
    await setLock(vm, 'locked', ipv4, ipv6);
    await settled(vm, 'locked', ipv4, ipv6);
  };

  const link = (vm: LabVm) => {
    const l = (JSON.parse(t.vm(Number(vm.name.slice(2)), 'ip', ['-j', 'link', 'show', 'eth0'])) as { operstate: string }[])[0];
    const sys = (f: string) => t.vm(Number(vm.name.slice(2)), 'cat', [`/sys/class/net/eth0/${f}`]).trim();
    return { operstate: l.operstate, carrier: sys('carrier'), carrierChanges: sys('carrier_changes') };
  };

  const neigh = (vm: LabVm, addr: string) => t.vm(Number(vm.name.slice(2)), 'ip', ['neigh', 'show', addr]).trim();

  before(async () => {
    t = await startLab({ tag: 'lk', hosts: 1, nics: 1, vms: 3 });
    s = await t.session(1);
    [a, b, c] = t.state.vms;
    for (const j of [1, 2, 3]) t.vm(j, 'ip', ['-6', 'addr', 'add', `${v6(j)}/64`, 'dev', 'eth0', 'nodad']);
    [pa, pb, pc] = [a, b, c].map((vm) => new Probe(vm));
    probes.push(pa, pb, pc);
    // the admin locks every VIF to its own addresses (the seed's examples assume it)
    await Promise.all([lockOwn(a), lockOwn(b), lockOwn(c), ...probes.map((p) => p.ready())]);
    carrierAtStart = [a, b, c].map((vm) => link(vm).carrierChanges);
  });

  after(async () => {
    await Promise.all(probes.map((p) => p.close()));
    await t?.dispose();
  });

  it('passes legitimate traffic between locked VMs: ARP, IPv4, IPv6, ARP probes, DHCP client', async () => {
    for (const j of [1, 2, 3]) t.vm(j, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    const mark = pa.mark();
    const results = await Promise.all([ping(a, b.ip), ping(b, c.ip), ping(c, a.ip), ping(a, v6(2)), ping(b, v6(1))]);
    for (const r of results) assert.equal(r.received, r.sent, r.out);
    // ARP really went through the locks (the caches were flushed)
    await pa.seen(mark, (p) => p.arp?.psrc === c.ip && p.arp.hwsrc === c.mac, "c's ARP at a");
    assert.match(neigh(a, c.ip), new RegExp(c.mac));

    // an ARP probe (sender 0.0.0.0, RFC 5227) and a DHCP discover (any source IP) leave a locked VIF
    const xid = 0x5e1001;
    const markC = pc.mark();
    await pc.send([
      { pkt: arp({ src: c.mac, dst: BCAST, op: 1, hwsrc: c.mac, psrc: '0.0.0.0', pdst: '10.77.0.199' }) },
      { pkt: `${eth(c.mac, BCAST)}/IP(src="0.0.0.0", dst="255.255.255.255")/UDP(sport=68, dport=67)/BOOTP(chaddr=mac2str(${q(c.mac)}), xid=${xid}, flags=0x8000)/DHCP(options=[("message-type", "discover"), "end"])`, count: 2 },
    ]);
    await pa.seen(mark, (p) => p.arp?.psrc === '0.0.0.0' && p.arp.hwsrc === c.mac, "c's ARP probe at a");
    await pa.seen(mark, (p) => p.dhcp?.xid === xid && p.dhcp.op === 1, "c's DHCP discover at a");
    // the lab's DHCP server (beyond the host's NIC, on the fabric) got it and answered
    const offer = await pc.seen(markC, (p) => p.dhcp?.xid === xid && p.dhcp.op === 2, 'a DHCP offer for c', 20_000);
    assert.match(offer.dhcp!.yiaddr, /^10\.77\.0\.2\d\d$/);
  });

  it("Example 1: c's spoofed ARP replies (b_IP is at c_MAC) never reach a; b's genuine reply does", async () => {
    const mark = pa.mark();
    const SENTINEL = '02:00:00:00:5e:01';
    await pc.send([
      // the attack: a stream of replies to a claiming that b's address is at c's MAC
      { pkt: arp({ src: c.mac, dst: a.mac, op: 2, hwsrc: c.mac, psrc: b.ip, hwdst: a.mac, pdst: a.ip }), count: 10 },
      // the same claim broadcast (gratuitous ARP) and as a request (xapi filters ARP by sender, not opcode)
      { pkt: arp({ src: c.mac, dst: BCAST, op: 2, hwsrc: c.mac, psrc: b.ip, hwdst: BCAST, pdst: b.ip }), count: 3 },
      { pkt: arp({ src: c.mac, dst: BCAST, op: 1, hwsrc: c.mac, psrc: b.ip, pdst: a.ip }), count: 3 },
      // a sentinel from c with its own address, sent after the attack
      { pkt: arp({ src: c.mac, dst: a.mac, op: 2, hwsrc: c.mac, psrc: c.ip, hwdst: SENTINEL, pdst: a.ip }) },
    ]);
    await pb.send([{ pkt: arp({ src: b.mac, dst: a.mac, op: 2, hwsrc: b.mac, psrc: b.ip, hwdst: a.mac, pdst: a.ip }), count: 3 }]);
    await pa.seen(mark, (p) => p.arp?.hwdst === SENTINEL, "c's sentinel");
    await pa.seen(mark, (p) => p.arp?.op === 2 && p.arp.psrc === b.ip && p.arp.hwsrc === b.mac && p.src === b.mac, "b's ARP reply at a");
    await pa.sync();
    const spoofed = pa.since(mark).filter((p) => p.arp && (p.src === c.mac || p.arp.hwsrc === c.mac) && p.arp.psrc === b.ip);
    assert.deepEqual(spoofed, [], 'no spoofed ARP reached a');
    // a still talks to the real b
    const r = await ping(a, b.ip);
    assert.equal(r.received, r.sent, r.out);
    assert.doesNotMatch(neigh(a, b.ip), new RegExp(c.mac));
  });

  it("Example 2: c's IP packets with a's address (attempt 1: a_MAC too; attempt 2: own MAC) are dropped, its own pass", async () => {
    const mark = pb.mark();
    await pc.send([
      { pkt: udp({ src: a.mac, dst: b.mac, ipsrc: a.ip, ipdst: b.ip, data: 'PN-ex2-attempt1' }), count: 5 },
      { pkt: udp({ src: c.mac, dst: b.mac, ipsrc: a.ip, ipdst: b.ip, data: 'PN-ex2-attempt2' }), count: 5 },
      // and its own address behind a's MAC
      { pkt: udp({ src: a.mac, dst: b.mac, ipsrc: c.ip, ipdst: b.ip, data: 'PN-ex2-mac-only' }), count: 5 },
      { pkt: udp({ src: c.mac, dst: b.mac, ipsrc: c.ip, ipdst: b.ip, data: 'PN-ex2-legit' }), count: 3 },
    ]);
    const legit = await pb.seen(mark, (p) => p.data === 'PN-ex2-legit', "c's legitimate packet at b");
    assert.equal(legit.ip?.src, c.ip);
    await pb.sync();
    const forged = pb.since(mark).filter((p) => p.data?.startsWith('PN-ex2-') && p.data !== 'PN-ex2-legit');
    assert.deepEqual(forged, [], 'no forged packet reached b');
    assert.equal(pb.since(mark).filter((p) => p.data === 'PN-ex2-legit').length, 3);
  });

  it('Example 3: one VIF locked to one MAC and three IPv4 addresses serves all three, live; a fourth is dropped', async () => {
    const [x1, x2, x3] = ['10.77.0.161', '10.77.0.162', '10.77.0.163'];
    for (const x of [x1, x2, x3]) t.vm(2, 'ip', ['addr', 'add', `${x}/24`, 'dev', 'eth0']);
    const before = link(b);
    // a pings b 10 times a second while addresses are added to b's allowed list
    const stream = ping(a, b.ip, { count: 40, interval: 0.1 });
    await sleep(800);
    const ref = await vifRef(b);
    await t.call(1, 'VIF.add_ipv4_allowed', [s, ref, x1]);
    await settled(b, 'locked', [b.ip, x1], [v6(2)]);
    await t.call(1, 'VIF.set_ipv4_allowed', [s, ref, [b.ip, x1, x2]]);
    await settled(b, 'locked', [b.ip, x1, x2], [v6(2)]);
    const r = await stream;
    assert.equal(r.received, r.sent, `no ping lost while the lock changed: ${r.out}`);
    const now = link(b);
    assert.equal(now.operstate, 'UP');
    assert.equal(now.carrierChanges, before.carrierChanges, "b's link never went down");

    const mark = pa.mark();
    for (const x of [b.ip, x1, x2]) {
      const p = await ping(b, a.ip, { from: x });
      assert.equal(p.received, p.sent, `from ${x}: ${p.out}`);
    }
    const p3 = await ping(b, a.ip, { from: x3, count: 2, wait: 1 });
    assert.equal(p3.received, 0, `from ${x3} (not allowed): ${p3.out}`);
    await pa.sync();
    const got = pa.since(mark);
    for (const x of [x1, x2]) assert.ok(got.some((p) => p.ip?.src === x && p.icmp === 8), `a saw pings from ${x}`);
    assert.deepEqual(got.filter((p) => p.ip?.src === x3 || p.arp?.psrc === x3), [], `nothing from ${x3} reached a`);
    // back to b's own address for the tests that follow
    for (const x of [x1, x2, x3]) t.vm(2, 'ip', ['addr', 'del', `${x}/24`, 'dev', 'eth0']);
    await lockOwn(b);
  });

  it("IPv6: a locked VIF's allowed address works; its forged neighbour advertisements and router advertisements are dropped", async () => {
    for (const [x, y] of [[a, v6(2)], [b, v6(1)], [c, v6(2)]] as const) {
      const r = await ping(x, y);
      assert.equal(r.received, r.sent, r.out);
    }
    const markA = pa.mark(), markB = pb.mark();
    await pc.send([
      // "a's address is at c's MAC", from c's own (allowed) address and from a's
      { pkt: na({ src: c.mac, dst: b.mac, ipsrc: v6(3), ipdst: v6(2), tgt: v6(1), lladdr: c.mac }), count: 5 },
      { pkt: na({ src: c.mac, dst: b.mac, ipsrc: v6(1), ipdst: v6(2), tgt: v6(1), lladdr: c.mac }), count: 5 },
      { pkt: na({ src: c.mac, dst: '33:33:00:00:00:01', ipsrc: v6(3), ipdst: 'ff02::1', tgt: v6(2), lladdr: c.mac }), count: 3 },
      // a rogue router, from c's allowed address and from a link-local one
      { pkt: ra({ src: c.mac, ipsrc: v6(3), prefix: 'fd99:1::' }), count: 3 },
      { pkt: ra({ src: c.mac, ipsrc: 'fe80::bad', prefix: 'fd99:2::' }), count: 3 },
      // a redirect from its allowed address
      { pkt: `${ip6(c.mac, b.mac, v6(3), v6(2))}/ICMPv6ND_Redirect(tgt=${q(v6(3))}, dst=${q(v6(1))})`, count: 3 },
      // sentinels: c's neighbour advertisement for its own address, an echo from it
      { pkt: na({ src: c.mac, dst: b.mac, ipsrc: v6(3), ipdst: v6(2), tgt: v6(3), lladdr: c.mac }) },
      { pkt: echo6({ src: c.mac, dst: b.mac, ipsrc: v6(3), ipdst: v6(2), data: 'PN-v6-legit' }) },
      { pkt: echo6({ src: c.mac, dst: a.mac, ipsrc: v6(3), ipdst: v6(1), data: 'PN-v6-legit' }) },
    ]);
    await pb.seen(markB, (p) => p.icmp6 === 136 && p.tgt === v6(3), "c's own neighbour advertisement at b");
    await pb.seen(markB, (p) => p.data === 'PN-v6-legit', "c's echo at b");
    await pa.seen(markA, (p) => p.data === 'PN-v6-legit', "c's echo at a");
    await Promise.all([pa.sync(), pb.sync()]);
    for (const [who, got] of [['a', pa.since(markA)], ['b', pb.since(markB)]] as const) {
      const fromC = got.filter((p) => p.src === c.mac);
      assert.deepEqual(fromC.filter((p) => p.icmp6 === 136 && p.tgt !== v6(3)), [], `no forged neighbour advertisement reached ${who}`);
      assert.deepEqual(fromC.filter((p) => p.icmp6 === 134 || p.icmp6 === 137), [], `no router advertisement or redirect reached ${who}`);
      assert.deepEqual(got.filter((p) => p.ip6?.src === 'fe80::bad'), [], `nothing from a link-local address reached ${who}`);
    }
    // and the victims' state shows it: b still reaches a's real MAC; nobody took the rogue prefix
    assert.doesNotMatch(neigh(b, v6(1)), new RegExp(c.mac));
    const r = await ping(b, v6(1));
    assert.equal(r.received, r.sent, r.out);
    for (const j of [1, 2]) assert.doesNotMatch(t.vm(j, 'ip', ['-6', 'addr', 'show', 'dev', 'eth0']), /fd99:/);
  });

  it('disabled drops everything both ways, live, without taking the link down; locked again it passes', async () => {
    await setLock(c, 'disabled');
    await settled(c, 'disabled');
    const l = link(c);
    assert.equal(l.operstate, 'UP', 'the VM still sees its link');
    assert.equal(l.carrier, '1');
    const markA = pa.mark(), markB = pb.mark(), markC = pc.mark();
    const [toC, fromC] = await Promise.all([ping(a, c.ip, { count: 2, wait: 1 }), ping(c, b.ip, { count: 2, wait: 1 })]);
    assert.equal(toC.received, 0, toC.out);
    assert.equal(fromC.received, 0, fromC.out);
    await pc.send([
      { pkt: udp({ src: c.mac, dst: a.mac, ipsrc: c.ip, ipdst: a.ip, data: 'PN-disabled-out' }), count: 3 },
      { pkt: arp({ src: c.mac, dst: BCAST, op: 1, hwsrc: c.mac, psrc: c.ip, pdst: a.ip }), count: 2 },
      // the host's own address: its kernel must not answer on the VIF's device either
      { pkt: arp({ src: c.mac, dst: BCAST, op: 1, hwsrc: c.mac, psrc: c.ip, pdst: t.state.hosts[0].ip }), count: 3 },
    ]);
    await pb.send([
      { pkt: udp({ src: b.mac, dst: c.mac, ipsrc: b.ip, ipdst: c.ip, data: 'PN-disabled-in' }), count: 3 },
      { pkt: arp({ src: b.mac, dst: BCAST, op: 1, hwsrc: b.mac, psrc: b.ip, pdst: c.ip }), count: 2 },
    ]);
    await sleep(500);
    await Promise.all([pa.sync(), pb.sync(), pc.sync()]);
    assert.deepEqual([...pa.since(markA), ...pb.since(markB)].filter((p) => p.src === c.mac), [], 'nothing from c reached a or b');
    assert.deepEqual(pc.since(markC), [], 'nothing at all reached c');

    await lockOwn(c);
    const r = await ping(c, a.ip);
    assert.equal(r.received, r.sent, r.out);
    assert.equal(link(c).carrierChanges, carrierAtStart[2], "c's link never went down");
  });

  it("a network with default-locking-mode=disabled drops its network_default VIFs' traffic; unlocked passes all", async () => {
    const net = (await t.call(1, 'network.create', [s, { name_label: 'locking', name_description: 'port locking test', MTU: 1500, other_config: {} }])) as string;
    await t.call(1, 'network.set_default_locking_mode', [s, net, 'disabled']);
    const bridge = (await t.call(1, 'network.get_bridge', [s, net])) as string;
    const h = t.state.hosts[0];
    const [d, e] = await Promise.all([4, 5].map((j) => t.lab.createVm(h, j, t.state.password, net)));
    const [pd, pe] = [new Probe(d), new Probe(e)];
    probes.push(pd, pe);
    await Promise.all([pd.ready(), pe.ready()]);
    // both VIFs are network_default: disabled, off the bridge
    await settled(d, 'disabled', [], [], bridge);
    await settled(e, 'disabled', [], [], bridge);
    // the network's default cannot change while VIFs are attached
    await assert.rejects(t.call(1, 'network.set_default_locking_mode', [s, net, 'unlocked']), (err: Error & { code?: string }) => err.code === 'VIF_IN_USE');

    // e unlocked explicitly; d still network_default: nothing passes between them
    await setLock(e, 'unlocked');
    await settled(e, 'unlocked', [], [], bridge);
    const markD = pd.mark();
    let markE = pe.mark();
    const [de, ed] = await Promise.all([ping(d, e.ip, { count: 2, wait: 1 }), ping(e, d.ip, { count: 2, wait: 1 })]);
    assert.equal(de.received, 0, de.out);
    assert.equal(ed.received, 0, ed.out);
    await pd.send([{ pkt: udp({ src: d.mac, dst: BCAST, ipsrc: d.ip, ipdst: '10.77.0.255', data: 'PN-netdefault' }), count: 3 }]);
    await sleep(500);
    await Promise.all([pd.sync(), pe.sync()]);
    assert.deepEqual(pe.since(markE).filter((p) => p.src === d.mac), [], "nothing of d's reached e");
    assert.deepEqual(pd.since(markD), [], 'nothing reached d');

    // d unlocked too: everything passes, forged addresses and router advertisements included
    await setLock(d, 'unlocked');
    await settled(d, 'unlocked', [], [], bridge);
    // d's ARP for e may still be INCOMPLETE from its pings while disabled (the probes it has left all
    // went out then): start the resolution again, as a new neighbour, so that the ping tests the switch
    t.lab.inNs(d.ns, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    const r = await ping(d, e.ip);
    assert.equal(r.received, r.sent, r.out);
    markE = pe.mark();
    await pd.send([
      { pkt: arp({ src: d.mac, dst: e.mac, op: 2, hwsrc: d.mac, psrc: '10.77.0.1', hwdst: e.mac, pdst: e.ip }), count: 2 },
      { pkt: udp({ src: '02:00:00:00:77:77', dst: e.mac, ipsrc: '10.77.0.1', ipdst: e.ip, data: 'PN-unlocked-spoof' }), count: 2 },
      { pkt: na({ src: d.mac, dst: e.mac, ipsrc: 'fd00:77::1', ipdst: 'fd00:77::105', tgt: 'fd00:77::1', lladdr: d.mac }), count: 2 },
      { pkt: ra({ src: d.mac, ipsrc: 'fe80::1', prefix: 'fd99:3::' }), count: 2 },
    ]);
    await pe.seen(markE, (p) => p.arp?.psrc === '10.77.0.1' && p.arp.hwsrc === d.mac, 'the unlocked ARP claim at e');
    await pe.seen(markE, (p) => p.data === 'PN-unlocked-spoof' && p.src === '02:00:00:00:77:77', 'the unlocked spoofed IP packet at e');
    await pe.seen(markE, (p) => p.icmp6 === 136 && p.tgt === 'fd00:77::1', 'the unlocked neighbour advertisement at e');
    await pe.seen(markE, (p) => p.icmp6 === 134, 'the unlocked router advertisement at e');
  });

  it("no locking change took any VM's link down", () => {
    for (const [j, vm] of [a, b, c].entries()) {
      const l = link(vm);
      assert.equal(l.operstate, 'UP', vm.name);
      assert.equal(l.carrierChanges, carrierAtStart[j], `${vm.name}'s carrier never changed`);
    }
  });
});
