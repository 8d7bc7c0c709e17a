// The lab's XenAPI client: JSON-RPC over a host's unix socket.

import { request } from 'node:http';
import { readState } from './state.ts';
import { sleep } from './exec.ts';

/** One XenAPI call over a unix socket (JSON-RPC). */
export function rpc(socket: string, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
    const req = request({ socketPath: socket, path: '/jsonrpc', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        try {
          const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data: string[] } };
          if (v.error) reject(Object.assign(new Error(`${v.error.message} ${v.error.data.join(' ')}`), { code: v.error.message }));
          else resolvePromise(v.result);
        } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A logged-in session on one host's socket. */
export interface Link { socket: string; session: string }

export async function login(socket: string, password: string): Promise<Link> {
  return { socket, session: (await rpc(socket, 'session.login_with_password', ['root', password])) as string };
}

export function call<T = unknown>(l: Link, method: string, ...params: unknown[]): Promise<T> {
  return rpc(l.socket, method, [l.session, ...params]) as Promise<T>;
}

export async function logout(l: Link): Promise<void> {
  await rpc(l.socket, 'session.logout', [l.session]).catch(() => undefined);
}

/**
 * Until a daemon answers on its socket. A made-up session tells without a login: a master answers
 * SESSION_INVALID, a member HOST_IS_SLAVE (a login would hash the password, and a member keeps
 * the hasher's memory afterwards).
 */
export async function waitForApi(socket: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try { await rpc(socket, 'pool.get_all', ['OpaqueRef:lab-probe']); return; } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SESSION_INVALID' || code === 'HOST_IS_SLAVE') return;
      if (Date.now() > end) throw new Error(`the daemon on ${socket} did not answer: ${(e as Error).message}`, { cause: e });
      await sleep(100);
    }
  }
}

/** The socket of the pool's master (host1 unless designated otherwise): the one that does not answer HOST_IS_SLAVE. */
export async function masterSocket(_password?: string): Promise<string> {
  for (const h of readState()?.hosts ?? []) {
    try {
      await rpc(h.socket, 'pool.get_all', ['OpaqueRef:lab-probe']);
      return h.socket;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SESSION_INVALID') return h.socket;
      if (code !== 'HOST_IS_SLAVE') throw e;
    }
  }
  throw new Error('no master answers');
}
