// Fail closed, with real packets (issue 16, "Locking fails open"): a locked VIF is never forwarded
// unfiltered. One host; vm1 locked to its own address sends, without pause, spoofed frames (a
// forged source address, a forged source MAC) and its own legitimate frames to vm2, whose eth0
// and the fabric's port facing the host's uplink are captured throughout. Each failure is forced
// while it sends:
//  - ovs-vswitchd SIGKILLed and started again (a restarted switch has empty tables): the agent
//    notices at once and rewrites them; the host's management address answers again;
//  - the same with poolnetd down, so that the switch runs for seconds with no agent (then the
//    agent's start): nothing at all passes meanwhile, not even vm1's legitimate frames;
//  - poolnetd SIGKILLed and restarted;
//  - a new locked VIF plugged while its VM already spoofs (the switch numbers its port before the
//    agent has written its flows);
//  - a bundle the switch refuses: vm1's flows get a line ovs-ofctl cannot parse (the test hook
//    POOLNET_TEST_BAD_FLOWS): vm1's port drops everything, another VIF's change still goes in, a
//    pool message names the VIF; once its flows are good again, vm1 passes again.
// Not one spoofed frame reaches vm2 or the uplink in any window; legitimate traffic resumes.
// The Linux bridge stack (its filter is kernel state that outlives the daemon) gets the restart.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cookieOf, QUARANTINE_PRIORITY } from '../src/agent/ovsflows.ts';
import type { LabVm } from '../src/lab/lab.ts';
import { ovsLayout } from '../src/lab/ovsns.ts';
import { startLab, type TestLab } from './helpers/lab.ts';
import { PYTHON, poolLabSkip, reachable, sleep, until } from './helpers/pool-lab.ts';

const SPOOF_IP = '10.77.0.250';
const SPOOF_MAC = '02:00:00:00:66:66';
const LEGIT_PORT = 9998, SPOOF_PORT = 9999;

/** vm1's sender: spoofed frames every 2 ms (forged address, forged MAC, in turn), its own every 20 ms. */
const SENDER = `
import socket, sys, time
from scapy.all import Ether, IP, UDP, Raw
me, my_ip, dst_mac, dst_ip = sys.argv[1:5]
spoofs = [bytes(Ether(src=me, dst=dst_mac) / IP(src='${SPOOF_IP}', dst=dst_ip) / UDP(sport=40000, dport=${SPOOF_PORT}) / Raw(b'PN-spoof-ip')),
          bytes(Ether(src='${SPOOF_MAC}', dst=dst_mac) / IP(src=my_ip, dst=dst_ip) / UDP(sport=40001, dport=${SPOOF_PORT}) / Raw(b'PN-spoof-mac'))]
legit = bytes(Ether(src=me, dst=dst_mac) / IP(src=my_ip, dst=dst_ip) / UDP(sport=40002, dport=${LEGIT_PORT}) / Raw(b'PN-legit'))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind(('eth0', 0))
print('sending', flush=True)
i = 0
while True:
    for _ in range(10):
        try:
            s.send(spoofs[i % 2])
        except OSError:
            pass
        i += 1
        time.sleep(0.002)
    try:
        s.send(legit)
    except OSError:
        pass
`;
import type { BackendName } from '../src/domain/backend.ts';

/** tcpdump that keeps its lines as they come (the shared Capture hands them over only at the end). */
class Tap {
  readonly lines: string[] = [];
  private err = '';
  private buf = '';
  private readonly proc: ChildProcess;
  constructor(ns: string, iface: string, filter: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-e', '-nn', '-l', '-U', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (c: Buffer) => {
      this.buf += c.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop()!;
      this.lines.push(...parts.filter((l) => l.trim()));
    });
    this.proc.stderr!.on('data', (c: Buffer) => { this.err += c.toString(); });
  }
  ready(): Promise<boolean> { return until(() => (this.err.includes('listening on') ? true : undefined), 20_000, 'tcpdump to listen'); }
  /** Frames of vm1's legitimate stream seen so far. */
  get legit(): number { return this.lines.filter((l) => l.includes(`.${LEGIT_PORT}: UDP`)).length; }
  /** Spoofed frames seen so far. */
  get spoofed(): string[] { return this.lines.filter((l) => l.includes(`.${SPOOF_PORT}: UDP`) || l.includes(SPOOF_IP) || l.includes(SPOOF_MAC)); }
  kill(): void { if (this.proc.exitCode === null) this.proc.kill('SIGKILL'); }
}

/** The longest pause, in ms, between two of vm1's legitimate frames (tcpdump's HH:MM:SS.micro times). */
function longestGap(lines: readonly string[]): number {
  const at = lines.filter((l) => l.includes(`.${LEGIT_PORT}: UDP`)).map((l) => {
    const [hh, mm, ss] = l.split(' ')[0].split(':').map(Number);
    return ((hh * 60 + mm) * 60 + ss) * 1000;
  });
  return Math.round(Math.max(0, ...at.slice(1).map((x, i) => x - at[i])));
}

function suite(stack: BackendName): void {
  const name = stack === 'openvswitch' ? 'Open vSwitch' : 'Linux bridge + nftables';
  describe(`a locked VIF is never forwarded unfiltered (${name})`, { skip: poolLabSkip(), timeout: 600_000 }, () => {
    let t: TestLab;
    let s: string;
    let vm1: LabVm, vm2: LabVm, vm3: LabVm;
    let atVm2: Tap, onWire: Tap;
    let sender: ChildProcess | undefined;
    let hookDir = '';
    const badFlows = () => join(hookDir, 'bad-flows');
    const h = () => t.state.hosts[0];

    const vifRef = async (vm: LabVm) => (await t.call(1, 'VIF.get_by_uuid', [s, vm.vif])) as string;
    const ofctl = (...a: string[]) => t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', ...a]);
    const vifFlows = (vm: LabVm) => ofctl('dump-flows', '--no-stats', `unix:${h().dir}/ovs/xenbr0.mgmt`, `cookie=${cookieOf(vm.vif)}/-1`).split('\n').filter((l) => l.includes('actions='));
    const lockOwn = async (vm: LabVm, extra: string[] = []) => {
      const ref = await vifRef(vm);
      await t.call(1, 'VIF.set_ipv4_allowed', [s, ref, [vm.ip, ...extra]]);
      await t.call(1, 'VIF.set_locking_mode', [s, ref, 'locked']);
      await until(() => {
        if (stack === 'bridge') return t.host(1, 'nft', ['list', 'map', 'bridge', 'poolnet', 'vifs']).includes(`"${vm.port}"`) ? true : undefined;
        const flows = vifFlows(vm).join('\n');
        return [vm.ip, ...extra].every((a) => flows.includes(`nw_src=${a}`)) ? true : undefined;
      }, 20_000, `${vm.name} locked in the switch`);
    };
    /** vm1's legitimate frames reach vm2 again (more than `n` more of them). */
    const resumes = (n = 5) => { const from = atVm2.legit; return until(() => (atVm2.legit > from + n ? true : undefined), 60_000, "vm1's legitimate frames at vm2"); };
    const noSpoof = (when: string) => {
      assert.deepEqual(atVm2.spoofed, [], `${when}: spoofed frames reached vm2`);
      assert.deepEqual(onWire.spoofed, [], `${when}: spoofed frames left on the uplink`);
    };
    const pidOf = (file: string) => Number(execFileSync('cat', [file], { encoding: 'utf8' }).trim());
    const gone = (pid: number) => until(() => { try { process.kill(pid, 0); return undefined; } catch { return true; } }, 10_000, `pid ${pid} to exit`, 20);
    const killVswitchd = async () => {
      const pid = pidOf(join(h().dir, 'ovs', 'vswitchd.pid'));
      process.kill(pid, 'SIGKILL');
      await gone(pid);
    };
    /** Start ovs-vswitchd again as the lab does (its own files in the host's directory). */
    const startVswitchd = () => {
      const l = ovsLayout(join(h().dir, 'ovs'));
      execFileSync('ip', ['netns', 'exec', h().ns, ...l.vswitchd, '--detach'], { env: l.env, stdio: 'ignore' });
    };
    const apiUp = () => until(async () => ((await t.call(1, 'session.login_with_password', ['root', t.state.password])) ? true : undefined), 60_000, 'poolnetd to answer', 200);

    before(async () => {
      hookDir = mkdtempSync(join(tmpdir(), 'poolnet-failclosed-'));
      writeFileSync(join(hookDir, 'bad-flows'), '');
      // poolnetd inherits the test hook's file name (read on every pass; empty: no effect)
      process.env.POOLNET_TEST_BAD_FLOWS = badFlows();
      t = await startLab({ tag: stack === 'openvswitch' ? 'fco' : 'fcb', hosts: 1, nics: 1, vms: 3, stack });
      s = await t.session(1);
      [vm1, vm2, vm3] = t.state.vms;
      await lockOwn(vm1);
      await lockOwn(vm3);
      assert.ok(await reachable(vm1.ns, vm2.ip), 'vm1 reaches vm2');
      atVm2 = new Tap(vm2.ns, 'eth0', `udp and (dst port ${LEGIT_PORT} or dst port ${SPOOF_PORT})`);
      onWire = new Tap(t.lab.fabricNs, 'h1e0', `udp and (dst port ${LEGIT_PORT} or dst port ${SPOOF_PORT})`);
      await Promise.all([atVm2.ready(), onWire.ready()]);
      sender = spawn('ip', ['netns', 'exec', vm1.ns, PYTHON, '-c', SENDER, vm1.mac, vm1.ip, vm2.mac, vm2.ip], { stdio: 'ignore' });
      await resumes();
      noSpoof('locked, steady');
    });
    after(async () => {
      sender?.kill('SIGKILL');
      atVm2?.kill();
      onWire?.kill();
      delete process.env.POOLNET_TEST_BAD_FLOWS;
      await t?.dispose();
      // a second lab in this process reuses the first one's directory: the one made for it stays empty
      if (process.env.POOLNET_LAB_DIR) rmSync(process.env.POOLNET_LAB_DIR, { recursive: true, force: true });
      rmSync(hookDir, { recursive: true, force: true });
    });

    it('ovs-vswitchd SIGKILLed and started again: nothing spoofed passes, the tables come back at once', { skip: stack !== 'openvswitch' && 'an Open vSwitch failure: the Linux bridge stack has no ovs-vswitchd' }, async (c) => {
      const mark = atVm2.lines.length;
      await killVswitchd();
      const started = Date.now();
      startVswitchd();
      const up = Date.now();
      await resumes();
      c.diagnostic(`vm1's legitimate frames stopped for ${longestGap(atVm2.lines.slice(Math.max(0, mark - 1)))} ms in all; starting ovs-vswitchd took ${up - started} ms`);
      noSpoof('ovs-vswitchd restarted');
      assert.ok(await reachable(t.lab.fabricNs, h().ip, 30_000), "the host's management address answers again");
      assert.equal(t.host(1, 'ovs-vsctl', [`--db=unix:${h().dir}/ovs/db.sock`, 'get', 'bridge', 'xenbr0', 'fail_mode']).trim(), 'secure');
    });

    it('ovs-vswitchd restarted while poolnetd is down: nothing at all passes until the agent starts', { skip: stack !== 'openvswitch' && 'an Open vSwitch failure: the Linux bridge stack has no ovs-vswitchd' }, async () => {
      const pid = t.lab.poolnetdPid(h());
      process.kill(pid, 'SIGKILL');
      await gone(pid);
      await killVswitchd();
      startVswitchd();
      await sleep(1000);
      const held = atVm2.legit;
      await sleep(2000);
      assert.equal(atVm2.legit, held, 'a switch with no agent passes nothing, not even legitimate frames');
      noSpoof('switch without agent');
      t.lab.startPoolnetd(h(), t.state.password);
      await apiUp();
      await resumes();
      noSpoof('agent started');
    });

    it('poolnetd SIGKILLed and restarted: the filter holds throughout', async () => {
      await t.lab.restartPoolnetd(h(), t.state.password);
      s = (await t.call(1, 'session.login_with_password', ['root', t.state.password])) as string;
      await sleep(2000);
      await resumes();
      noSpoof('poolnetd restarted');
    });

    it('a locked VIF plugged while its VM already spoofs: nothing passes before its flows are in', { skip: stack !== 'openvswitch' && 'the window where a port exists before its flows is Open vSwitch\'s' }, async () => {
      const ip = '10.77.0.105';
      const hostRef = ((await t.call(1, 'host.get_all', [s])) as string[])[0];
      const net = ((await t.call(1, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
      // a name the lab's hypervisor cannot give a namespace (a space): it leaves this VM's NIC to
      // the test, which makes it below (else the two race to make vm5's eth0)
      const vm = (await t.call(1, 'VM.create', [s, { name_label: 'vm5 plugged by the test', name_description: 'plugged while spoofing', other_config: {} }])) as string;
      const vif = (await t.call(1, 'VIF.create', [s, { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {},
        locking_mode: 'locked', ipv4_allowed: [ip], ipv6_allowed: [], trunks: [] }])) as string;
      await t.call(1, 'VM.start_on', [s, vm, hostRef, false, false]);
      const port = `vif${String(await t.call(1, 'VM.get_domid', [s, vm]))}.0`;
      const mac = (await t.call(1, 'VIF.get_MAC', [s, vif])) as string;
      // the VM and its VIF's device as the lab makes them, the host end still down, in a namespace
      // the lab removes (its prefix) but whose name no lab VM can have (a dot): the lab's
      // hypervisor adopts a namespace of a VM's name that a host's device leads to, and removes it
      // when no running VM of that name is wanted here
      const ns = `${t.lab.vmNs(5)}.t`;
      const ip_ = (...a: string[]) => execFileSync('ip', a, { stdio: 'ignore' });
      ip_('netns', 'add', ns);
      const tmp = `pnfc${process.pid % 10000}`;
      ip_('link', 'add', `${tmp}a`, 'type', 'veth', 'peer', 'name', `${tmp}b`);
      ip_('link', 'set', `${tmp}a`, 'netns', ns);
      ip_('link', 'set', `${tmp}b`, 'netns', h().ns);
      ip_('-n', ns, 'link', 'set', `${tmp}a`, 'name', 'eth0', 'address', mac);
      ip_('-n', h().ns, 'link', 'set', `${tmp}b`, 'name', port);
      execFileSync('ip', ['netns', 'exec', h().ns, 'sysctl', '-qw', `net/ipv6/conf/${port}/disable_ipv6=1`]);
      for (const [n, d] of [[ns, 'eth0'], [h().ns, port]]) execFileSync('ip', ['netns', 'exec', n, 'ethtool', '-K', d, 'tx', 'off'], { stdio: 'ignore' });
      ip_('-n', ns, 'link', 'set', 'eth0', 'up');
      ip_('-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      const spoofer = spawn('ip', ['netns', 'exec', ns, PYTHON, '-c', SENDER, mac, ip, vm2.mac, vm2.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
      let sending = false;
      spoofer.stdout!.on('data', () => { sending = true; });
      try {
        await until(() => (sending ? true : undefined), 30_000, "vm5's sender to start");
        // plugged: the device comes up and the agent looks at it now
        ip_('-n', h().ns, 'link', 'set', port, 'up');
        await t.call(1, 'VIF.add_to_other_config', [s, vif, 'lab-wired', 'now']);
        const fromVm5 = () => atVm2.lines.filter((l) => l.includes(`${ip}.40002 > `)).length;
        await until(() => (fromVm5() > 5 ? true : undefined), 60_000, "vm5's legitimate frames at vm2");
        noSpoof('a VIF plugged while spoofing');
      } finally {
        spoofer.kill('SIGKILL');
      }
    });

    it("a bundle the switch refuses: vm1's port drops everything, the other VIFs are applied, a pool message names it", { skip: stack !== 'openvswitch' && 'OpenFlow bundles are Open vSwitch\'s; the Linux bridge stack writes one nft transaction' }, async () => {
      writeFileSync(badFlows(), `${vm1.vif}\n`);
      // any commit makes the agent pass: its flows for vm1 now hold a line ovs-ofctl refuses
      await t.call(1, 'VIF.add_to_other_config', [s, await vifRef(vm1), 'fail-closed-test', '1']);
      await until(() => {
        const f = vifFlows(vm1);
        return f.length === 1 && f[0].includes(`priority=${QUARANTINE_PRIORITY}`) && f[0].includes('actions=drop') ? true : undefined;
      }, 30_000, "vm1's quarantine flow");
      await sleep(1000);
      const held = atVm2.legit;
      await sleep(2000);
      assert.equal(atVm2.legit, held, "vm1's port drops everything, its legitimate frames too");
      // another VIF's change still goes in, and its VM still talks
      await lockOwn(vm3, ['10.77.0.160']);
      assert.ok(await reachable(vm3.ns, vm2.ip, 10_000), 'vm3 reaches vm2');
      const msgs = Object.values((await t.call(1, 'message.get_all_records', [s])) as Record<string, { name: string; body: string }>);
      assert.ok(msgs.some((m) => m.name === 'VIF_FILTER_REFUSED' && m.body.includes(vm1.vif)), `a pool message names vm1's VIF: ${JSON.stringify(msgs.map((m) => m.name))}`);
      noSpoof('bundle refused');
      // good flows again: vm1 passes again, still filtered
      writeFileSync(badFlows(), '');
      await t.call(1, 'VIF.add_to_other_config', [s, await vifRef(vm1), 'fail-closed-test-2', '1']);
      await resumes();
      assert.ok(vifFlows(vm1).some((l) => l.includes(`nw_src=${vm1.ip}`)));
      noSpoof('flows good again');
    });
  });
}

suite('openvswitch');
suite('bridge');
