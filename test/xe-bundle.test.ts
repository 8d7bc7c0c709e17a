// The prebuilt bundles (scripts/build.ts -> dist/xe.mjs, dist/poolnet.mjs) and the launcher that
// picks them (bin/launch.mjs): a fresh bundle runs, and answers as the TypeScript sources do; a
// bundle older than a file it was built from, or whose list of inputs names a file that is gone,
// is passed over for the sources.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildBundle } from '../scripts/build.ts';
import { login, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

const repo = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const XE = repo('bin/xe.mjs');
const POOLNET = repo('bin/poolnet.mjs');

// prints, at exit, where bin/launch.mjs started the command from
const REPORT = `data:text/javascript,${encodeURIComponent("process.on('exit', () => process.stderr.write('\\nlaunched from ' + (globalThis[Symbol.for('poolnet.launched')]?.from ?? 'nowhere') + '\\n'))")}`;

interface Run { code: number | null; out: string; err: string; from: string }

/** A command, run asynchronously: the daemon it talks to lives in this process. */
function run(bin: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', REPORT, bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(timer);
      const m = /\nlaunched from (\w+)\n$/.exec(err);
      resolve({ code, out, err: m ? err.slice(0, m.index) : err, from: m?.[1] ?? '?' });
    });
  });
}

let d: TestDaemon;
let conn: string[];

before(async () => {
  await buildBundle('xe');
  await buildBundle('poolnet');
  d = await startTestDaemon();
  conn = ['-s', '127.0.0.1', '-p', String(d.port), '--nossl', '-u', 'root', '-pw', ROOT_PASSWORD];
  await login(d.url);
});
after(async () => { await d.dispose(); });

describe('the bundle', () => {
  test('is built with the list of what it was built from', () => {
    assert.ok(existsSync(repo('dist/xe.mjs')));
    const inputs = readFileSync(repo('dist/xe.inputs'), 'utf8').split('\n').filter(Boolean);
    for (const p of ['src/cli/xe/xe.ts', 'src/cli/xe/main.ts', 'src/model/index.ts', 'package-lock.json', 'scripts/build.ts']) assert.ok(inputs.includes(p), p);
    assert.ok(inputs.every((p) => existsSync(repo(p))), 'every input is a file of the checkout');
    // the native addon is loaded from node_modules, never bundled, and only where it is used
    const poolnet = readFileSync(repo('dist/poolnet.mjs'), 'utf8');
    assert.match(poolnet, /require\("better-sqlite3"\)/);
    assert.doesNotMatch(poolnet, /from\s*"better-sqlite3"/);
  });

  test('bin/xe.mjs runs through it and answers as the sources do', async () => {
    const commands: string[][] = [
      ['network-list', '--minimal'],
      ['network-list'],
      ['host-list', 'params=uuid,name-label,address'],
      ['pif-list', 'params=device,network-uuid'],
      ['network-param-get', 'uuid=00000000-0000-0000-0000-000000000000', 'param-name=name-label'],
      ['no-such-command'],
      ['help', 'network-list'],
      ['-version'],
    ];
    for (const c of commands) {
      const bundle = await run(XE, [...conn, ...c]);
      const sources = await run(XE, [...conn, ...c], { POOLNET_BUNDLE: '0' });
      assert.equal(bundle.from, 'bundle', c.join(' '));
      assert.equal(sources.from, 'sources', c.join(' '));
      assert.deepEqual({ code: bundle.code, out: bundle.out, err: bundle.err }, { code: sources.code, out: sources.out, err: sources.err }, c.join(' '));
    }
    // and they are real answers
    const uuids = (await run(XE, [...conn, 'network-list', '--minimal'])).out.trim().split(',');
    assert.ok(uuids.length >= 1 && uuids.every((u) => /^[0-9a-f-]{36}$/.test(u)), uuids.join(','));
  });

  test('bin/poolnet.mjs runs through it: its command line, and a daemon serving the console from the checkout', async () => {
    for (const args of [['--version'], ['lab', '--help']]) {
      const bundle = await run(POOLNET, args);
      const sources = await run(POOLNET, args, { POOLNET_BUNDLE: '0' });
      assert.equal(bundle.from, 'bundle');
      assert.deepEqual({ code: bundle.code, out: bundle.out }, { code: sources.code, out: sources.out });
    }
    // paths made from import.meta.url (console/dist) point into the checkout, not next to dist/
    const dir = mkdtempSync(join(tmpdir(), 'poolnet-bundle-'));
    const proc = spawn(process.execPath, ['--import', REPORT, POOLNET, 'serve', '--data-dir', dir, '--port', '0', '--bind', '127.0.0.1', '--insecure-http', '--log-level', 'warn'],
      { env: { ...process.env, POOLNET_ROOT_PASSWORD: 'bundle-pw' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (c: Buffer) => { out += c.toString(); const m = /XenAPI on http:\/\/[^:]+:(\d+)\//.exec(out); if (m) resolve(Number(m[1])); });
        proc.once('exit', (code) => reject(new Error(`poolnet serve exited ${code}`)));
      });
      const [fromBundle, inProcess] = await Promise.all([fetch(`http://127.0.0.1:${port}/`), fetch(`${d.url}/`)]);
      assert.equal(fromBundle.status, inProcess.status);
      assert.equal(await fromBundle.text(), await inProcess.text());
    } finally {
      // a server that already exited (the failure above) sends no second 'exit': do not wait for one
      const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
      let err = '';
      proc.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      assert.match(err, /launched from bundle/);
    }
  });
});

describe('a stale bundle', () => {
  const bundle = repo('dist/xe.mjs');
  const inputs = repo('dist/xe.inputs');

  test('older than one of its sources: the sources run, with the same answer', async () => {
    const built = statSync(bundle).mtime;
    const fresh = await run(XE, [...conn, 'network-list', '--minimal']);
    try {
      // as if a source had been saved after the build (the sources themselves are not touched)
      utimesSync(bundle, new Date(0), new Date(0));
      const stale = await run(XE, [...conn, 'network-list', '--minimal']);
      assert.equal(fresh.from, 'bundle');
      assert.equal(stale.from, 'sources');
      assert.equal(stale.out, fresh.out);
    } finally {
      utimesSync(bundle, built, built);
    }
    assert.equal((await run(XE, ['-version'])).from, 'bundle');
  });

  test('an input that is gone, or no list of inputs: the sources run', async () => {
    const list = readFileSync(inputs, 'utf8');
    const built = statSync(bundle).mtime;
    try {
      writeFileSync(inputs, `${list}src/cli/xe/no-such-file.ts\n`);
      assert.equal((await run(XE, ['-version'])).from, 'sources');
      writeFileSync(inputs, '');
      assert.equal((await run(XE, ['-version'])).from, 'sources', 'an empty list');
      rmSync(inputs);
      assert.equal((await run(XE, ['-version'])).from, 'sources', 'no list');
    } finally {
      writeFileSync(inputs, list);
      utimesSync(bundle, built, built);
    }
    assert.equal((await run(XE, ['-version'])).from, 'bundle');
  });
});
