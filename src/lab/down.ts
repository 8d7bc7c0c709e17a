// Removing a lab, also the remains of a crash: its processes (by their pid files, and whatever
// runs in its namespaces), its namespaces (one `ip -batch`), its files.

import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, sh } from './exec.ts';
import type { Progress } from './progress.ts';
import { LAB_DIR, labNamespaces } from './state.ts';

function pidFiles(d: string, out: string[] = []): string[] {
  if (!existsSync(d)) return out;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) pidFiles(p, out);
    else if (/\.(pid|cpid)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The processes in these namespaces (by their network namespace's inode, as `ip netns pids` finds them), in one walk of /proc. */
function pidsIn(namespaces: readonly string[]): number[] {
  const inodes = new Set<string>();
  for (const ns of namespaces) { try { inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`); } catch { /* gone */ } }
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (inodes.has(readlinkSync(`/proc/${e}/ns/net`))) out.push(Number(e)); } catch { /* gone, or not ours to read */ }
  }
  return out;
}

/** Alive and not a zombie (a daemon started by this very process stays one until the event loop reaps it). */
function running(pid: number): boolean {
  try { return !/^\S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^\d+ \(.*\) /s, '_ ')); } catch { return false; }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Remove everything a lab made: processes (by their pid files, then anything left in lab namespaces), namespaces, files. */
export function down(progress: Progress): void {
  const pids = pidFiles(LAB_DIR).map((f) => { try { return Number(readFileSync(f, 'utf8').trim()); } catch { return 0; } }).filter((p) => p > 1);
  const namespaces = labNamespaces();
  // Everything goes: nothing of a lab is kept, so nothing needs to shut down cleanly (a poolnetd's
  // database, a switch's configuration, the leases are deleted below). SIGKILL at once: 64 hosts'
  // daemons told SIGTERM all close at the same time on 2 cores, which took seconds.
  const all = [...new Set([...pids.filter(pidAlive), ...pidsIn(namespaces)])];
  progress(`stopping ${all.length} processes`);
  for (const pid of all) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && all.some(running)) sleepSync(10);
  if (namespaces.length) {
    progress(`removing ${namespaces.length} namespaces`);
    try { sh('ip', ['-force', '-batch', '-'], { input: namespaces.map((ns) => `netns del ${ns}\n`).join('') }); } catch { /* some were gone */ }
    for (const ns of namespaces) rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
  rmSync(LAB_DIR, { recursive: true, force: true });
}
