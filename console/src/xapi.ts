// XenAPI from the browser: JSON-RPC 2.0 on POST /jsonrpc of the server that served the page,
// and the live object cache fed by event.from (the way Xen Orchestra's client keeps one).

import { Store, WATCHED, type XenEvent } from './logic/store.ts';
import { isRole, type Role, type Who } from './logic/model.ts';
import { stats } from './stats.ts';

/** A XenAPI failure: ErrorDescription [code, ...params]. */
export class XapiCallError extends Error {
  constructor(readonly description: string[], readonly method: string) {
    super(`${description[0]}${description.length > 1 ? ` [${description.slice(1).join(', ')}]` : ''}`);
  }
  get code(): string { return this.description[0]; }
}

let nextId = 1;

/** One JSON-RPC call; a XapiCallError for a XenAPI failure, an Error for a transport failure. */
export async function rpc(method: string, params: unknown[], signal?: AbortSignal): Promise<unknown> {
  const res = await fetch('/jsonrpc', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: nextId++ }),
    signal,
  });
  if (!res.ok) throw new Error(`HTTP ${res.status} from the server`);
  const v = (await res.json()) as { result?: unknown; error?: { message: string; data?: unknown[] } };
  if (v.error) throw new XapiCallError([v.error.message, ...(v.error.data ?? []).map(String)], method);
  return v.result;
}

export class Session {
  constructor(readonly ref: string, readonly who: Who) {}

  call(method: string, ...params: unknown[]): Promise<unknown> {
    return rpc(method, [this.ref, ...params]);
  }

  static async login(user: string, password: string): Promise<Session> {
    const ref = (await rpc('session.login_with_password', [user, password, '1.0', 'poolnet-console'])) as string;
    return Session.resume(ref);
  }

  /** A session from its reference (after a reload): who it is and which roles it holds. */
  static async resume(ref: string): Promise<Session> {
    const s = (await rpc('session.get_record', [ref, ref])) as Record<string, unknown>;
    const superuser = s.is_local_superuser === true;
    let roles: Role[] = [];
    if (superuser) roles = ['pool-admin'];
    else if (typeof s.subject === 'string' && s.subject !== 'OpaqueRef:NULL') {
      const subj = (await rpc('subject.get_record', [ref, s.subject])) as { roles: string[] };
      const names = await Promise.all(subj.roles.map((r) => rpc('role.get_name_label', [ref, r]) as Promise<string>));
      roles = names.filter(isRole);
    }
    return new Session(ref, { user: String(s.auth_user_name || 'root'), superuser, roles });
  }

  async logout(): Promise<void> {
    try { await rpc('session.logout', [this.ref]); } catch { /* already gone */ }
  }
}

export type CacheState = 'loading' | 'live' | 'reconnecting' | 'stopped';

/**
 * The live object cache: everything of the watched classes, first from event.from with an empty
 * token (every object as an `add`), then kept current by long-polling event.from.
 */
export class LiveCache {
  readonly store = new Store();
  state: CacheState = 'loading';
  /** When the first complete dump arrived (performance.now()). */
  loadedAt?: number;
  private token = '';
  private stopped = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly session: Session, private readonly onSessionLost: () => void) {}

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private emit(): void {
    for (const f of this.listeners) f();
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      try {
        const timeout = this.token === '' ? 0 : 30;
        const r = (await this.session.call('event.from', [...WATCHED], this.token, timeout)) as { events: XenEvent[]; token: string };
        if (this.stopped) return;
        const first = this.token === '';
        this.token = r.token;
        const changed = this.store.apply(r.events);
        if (changed) stats.lastEventAt = performance.now();
        if (first) {
          this.loadedAt = performance.now();
          stats.dumpAt ??= this.loadedAt;
          stats.dumpObjects ??= r.events.length;
        }
        if (this.state !== 'live' || changed) {
          this.state = 'live';
          this.emit();
        }
        backoff = 250;
      } catch (e) {
        if (this.stopped) return;
        const code = e instanceof XapiCallError ? e.code : '';
        if (code === 'SESSION_INVALID') { this.stop(); this.onSessionLost(); return; }
        if (code === 'EVENTS_LOST' || code === 'EVENT_FROM_TOKEN_PARSE_FAILURE') {
          this.token = '';
          this.store.clear();
        }
        this.state = 'reconnecting';
        this.emit();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }
}
