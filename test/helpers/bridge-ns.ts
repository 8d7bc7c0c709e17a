// Namespaces for the Linux bridge backend's tests, no Open vSwitch: a host namespace with veth
// NICs (eth0.. with peers p0.. inside it too), and VM namespaces whose eth0 is a veth to a VIF
// device vif<domid>.<dev> in the host namespace. Counters in a VM (a netdev ingress chain) tell
// which frames reached it. dispose() removes every namespace, also after a failure.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const sh = (cmd: string, args: string[], input?: string): string => execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });

/** Why these tests cannot run here, or false when they can. */
export function bridgeNsSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const name = `pn-lbprobe-${process.pid}`;
  try {
    sh('ip', ['netns', 'add', name]);
    try {
      sh('ip', ['-n', name, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['netns', 'exec', name, 'nft', 'add', 'table', 'bridge', 'probe']);
    } finally { sh('ip', ['netns', 'del', name]); }
    return false;
  } catch (e) {
    return `needs network namespaces, Linux bridges and nftables (Debian nftables, iproute2): ${(e as Error).message.split('\n')[0]}`;
  }
}

export interface VmNs {
  readonly ns: string;
  readonly vif: string;
  readonly mac: string;
  exec(cmd: string, args: string[], input?: string): string;
  /** Whether `cmd` succeeds in the VM. */
  ok(cmd: string, args: string[]): boolean;
  /** Count frames reaching the VM's eth0 that match an nft expression, under a name. */
  watch(name: string, match: string): void;
  count(name: string): number;
  /** Send frames built by scapy (an expression of scapy layers, or a list of them) from the VM's eth0. */
  scapy(frames: string, count?: number): void;
  /** A process in the VM, stopped by dispose() if still running. */
  spawn(cmd: string, args: string[]): ChildProcess;
}

export interface BridgeHostNs {
  readonly ns: string;
  exec(cmd: string, args: string[], input?: string): string;
  /** A VM namespace with eth0 (MAC, addresses) cabled to a new device `vif` in the host namespace (left down). */
  addVm(vif: string, mac: string, addrs?: { ipv4?: string[]; ipv6?: string[] }): VmNs;
  dispose(): Promise<void>;
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
    const t = setTimeout(() => c.kill('SIGKILL'), 2000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.kill('SIGTERM');
  });
}

export function startBridgeHost(nics: number, tag = 'lb'): BridgeHostNs {
  const base = `pn-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const ns = `${base}-h`;
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const exec = (cmd: string, args: string[], input?: string) => sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
  const dispose = async () => {
    for (const c of children) await stop(c);
    for (const n of namespaces.reverse()) { try { sh('ip', ['netns', 'del', n]); } catch { /* already gone */ } }
  };
  try {
    sh('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    exec('ip', ['link', 'set', 'lo', 'up']);
    for (let i = 0; i < nics; i++) {
      exec('ip', ['link', 'add', `eth${i}`, 'type', 'veth', 'peer', 'name', `p${i}`]);
      exec('ip', ['link', 'set', `p${i}`, 'up']);
    }
  } catch (e) {
    void dispose();
    throw e;
  }
  let vms = 0;
  const addVm = (vif: string, mac: string, addrs: { ipv4?: string[]; ipv6?: string[] } = {}): VmNs => {
    const vns = `${base}-v${++vms}`;
    sh('ip', ['netns', 'add', vns]);
    namespaces.push(vns);
    const vexec = (cmd: string, args: string[], input?: string) => sh('ip', ['netns', 'exec', vns, cmd, ...args], input);
    sh('ip', ['-n', ns, 'link', 'add', vif, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vns]);
    vexec('ip', ['link', 'set', 'lo', 'up']);
    // no automatic link-local address: the tests choose every address a VM uses
    vexec('ip', ['link', 'set', 'eth0', 'address', mac, 'addrgenmode', 'none']);
    vexec('sysctl', ['-qw', 'net.ipv6.conf.eth0.accept_ra=0', 'net.ipv6.conf.eth0.accept_dad=0']);
    vexec('ip', ['link', 'set', 'eth0', 'up']);
    for (const a of addrs.ipv4 ?? []) vexec('ip', ['addr', 'add', a, 'dev', 'eth0']);
    for (const a of addrs.ipv6 ?? []) vexec('ip', ['-6', 'addr', 'add', a, 'dev', 'eth0', 'nodad']);
    vexec('nft', ['-f', '-'], 'table netdev watch {\n  chain in {\n    type filter hook ingress device "eth0" priority 0; policy accept;\n  }\n}\n');
    return {
      ns: vns, vif, mac, exec: vexec,
      ok(cmd, args) { try { vexec(cmd, args); return true; } catch { return false; } },
      watch(name, match) { vexec('nft', ['add', 'rule', 'netdev', 'watch', 'in', ...match.split(' '), 'counter', 'comment', `"${name}"`]); },
      count(name) {
        const doc = JSON.parse(vexec('nft', ['-j', 'list', 'chain', 'netdev', 'watch', 'in'])) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] };
        const rule = doc.nftables.find((x) => x.rule?.comment === name)?.rule;
        if (!rule) throw new Error(`no watch ${name}`);
        return rule.expr.find((e) => e.counter)?.counter?.packets ?? 0;
      },
      scapy(frames, count = 3) {
        const py = `import logging\nlogging.getLogger("scapy").setLevel(logging.ERROR)\nfrom scapy.all import *\nsendp(${frames}, iface="eth0", count=${count}, verbose=False)\n`;
        vexec('/usr/bin/python3', ['-'], py);
      },
      spawn(cmd, args) {
        const c = spawn('ip', ['netns', 'exec', vns, cmd, ...args], { stdio: 'ignore' });
        children.push(c);
        return c;
      },
    };
  };
  return { ns, exec, addVm, dispose };
}
