// Password hashes for local accounts: scrypt with a random salt, compared in constant time.
//
// Hashing never runs on the event loop: one worker thread of its own does it, one hash at a
// time, in the order asked. One thread rather than libuv's pool (crypto.scrypt) because every
// thread that hashes keeps scrypt's 16 MB block in its malloc arena afterwards: four pool
// threads under a password-guessing attack hold 64 MB, this thread 16 MB. The login throttle
// keeps the queue short.

import { createHmac, randomBytes, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const N = 16384;

// plain JavaScript, so that the worker needs no TypeScript loader
const HASHER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
parentPort.on('message', (m) => {
  try { parentPort.postMessage({ id: m.id, key: scryptSync(m.password, Buffer.from(m.salt), m.len, m.opts) }); }
  catch (e) { parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) }); }
});`;

let hasher: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (k: Buffer) => void; reject: (e: Error) => void }>();

function theHasher(): Worker {
  if (hasher) return hasher;
  const w = new Worker(HASHER, { eval: true });
  w.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (!p) return;
    if (m.key) p.resolve(Buffer.from(m.key)); else p.reject(new Error(m.error ?? 'scrypt failed'));
  });
  w.on('error', (e) => { for (const p of pending.values()) p.reject(e); pending.clear(); hasher = undefined; });
  w.on('exit', () => { if (hasher === w) hasher = undefined; });
  w.unref(); // the daemon's life is not the hasher's business
  return (hasher = w);
}

function scryptAsync(password: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const w = theHasher();
    pending.set(id, { resolve, reject });
    w.ref(); // while a hash is asked for
    w.postMessage({ id, password, salt, len, opts });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, { N });
  return `scrypt$${N}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** For the first start only, before the server listens (nothing else waits for the event loop then). */
export function hashPasswordSync(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${N}$${salt.toString('base64')}$${scryptSync(password, salt, 32, { N }).toString('base64')}`;
}

// Checked when the user does not exist or has no password, so that the answer takes as long as
// for a real user: the time of a refusal tells nothing about which user names exist.
let dummy: Promise<string> | undefined;

// Passwords that matched lately. Each `xe` call logs in, and a shell loop over 512 VIFs would pay
// a scrypt (~40 ms) 512 times. A match is remembered as HMAC(key made at start, stored hash,
// password) for a few minutes; the same password against the same stored hash then matches
// without scrypt. Only matches are remembered: a wrong guess costs a scrypt as before, and a
// changed password (a new hash, a new salt) never meets an old entry.
const VERIFIED_MS = 5 * 60_000;
const VERIFIED_MAX = 64;
const verifiedKey = randomBytes(32);
const verified = new Map<string, number>(); // digest -> when it expires
const verifiedDigest = (password: string, stored: string): string =>
  createHmac('sha256', verifiedKey).update(stored).update('\0').update(password).digest('base64');

/** True when `password` matches `stored`; with no stored hash, a check that always fails but costs the same. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const real = stored !== undefined && stored !== '';
  const digest = real ? verifiedDigest(password, stored) : '';
  if (real && (verified.get(digest) ?? 0) > Date.now()) return true;
  const ok = await verifyByHash(password, stored);
  if (ok) {
    verified.delete(digest);
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(digest, Date.now() + VERIFIED_MS);
  }
  return ok;
}

async function verifyByHash(password: string, stored: string | undefined): Promise<boolean> {
  const real = stored !== undefined && stored !== '';
  const hash = real ? stored : await (dummy ??= hashPassword(randomBytes(16).toString('hex')));
  const parts = hash.split('$');
  if (parts.length !== 4 || parts[0] !== 'scrypt') return false;
  const n = Number(parts[1]);
  // a hash from the database is ours; refuse work factors we would never have written
  if (!Number.isInteger(n) || n < 2 || n > 65536 || (n & (n - 1)) !== 0) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  if (want.length === 0 || want.length > 64) return false;
  const got = await scryptAsync(password, salt, want.length, { N: n, maxmem: 2 * 128 * 8 * n });
  return real && got.length === want.length && timingSafeEqual(got, want);
}
