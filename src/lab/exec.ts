// Running programs for the lab: synchronous for the small helpers tests call, asynchronous where
// `lab up` and `lab down` do many things side by side, and detached daemons with pid files.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';

export const sh = (cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });

export const nsExec = (ns: string, cmd: string, args: string[]): string => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

/** A program, without blocking the event loop; its stdout, or an error naming what it printed on stderr. */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', env: opts.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`), { cause: err }));
      else resolve(stdout);
    });
    child.stdin?.end(opts.input);
  });
}

export const nsRun = (ns: string, cmd: string, args: string[], input?: string): Promise<string> => run('ip', ['netns', 'exec', ns, cmd, ...args], { input });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Start a long-lived process in a namespace, detached, logging into `log`; its pid goes to
 * `pidfile`. `fd9`: a descriptor it inherits as its fd 9.
 */
export function daemon(ns: string | undefined, argv: string[], log: string, pidfile: string, env?: NodeJS.ProcessEnv, fd9?: number): number {
  const out = openSync(log, 'a');
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const stdio: ('ignore' | number)[] = ['ignore', out, out];
  if (fd9 !== undefined) stdio.push('ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd9);
  const child = spawn(full[0], full.slice(1), { detached: true, stdio, env: env ?? process.env });
  child.unref();
  writeFileSync(pidfile, String(child.pid));
  return child.pid!;
}

/**
 * At most `n` of the functions given run at once (the others wait their turn, first come first
 * served): many hosts made side by side without a 2-core machine thrashing.
 */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // a slot is handed straight to the next in the queue, so that none is taken twice
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    else active++;
    try { return await fn(); } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Poll `check` every `every` ms until it is true; an error naming `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string, every = 50): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}
