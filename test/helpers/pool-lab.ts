// Shared by the pool lab tests (e2e-pool-*.test.ts): polling, commands in namespaces, pings
// (one-shot and continuous), tcpdump captures, a look into a host's Open vSwitch.

import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { LabHost } from '../../src/lab/lab.ts';
import { labSkip } from './lab.ts';

export const PYTHON = '/usr/bin/python3'; // Debian's python3-scapy installs for this interpreter only

/** Why the pool lab tests cannot run here (lab, tcpdump, scapy), or false. */
export function poolLabSkip(): string | false {
  const lab = labSkip();
  if (lab) return lab;
  if (spawnSync('which', ['tcpdump']).status !== 0) return 'tcpdump is not installed';
  if (spawnSync(PYTHON, ['-c', 'import scapy.layers.l2']).status !== 0) return `scapy is missing for ${PYTHON} (Debian python3-scapy)`;
  return false;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` (sync or async; undefined or a throw means not yet) until it gives a value. */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: string, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(every);
  }
}

/** Run a command in a namespace; never throws on a non-zero exit. */
export function run(ns: string, cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

export interface PingResult { sent: number; received: number; out: string }

function parsePing(out: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  assert.ok(m, `ping output: ${out}`);
  return { sent: Number(m[1]), received: Number(m[2]), out };
}

export async function ping(ns: string, dst: string, count = 5, args: string[] = []): Promise<PingResult> {
  return parsePing((await run(ns, 'ping', ['-n', '-c', String(count), '-i', '0.2', '-W', '1', ...args, dst])).out);
}

/** Ping until one answer comes (ARP, a freshly built path, the first flows): true when it did. */
export async function reachable(ns: string, dst: string, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await run(ns, 'ping', ['-n', '-c', '1', '-W', '1', dst])).code === 0) return true;
    await sleep(200);
  }
  return false;
}

/**
 * A ping that runs in the background (10 a second by default) until stopped.
 */
export class Pinger {
  private out = '';
  private readonly exited: Promise<void>;
  readonly started = Date.now();
  constructor(readonly ns: string, readonly dst: string, intervalS = 0.1) {
    this.proc = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-O', '-i', String(intervalS), '-W', '1', dst], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (c: Buffer) => { this.out += c.toString(); });
    this.proc.stderr!.on('data', (c: Buffer) => { this.out += c.toString(); });
    // 'close': the summary ping prints on SIGINT is in once its output is closed, not at its exit
    this.exited = new Promise((r) => this.proc.once('close', () => r()));
  }

  private readonly proc: ChildProcess;

  /** Answers so far. */
  get replies(): number { return (this.out.match(/bytes from/g) ?? []).length; }

  /**
   * Stop (SIGINT: ping prints its summary) and count. `missing` are the sequence numbers never
   * answered between the first and the last answer (the one still in flight at the stop is no
   * loss); `lost` is their number.
   */
  async stop(): Promise<PingResult & { lost: number; missing: number[] }> {
    if (this.proc.exitCode === null) { this.proc.kill('SIGINT'); }
    await this.exited;
    const r = parsePing(this.out);
    const seqs = new Set([...this.out.matchAll(/bytes from .* icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
    const missing: number[] = [];
    if (seqs.size) for (let q = Math.min(...seqs); q <= Math.max(...seqs); q++) if (!seqs.has(q)) missing.push(q);
    return { ...r, lost: missing.length, missing };
  }

  kill(): void { if (this.proc.exitCode === null) this.proc.kill('SIGKILL'); }
}

/** tcpdump on one interface of a namespace, with link-level headers. */
export class Capture {
  private out = '';
  private err = '';
  private readonly closed: Promise<void>;
  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (c: Buffer) => { this.out += c.toString(); });
    proc.stderr!.on('data', (c: Buffer) => { this.err += c.toString(); });
    this.closed = new Promise((r) => proc.once('close', () => r()));
  }

  static async start(ns: string, iface: string, filter: string): Promise<Capture> {
    const proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-e', '-nn', '-l', '-U', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = new Capture(proc);
    await until(() => {
      if (proc.exitCode !== null) throw new Error(`tcpdump on ${iface} in ${ns}: ${c.err}`);
      return c.err.includes('listening on') ? true : undefined;
    }, 20_000, `tcpdump on ${iface} in ${ns}`);
    return c;
  }

  /** Stop (after a moment for frames still in flight) and return one line per frame. */
  async stop(): Promise<string[]> {
    await sleep(500);
    if (this.proc.exitCode === null) this.proc.kill('SIGINT');
    await this.closed;
    return this.out.split('\n').filter((l) => l.trim());
  }

  kill(): void { if (this.proc.exitCode === null) this.proc.kill('SIGKILL'); }
}

/** ovs-vsctl on a lab host's own switch. */
export function hostVsctl(h: LabHost, inNs: (ns: string, cmd: string, args: string[]) => string, ...args: string[]): string {
  return inNs(h.ns, 'ovs-vsctl', [`--db=unix:${h.dir}/ovs/db.sock`, ...args]).trim();
}

/** Give a lab VM an address of its own (instead of the lab's management address). */
export function readdress(inNs: (ns: string, cmd: string, args: string[]) => string, ns: string, cidr: string): void {
  inNs(ns, 'ip', ['addr', 'flush', 'dev', 'eth0']);
  inNs(ns, 'ip', ['addr', 'add', cidr, 'dev', 'eth0']);
}
