// xe start-up benchmark: `node --import tsx bench/xe.ts` (npm run bench:xe).
//
// Starts the real daemon (`poolnet serve`, plain HTTP on loopback) on a small pool with one VM
// and one VIF, then times whole `xe` processes, as a shell loop runs them, side by side in one run
// (the variants take turns, so that the machine's load falls on all of them alike):
//   - `node -e 0`: what any Node.js process costs;
//   - node and the three HTTP calls xe makes (log in, the call, log out), written by hand: the
//     floor for any xe written for Node.js (the daemon's login, a password hash, is in it);
//   - bin/xe.mjs through the prebuilt bundle (dist/xe.mjs), and through tsx (POOLNET_BUNDLE=0).
// It prints medians, the estimate for a shell loop over 512 VIFs, and the cost of the launcher's
// freshness check. Nothing here asserts.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, isStale } from '../scripts/build.ts';
import type { HostFacts } from '../src/db/init.ts';
import { makePoolDatabase, spawnServe } from './common.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const PASSWORD = 'bench-pw';
const POOLNET = fileURLToPath(new URL('../bin/poolnet.mjs', import.meta.url));
const XE = fileURLToPath(new URL('../bin/xe.mjs', import.meta.url));
const LAUNCH = new URL('../bin/launch.mjs', import.meta.url).href;

const FACTS: HostFacts = {
  hostname: 'bench1',
  nics: [{ device: 'eth0', mac: '02:00:00:00:0c:00', mtu: 1500, carrier: true, speed: 10000, ipv4: [{ ip: '10.9.0.11', prefix: 24 }], gateway: '10.9.0.1' }],
  dns: ['10.9.0.1'],
};

/** A fresh pool database with one running VM and its VIF; the VIF's uuid. */
function buildDatabase(dataDir: string): string {
  return makePoolDatabase(dataDir, FACTS, PASSWORD, (db) => {
    const host = db.all('host').next().value!.ref;
    const network = db.all('network').next().value!.ref;
    return db.transact((tx) => {
      const vm = tx.create('VM', { name_label: 'vm-0', power_state: 'Running', resident_on: host });
      const vif = tx.create('VIF', { device: '0', network, VM: vm, MAC: '02:16:00:00:00:01', MTU: 1500, currently_attached: true });
      return tx.db.get(vif)!.rec.uuid as string;
    });
  });
}

const serveArgv = (dataDir: string) => [POOLNET, 'serve', '--data-dir', dataDir, '--port', '0', '--bind', '127.0.0.1', '--insecure-http', '--log-level', 'warn'];
const serve = (dataDir: string) => spawnServe(serveArgv(dataDir));

/** xe's three calls, by hand: log in, METHOD, log out (one connection each, as xe). */
const rawCalls = (port: number, method: string, args: readonly unknown[]): string => `
import http from 'node:http';
const rpc = (method, params) => new Promise((resolve, reject) => {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }));
  const req = http.request({ host: '127.0.0.1', port: ${port}, method: 'POST', path: '/jsonrpc', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
    const chunks = []; res.on('data', (c) => chunks.push(c)); res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()).result));
  });
  req.on('error', reject); req.end(body);
});
const s = await rpc('session.login_with_password', ['root', ${JSON.stringify(PASSWORD)}, '2.23', 'cli']);
process.stdout.write(JSON.stringify(await rpc(${JSON.stringify(method)}, [s, ...${JSON.stringify(args)}])));
await rpc('session.logout', [s]);`;

interface Variant { readonly name: string; readonly argv: readonly string[]; readonly env?: Record<string, string>; readonly expect?: string; readonly bundle?: boolean }

// each process reports the CPU time it used (user + system, µs) as its last line on stderr: on a
// busy machine wall times wander, CPU times much less
const CPU_REPORT = `data:text/javascript,${encodeURIComponent("process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu ' + (u.user + u.system) + '\\n'); })")}`;

/** Wall and CPU time of one process, in ms; throws when it fails or prints something unexpected. */
async function timeOnce(v: Variant): Promise<{ wall: number; cpu: number }> {
  // a source saved meanwhile (others work in this tree) would send the bundle variant to tsx
  if (v.bundle && isStale('xe')) await buildBundle('xe');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', CPU_REPORT, ...v.argv], { env: { ...process.env, ...v.env }, encoding: 'utf8' });
  const wall = performance.now() - t0;
  const cpu = /\ncpu (\d+)\n$/.exec(r.stderr);
  if (r.status !== 0 || !cpu || (v.expect !== undefined && !r.stdout.includes(v.expect))) throw new Error(`${v.name}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
  return { wall, cpu: Number(cpu[1]) / 1000 };
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** Each variant ROUNDS times, taking turns; medians (wall and CPU) and p90s. */
async function race(title: string, variants: readonly Variant[]): Promise<Map<string, { wall: number; cpu: number }>> {
  const times = new Map<string, { wall: number; cpu: number }[]>(variants.map((v) => [v.name, []]));
  for (const v of variants) await timeOnce(v); // warm the file cache
  for (let i = 0; i < ROUNDS; i++) for (const v of variants) times.get(v.name)!.push(await timeOnce(v));
  process.stdout.write(`\n${title} (${ROUNDS} rounds, variants taking turns; CPU: the xe process's own)\n`);
  process.stdout.write(`  ${'variant'.padEnd(46)} ${'median'.padStart(10)} ${'p90'.padStart(10)} ${'min'.padStart(10)} ${'CPU'.padStart(10)}\n`);
  const medians = new Map<string, { wall: number; cpu: number }>();
  for (const v of variants) {
    const w = times.get(v.name)!.map((x) => x.wall), c = times.get(v.name)!.map((x) => x.cpu);
    medians.set(v.name, { wall: quantile(w, 0.5), cpu: quantile(c, 0.5) });
    process.stdout.write(`  ${v.name.padEnd(46)} ${ms(quantile(w, 0.5)).padStart(10)} ${ms(quantile(w, 0.9)).padStart(10)} ${ms(Math.min(...w)).padStart(10)} ${ms(quantile(c, 0.5)).padStart(10)}\n`);
  }
  return medians;
}

/** The launcher's freshness check in a fresh process (the first call, as xe makes it), in ms. */
function freshnessCheckMs(): number {
  const code = `const { freshBundle } = await import(${JSON.stringify(LAUNCH)}); const t = performance.now(); const b = freshBundle('xe'); process.stdout.write(String(b ? performance.now() - t : -1));`;
  const cold = Array.from({ length: 5 }, () => Number(spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).stdout));
  return quantile(cold, 0.5);
}

/** `poolnet serve` on DIR until it listens: the wall time and the CPU time it took, in ms. */
async function daemonStart(dir: string, env: Record<string, string>): Promise<{ wall: number; cpu: number }> {
  const t0 = performance.now();
  const { proc } = await spawnServe(serveArgv(dir), { env: { ...process.env, ...env } });
  try {
    const wall = performance.now() - t0;
    const fields = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { wall, cpu: (Number(fields[11]) + Number(fields[12])) * 10 };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-bench-xe-'));
let daemon: ChildProcess | undefined;
const cleanup = () => { daemon?.kill('SIGKILL'); rmSync(dataDir, { recursive: true, force: true }); };
process.once('SIGINT', () => { cleanup(); process.exit(130); });
try {
  process.stdout.write(`${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (figures are only comparable on a quiet machine)\n`);
  if (isStale('xe')) {
    const r = await buildBundle('xe');
    process.stdout.write(`built dist/xe.mjs (${(r.bytes / 1024).toFixed(0)} KiB): it was missing or older than its sources\n`);
  }
  const vif = buildDatabase(dataDir);
  const d = await serve(dataDir);
  daemon = d.proc;
  const conn = ['-s', '127.0.0.1', '-p', String(d.port), '--nossl', '-u', 'root', '-pw', PASSWORD];
  const network = (JSON.parse(spawnSync(process.execPath, ['--input-type=module', '-e', rawCalls(d.port, 'network.get_all_records', [])], { encoding: 'utf8' }).stdout) as Record<string, { uuid: string }>);
  const netUuid = Object.values(network)[0].uuid;

  const commands: { title: string; xe: string[]; method: string; args: unknown[]; expect: string }[] = [
    { title: 'xe network-list --minimal', xe: ['network-list', '--minimal'], method: 'network.get_all_records', args: [], expect: netUuid },
    { title: 'xe vif-param-get param-name=MAC', xe: ['vif-param-get', `uuid=${vif}`, 'param-name=MAC'], method: 'VIF.get_by_uuid', args: [vif], expect: '02:16:00:00:00:01' },
  ];
  let perVif = 0, perVifTsx = 0;
  for (const c of commands) {
    const m = await race(c.title, [
      { name: 'node -e 0', argv: ['-e', '0'] },
      { name: 'node + the 3 HTTP calls by hand (the floor)', argv: ['--input-type=module', '-e', rawCalls(d.port, c.method, c.args)] },
      { name: 'bin/xe.mjs, bundle (dist/xe.mjs)', argv: [XE, ...conn, ...c.xe], expect: c.expect, bundle: true },
      { name: 'bin/xe.mjs, tsx (POOLNET_BUNDLE=0)', argv: [XE, ...conn, ...c.xe], env: { POOLNET_BUNDLE: '0' }, expect: c.expect },
    ]);
    const bundle = m.get('bin/xe.mjs, bundle (dist/xe.mjs)')!, tsx = m.get('bin/xe.mjs, tsx (POOLNET_BUNDLE=0)')!;
    const node = m.get('node -e 0')!, floor = m.get('node + the 3 HTTP calls by hand (the floor)')!;
    process.stdout.write(`  bundle: ${ms(bundle.wall)} (target < 120 ms: ${bundle.wall < 120 ? 'ok' : 'MISSED'}), ${(tsx.wall / bundle.wall).toFixed(1)}× faster than tsx (CPU ${(tsx.cpu / bundle.cpu).toFixed(1)}×); above node -e 0: ${ms(bundle.wall - node.wall)} (CPU ${ms(bundle.cpu - node.cpu)}), above the floor: ${ms(bundle.wall - floor.wall)} (CPU ${ms(bundle.cpu - floor.cpu)})\n`);
    if (c.xe[0] === 'vif-param-get') { perVif = bundle.wall; perVifTsx = tsx.wall; }
  }
  process.stdout.write(`\na shell loop of 512 vif-param-get calls (one per VIF of a full host): ${(512 * perVif / 1000).toFixed(1)} s with the bundle, ${(512 * perVifTsx / 1000).toFixed(1)} s through tsx\n`);
  if (isStale('poolnet')) await buildBundle('poolnet');
  const starts = { bundle: [] as { wall: number; cpu: number }[], tsx: [] as { wall: number; cpu: number }[] };
  for (let i = 0; i < 3; i++) {
    starts.bundle.push(await daemonStart(dataDir, {}));
    starts.tsx.push(await daemonStart(dataDir, { POOLNET_BUNDLE: '0' }));
  }
  const line = (name: string, xs: { wall: number; cpu: number }[]) =>
    `${ms(quantile(xs.map((x) => x.wall), 0.5))} until it listens, ${ms(quantile(xs.map((x) => x.cpu), 0.5))} of CPU (${name})`;
  process.stdout.write(`poolnet serve (an existing database, plain HTTP), median of 3: ${line('bundle', starts.bundle)}; ${line('tsx', starts.tsx)}\n`);
  process.stdout.write(`the launcher's freshness check (one stat per file dist/xe.mjs was built from; the first call in a process): ${freshnessCheckMs().toFixed(2)} ms\n`);
} finally {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  daemon = undefined;
  cleanup();
}
