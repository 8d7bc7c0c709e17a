// The XenAPI server under attack (issue 16): it bounds connections, time and memory per client,
// refuses what browsers of other origins could send, answers odd requests with XenAPI errors,
// speaks TLS with forward secrecy only, keeps its files private, and expires and caps sessions.
// Each test drives a real daemon over real sockets; the limits are made small so that the
// tests are quick, the code paths are those of the defaults.

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startDaemon, type Daemon, type ServeOptions } from '../src/daemon/serve.ts';
import { parseMethodResponse } from '../src/api/xmlrpc.ts';
import { pumpBody } from './helpers/bigbody.ts';
import { FACTS, ROOT_PASSWORD } from './helpers/daemon.ts';

interface D extends Daemon { url: string; dataDir: string; dispose(): Promise<void> }

const started: D[] = [];
after(async () => { for (const d of started) await d.dispose(); });

async function start(o: Partial<ServeOptions> = {}): Promise<D> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'poolnet-hard-'));
  const d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent', ...o });
  const scheme = o.insecureHttp === false ? 'https' : 'http';
  let gone = false;
  const t: D = { ...d, close: d.close, url: `${scheme}://127.0.0.1:${d.port}`, dataDir, async dispose() { if (gone) return; gone = true; await d.close(); if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true }); } };
  started.push(t);
  return t;
}

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** A POST from a chosen local address (127.0.0.0/8 is all loopback), on a connection of its own. */
function post(d: D, path: string, body: string | Buffer, headers: Record<string, string> = {}, localAddress = '127.0.0.1'): Promise<Answer> {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = (d.url.startsWith('https:') ? https : http).request({ host: '127.0.0.1', port: d.port, path, method: 'POST', localAddress, agent: false, rejectUnauthorized: false, headers: { 'Content-Type': path === '/jsonrpc' ? 'application/json' : 'text/xml', 'Content-Length': buf.length, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(buf);
  });
}

const json = (method: string, params: unknown[]) => JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });

/** [code, ...params] of a JSON-RPC v2 failure, or the result. */
async function rpc(d: D, method: string, params: unknown[], localAddress?: string): Promise<{ error?: string[]; result?: unknown }> {
  const a = await post(d, '/jsonrpc', json(method, params), {}, localAddress);
  assert.equal(a.status, 200, a.body);
  const v = JSON.parse(a.body) as { result?: unknown; error?: { message: string; data: string[] } };
  return v.error ? { error: [v.error.message, ...v.error.data] } : { result: v.result };
}

const login = async (d: D, user = 'root', pw = ROOT_PASSWORD, originator?: string): Promise<string> => {
  const r = await rpc(d, 'session.login_with_password', originator === undefined ? [user, pw] : [user, pw, '1.0', originator]);
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  return r.result as string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open a TCP connection from `localAddress` and leave it silent. */
function idle(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.on('error', () => undefined);
    s.once('error', reject);
  });
}

describe('connections', () => {
  test('idle sockets beyond the total and per-address caps are closed, and an honest client is still served', async () => {
    const d = await start({ httpLimits: { maxConnections: 40, maxConnectionsPerAddress: 10 } });
    const socks: net.Socket[] = [];
    // 8 addresses × 10 sockets: twice the total cap
    for (let a = 2; a < 10; a++) for (let i = 0; i < 10; i++) socks.push(await idle(d.port, `127.0.0.${a}`));
    // one address trying to hold 25
    const greedy: net.Socket[] = [];
    for (let i = 0; i < 25; i++) greedy.push(await idle(d.port, '127.0.0.20'));
    await sleep(300);
    const open = [...socks, ...greedy].filter((s) => !s.closed).length;
    assert.ok(open <= 40, `${open} idle connections still open; the cap is 40`);
    assert.ok(greedy.filter((s) => !s.closed).length <= 10, 'one address holds more than its 10');
    // the honest client from its own address gets in and is answered
    const s = await login(d);
    assert.ok((await rpc(d, 'pool.get_all', [s])).result);
    for (const x of [...socks, ...greedy]) x.destroy();
  });

  test('connections dripping their bodies do not keep an honest client out', async () => {
    const d = await start({ httpLimits: { maxConnections: 20, maxConnectionsPerAddress: 10 } });
    const drippers: net.Socket[] = [];
    for (let a = 2; a < 4; a++) {
      for (let i = 0; i < 10; i++) {
        const s = await idle(d.port, `127.0.0.${a}`);
        s.write('POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
        drippers.push(s);
      }
    }
    const drip = setInterval(() => { for (const s of drippers) if (!s.closed) s.write(' '); }, 200);
    try {
      await sleep(200);
      const s = await login(d);
      assert.ok((await rpc(d, 'pool.get_all', [s])).result);
    } finally {
      clearInterval(drip);
      for (const s of drippers) s.destroy();
    }
  });

  test('a connection that sends nothing, or its headers too slowly, is closed after the header timeout', async () => {
    const d = await start({ httpLimits: { headersTimeoutMs: 1_000 } });
    const silent = await idle(d.port, '127.0.0.1');
    const slow = await idle(d.port, '127.0.0.1');
    slow.write('POST / HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => { if (!slow.closed) slow.write('X-Slow: 1\r\n'); }, 200);
    const t0 = Date.now();
    while ((!silent.closed || !slow.closed) && Date.now() - t0 < 15_000) await sleep(100);
    clearInterval(drip);
    assert.ok(silent.closed, 'a silent connection stayed open for 15 s; the header timeout is 1 s');
    assert.ok(slow.closed, 'a connection dripping its headers stayed open for 15 s; the header timeout is 1 s');
  });
});

describe('request bodies', () => {
  test('a 30 MB body is refused with a XenAPI error before it has been sent, and memory stays bounded', { timeout: 120_000 }, async () => {
    const d = await start();
    const rss0 = process.memoryUsage().rss;
    // 20 at once, declared (Content-Length) and undeclared (chunked); each stops when answered
    const one = (chunked: boolean) => new Promise<{ sent: number; answer: string }>((resolve, reject) => {
      let sent = () => 0;
      let answer = '';
      const headers: Record<string, string | number> = { 'Content-Type': 'text/xml' };
      if (!chunked) headers['Content-Length'] = 30 * 1024 * 1024;
      const req = http.request({ host: '127.0.0.1', port: d.port, path: '/', method: 'POST', agent: false, headers }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => { answer += c; });
        res.on('end', () => { req.destroy(); resolve({ sent: sent(), answer }); });
      });
      req.on('error', (e) => (answer ? resolve({ sent: sent(), answer }) : reject(e)));
      sent = pumpBody(req, 30 * 1024 * 1024, 64 * 1024);
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => one(i % 2 === 1)));
    const rss1 = process.memoryUsage().rss;
    for (const r of results) {
      assert.ok(r.sent < 8 * 1024 * 1024, `the server read ${r.sent} bytes before refusing`);
      const v = parseMethodResponse(r.answer) as { Status: string; ErrorDescription: string[] };
      assert.equal(v.Status, 'Failure');
      assert.equal(v.ErrorDescription[0], 'INVALID_VALUE');
      assert.match(v.ErrorDescription[2], /at most 1048576/);
    }
    assert.ok(rss1 - rss0 < 150 * 1024 * 1024, `RSS grew by ${Math.round((rss1 - rss0) / 1048576)} MB for 20 refused bodies`);
    // still serving
    assert.ok(await login(d));
  });

  test('a DTD, a JSON-RPC batch and deep nesting get XenAPI errors, not HTML 500', async () => {
    const d = await start();
    const dtd = await post(d, '/', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><methodCall><methodName>pool.get_all</methodName><params/></methodCall>');
    assert.equal(dtd.status, 200);
    assert.equal(dtd.headers['content-type'], 'text/xml');
    assert.deepEqual((parseMethodResponse(dtd.body) as { ErrorDescription: string[] }).ErrorDescription, ['INVALID_VALUE', 'XML-RPC request', 'DTDs are not accepted']);

    const deepXml = await post(d, '/', `<methodCall><methodName>pool.get_all</methodName><params><param>${'<value><array><data>'.repeat(1000)}</data></array></value></param></params></methodCall>`);
    assert.equal(deepXml.status, 200);
    assert.equal((parseMethodResponse(deepXml.body) as { ErrorDescription: string[] }).ErrorDescription[0], 'INVALID_VALUE');

    for (const body of [`[${json('pool.get_all', ['x'])}]`, '[]']) {
      const batch = await post(d, '/jsonrpc', body);
      assert.equal(batch.status, 200, batch.body);
      assert.equal(batch.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(batch.body), { jsonrpc: '2.0', error: { code: 1, message: 'INVALID_VALUE', data: ['JSON-RPC request', 'batch requests are not supported'] }, id: 0 });
    }
    const s = await login(d);
    for (const deep of [`${'['.repeat(100_000)}1${']'.repeat(100_000)}`, `{"jsonrpc":"2.0","method":"VIF.get_record","params":[${JSON.stringify(s)},${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}],"id":1}`]) {
      const a = await post(d, '/jsonrpc', deep);
      assert.equal(a.status, 200, a.body.slice(0, 300));
      const e = (JSON.parse(a.body) as { error: { message: string; data: string[] } }).error;
      assert.deepEqual([e.message, ...e.data], ['INVALID_VALUE', 'JSON-RPC request', 'nested deeper than 64 levels']);
    }
  });
});

describe('browsers', () => {
  test('no wildcard CORS; a page of another origin, or a text/plain body, is refused; the same origin works', async () => {
    const d = await start();
    const pre = await fetch(`${d.url}/jsonrpc`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    const body = json('session.login_with_password', ['root', ROOT_PASSWORD]);
    const hostile: Record<string, string>[] = [{ Origin: 'http://evil.example' }, { Origin: 'null' }, { 'Content-Type': 'text/plain;charset=UTF-8' }, { 'Content-Type': 'application/x-www-form-urlencoded' }];
    for (const headers of hostile) {
      const a = await post(d, '/jsonrpc', body, headers);
      assert.equal(a.headers['access-control-allow-origin'], undefined);
      const v = JSON.parse(a.body) as { error?: { message: string } };
      assert.equal(v.error?.message, 'PERMISSION_DENIED', JSON.stringify(headers));
    }
    assert.equal(d.db.count('session'), 0, 'a refused request logged in');
    const same = await post(d, '/jsonrpc', body, { Origin: d.url });
    assert.match((JSON.parse(same.body) as { result: string }).result, /^OpaqueRef:/);
  });
});

describe('TLS', () => {
  test('TLS 1.2 offers forward-secret suites only; TLS 1.1 and RSA key exchange are refused', async () => {
    const d = await start({ insecureHttp: false });
    const hello = (o: tls.ConnectionOptions) => new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: d.port, rejectUnauthorized: false, ...o }, () => { const c = s.getCipher().standardName; s.destroy(); resolve(c); });
      s.on('error', (e) => resolve(`refused: ${e.message}`));
    });
    assert.match(await hello({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA' }), /^refused/);
    assert.match(await hello({ maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' }), /^refused/);
    assert.match(await hello({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'ALL:@SECLEVEL=0' }), /^refused/);
    assert.equal(await hello({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.match(await hello({}), /^TLS_AES|^TLS_CHACHA/);
  });
});

describe('files', () => {
  test('the data directory is 0700; pool.db, its WAL and SHM and the TLS key are 0600', async () => {
    const d = await start({ insecureHttp: false });
    await login(d); // a write: the WAL exists
    const mode = (f: string) => (statSync(join(d.dataDir, f)).mode & 0o777).toString(8);
    assert.equal((statSync(d.dataDir).mode & 0o777).toString(8), '700');
    for (const f of ['pool.db', 'pool.db-wal', 'pool.db-shm', 'server.key']) assert.equal(mode(f), '600', f);
  });
});

describe('sessions', () => {
  test('a session unused for longer than the timeout is invalid; one in use stays valid', async () => {
    const d = await start({ sessions: { inactiveMs: 1_500, sweepMs: 500 } });
    const unused = await login(d);
    const used = await login(d);
    for (let i = 0; i < 8; i++) { await sleep(400); assert.ok((await rpc(d, 'pool.get_all', [used])).result, `in use, refused after ${(i + 1) * 400} ms`); }
    assert.deepEqual((await rpc(d, 'pool.get_all', [unused])).error, ['SESSION_INVALID', unused]);
    // the sweep destroyed it in the database too
    assert.equal(d.db.get(unused), undefined);
  });

  test('sessions are capped per user and per originator, the least recently used destroyed first', async () => {
    const d = await start({ sessions: { maxPerUser: 3, maxPerOriginator: 2 } });
    const root = await login(d);
    assert.ok((await rpc(d, 'subject.create_local_user', [root, 'alice', 'alice-pw', ['read-only']])).result);
    const alice: string[] = [];
    for (let i = 0; i < 5; i++) { alice.push(await login(d, 'alice', 'alice-pw')); await sleep(5); }
    const valid = async (s: string) => (await rpc(d, 'pool.get_all', [s])).error === undefined;
    assert.deepEqual(await Promise.all(alice.map(valid)), [false, false, true, true, true]);
    const tool: string[] = [];
    for (let i = 0; i < 3; i++) tool.push(await login(d, 'root', ROOT_PASSWORD, 'my-tool'));
    assert.deepEqual(await Promise.all(tool.map(valid)), [false, true, true]);
    assert.ok(await valid(root), 'the cap of one group destroyed a session of another');
  });

  test('sessions survive a restart of the daemon (as in xapi), and expiry still applies after it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-hard-'));
    try {
      let d = await start({ dataDir, sessions: { inactiveMs: 3_000 } });
      const s = await login(d);
      await d.dispose();
      d = await start({ dataDir, sessions: { inactiveMs: 3_000 } });
      assert.ok((await rpc(d, 'pool.get_all', [s])).result, 'a session did not survive a restart');
      await d.dispose();
      await sleep(4_000);
      d = await start({ dataDir, sessions: { inactiveMs: 3_000 } });
      assert.deepEqual((await rpc(d, 'pool.get_all', [s])).error, ['SESSION_INVALID', s]);
      await d.dispose();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
