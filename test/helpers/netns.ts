// A network namespace of the test's own, with its own ovsdb-server and ovs-vswitchd
// (userspace datapath), and veth NICs. Everything is removed by dispose(), also after a failure.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OVS_SCHEMA } from './ovs.ts';

export function canMakeNamespaces(): boolean {
  try {
    const name = `pn-probe-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    return existsSync(OVS_SCHEMA);
  } catch {
    return false;
  }
}

export const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

export interface SwitchNs {
  readonly ns: string;
  readonly dir: string;
  readonly dbSocket: string;
  exec(cmd: string, args: string[]): string;
  vsctl(...args: string[]): string;
  ofctl(...args: string[]): string;
  dispose(): Promise<void>;
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
    const db = join(dir, 'conf.db');
    const dbSocket = join(dir, 'db.sock');
    sh('ovsdb-tool', ['create', db, OVS_SCHEMA]);
    const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
    children.push(spawn('ip', ['netns', 'exec', ns, 'ovsdb-server', db, `--remote=punix:${dbSocket}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`], { env, stdio: 'ignore' }));
    await until(() => existsSync(dbSocket), 'ovsdb-server');
    sh('ovs-vsctl', [`--db=unix:${dbSocket}`, '--no-wait', 'init']);
    children.push(spawn('ip', ['netns', 'exec', ns, 'ovs-vswitchd', `unix:${dbSocket}`, `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`, `--log-file=${join(dir, 'vswitchd.log')}`], { env, stdio: 'ignore' }));
    await until(() => existsSync(join(dir, 'ovs-vswitchd.ctl')), 'ovs-vswitchd');
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
