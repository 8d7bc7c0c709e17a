// Login throttling: failed password logins are counted per user name and per client address;
// past a few free failures every further attempt waits out a delay that doubles with each
// failure (backoff). A throttled attempt is refused at once, without hashing the password.
//
// A user name throttled by an attacker elsewhere does not lock out an address that logged in as
// that user successfully before: such a (user, address) pair is counted on its own instead.

export interface ThrottlePolicy {
  /** Failures per user name before the backoff starts. */
  readonly freePerUser: number;
  /** Failures per address (any user names) before the backoff starts. */
  readonly freePerAddress: number;
  /** The first delay; each further failure doubles it. */
  readonly baseDelayMs: number;
  readonly maxDelayUserMs: number;
  readonly maxDelayAddressMs: number;
  /** Failures are forgotten after this long without one. */
  readonly windowMs: number;
  /** Password checks in progress at once from one address. */
  readonly maxConcurrentPerAddress: number;
  /** How long a successful (user, address) pair is remembered. */
  readonly trustMs: number;
  /** Entries kept per table (attackers choose the user names). */
  readonly maxEntries: number;
  /**
   * A refusal is answered after this long (or the remaining delay, if shorter), so that a
   * throttled client cannot make thousands of cheap attempts a second on one connection.
   */
  readonly refusalDelayMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  freePerUser: 5, freePerAddress: 20, baseDelayMs: 1_000, maxDelayUserMs: 60_000, maxDelayAddressMs: 300_000,
  windowMs: 15 * 60_000, maxConcurrentPerAddress: 4, trustMs: 24 * 3600_000, maxEntries: 10_000, refusalDelayMs: 1_000,
};

interface Counter { failures: number; last: number; until: number }

/** A refusal: how long until the next attempt may be checked. */
export interface Throttled { readonly retryAfterMs: number; readonly key: string }

/** What the caller learns when a failure starts a throttle (for a pool message). */
export interface ThrottleStart { readonly kind: 'user' | 'address'; readonly name: string; readonly failures: number }

class Table {
  private readonly m = new Map<string, Counter>();
  constructor(private readonly max: number) {}
  get(k: string, now: number, windowMs: number): Counter | undefined {
    const c = this.m.get(k);
    if (c && now - c.last > windowMs && now >= c.until) { this.m.delete(k); return undefined; }
    return c;
  }
  touch(k: string, c: Counter): void {
    this.m.delete(k);
    this.m.set(k, c);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string); // the least recently failed
  }
  delete(k: string): void { this.m.delete(k); }
}

export class LoginThrottle {
  private readonly users: Table;
  private readonly addresses: Table;
  private readonly pairs: Table;
  private readonly trusted = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();

  constructor(readonly policy: ThrottlePolicy = DEFAULT_THROTTLE, private readonly clock: () => number = Date.now) {
    this.users = new Table(policy.maxEntries);
    this.addresses = new Table(policy.maxEntries);
    this.pairs = new Table(policy.maxEntries);
  }

  private isTrusted(user: string, address: string, now: number): boolean {
    const t = this.trusted.get(`${user}\0${address}`);
    return t !== undefined && now - t < this.policy.trustMs;
  }

  /** The counters this attempt is judged by. */
  private keys(user: string | undefined, address: string, now: number): [Table, string][] {
    const out: [Table, string][] = [[this.addresses, address]];
    if (user === undefined) return out;
    out.push(this.isTrusted(user, address, now) ? [this.pairs, `${user}\0${address}`] : [this.users, user]);
    return out;
  }

  /** Undefined: go ahead (then call `done`); else the attempt is refused. */
  check(user: string | undefined, address: string): Throttled | undefined {
    const now = this.clock();
    let wait = 0;
    let key = '';
    for (const [table, k] of this.keys(user, address, now)) {
      const c = table.get(k, now, this.policy.windowMs);
      if (c && c.until - now > wait) { wait = c.until - now; key = k; }
    }
    if (wait > 0) return { retryAfterMs: wait, key };
    if ((this.inFlight.get(address) ?? 0) >= this.policy.maxConcurrentPerAddress) return { retryAfterMs: this.policy.baseDelayMs, key: address };
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    return undefined;
  }

  /**
   * The outcome of an attempt `check` let through (true: logged in, false: wrong credentials,
   * undefined: refused for another reason, e.g. a wrong parameter count); the throttles this failure started.
   */
  done(user: string | undefined, address: string, ok: boolean | undefined): ThrottleStart[] {
    const now = this.clock();
    const n = (this.inFlight.get(address) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(address); else this.inFlight.set(address, n);
    if (ok === undefined) return [];
    if (ok) {
      if (user !== undefined) {
        this.trusted.delete(`${user}\0${address}`);
        this.trusted.set(`${user}\0${address}`, now);
        if (this.trusted.size > this.policy.maxEntries) this.trusted.delete(this.trusted.keys().next().value as string);
        this.pairs.delete(`${user}\0${address}`);
      }
      return [];
    }
    const started: ThrottleStart[] = [];
    for (const [table, k] of this.keys(user, address, now)) {
      const c = table.get(k, now, this.policy.windowMs) ?? { failures: 0, last: now, until: 0 };
      c.failures++;
      c.last = now;
      const isAddress = table === this.addresses;
      const free = isAddress ? this.policy.freePerAddress : this.policy.freePerUser;
      const max = isAddress ? this.policy.maxDelayAddressMs : this.policy.maxDelayUserMs;
      if (c.failures >= free) {
        c.until = now + Math.min(max, this.policy.baseDelayMs * 2 ** Math.min(30, c.failures - free));
        if (c.failures === free) started.push({ kind: isAddress ? 'address' : 'user', name: isAddress ? address : (user ?? ''), failures: c.failures });
      }
      table.touch(k, c);
    }
    return started;
  }
}
