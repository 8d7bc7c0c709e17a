// Password hashes for local accounts: scrypt with a random salt, compared in constant time.
// Hashing runs on libuv's thread pool (crypto.scrypt), never on the event loop, and at most
// HASH_CONCURRENCY at once so that other work keeps threads (file system, DNS).

import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const HASH_CONCURRENCY = 2;

let running = 0;
const waiting: (() => void)[] = [];

async function scryptAsync(password: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> {
  if (running >= HASH_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise<Buffer>((resolve, reject) => scrypt(password, salt, len, opts, (e, key) => (e ? reject(e) : resolve(key))));
  } finally {
    running--;
    waiting.shift()?.();
  }
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

/** True when `password` matches `stored`; with no stored hash, a check that always fails but costs the same. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
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
