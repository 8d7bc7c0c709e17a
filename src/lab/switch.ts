// One Open vSwitch (ovsdb-server and ovs-vswitchd) in a namespace, every file in one directory.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { daemon, run } from './exec.ts';
import { OVS_SCHEMA, ovsLayout, waitForPath } from './ovsns.ts';

export async function startSwitch(ns: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const l = ovsLayout(dir);
  if (!existsSync(l.db)) await run('ovsdb-tool', ['create', l.db, OVS_SCHEMA]);
  daemon(ns, l.ovsdbServer, join(dir, 'ovsdb.out'), join(dir, 'ovsdb.cpid'), l.env);
  await waitForPath(l.dbSocket, `ovsdb-server in ${ns}`, 60_000);
  await run('ovs-vsctl', [`--db=unix:${l.dbSocket}`, '--no-wait', 'init']);
  daemon(ns, l.vswitchd, join(dir, 'vswitchd.out'), join(dir, 'vswitchd.cpid'), l.env);
  await waitForPath(join(dir, 'ovs-vswitchd.ctl'), `ovs-vswitchd in ${ns}`, 60_000);
}
