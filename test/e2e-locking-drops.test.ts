// Spoofing alarms with real packets: a locked VM sends spoofed ARP, a spoofed IPv4 source, a
// foreign source MAC, an IPv6 router advertisement and a frame tagged with a VLAN its port does not
// carry (scapy, test/scapy's interpreter); within a few seconds its VIF's `locking_drops` on the
// master has risen by at least what it sent, per reason, and VIF_LOCKING_DROPS messages name the
// VM, the VIF and the network; a second burst within the minute raises the counts but no further
// message (each reason at most once a minute per VIF); disabled, everything it sends counts as
// `disabled`. The well-behaved VMs (locked to their own addresses, pinging each other) get
// neither. On Open vSwitch the spoofer runs on a member, so its counts travel through
// pool.replica_write; then the same on the Linux bridge stack, where the lab can bring one up.

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { cookieOf, vifFlows } from '../src/agent/ovsflows.ts';
import { VIF_LOCKING_DROPS } from '../src/agent/dropstats.ts';
import type { LabVm } from '../src/lab/state.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { PYTHON, poolLabSkip, ping, run, sleep, until } from './helpers/pool-lab.ts';

type Counts = Record<string, number>;
interface Msg { name: string; obj_uuid: string; body: string; cls: string; priority: number | string }

const FOREIGN_MAC = '02:de:ad:00:be:ef';
const SPOOFED_IP = '10.77.0.249';

/** What the spoofer sends, by the reason each frame is dropped for. */
const ATTACK = { neighbour_spoof: 5, foreign_ip: 4, foreign_mac: 3, router_advertisement: 2, tagged: 2 };

/** The attack as one scapy run inside the VM (one interpreter start). */
function attackScript(vm: LabVm, victim: LabVm): string {
  const q = JSON.stringify;
  const frames = [
    [`Ether(src=${q(vm.mac)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=2, hwsrc=${q(vm.mac)}, psrc=${q(victim.ip)}, hwdst="ff:ff:ff:ff:ff:ff", pdst=${q(victim.ip)})`, ATTACK.neighbour_spoof],
    [`Ether(src=${q(vm.mac)}, dst=${q(victim.mac)})/IP(src=${q(SPOOFED_IP)}, dst=${q(victim.ip)})/UDP(sport=40000, dport=9)/Raw(b"spoof-ip")`, ATTACK.foreign_ip],
    [`Ether(src=${q(FOREIGN_MAC)}, dst=${q(victim.mac)})/IP(src=${q(vm.ip)}, dst=${q(victim.ip)})/UDP(sport=40001, dport=9)/Raw(b"spoof-mac")`, ATTACK.foreign_mac],
    [`Ether(src=${q(vm.mac)}, dst="33:33:00:00:00:01")/IPv6(src="fe80::bad", dst="ff02::1", hlim=255)/ICMPv6ND_RA(routerlifetime=1800)`, ATTACK.router_advertisement],
    [`Ether(src=${q(vm.mac)}, dst=${q(victim.mac)})/Dot1Q(vlan=42)/IP(src=${q(vm.ip)}, dst=${q(victim.ip)})/UDP(sport=40002, dport=9)`, ATTACK.tagged],
  ] as const;
  return [
    'from scapy.layers.l2 import ARP, Dot1Q, Ether',
    'from scapy.layers.inet import IP, UDP',
    'from scapy.layers.inet6 import ICMPv6ND_RA, IPv6',
    'from scapy.packet import Raw',
    'from scapy.sendrecv import sendp',
    `frames = ${frames.map(([f, n]) => `[${f}] * ${n}`).join(' + ')}`,
    'sendp(frames, iface="eth0", inter=0.01, verbose=False)',
  ].join('\n');
}

const diff = (after: Counts, before: Counts): Counts => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));

/** The checks of one lab: `spoofer` attacks `victim`; `good` are well-behaved. */
function alarmSuite(getLab: () => { t: TestLab; s: string; spoofer: LabVm; good: LabVm[] } | string) {
  const lab = (tc: TestContext) => {
    const l = getLab();
    if (typeof l === 'string') { tc.skip(l); return undefined; }
    return l;
  };
  const vifRef = async (l: { t: TestLab; s: string }, vm: LabVm) => (await l.t.call(1, 'VIF.get_by_uuid', [l.s, vm.vif])) as string;
  const drops = async (l: { t: TestLab; s: string }, vm: LabVm): Promise<Counts> => {
    const m = (await l.t.call(1, 'VIF.get_locking_drops', [l.s, await vifRef(l, vm)])) as Record<string, number | string>;
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v)]));
  };
  /** Messages about the VM's VIF raised since the baseline. */
  let seenBefore = new Set<string>();
  const messages = async (l: { t: TestLab; s: string }, vm: LabVm): Promise<Msg[]> =>
    Object.values((await l.t.call(1, 'message.get_all_records', [l.s])) as Record<string, Msg & { uuid: string }>)
      .filter((m) => m.name === VIF_LOCKING_DROPS && m.obj_uuid === vm.vif && !seenBefore.has(m.uuid));

  let before0: Counts = {};
  let afterFirst = 0;
  let goodBefore: Counts[] = [];

  /**
   * The baseline, once no VIF's counts rose for 3 s: what the VMs' own kernels sent around the time
   * they were locked (a duplicate address detection from ::, say) is not the test's.
   */
  const quiet = async (l: { t: TestLab; s: string; spoofer: LabVm; good: LabVm[] }) => {
    let last = '', since = Date.now();
    await until(async () => {
      const now = JSON.stringify(await Promise.all([l.spoofer, ...l.good].map((vm) => drops(l, vm))));
      if (now !== last) { last = now; since = Date.now(); }
      return Date.now() - since >= 3000 ? true : undefined;
    }, 60_000, 'the VIFs\' counts to stay still for 3 s', 500);
    console.log(`# baseline: ${last}`);
    seenBefore = new Set(Object.values((await l.t.call(1, 'message.get_all_records', [l.s])) as Record<string, { uuid: string }>).map((m) => m.uuid));
  };

  it('counts each spoofed frame under its reason on the master within seconds, and raises a message naming the VM', async (tc) => {
    const l = lab(tc);
    if (!l) return;
    await quiet(l);
    before0 = await drops(l, l.spoofer);
    goodBefore = await Promise.all(l.good.map((vm) => drops(l, vm)));
    assert.deepEqual(await messages(l, l.spoofer), []);
    const victim = l.good[0];
    const t0 = Date.now();
    const sent = await run(l.spoofer.ns, PYTHON, ['-c', attackScript(l.spoofer, victim)]);
    assert.equal(sent.code, 0, sent.out);
    const tSent = Date.now();
    const rose = await until(async () => {
      const d = diff(await drops(l, l.spoofer), before0);
      return Object.entries(ATTACK).every(([r, n]) => (d[r] ?? 0) >= n) ? d : undefined;
    }, 20_000, `the spoofer's locking_drops to rise by ${JSON.stringify(ATTACK)}`, 200);
    const tSeen = Date.now();
    console.log(`# locking_drops rose ${JSON.stringify(rose)} ${tSeen - tSent} ms after the attack ended (${tSent - t0} ms to send it)`);
    const changed = (await l.t.call(1, 'VIF.get_locking_drops_changed', [l.s, await vifRef(l, l.spoofer)])) as string;
    assert.match(changed, /^\d{8}T\d{2}:\d{2}:\d{2}Z$/);
    await until(async () => ((await messages(l, l.spoofer)).length ? true : undefined), 20_000, 'a VIF_LOCKING_DROPS message');
    // one message, or one more for each reason first seen a poll later (a reason not yet reported goes out at once)
    await sleep(2500);
    const msgs = await messages(l, l.spoofer);
    assert.ok(msgs.length >= 1 && msgs.length <= Object.keys(ATTACK).length, JSON.stringify(msgs));
    afterFirst = msgs.length;
    const m = msgs.sort((a, b) => a.body.length - b.body.length)[0];
    const vmName = (await l.t.call(1, 'VM.get_name_label', [l.s, (await l.t.call(1, 'VM.get_by_uuid', [l.s, l.spoofer.uuid])) as string])) as string;
    assert.equal(m.cls, 'VIF');
    assert.equal(Number(m.priority), 3);
    for (const x of msgs) {
      assert.ok(x.body.includes(`VM ${JSON.stringify(vmName)}`), x.body);
      assert.ok(x.body.includes(l.spoofer.mac), x.body);
      assert.match(x.body, /on network "[^"]+"/);
    }
    // what was dropped when the VIF started dropping (the rest waits for the minute to end)
    const named = Object.keys(ATTACK).filter((r) => new RegExp(`\\b${r} \\d+ \\(`).test(m.body));
    assert.ok(named.length > 0, `a reason and its count in ${m.body}`);
  });

  it('counts a second burst within the minute but sends no further message', async (tc) => {
    const l = lab(tc);
    if (!l) return;
    const mid = await drops(l, l.spoofer);
    const sent = await run(l.spoofer.ns, PYTHON, ['-c', attackScript(l.spoofer, l.good[0])]);
    assert.equal(sent.code, 0, sent.out);
    await until(async () => {
      const d = diff(await drops(l, l.spoofer), mid);
      return (d.foreign_ip ?? 0) >= ATTACK.foreign_ip && (d.foreign_mac ?? 0) >= ATTACK.foreign_mac ? true : undefined;
    }, 20_000, 'the second burst counted', 200);
    await sleep(2500);
    assert.equal((await messages(l, l.spoofer)).length, afterFirst, 'rate-limited: no reason reported twice in a minute');
  });

  it('counts everything a disabled VIF sends, under disabled', async (tc) => {
    const l = lab(tc);
    if (!l) return;
    const ref = await vifRef(l, l.spoofer);
    await l.t.call(1, 'VIF.set_locking_mode', [l.s, ref, 'disabled']);
    await sleep(3000); // the VIF leaves its bridge
    const start = await drops(l, l.spoofer);
    const frames = `[Ether(src=${JSON.stringify(l.spoofer.mac)}, dst="ff:ff:ff:ff:ff:ff")/IP(src=${JSON.stringify(l.spoofer.ip)}, dst="10.77.0.255")/UDP(sport=40003, dport=9)] * 6`;
    const sent = await run(l.spoofer.ns, PYTHON, ['-c', `from scapy.layers.l2 import Ether\nfrom scapy.layers.inet import IP, UDP\nfrom scapy.sendrecv import sendp\nsendp(${frames}, iface="eth0", inter=0.01, verbose=False)`]);
    assert.equal(sent.code, 0, sent.out);
    const d = await until(async () => { const x = diff(await drops(l, l.spoofer), start); return (x.disabled ?? 0) >= 6 ? x : undefined; }, 20_000, 'disabled to rise by 6', 200);
    console.log(`# disabled VIF: ${JSON.stringify(d)}`);
  });

  it('reports nothing for the well-behaved VMs, whose traffic passes', async (tc) => {
    const l = lab(tc);
    if (!l) return;
    const [g1, g2] = l.good;
    if (g2) {
      const r = await ping(g1.ns, g2.ip, 5, ['-i', '0.2']);
      assert.equal(r.received, r.sent, r.out);
    }
    await sleep(2500);
    for (const [i, vm] of l.good.entries()) {
      assert.deepEqual(diff(await drops(l, vm), goodBefore[i]), {}, `${vm.name} dropped nothing`);
      assert.deepEqual(await messages(l, vm), [], `no message about ${vm.name}`);
    }
  });
}

/** Lock a VM's VIF to its MAC, its IPv4 address and its link-local IPv6 address (what its own kernel sends from). */
async function lockOwn(t: TestLab, s: string, vm: LabVm, j: number): Promise<{ ipv4: string[]; ipv6: string[] }> {
  const ref = (await t.call(1, 'VIF.get_by_uuid', [s, vm.vif])) as string;
  const ll = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(t.vm(j, 'ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']))?.[1];
  const ipv4 = [vm.ip], ipv6 = ll ? [ll] : [];
  await t.call(1, 'VIF.set_ipv4_allowed', [s, ref, ipv4]);
  await t.call(1, 'VIF.set_ipv6_allowed', [s, ref, ipv6]);
  await t.call(1, 'VIF.set_locking_mode', [s, ref, 'locked']);
  return { ipv4, ipv6 };
}

describe('spoofing alarms per VIF on Open vSwitch (a member reports them)', { skip: poolLabSkip(), timeout: 600_000 }, () => {
  let t: TestLab;
  let s: string;
  let vms: LabVm[] = [];

  before(async () => {
    // vm1 and vm3 on host1 (the master), vm2 on host2 (a member)
    t = await startLab({ tag: 'ld', hosts: 2, nics: 1, vms: 3 });
    s = await t.session(1);
    vms = t.state.vms;
    const locks = await Promise.all(vms.map((vm, i) => lockOwn(t, s, vm, i + 1)));
    // until each host's switch holds the VIF's locked flows
    await Promise.all(vms.map((vm, i) => until(() => {
      const h = t.state.hosts.findIndex((x) => x.name === vm.host) + 1;
      const dir = t.state.hosts[h - 1].dir;
      let n = -1;
      try {
        n = t.host(h, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', '--no-stats', `unix:${dir}/ovs/xenbr0.mgmt`, `cookie=${cookieOf(vm.vif)}/-1`]).split('\n').filter((x) => x.includes('actions=')).length;
      } catch { /* not yet */ }
      return n === vifFlows({ port: vm.port, vifUuid: vm.vif, mac: vm.mac, mode: 'locked', ...locks[i] }).length ? true : undefined;
    }, 30_000, `${vm.name}'s locked flows`)));
    assert.notEqual(vms[1].host, t.state.hosts[0].name, 'the spoofer runs on a member');
    await sleep(2000); // counts of what the VMs sent before they were locked settle
  });
  after(async () => { await t?.dispose(); });

  alarmSuite(() => (t ? { t, s, spoofer: vms[1], good: [vms[0], vms[2]] } : 'the lab did not come up'));
});

describe('spoofing alarms per VIF on the Linux bridge stack', { skip: poolLabSkip(), timeout: 600_000 }, () => {
  let t: TestLab | undefined;
  let s = '';
  let vms: LabVm[] = [];
  let why: string | undefined;

  before(async () => {
    try {
      t = await startLab({ tag: 'lb', hosts: 1, nics: 1, vms: 2, stack: 'bridge' });
    } catch (e) {
      why = `the lab cannot bring up the Linux bridge stack here: ${(e as Error).message.split('\n')[0]}`;
      console.log(`# skipped: ${why}`);
      return;
    }
    s = await t.session(1);
    vms = t.state.vms;
    await Promise.all(vms.map((vm, i) => lockOwn(t!, s, vm, i + 1)));
    // until nftables holds each VIF's chain with its counters
    await until(() => {
      let text = '';
      try { text = t!.host(1, 'nft', ['list', 'counters', 'table', 'bridge', 'poolnet']); } catch { /* not yet */ }
      return vms.every((vm) => text.includes(`v_${vm.port.replace(/[^A-Za-z0-9]/g, '_')}_foreign_ip`)) ? true : undefined;
    }, 30_000, 'the VIFs\' locked chains in nftables');
    await sleep(2000);
  });
  after(async () => { await t?.dispose(); });

  alarmSuite(() => (why ?? (t ? { t, s, spoofer: vms[1], good: [vms[0]] } : 'the lab did not come up')));
});
