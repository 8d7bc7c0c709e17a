// Nothing acknowledged is lost when the daemon is killed: `poolnet serve` runs as a child
// process, writers create networks over JSON-RPC, and the child gets SIGKILL right after the
// N-th acknowledgement (other creates still in flight). Restarted on the same data
// directory, the daemon has every acknowledged network, its database is intact, and the
// event generation carries on from where it was.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { call, login } from './helpers/daemon.ts';

const N = 200;
const WRITERS = 4;
const PASSWORD = 'crash-test-pw';
const BIN = fileURLToPath(new URL('../bin/poolnet.mjs', import.meta.url));

interface Child { proc: ChildProcess; url: string; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

const children = new Set<ChildProcess>();
const dirs: string[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** `poolnet serve` on a loopback port the kernel picks; resolves once it prints its URL. */
async function serve(dataDir: string, env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--bind', '127.0.0.1', '--insecure-http', '--log-level', 'warn'], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '', err = '';
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => { children.delete(proc); resolve({ code, signal }); });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`poolnet serve did not start in 30 s\n${err}`)), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /XenAPI on (http:\/\/[^/\s]+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    void exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`poolnet serve exited (${code ?? signal}) before listening\n${err}`)); });
  });
  return { proc, url, stderr: () => err, exited };
}

/** A token for the database's current generation (an event.from that waits for nothing). */
async function currentToken(url: string, session: string): Promise<string> {
  const r = (await call(url, 'event.from', [session, ['pool'], '', 0])) as { token: string };
  return r.token;
}

const generationOf = (token: string): number => Number(token.split(',')[0]);

/** PRAGMA integrity_check on a database file (and its WAL, if any). */
function integrity(dbFile: string): { check: string; networks: string[] } {
  const sql = new BetterSqlite3(dbFile);
  try {
    const check = (sql.pragma('integrity_check', { simple: true }) as string);
    const rows = sql.prepare("SELECT record FROM objects WHERE cls = 'network'").all() as { record: string }[];
    return { check, networks: rows.map((r) => (JSON.parse(r.record) as { name_label: string }).name_label) };
  } finally {
    sql.close();
  }
}

test(`SIGKILL right after ${N} acknowledged network.create calls loses none of them`, { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir('poolnet-crash-');
  const first = await serve(dataDir, { POOLNET_ROOT_PASSWORD: PASSWORD });
  const s1 = await login(first.url, 'root', PASSWORD);
  const before = (await call(first.url, 'network.get_all', [s1])) as string[];

  // ---- write until the N-th acknowledgement, then kill at once
  const acked = new Map<string, string>(); // name_label -> ref
  // A token taken in the middle of the run must still mean the same point after the restart.
  // Phase 0: before it was asked for, 1: while it was, 2: after it came back.
  let phase: 0 | 1 | 2 = 0;
  let midToken = '';
  const beforeMid = new Set<string>(); // acknowledged before the token was asked for
  const afterMid = new Set<string>(); // sent after the token came back
  let next = 0;
  let killed = false;
  let inFlightAtKill = 0;
  const writer = async (): Promise<void> => {
    while (!killed) {
      const name = `crash-${next++}`;
      const sentIn = phase;
      let ref: string;
      try {
        ref = (await call(first.url, 'network.create', [s1, { name_label: name, name_description: 'written before the crash', MTU: 1500, other_config: { i: name } }])) as string;
      } catch (e) {
        if (killed) { inFlightAtKill++; return; } // in flight when the daemon died: unacknowledged
        throw e;
      }
      if (killed) return; // answered after the kill was decided: not counted, may or may not be there
      acked.set(name, ref);
      if (phase === 0) beforeMid.add(name);
      if (sentIn === 2) afterMid.add(name);
      if (acked.size === N) { killed = true; first.proc.kill('SIGKILL'); return; }
      if (acked.size === N / 2) {
        phase = 1;
        midToken = await currentToken(first.url, s1);
        phase = 2;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  t.diagnostic(`${next} creates sent, ${N} acknowledged before the kill, ${inFlightAtKill} failed in flight`);
  const exit = await first.exited;
  assert.equal(exit.signal, 'SIGKILL', `the daemon was killed, not stopped: ${JSON.stringify(exit)}`);
  assert.equal(acked.size, N);
  assert.ok(midToken, 'a token from the middle of the run');

  // ---- the files as the crash left them (copied: opening them may checkpoint the WAL)
  const snap = tempDir('poolnet-crash-copy-');
  for (const suffix of ['', '-wal']) if (existsSync(join(dataDir, `pool.db${suffix}`))) copyFileSync(join(dataDir, `pool.db${suffix}`), join(snap, `pool.db${suffix}`));
  const crashed = integrity(join(snap, 'pool.db'));
  assert.equal(crashed.check, 'ok');
  for (const name of acked.keys()) assert.ok(crashed.networks.includes(name), `${name} is in the database file after the crash`);

  // ---- restart on the same data directory; without the root password: the database must be there
  const second = await serve(dataDir);
  try {
    const s2 = await login(second.url, 'root', PASSWORD);
    const records = (await call(second.url, 'network.get_all_records', [s2])) as Record<string, { name_label: string; other_config: Record<string, string> }>;
    const byName = new Map<string, string[]>();
    for (const [ref, r] of Object.entries(records)) byName.set(r.name_label, [...(byName.get(r.name_label) ?? []), ref]);
    for (const [name, ref] of acked) {
      assert.deepEqual(byName.get(name), [ref], `acknowledged ${name} survived, once, with its ref`);
      assert.deepEqual(records[ref].other_config, { i: name }, `${name} is complete`);
    }
    for (const ref of before) assert.ok(records[ref], 'the networks from before are still there');
    const survivors = Object.values(records).filter((r) => r.name_label.startsWith('crash-'));
    assert.ok(survivors.length >= N && survivors.length <= next, `${survivors.length} crash-* networks: the ${N} acknowledged, maybe some of the ${next - N} unacknowledged`);
    for (const r of survivors) assert.deepEqual(r.other_config, { i: r.name_label }, 'no half-written network');

    // ---- the event generation continued: the mid-run token still means the same point in history
    const since = (await call(second.url, 'event.from', [s2, ['network'], midToken, 0])) as { events: { operation: string; ref: string; id: string; snapshot?: { name_label: string } }[]; token: string };
    const added = new Set(since.events.filter((e) => e.operation === 'add').map((e) => e.snapshot!.name_label));
    assert.ok(beforeMid.size >= N / 2 && afterMid.size > 0);
    for (const name of beforeMid) assert.ok(!added.has(name), `${name} is before the mid-run token`);
    for (const name of afterMid) assert.ok(added.has(name), `${name} is after the mid-run token`);
    const lastGen = generationOf(since.token);
    assert.ok(lastGen >= generationOf(midToken) + afterMid.size, 'every acknowledged write after the mid-run token counted a generation');

    // a write after the restart gets a later generation, and its event arrives
    const fresh = (await call(second.url, 'network.create', [s2, { name_label: 'after-restart', name_description: '', MTU: 1500, other_config: {} }])) as string;
    const ev = (await call(second.url, 'event.from', [s2, ['network'], since.token, 5])) as typeof since;
    assert.deepEqual(ev.events.map((e) => [e.operation, e.ref]), [['add', fresh]]);
    assert.ok(Number(ev.events[0].id) > lastGen);

  } finally {
    second.proc.kill('SIGTERM');
    const stopped = await second.exited;
    assert.equal(stopped.code, 0, `SIGTERM stops the daemon cleanly\n${second.stderr()}`);
  }

  // ---- after a clean stop the database file is intact and holds everything
  const final = integrity(join(dataDir, 'pool.db'));
  assert.equal(final.check, 'ok');
  for (const name of [...acked.keys(), 'after-restart']) assert.ok(final.networks.includes(name), `${name} is in the file`);
});
