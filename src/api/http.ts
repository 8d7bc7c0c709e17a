// HTTP transports: POST /jsonrpc is JSON-RPC 1.0/2.0; every other POST path is XML-RPC
// (xapi dispatches by longest prefix, so /, /RPC2 and the npm client's /xmlrpc all land there).

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { XapiError } from '../model/index.ts';
import type { Api, CallResult } from './dispatch.ts';
import { toXml, toXmlBuffers } from './marshal.ts';
import { ParseError, parseMethodCall, xmlBare, xmlFailure, xmlSuccess, xmlSuccessBuffers, type WireValue } from './xmlrpc.ts';

const MAX_BODY = 32 * 1024 * 1024;
const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'X-Requested-With' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface HttpOptions {
  readonly port: number;
  readonly bind: string;
  readonly tls?: { key: string; cert: string };
  /** Extra GET handler (the console). Return false when not handled. */
  readonly onGet?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;
}

export type JsonId = number | string;

interface JsonCall { version: 1 | 2; id: JsonId; method: string; params: WireValue[] }

export function parseJsonCall(body: string): JsonCall {
  let v: unknown;
  try { v = JSON.parse(body); } catch (e) { throw new ParseError(`bad JSON: ${(e as Error).message}`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParseError('the request must be a JSON object');
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
    const value = JSON.stringify(r.value ?? '');
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
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': length, ...CORS });
  if (bufs.length === 1) { res.end(bufs[0]); return; }
  res.cork();
  for (const b of bufs) res.write(b);
  res.uncork();
  res.end();
}

function sendParseError(res: http.ServerResponse, e: unknown): void {
  const msg = (e as Error)?.message ?? String(e);
  const esc = msg.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  send(res, 500, 'text/html', `<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. If the problem persists, please contact your support representative.<h1> Additional information </h1>Parse_error(${esc})</body></html>`);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new ParseError('request body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function handle(api: Api, req: http.IncomingMessage, res: http.ServerResponse, onGet?: HttpOptions['onGet']): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'OPTIONS') {
    res.writeHead(200, { ...CORS, 'Access-Control-Allow-Methods': 'POST, GET, OPTIONS', 'Content-Length': 0 });
    res.end();
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (onGet && (await onGet(req, res))) return;
    send(res, 404, 'text/plain', 'Not found\n');
    return;
  }
  if (req.method !== 'POST') { send(res, 405, 'text/plain', 'Method not allowed\n'); return; }
  let raw: Buffer;
  try { raw = await readBody(req); } catch (e) { sendParseError(res, e); return; }
  let body: string;
  const isJson = path === '/jsonrpc';
  try {
    body = utf8.decode(raw);
  } catch {
    // xapi refuses invalid UTF-8 in a parameter with INVALID_VALUE; the body cannot be read, so answer as a failed call
    const err: CallResult = { ok: false, error: new XapiError('INVALID_VALUE', ['Invalid UTF-8 string in parameter', raw.toString('latin1').slice(0, 200)]) };
    if (isJson) send(res, 200, 'application/json', jsonResponse(2, 0, err));
    else send(res, 200, 'text/xml', xmlResponseBuffers(err));
    return;
  }
  if (isJson) {
    let call: JsonCall;
    try { call = parseJsonCall(body); } catch (e) { sendParseError(res, e); return; }
    const r = await api.call(call.method, call.params);
    send(res, 200, 'application/json', jsonResponse(call.version, call.id, r));
    return;
  }
  let call;
  try { call = parseMethodCall(body); } catch (e) { sendParseError(res, e); return; }
  const r = await api.call(call.method, call.params);
  send(res, 200, 'text/xml', xmlResponseBuffers(r));
}

/** Start the XenAPI HTTP(S) server. Timeouts sit well above event.from's 60 s long poll. */
export async function listen(api: Api, opts: HttpOptions, log: { error: (o: object, m?: string) => void }): Promise<http.Server> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(api, req, res, opts.onGet).catch((e: unknown) => {
      log.error({ err: e }, 'request failed');
      if (!res.headersSent) sendParseError(res, e);
      else res.destroy();
    });
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 310_000;
  server.headersTimeout = 320_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind, () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/** The same API, plain HTTP, on a unix socket (xapi has one too): local tools and the lab's port forwarder. */
export async function listenUnix(api: Api, path: string, onGet: HttpOptions['onGet'], log: { error: (o: object, m?: string) => void }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    handle(api, req, res, onGet).catch((e: unknown) => { log.error({ err: e }, 'request failed'); if (!res.headersSent) sendParseError(res, e); else res.destroy(); });
  });
  server.keepAliveTimeout = 310_000;
  server.headersTimeout = 320_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => { server.off('error', reject); resolve(); }); });
  return server;
}

export function boundPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
