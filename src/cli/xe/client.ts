// A small XenAPI client: JSON-RPC 2.0 over HTTP or HTTPS (POST /jsonrpc), one call per request.
// Over HTTPS the server's certificate is checked by the Trust policy (trust.ts) once the TLS
// handshake is done and before anything (the password included) is written.

import { existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { XeError, apiError } from './errors.ts';
import type { Trust } from './trust.ts';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** On-host: the API's unix socket, tried first; once it cannot be connected to, host:port. */
  readonly local?: { readonly path: string; failed: boolean };
  readonly trust: Trust;
  readonly traceparent?: string;
  /** Warnings (first-use trust) and debug lines go here. */
  readonly warn: (line: string) => void;
  readonly debug?: (line: string) => void;
  /** Give up on a call after this long (completion); no limit by default. */
  readonly timeoutMs?: number;
}

const plain = (message: string): XeError => new XeError({ kind: 'plain', message });

/** The host part without IPv6 brackets. */
const bareHost = (h: string): string => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h);

/** What strerror says for the connect failures xe reports with it (plain TCP, as the real xe's Unix_error). */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused', EHOSTUNREACH: 'No route to host', ENETUNREACH: 'Network is unreachable', ETIMEDOUT: 'Connection timed out',
};

function connectError(ep: Endpoint, e: NodeJS.ErrnoException): XeError {
  if (e instanceof XeError) return e;
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      // the real xe: through stunnel (TLS) a failed connect is "Unable to contact server"; over
      // plain TCP it prints the system error of connect()
      if (!ep.tls) return plain(`Error: ${STRERROR[e.code]} (calling connect )`);
      return plain('Unable to contact server. Please check server and port settings.');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return plain(`Host '${ep.host}' not found.`);
    case 'ECONNRESET':
    case 'EPIPE':
      return plain('Lost connection to the server.');
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_HTTP_REQUEST':
      // a TLS handshake answered in plain text: the server speaks HTTP, not HTTPS
      return plain(`The server at ${ep.host}:${ep.port} speaks plain HTTP, not HTTPS: add --nossl (or connect to its HTTPS port).`);
    default:
      return plain(`Error: ${e.message} (calling connect ${ep.host}:${ep.port})`);
  }
}

/** node:tls, loaded by the first TLS connection: it costs a few ms of every start, --nossl or not. */
const tlsModule = (): typeof import('node:tls') => createRequire(import.meta.url)('node:tls') as typeof import('node:tls');

/** A TLS socket whose certificate the trust policy accepted. */
function trustedSocket(ep: Endpoint, cb: (err: Error | null, s?: Duplex) => void): void {
  const host = bareHost(ep.host);
  const socket = tlsModule().connect({ host, port: ep.port, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false });
  socket.once('error', (e) => cb(e));
  socket.once('secureConnect', () => {
    const cert = socket.getPeerCertificate();
    const verdict = ep.trust.check(`${ep.host}:${ep.port}`, cert.fingerprint256 ?? '');
    if (!verdict.ok) { socket.destroy(); cb(plain(verdict.message)); return; }
    if (verdict.warning) ep.warn(verdict.warning);
    cb(null, socket);
  });
}

let nextId = 1;

/** The local socket could not be connected to (absent, refused, not a socket, not allowed). */
class NoLocalSocket extends Error {}

/** Call one XenAPI method; its result, or a thrown XeError ('api' for a XenAPI failure). */
export async function rpc(ep: Endpoint, method: string, params: readonly unknown[]): Promise<unknown> {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method, params, id: nextId++ }), 'utf8');
  ep.debug?.(`call ${method}`);
  if (ep.local && !ep.local.failed) {
    ep.debug?.(`Connecting to Unix socket [${ep.local.path}]`);
    // no socket there (poolnet's usual case): a stat, not a failed connect (~10 ms of every call)
    try { if (!existsSync(ep.local.path)) throw new NoLocalSocket(); return await send(ep, body, method, ep.local.path); } catch (e) {
      if (!(e instanceof NoLocalSocket)) throw e;
      // as the real xe: on to TCP (and not the socket again for this command)
      ep.debug?.(' failed');
      ep.local.failed = true;
    }
  }
  ep.debug?.(`Connecting via ${ep.tls ? 'stunnel' : 'TCP'} to [${ep.host}] port [${ep.port}]`);
  return send(ep, body, method, undefined);
}

/** One request, over the unix socket at `socketPath` or to host:port. */
function send(ep: Endpoint, body: Buffer, method: string, socketPath: string | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': body.length, 'User-Agent': 'xe-cli/poolnet', originator: 'cli' };
    if (ep.traceparent) headers.traceparent = ep.traceparent;
    let answered = false;
    const req = http.request({
      ...(socketPath !== undefined ? { socketPath } : { host: bareHost(ep.host), port: ep.port }), method: 'POST', path: '/jsonrpc', headers,
      // no agent: one connection per call. Over TLS, the callback form of createConnection
      // (only used without an agent) lets the certificate be checked before anything is written.
      ...(ep.tls && socketPath === undefined ? { createConnection: (_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => { trustedSocket(ep, cb); return undefined; } } : { agent: false }),
    } as http.RequestOptions, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(connectError(ep, e)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let v: { result?: unknown; error?: { message?: string; data?: unknown[] } };
        try { v = JSON.parse(text) as typeof v; } catch {
          // the real xe's texts for an answer it cannot read: nothing at all, or an HTTP reply
          // that is not its protocol
          ep.debug?.(`unreadable answer (HTTP ${res.statusCode ?? '?'}): ${text.slice(0, 200)}`);
          reject(plain(text === '' ? 'Unable to contact server. Please check server and port settings.' : 'Server internal error.'));
          return;
        }
        if (v.error) {
          ep.debug?.(`failed ${method}: ${JSON.stringify(v.error)}`);
          reject(apiError(String(v.error.message ?? 'INTERNAL_ERROR'), (v.error.data ?? []).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))));
          return;
        }
        resolve(v.result);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // the local socket is there or not before anything is sent: only then is TCP tried instead
      if (socketPath !== undefined && !answered && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'EPERM'].includes(e.code ?? '')) reject(new NoLocalSocket(e.message));
      else reject(connectError(ep, e));
    });
    if (ep.timeoutMs !== undefined) req.setTimeout(ep.timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.end(body);
  });
}

/** A logged-in session: calls get the session reference prepended. */
export interface Api {
  call(method: string, ...args: unknown[]): Promise<unknown>;
}

export interface Session extends Api {
  readonly ref: string;
  logout(): Promise<void>;
}

/**
 * Log in. A local session (`session.slave_local_login_with_password`) is what xapi uses for
 * the commands that must run on the host itself (host-management-disable, pool-emergency-*).
 */
export async function login(ep: Endpoint, user: string, password: string, local = false): Promise<Session> {
  const ref = local
    ? await rpc(ep, 'session.slave_local_login_with_password', [user, password])
    : await rpc(ep, 'session.login_with_password', [user, password, '2.23', 'cli']);
  if (typeof ref !== 'string') throw plain('Error: the server answered the login with something that is not a session reference.');
  return {
    ref,
    call: (method, ...args) => rpc(ep, method, [ref, ...args]),
    async logout() {
      // poolnet's session.local_logout takes no argument; session.logout then removes the session
      if (local) await rpc(ep, 'session.local_logout', []).catch(() => undefined);
      await rpc(ep, 'session.logout', [ref]).catch(() => undefined);
    },
  };
}
