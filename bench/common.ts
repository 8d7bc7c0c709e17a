// What the benchmarks share: a pool database made before the daemon starts, and a `poolnet serve`
// child whose port is read from the line it prints.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { setRootPassword } from '../src/api/sessions.ts';
import { Database } from '../src/db/database.ts';
import { initialise, type HostFacts } from '../src/db/init.ts';

/**
 * A fresh pool database in dataDir (initialised from facts, Open vSwitch backend, root's password
 * set); `fill` adds the benchmark's records and its result comes back. The database is closed after.
 */
export function makePoolDatabase<T>(dataDir: string, facts: HostFacts, password: string, fill: (db: Database) => T): T {
  const db = new Database(join(dataDir, 'pool.db'));
  try {
    initialise(db, facts, { backend: 'openvswitch' });
    db.transact((tx) => setRootPassword(tx, password));
    return fill(db);
  } finally {
    db.close();
  }
}

/** `node ARGV` (a `poolnet serve` command line) and the port of the XenAPI it reports (http or https). */
export async function spawnServe(argv: readonly string[], options: SpawnOptions = {}): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, argv, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /XenAPI on https?:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code, signal) => reject(new Error(`poolnet serve exited (${code ?? signal})`)));
  });
  return { proc, port };
}
