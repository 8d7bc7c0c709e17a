// HTTP transports: POST /jsonrpc is JSON-RPC 1.0/2.0; every other POST path is XML-RPC
// (xapi dispatches by longest prefix, so /, /RPC2 and the npm client's /xmlrpc all land there).
//
// The server is open to anyone who reaches the port, so it bounds what one client can take:
// time (header, request and keep-alive timeouts), connections (in total and per address; see
// ConnectionTracker), memory (a body limit, refused as soon as it is exceeded, and a budget for
// all bodies being received), nesting depth, and password guesses (LoginThrottle). Refusals are
// XenAPI errors in the caller's protocol. Browsers of other origins are refused: no CORS grant,
// and a request a cross-site page could send without a preflight is not accepted.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { XapiError } from '../model/index.ts';
import { ConnectionTracker } from './connlimit.ts';
import type { Api, CallResult } from './dispatch.ts';
import { LoginThrottle, type ThrottleStart } from './login-throttle.ts';
import { jsonText, toXml, toXmlBuffers } from './marshal.ts';
import { ParseError, parseMethodCall, xmlBare, xmlFailure, xmlSuccess, xmlSuccessBuffers, type WireValue } from './xmlrpc.ts';

export interface HttpLimits {
  /** The largest request body (xapi: http_limit_max_rpc_size = 300 KiB). */
  readonly maxBodyBytes: number;
  /** Bytes of request bodies held at once by all requests together beyond freeBodyBytes each. */
  readonly bodyBudgetBytes: number;
  /** What every request may hold without drawing on the budget (ordinary calls are far smaller). */
  readonly freeBodyBytes: number;
  /** Arrays and objects inside each other in a JSON-RPC request. */
  readonly maxJsonDepth: number;
  /** From the start of a request to the end of its headers. */
  readonly headersTimeoutMs: number;
  /** From the start of a request to the end of its body (not the answer: event.from waits 60 s). */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  readonly tlsHandshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxHeadersCount: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  maxBodyBytes: 1024 * 1024,
  bodyBudgetBytes: 64 * 1024 * 1024,
  freeBodyBytes: 64 * 1024,
  maxJsonDepth: 64,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 75_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 64,
  maxHeadersCount: 100,
};

/** TLS 1.2 suites with forward secrecy only (ECDHE); TLS 1.3 suites all have it. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface HttpOptions {
  readonly port: number;
  readonly bind: string;
  readonly tls?: { key: string; cert: string };
  /** Extra GET handler (the console). Return false when not handled. */
  readonly onGet?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;
  readonly limits?: Partial<HttpLimits>;
  /** Shared by every listener of a daemon, so that guesses over TCP and the unix socket add up. */
  readonly throttle?: LoginThrottle;
  /** A user name or an address has just started to be throttled (for a pool message). */
  readonly onThrottle?: (t: ThrottleStart) => void;
}

type Log = { error: (o: object, m?: string) => void };

export type JsonId = number | string;

interface JsonCall { version: 1 | 2; id: JsonId; method: string; params: WireValue[] }

const refuse = (what: string, why: string): XapiError => new XapiError('INVALID_VALUE', [what, why]);

/** True when arrays and objects nest deeper than `max` (strings skipped): checked before JSON.parse. */
export function jsonDeeperThan(body: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > max) return true; }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function parseJsonCall(body: string, maxDepth = DEFAULT_LIMITS.maxJsonDepth): JsonCall {
  if (jsonDeeperThan(body, maxDepth)) throw refuse('JSON-RPC request', `nested deeper than ${maxDepth} levels`);
  let v: unknown;
  try { v = JSON.parse(body); } catch (e) { throw new ParseError(`bad JSON: ${(e as Error).message}`); }
  if (Array.isArray(v)) throw refuse('JSON-RPC request', 'batch requests are not supported');
  if (typeof v !== 'object' || v === null) throw new ParseError('the request must be a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.method !== 'string') throw new ParseError('method must be a string');
  let version: 1 | 2;
  if (o.jsonrpc === undefined) version = 1;
  else if (o.jsonrpc === '2.0') version = 2;
  else throw new ParseError('jsonrpc must be "2.0" or absent');
  const id = o.id;
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)))) throw new ParseError('id must be an integer or a string');
  let params: WireValue[];
  if (Array.isArray(o.params)) params = o.params as WireValue[];
  else if (version === 2 && (o.params === undefined || o.params === null)) params = [];
  else if (version === 2 && typeof o.params === 'object') params = [o.params as WireValue];
  else throw new ParseError('params must be an array');
  return { version, id, method: o.method, params };
}

export function jsonResponse(version: 1 | 2, id: JsonId, r: CallResult): string {
  const idText = JSON.stringify(id);
  if (r.ok) {
    const value = jsonText(r.value ?? '');
    return version === 2 ? `{"jsonrpc":"2.0","result":${value},"id":${idText}}` : `{"result":${value},"error":null,"id":${idText}}`;
  }
  const d = r.error.description;
  return version === 2
    ? `{"jsonrpc":"2.0","error":${JSON.stringify({ code: 1, message: d[0], data: d.slice(1) })},"id":${idText}}`
    : `{"result":null,"error":${JSON.stringify(d)},"id":${idText}}`;
}

export function xmlResponse(r: CallResult): string {
  if (!r.ok) return xmlFailure(r.error.description);
  const v = toXml(r.value, r.type);
  return r.bare ? xmlBare(v) : xmlSuccess(v);
}

/** The XML-RPC response as UTF-8 buffers of moderate size (see toXmlBuffers), as `send` takes it. */
export function xmlResponseBuffers(r: CallResult): Buffer[] {
  if (!r.ok) return [Buffer.from(xmlFailure(r.error.description), 'utf8')];
  return xmlSuccessBuffers(toXmlBuffers(r.value, r.type), r.bare);
}

/** Send a body, whole or as buffers; either way with its Content-Length. */
function send(res: http.ServerResponse, status: number, type: string, body: string | readonly Buffer[]): void {
  const bufs = typeof body === 'string' ? [Buffer.from(body, 'utf8')] : body;
  let length = 0;
  for (const b of bufs) length += b.length;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': length });
  if (bufs.length === 1) { res.end(bufs[0]); return; }
  res.cork();
  for (const b of bufs) res.write(b);
  res.uncork();
  res.end();
}

/** What is sent back for one request. */
export interface Reply { readonly status: number; readonly type: string; readonly body: string | readonly Buffer[] }

/** A failure before any call could be read: v2 with id 0 for JSON-RPC, as xapi answers then. */
function failureReply(isJson: boolean, error: XapiError): Reply {
  const r: CallResult = { ok: false, error };
  return isJson ? { status: 200, type: 'application/json', body: jsonResponse(2, 0, r) } : { status: 200, type: 'text/xml', body: xmlResponseBuffers(r) };
}

/** xapi's answer to a request it cannot parse: HTTP 500 with an HTML page. */
function parseErrorReply(e: unknown): Reply {
  const msg = (e as Error)?.message ?? String(e);
  const esc = msg.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { status: 500, type: 'text/html', body: `<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. If the problem persists, please contact your support representative.<h1> Additional information </h1>Parse_error(${esc})</body></html>` };
}

const sendReply = (res: http.ServerResponse, r: Reply): void => send(res, r.status, r.type, r.body);

/**
 * A refused request's connection is closed this long after the answer. Meanwhile the rest of the
 * body is not read (the client's writes stall) but the answer can be: closing at once would
 * reset the connection, and a client still sending would lose the answer.
 */
const REFUSAL_GRACE_MS = 5_000;

/** Refuse while the request is still arriving: answer, stop reading, close after a grace. */
function sendRefusal(req: http.IncomingMessage, res: http.ServerResponse, isJson: boolean, error: XapiError): void {
  req.removeAllListeners('data');
  // Node would close (and so reset) the connection as soon as the answer is out
  res.shouldKeepAlive = true;
  res.once('finish', () => {
    // after Node's own 'finish' handler, which resumes reading to drain the body
    req.socket.pause();
    setTimeout(() => req.socket.destroy(), REFUSAL_GRACE_MS).unref();
  });
  sendReply(res, failureReply(isJson, error));
}

/** Bytes of bodies being received beyond each request's free allowance. */
class BodyBudget {
  used = 0;
  constructor(readonly limit: number) {}
  take(n: number): boolean { if (this.used + n > this.limit) return false; this.used += n; return true; }
  give(n: number): void { this.used -= n; }
}

class RefusedBody extends Error { constructor(readonly error: XapiError) { super(error.message); } }

/** The body, never more than the limit in memory; refused (RefusedBody) as soon as it is known to be too big. */
function readBody(req: http.IncomingMessage, limits: HttpLimits, budget: BodyBudget, held: { bytes: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooBig = (n: number) => new RefusedBody(refuse('HTTP request body', `${n} bytes; at most ${limits.maxBodyBytes} are accepted`));
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limits.maxBodyBytes) { reject(tooBig(declared)); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limits.maxBodyBytes) { reject(tooBig(size)); return; }
      const extra = Math.max(0, size - limits.freeBodyBytes) - held.bytes;
      if (extra > 0) {
        if (!budget.take(extra)) { reject(new RefusedBody(new XapiError('OPERATION_NOT_ALLOWED', ['The server is receiving too many large requests; try again later']))); return; }
        held.bytes += extra;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Why a browser page of another origin may not make this request; undefined when it may. */
export function crossSiteRefusal(req: http.IncomingMessage, scheme: 'http' | 'https'): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let same: boolean;
    try {
      const o = new URL(origin);
      same = o.protocol === `${scheme}:` && o.host === new URL(`${scheme}://${req.headers.host ?? ''}`).host;
    } catch { same = false; }
    if (!same) return `requests from the web page of another origin (${origin}) are not accepted`;
  }
  // the content types a page may send anywhere without asking first (a CORS "simple request")
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'text/plain' || type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    return `Content-Type ${type} is not accepted: send text/xml (XML-RPC) or application/json (JSON-RPC)`;
  }
  return undefined;
}

const PASSWORD_LOGINS = new Set(['session.login_with_password', 'session.slave_local_login_with_password']);

/** Everything a listener needs to answer a request. */
interface Served {
  readonly api: Api;
  readonly limits: HttpLimits;
  readonly budget: BodyBudget;
  readonly throttle: LoginThrottle;
  readonly onThrottle?: (t: ThrottleStart) => void;
  readonly onGet?: HttpOptions['onGet'];
  readonly scheme: 'http' | 'https';
}

/** A call, with logins counted and throttled per user name and per client address. */
async function dispatch(s: Served, method: string, params: WireValue[], address: string): Promise<CallResult> {
  const password = PASSWORD_LOGINS.has(method);
  if (!password && method !== 'session.slave_login') return s.api.call(method, params);
  // the pool secret is guessed per address only; a password per user name and per address
  // (a user name that is not a string is refused by the dispatcher: counted per address only)
  const user = password && typeof params[0] === 'string' ? params[0] : undefined;
  const t = s.throttle.check(user, address);
  if (t) {
    const delay = Math.min(t.retryAfterMs, s.throttle.policy.refusalDelayMs);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return { ok: false, error: new XapiError('SESSION_AUTHENTICATION_FAILED', [user ?? (password ? '' : 'pool'), `Too many failed logins; try again in ${Math.ceil(t.retryAfterMs / 1000)} s`]) };
  }
  let r: CallResult | undefined;
  try {
    r = await s.api.call(method, params);
    return r;
  } finally {
    const outcome = r === undefined ? undefined : r.ok ? true : r.error.code === 'SESSION_AUTHENTICATION_FAILED' ? false : undefined;
    for (const started of s.throttle.done(user, address, outcome)) s.onThrottle?.(started);
  }
}

async function handle(s: Served, req: http.IncomingMessage, res: http.ServerResponse, tracker: ConnectionTracker): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'OPTIONS') {
    // no Access-Control-Allow-* grant: the console is served from this origin and needs none
    res.writeHead(204, { Allow: 'POST, GET, HEAD, OPTIONS' });
    res.end();
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (s.onGet && (await s.onGet(req, res))) return;
    send(res, 404, 'text/plain', 'Not found\n');
    return;
  }
  if (req.method !== 'POST') { send(res, 405, 'text/plain', 'Method not allowed\n'); return; }
  const isJson = path === '/jsonrpc';
  const cross = crossSiteRefusal(req, s.scheme);
  if (cross) { sendRefusal(req, res, isJson, new XapiError('PERMISSION_DENIED', [cross])); return; }
  const held = { bytes: 0 };
  try {
    let raw: Buffer;
    try { raw = await readBody(req, s.limits, s.budget, held); } catch (e) {
      if (e instanceof RefusedBody) sendRefusal(req, res, isJson, e.error); else res.destroy();
      return;
    }
    // a connection serving a call is never closed to make room for another
    const leave = tracker.enter(req.socket);
    res.once('close', leave);
    sendReply(res, await answer(s, isJson, raw, req.socket.remoteAddress ?? 'local'));
  } finally {
    s.budget.give(held.bytes);
  }
}

/** The answer to a request body read whole: decode, parse, make the (throttled) call, print. */
async function answer(s: Served, isJson: boolean, raw: Buffer, address: string): Promise<Reply> {
  let body: string;
  try {
    body = utf8.decode(raw);
  } catch {
    // xapi refuses invalid UTF-8 in a parameter with INVALID_VALUE; the body cannot be read, so answer as a failed call
    return failureReply(isJson, new XapiError('INVALID_VALUE', ['Invalid UTF-8 string in parameter', raw.toString('latin1').slice(0, 200)]));
  }
  if (isJson) {
    let call: JsonCall;
    try { call = parseJsonCall(body, s.limits.maxJsonDepth); } catch (e) {
      return e instanceof XapiError ? failureReply(true, e) : parseErrorReply(e);
    }
    const r = await dispatch(s, call.method, call.params, address);
    return { status: 200, type: 'application/json', body: jsonResponse(call.version, call.id, r) };
  }
  let call;
  try { call = parseMethodCall(body); } catch (e) {
    return e instanceof XapiError ? failureReply(false, e) : parseErrorReply(e);
  }
  const r = await dispatch(s, call.method, call.params, address);
  return { status: 200, type: 'text/xml', body: xmlResponseBuffers(r) };
}

/**
 * What the server answers to a request body, without the sockets (the fuzz benchmark drives a
 * million bodies through it): the path picks the protocol as in `handle`.
 */
export function bodyAnswerer(api: Api, opts: Pick<HttpOptions, 'limits' | 'throttle'> = {}): (path: string, raw: Buffer, address: string) => Promise<Reply> {
  const s = served(api, opts, 'http');
  return (path, raw, address) => {
    if (raw.length > s.limits.maxBodyBytes) return Promise.resolve(failureReply(path === '/jsonrpc', refuse('HTTP request body', `${raw.length} bytes; at most ${s.limits.maxBodyBytes} are accepted`)));
    return answer(s, path.split('?')[0] === '/jsonrpc', raw, address);
  };
}

function handler(s: Served, tracker: ConnectionTracker, log: Log): http.RequestListener {
  return (req, res) => {
    tracker.seen(req.socket);
    handle(s, req, res, tracker).catch((e: unknown) => {
      log.error({ err: e }, 'request failed');
      if (!res.headersSent) sendReply(res, parseErrorReply(e));
      else res.destroy();
    });
  };
}

export interface XapiServer extends http.Server {
  readonly tracker: ConnectionTracker;
}

/** Open files this process may have (Linux), less a reserve for the database, logs and the agent. */
function connectionsTheFdLimitAllows(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(64, Number(m[1]) - 256);
  } catch { /* not Linux */ }
  return Infinity;
}

function served(api: Api, opts: Pick<HttpOptions, 'onGet' | 'limits' | 'throttle' | 'onThrottle'>, scheme: 'http' | 'https'): Served {
  const merged = { ...DEFAULT_LIMITS, ...opts.limits };
  // the cap must bite before the file descriptors run out, or accept() fails for everyone
  const limits = { ...merged, maxConnections: Math.min(merged.maxConnections, connectionsTheFdLimitAllows()) };
  return { api, limits, budget: new BodyBudget(limits.bodyBudgetBytes), throttle: opts.throttle ?? new LoginThrottle(), onThrottle: opts.onThrottle, onGet: opts.onGet, scheme };
}

function bound(server: http.Server, s: Served, log: Log): XapiServer {
  const tracker = new ConnectionTracker({ maxTotal: s.limits.maxConnections, maxPerAddress: s.limits.maxConnectionsPerAddress, firstRequestMs: s.limits.headersTimeoutMs });
  tracker.attach(server);
  server.on('request', handler(s, tracker, log));
  server.keepAliveTimeout = s.limits.keepAliveTimeoutMs;
  server.headersTimeout = s.limits.headersTimeoutMs;
  server.requestTimeout = s.limits.requestTimeoutMs;
  server.maxHeadersCount = s.limits.maxHeadersCount;
  return Object.assign(server, { tracker });
}

/** The timeouts are checked this often (Node checks every 30 s by default). */
const CHECK_INTERVAL_MS = 1_000;

/** Start the XenAPI HTTP(S) server. */
export async function listen(api: Api, opts: HttpOptions, log: Log): Promise<XapiServer> {
  const s = served(api, opts, opts.tls ? 'https' : 'http');
  const base = { connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, s.limits.headersTimeoutMs) };
  const raw = opts.tls
    ? https.createServer({
      ...base, key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true,
      handshakeTimeout: s.limits.tlsHandshakeTimeoutMs,
    })
    : http.createServer(base);
  const server = bound(raw, s, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind, () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/** The same API, plain HTTP, on a unix socket (xapi has one too): local tools and the lab's port forwarder. */
export async function listenUnix(api: Api, path: string, opts: Pick<HttpOptions, 'onGet' | 'limits' | 'throttle' | 'onThrottle'>, log: Log): Promise<XapiServer> {
  const s = served(api, opts, 'http');
  const server = bound(http.createServer({ connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, s.limits.headersTimeoutMs) }), s, log);
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => { server.off('error', reject); resolve(); }); });
  return server;
}

export function boundPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
