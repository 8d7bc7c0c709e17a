// A network namespace of the test's own, with its own ovsdb-server and ovs-vswitchd
// (userspace datapath), and veth NICs. Everything is removed by dispose(), also after a failure.

import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OvsBackend, type OvsOptions } from '../../src/agent/ovs.ts';
import { OVS_SCHEMA, createOvsDb, initOvsDb, ovsLayout, waitForPath } from '../../src/lab/ovsns.ts';

let nsReason: string | false | undefined;

/** Why this machine cannot make network namespaces (not root, no iproute2, a kernel without them), or false. */
export function nsSkipReason(): string | false {
  if (nsReason !== undefined) return nsReason;
  if (process.getuid?.() !== 0) return (nsReason = 'needs root (to make network namespaces)');
  const name = `pn-probe-${process.pid}`;
  const add1 = () => spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  let add = add1();
  // left by a probe of this pid that was killed before its del
  if (add.status !== 0 && /exists/i.test(add.stderr ?? '')) { spawnSync('ip', ['netns', 'del', name]); add = add1(); }
  if (add.status !== 0) return (nsReason = `cannot make a network namespace here: ip netns add: ${(add.stderr ?? '').trim().split('\n')[0] || add.error?.message || `status ${add.status}`}`);
  spawnSync('ip', ['netns', 'del', name]);
  return (nsReason = false);
}

/** Whether network namespaces can be made here (nothing else: a switch needs ovsSkipReason too). */
export function canMakeNamespaces(): boolean {
  return nsSkipReason() === false;
}

/** The programs a switch namespace (startSwitchNs) and the lab run, with the Open vSwitch schema. */
const OVS_PROGRAMS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl'];
const onPath = (bin: string): boolean => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, bin)));

/** Why Open vSwitch cannot be run here (what is missing of it), or false. */
export function ovsSkipReason(): string | false {
  const missing = [...OVS_PROGRAMS.filter((b) => !onPath(b)), ...(existsSync(OVS_SCHEMA) ? [] : [OVS_SCHEMA])];
  return missing.length ? `needs Open vSwitch (Debian openvswitch-switch): ${missing.join(', ')} missing` : false;
}

/** Why a test on a switch namespace (startSwitchNs) cannot run here, or false: it needs namespaces and Open vSwitch. */
export function switchNsSkipReason(): string | false {
  return nsSkipReason() || ovsSkipReason();
}

export const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

/** A bare namespace of the test's own, no switch: made by add(), removed by del() (call it in after()). */
export interface PlainNs {
  readonly ns: string;
  add(): void;
  /** A command in the namespace; its status and output are the caller's to check. */
  run(...args: string[]): SpawnSyncReturns<string>;
  /** A TypeScript snippet run by node in the namespace, from the project directory. */
  runTs(code: string): SpawnSyncReturns<string>;
  /** A NIC as a host has one: eth5 (veth, peer eth6) up, 192.0.2.5/24, the default route via 192.0.2.1. */
  addHostNic(): void;
  del(): void;
}

export function plainNs(tag: string): PlainNs {
  const ns = `${tag}${process.pid % 100000}`;
  const run = (...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  return {
    ns, run,
    add: () => { spawnSync('ip', ['netns', 'add', ns]); },
    runTs: (code) => run(process.execPath, '--import', 'tsx', '-e', code),
    addHostNic: () => {
      run('ip', 'link', 'add', 'eth5', 'type', 'veth', 'peer', 'name', 'eth6');
      run('ip', 'link', 'set', 'eth5', 'up');
      run('ip', 'addr', 'add', '192.0.2.5/24', 'dev', 'eth5');
      run('ip', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth5');
    },
    del: () => { spawnSync('ip', ['netns', 'del', ns]); },
  };
}

export interface SwitchNs {
  readonly ns: string;
  readonly dir: string;
  readonly dbSocket: string;
  exec(cmd: string, args: string[]): string;
  vsctl(...args: string[]): string;
  ofctl(...args: string[]): string;
  dispose(): Promise<void>;
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.kill('SIGTERM');
  });
}

/** A namespace with a switch and `nics` veth devices named eth0.. (their peers p0.. stay inside too). */
export async function startSwitchNs(nics: number, tag = 't'): Promise<SwitchNs> {
  const ns = `pn-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'poolnet-ns-'));
  const children: ChildProcess[] = [];
  const exec = (cmd: string, args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  const dispose = async () => {
    for (const c of children.reverse()) await stop(c);
    try { sh('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    sh('ip', ['netns', 'add', ns]);
    exec('ip', ['link', 'set', 'lo', 'up']);
    for (let i = 0; i < nics; i++) {
      exec('ip', ['link', 'add', `eth${i}`, 'type', 'veth', 'peer', 'name', `p${i}`]);
      exec('ip', ['link', 'set', `eth${i}`, 'up']);
      exec('ip', ['link', 'set', `p${i}`, 'up']);
    }
    const l = ovsLayout(dir);
    const dbSocket = l.dbSocket;
    createOvsDb(l);
    children.push(spawn('ip', ['netns', 'exec', ns, ...l.ovsdbServer], { env: l.env, stdio: 'ignore' }));
    await waitForPath(dbSocket, 'ovsdb-server');
    initOvsDb(l);
    children.push(spawn('ip', ['netns', 'exec', ns, ...l.vswitchd], { env: l.env, stdio: 'ignore' }));
    await waitForPath(join(dir, 'ovs-vswitchd.ctl'), 'ovs-vswitchd');
    return {
      ns, dir, dbSocket, exec, dispose,
      vsctl: (...args) => sh('ovs-vsctl', [`--db=unix:${dbSocket}`, ...args]),
      ofctl: (...args) => sh('ovs-ofctl', ['-O', 'OpenFlow13', ...args]),
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** The Open vSwitch backend on a switch namespace's ovsdb-server and ovs-vswitchd (userspace datapath). */
export function switchBackend(sw: SwitchNs, opts: Partial<OvsOptions> = {}): OvsBackend {
  return new OvsBackend({ dbSocket: sw.dbSocket, runDir: sw.dir, datapathType: 'netdev', ...opts });
}
