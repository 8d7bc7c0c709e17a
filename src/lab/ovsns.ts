// How to run an Open vSwitch (ovsdb-server + ovs-vswitchd) of its own inside a network
// namespace, with every file in one directory (verified recipe: see DESIGN.md).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface OvsLayout {
  readonly dir: string;
  readonly db: string;
  readonly dbSocket: string;
  readonly env: NodeJS.ProcessEnv;
  /** argv (after `ip netns exec NS`) of the two daemons. */
  readonly ovsdbServer: string[];
  readonly vswitchd: string[];
}

export function ovsLayout(dir: string): OvsLayout {
  const db = join(dir, 'conf.db');
  const dbSocket = join(dir, 'db.sock');
  return {
    dir, db, dbSocket,
    env: { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir },
    ovsdbServer: ['ovsdb-server', db, `--remote=punix:${dbSocket}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`, `--pidfile=${join(dir, 'ovsdb.pid')}`],
    vswitchd: ['ovs-vswitchd', `unix:${dbSocket}`, `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`, `--log-file=${join(dir, 'vswitchd.log')}`, `--pidfile=${join(dir, 'vswitchd.pid')}`],
  };
}

/** Create the database file (once). */
export function createOvsDb(l: OvsLayout): void {
  if (!existsSync(l.db)) execFileSync('ovsdb-tool', ['create', l.db, OVS_SCHEMA]);
}

export function initOvsDb(l: OvsLayout): void {
  execFileSync('ovs-vsctl', [`--db=unix:${l.dbSocket}`, '--no-wait', 'init']);
}

export async function waitForPath(path: string, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
