// A real ovsdb-server (and optionally ovs-vswitchd) in a temporary directory, for agent tests.
// Started as children of the test process and stopped by their pids.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OVS_SCHEMA } from '../../src/lab/ovsns.ts';

export { OVS_SCHEMA };

export function haveOvs(): boolean {
  return existsSync(OVS_SCHEMA) && spawnSync('ovsdb-server', ['--version']).status === 0;
}

export interface OvsDb {
  readonly dir: string;
  readonly socket: string;
  stop(): Promise<void>;
}

async function waitFor(path: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });
}

export async function startOvsdb(): Promise<OvsDb> {
  const dir = mkdtempSync(join(tmpdir(), 'poolnet-ovsdb-'));
  const db = join(dir, 'conf.db');
  const socket = join(dir, 'db.sock');
  const r = spawnSync('ovsdb-tool', ['create', db, OVS_SCHEMA]);
  if (r.status !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr.toString()}`);
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
  const child = spawn('ovsdb-server', [db, `--remote=punix:${socket}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`], { env, stdio: 'ignore' });
  await waitFor(socket);
  return {
    dir, socket,
    async stop() { await stopChild(child); rmSync(dir, { recursive: true, force: true }); },
  };
}
