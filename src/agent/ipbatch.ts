// Several `ip -json` reads answered by one process (`ip -json -force -batch -`): a pass on an
// idle host reads its addresses, routes and links every few seconds, and each process it starts
// costs more than the read itself. What the batch answers is parsed here (pure:
// parseBatchJson), never trusted: each read gets its answer only when there is exactly one JSON
// array per command; anything else (a line iproute2 refused, a command that answered nothing,
// output cut short, garbage) means each read is made apart, as its own `ip -json` process.

import { execFile } from 'node:child_process';

/** One read: the words of an `ip` command after the global options (`['route', 'show', 'default']`). */
export type IpRead = readonly string[];

/** What one read answered: its JSON array, or why it has none (the caller decides what that means). */
export type IpAnswer = unknown[] | Error;

export interface IpReadOptions {
  /** The network namespace to read (`ip -n NAME`); the daemon's own by default. */
  readonly netns?: string;
  /** `-details`: more fields (a VLAN's id, a device's kind); the ones not read are left alone. */
  readonly details?: boolean;
}

/** The most reads one batch carries (a caller with more has a bug; its reads are made apart). */
export const MAX_READS = 16;
/** The most output read from one process (far above a listing of a host at XenServer's limits); more is no answer. */
export const MAX_OUTPUT = 64 * 1024 * 1024;
/** A process that answers nothing in this time is killed; its reads are made apart (or fail). */
const TIMEOUT_MS = 10_000;

// a word of a batch line: no space, '#', quote or backslash, so that a line is exactly these words
const WORD = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
// `ip -n` takes a name from /run/netns: one path component
const NETNS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What `ip -json` answers: an array of objects (one per link, address, route ...). */
function isAnswer(v: unknown): v is object[] {
  return Array.isArray(v) && v.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o));
}

/**
 * The JSON answers of `ip -json -batch`, one line each (blank lines aside); undefined unless there
 * are exactly `n` and each is a JSON array of objects (pure).
 */
export function parseBatchJson(out: string, n: number): unknown[][] | undefined {
  if (typeof out !== 'string' || !Number.isInteger(n) || n < 1 || n > MAX_READS || out.length > MAX_OUTPUT) return undefined;
  const lines = out.split('\n').filter((l) => l.trim());
  if (lines.length !== n) return undefined;
  const answers: unknown[][] = [];
  for (const l of lines) {
    let v: unknown;
    try { v = JSON.parse(l); } catch { return undefined; } // cut short, or not JSON
    if (!isAnswer(v)) return undefined;
    answers.push(v);
  }
  return answers;
}

/** One parsed answer of a read made apart: `ip -json` prints nothing at all for some empty lists (`netns list` in older iproute2). */
export function parseOneJson(out: string): IpAnswer {
  if (out.length > MAX_OUTPUT) return new Error('ip: answer too long');
  if (!out.trim()) return [];
  try {
    const v: unknown = JSON.parse(out);
    return isAnswer(v) ? v : new Error('ip: the answer is not a JSON array of objects');
  } catch (e) {
    return e instanceof Error ? e : new Error('ip: the answer is not JSON');
  }
}

/** The global options of every process: the namespace, -json, details. Undefined when the namespace's name is unfit. */
function globalOptions(o: IpReadOptions): string[] | undefined {
  if (o.netns !== undefined && !NETNS.test(o.netns)) return undefined;
  return [...(o.netns !== undefined ? ['-n', o.netns] : []), '-json', ...(o.details ? ['-details'] : [])];
}

/** `ip` with `args`, `input` on its standard input; its output, or the failure as a value. */
function ip(args: readonly string[], input?: string): Promise<{ out: string } | Error> {
  return new Promise((resolve) => {
    const c = execFile('ip', [...args], { encoding: 'utf8', maxBuffer: MAX_OUTPUT, timeout: TIMEOUT_MS }, (e, out, err) => {
      resolve(e ? new Error(`ip ${args.join(' ')}: ${String(err).trim() || e.message}`) : { out });
    });
    c.stdin?.on('error', () => undefined); // no iproute2: the child is gone before its input
    c.stdin?.end(input ?? '');
  });
}

/**
 * Each of `reads`, in one `ip -json -force -batch -` process when it answers each of them, else
 * each apart. An answer is a JSON array or an Error; a batch never fails as a whole.
 */
export async function ipReads(reads: readonly IpRead[], o: IpReadOptions = {}): Promise<IpAnswer[]> {
  const opts = globalOptions(o);
  if (!opts) return reads.map(() => new Error(`ip: not a namespace name: ${JSON.stringify(o.netns)}`));
  const fit = reads.map((r) => r.length > 0 && r.every((w) => typeof w === 'string' && WORD.test(w)));
  if (reads.length && reads.length <= MAX_READS && fit.every(Boolean)) {
    // -force: a line that fails does not stop the others (their answers still tell which is missing)
    const r = await ip([...opts, '-force', '-batch', '-'], reads.map((w) => w.join(' ')).join('\n') + '\n');
    const all = r instanceof Error ? undefined : parseBatchJson(r.out, reads.length);
    if (all) return all;
  }
  return Promise.all(reads.map(async (w, i): Promise<IpAnswer> => {
    if (!fit[i]) return new Error(`ip: not a plain read: ${JSON.stringify(w)}`);
    const r = await ip([...opts, ...w]);
    return r instanceof Error ? r : parseOneJson(r.out);
  }));
}

/** An answer, or its failure thrown (a read the caller cannot do without). */
export function answerOrThrow(a: IpAnswer): unknown[] {
  if (a instanceof Error) throw a;
  return a;
}

/** An answer, or none (a read whose failure means there is nothing of its kind: no iproute2, no 8021q). */
export const answerOrNone = (a: IpAnswer): unknown[] => (a instanceof Error ? [] : a);
