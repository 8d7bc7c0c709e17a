// The XenAPI server under attack: `node --import tsx bench/attack.ts` (npm run bench:attack).
//
// Starts the real daemon (`poolnet serve`, a child process, TLS on 127.0.0.1) and runs an
// honest client making calls over a kept-alive connection, first alone, then during an attack:
//   - 8 clients guessing passwords as fast as they are answered (root and made-up user names),
//   - 2,000 sockets held open: 1,000 silent TCP connections and 1,000 TLS connections dripping
//     their headers; closed ones are opened again after 2 s,
//   - 30 MB bodies, declared (Content-Length) and undeclared (chunked), one after the other,
//     plus 20 slow bodies of 1 MB that arrive at 16 KB/s.
// Attackers use their own loopback addresses (127.0.0.0/8), the honest client 127.0.0.1. The
// attackers run in a process of their own at nice 10: on a real network they are other machines,
// and their own work must not be counted as the daemon's slowness (the daemon's work for them is).
// It prints the honest client's p50/p99 and the daemon's peak RSS for both runs, against the
// targets (p99 < 50 ms, RSS < 300 MB); nothing here asserts.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pumpBody } from '../test/helpers/bigbody.ts';
import { spawnServe } from './common.ts';

const PASSWORD = 'bench-attack-pw';
const BIN = fileURLToPath(new URL('../bin/poolnet.mjs', import.meta.url));
const PHASE_MS = Number(process.env.ATTACK_PHASE_MS ?? 20_000);
const GUESSERS = 8;
const IDLE_SOCKETS = 1_000;
const SLOW_HEADER_SOCKETS = 1_000;
const SLOW_BODIES = 20;

let port = 0;
let pid = 0;
let stopping = false;

async function serve(dataDir: string): Promise<ChildProcess> {
  const d = await spawnServe([BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--bind', '127.0.0.1', '--log-level', 'error'], {
    env: { ...process.env, POOLNET_ROOT_PASSWORD: PASSWORD },
  });
  port = d.port;
  pid = d.proc.pid!;
  return d.proc;
}

/** The daemon's resident set, in MB (Linux). */
function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the honest client

interface Call { error?: string[]; result?: unknown }

function call(agent: https.Agent | false, method: string, params: unknown[], localAddress: string): Promise<Call> {
  const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/jsonrpc', method: 'POST', agent, localAddress, rejectUnauthorized: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        try {
          const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data: string[] } };
          resolve(v.error ? { error: [v.error.message, ...v.error.data] } : { result: v.result });
        } catch { reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 100)}`)); }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

interface Phase { calls: number; failed: number; p50: number; p99: number; max: number; rssMax: number }

/** Sequential calls for `ms`: network.get_all_records and pool.get_all, as a console would. */
async function honest(session: string, ms: number): Promise<Phase> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const lat: number[] = [];
  let failed = 0;
  let rssMax = rssMb();
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssMb()); }, 200);
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) {
    const t0 = performance.now();
    try {
      const r = await call(agent, i++ % 2 ? 'network.get_all_records' : 'pool.get_all', [session], '127.0.0.1');
      if (r.error) failed++;
    } catch { failed++; }
    lat.push(performance.now() - t0);
    await sleep(5);
  }
  clearInterval(sampler);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  return { calls: lat.length, failed, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1], rssMax };
}

// ---------------------------------------------------------------- the attackers

const stats = { guesses: 0, throttled: 0, checked: 0, socketsOpened: 0, socketsClosedByServer: 0, peakOpen: 0, bigBodies: 0, bigBodyMaxSent: 0, bigBodyRefused: 0, bigBodyErrors: {} as Record<string, number>, slowBodies: 0 };
let open = 0;

async function guesser(n: number): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const from = `127.0.0.${10 + n}`;
  while (!stopping) {
    const user = n % 2 ? 'root' : `user${Math.floor(Math.random() * 1000)}`;
    try {
      const r = await call(agent, 'session.login_with_password', [user, `guess-${Math.random()}`], from);
      stats.guesses++;
      if (r.error && /Too many/.test(r.error[2] ?? '')) stats.throttled++; else stats.checked++;
    } catch { await sleep(50); }
  }
  agent.destroy();
}

/** Hold one socket open (silent TCP, or TLS dripping its headers); open it again after 2 s when the server closes it. */
async function holder(n: number, tlsDrip: boolean): Promise<void> {
  const from = `127.0.1.${1 + (n % 40)}`; // 40 addresses, 50 sockets each
  while (!stopping) {
    await new Promise<void>((resolve) => {
      let drip: NodeJS.Timeout | undefined;
      const done = () => { clearInterval(drip); if (counted) { open--; if (!stopping) stats.socketsClosedByServer++; } counted = false; resolve(); };
      let counted = false;
      const onUp = () => {
        counted = true;
        open++;
        stats.socketsOpened++;
        stats.peakOpen = Math.max(stats.peakOpen, open);
        if (tlsDrip) {
          s.write('POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\n');
          drip = setInterval(() => s.write(`X-Drip-${Math.random().toString(36).slice(2, 6)}: 1\r\n`), 2_000);
        }
      };
      const s: net.Socket = tlsDrip
        ? tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress: from }), rejectUnauthorized: false }, onUp)
        : net.connect({ host: '127.0.0.1', port, localAddress: from }, onUp);
      s.on('error', () => undefined);
      s.on('close', done);
      s.on('data', () => undefined);
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    if (!stopping) await sleep(2_000);
  }
}
const sockets = new Set<net.Socket>();

/** One 30 MB body; the bytes sent before the server answered. */
function bigBody(chunked: boolean): Promise<number> {
  return new Promise((resolve) => {
    let sent = () => 0;
    const headers: Record<string, string | number> = { 'Content-Type': 'text/xml' };
    if (!chunked) headers['Content-Length'] = 30 * 1024 * 1024;
    const req = https.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent: false, localAddress: '127.0.0.30', rejectUnauthorized: false, headers }, (res) => {
      res.resume();
      res.on('end', () => { stats.bigBodyRefused++; req.destroy(); resolve(sent()); });
    });
    req.on('error', (e) => { const k = `${chunked ? 'chunked' : 'declared'}: ${e.message}`; stats.bigBodyErrors[k] = (stats.bigBodyErrors[k] ?? 0) + 1; resolve(sent()); });
    sent = pumpBody(req, 30 * 1024 * 1024, 256 * 1024);
  });
}

async function bigBodies(): Promise<void> {
  let i = 0;
  while (!stopping) {
    const sent = await bigBody(i++ % 2 === 1);
    stats.bigBodies++;
    stats.bigBodyMaxSent = Math.max(stats.bigBodyMaxSent, sent);
    await sleep(100);
  }
}

/** A 1 MB body (within the limit) at 16 KB/s: the request timeout ends it. */
async function slowBody(n: number): Promise<void> {
  while (!stopping) {
    await new Promise<void>((resolve) => {
      const req = https.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent: false, localAddress: `127.0.0.${40 + (n % 4)}`, rejectUnauthorized: false, headers: { 'Content-Type': 'text/xml', 'Content-Length': 1024 * 1024 } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      stats.slowBodies++;
      const drip = setInterval(() => { if (stopping || req.destroyed) { clearInterval(drip); req.destroy(); return; } req.write(Buffer.alloc(1600, 'y')); }, 100);
    });
    if (!stopping) await sleep(1_000);
  }
}

// ---------------------------------------------------------------- main

function row(name: string, p: Phase): string {
  return `${name.padEnd(16)} ${String(p.calls).padStart(6)} ${String(p.failed).padStart(7)} ${p.p50.toFixed(1).padStart(8)} ${p.p99.toFixed(1).padStart(8)} ${p.max.toFixed(1).padStart(8)} ${p.rssMax.toFixed(0).padStart(9)}`;
}

/** The attack, in its own process: ramps up, says "ready", runs until SIGTERM, prints its figures as JSON. */
async function attack(): Promise<void> {
  port = Number(process.argv[3]);
  const attackers: Promise<void>[] = [];
  // ATTACK_PARTS=guess,sockets,big,slow (default all): to see what each costs
  const parts = new Set((process.env.ATTACK_PARTS ?? 'guess,sockets,big,slow').split(','));
  for (let i = 0; parts.has('guess') && i < GUESSERS; i++) attackers.push(guesser(i));
  if (parts.has('big')) attackers.push(bigBodies());
  for (let i = 0; parts.has('slow') && i < SLOW_BODIES; i++) attackers.push(slowBody(i));
  for (let i = 0; parts.has('sockets') && i < IDLE_SOCKETS + SLOW_HEADER_SOCKETS; i++) {
    attackers.push(holder(i, i >= IDLE_SOCKETS));
    if (i % 100 === 99) await sleep(50);
  }
  await sleep(2_000);
  process.stdout.write(`ready ${open}\n`);
  await new Promise((r) => process.once('SIGTERM', r));
  const openAtEnd = open;
  stopping = true;
  for (const s of sockets) s.destroy();
  await Promise.race([Promise.all(attackers), sleep(3_000)]);
  process.stdout.write(`${JSON.stringify({ ...stats, openAtEnd })}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-attack-'));
  const proc = await serve(dataDir);
  try {
    const login = await call(false, 'session.login_with_password', ['root', PASSWORD, '1.0', 'bench-honest'], '127.0.0.1');
    const session = login.result as string;
    if (!session) throw new Error(`login failed: ${JSON.stringify(login.error)}`);
    process.stderr.write(`daemon pid ${pid} on port ${port}; honest client alone for ${PHASE_MS / 1000} s\n`);
    const alone = await honest(session, PHASE_MS);

    process.stderr.write('attack: ramping up\n');
    const attacker = spawn('nice', ['-n', '10', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--attacker', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    attacker.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    while (!out.includes('ready')) await sleep(100);
    process.stderr.write(`attack running (${out.trim()} sockets open); honest client for ${PHASE_MS / 1000} s\n`);
    const attacked = await honest(session, PHASE_MS);
    attacker.kill('SIGTERM');
    await new Promise((r) => attacker.once('exit', r));
    const a = JSON.parse(out.split('\n').filter(Boolean).pop() ?? '{}') as typeof stats & { openAtEnd: number };

    const lines = [
      `XenAPI under attack (poolnet serve over TLS on 127.0.0.1; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}; attackers at nice 10 on the same CPUs)`,
      '',
      'phase             calls  failed  p50 (ms) p99 (ms) max (ms)  RSS (MB)',
      row('alone', alone),
      row('under attack', attacked),
      '',
      `targets under attack: p99 < 50 ms (${attacked.p99 < 50 ? 'met' : 'MISSED'}), RSS < 300 MB (${attacked.rssMax < 300 ? 'met' : 'MISSED'})`,
      '',
      `password guesses: ${a.guesses} answered (${GUESSERS} clients), ${a.checked} checked, ${a.throttled} refused by the throttle`,
      `held sockets: ${IDLE_SOCKETS} silent + ${SLOW_HEADER_SOCKETS} dripping headers; ${a.socketsOpened} opened, peak ${a.peakOpen} open at once, ${a.openAtEnd} open at the end, ${a.socketsClosedByServer} closed by the server`,
      `30 MB bodies: ${a.bigBodies} sent, ${a.bigBodyRefused} answered with a XenAPI error, failures seen by the sender: ${JSON.stringify(a.bigBodyErrors)}; at most ${(a.bigBodyMaxSent / 1048576).toFixed(1)} MB written before the answer`,
      `slow 1 MB bodies: ${a.slowBodies} started (${SLOW_BODIES} at a time, 16 KB/s)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--attacker') await attack(); else await main();
