// A network namespace of the test's own, with its own ovsdb-server and ovs-vswitchd
// (userspace datapath), and veth NICs. Everything is removed by dispose(), also after a failure.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OVS_SCHEMA, createOvsDb, initOvsDb, ovsLayout, waitForPath } from '../../src/lab/ovsns.ts';

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
