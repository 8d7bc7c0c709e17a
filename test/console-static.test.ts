// The console's files as poolnetd serves them (src/console/static.ts): the page on GET /, its
// hashed assets, security headers that keep it from loading anything from elsewhere, no way out
// of the dist directory, a plain page when the console is not built, and the XenAPI untouched.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { consoleHandler } from '../src/console/static.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

interface Got { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console static files', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  const big = 'console.log("poolnet");\n'.repeat(200);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'poolnet-console-dist-'));
    mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>poolnet</title>');
    writeFileSync(join(dir, 'dist', 'assets', 'index-abc.js'), big);
    writeFileSync(join(dir, 'dist', 'assets', 'style-abc.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'outside the dist directory');
    const onGet = consoleHandler(join(dir, 'dist'));
    server = http.createServer((req, res) => { void onGet(req, res).then((done) => { if (!done) { res.writeHead(404); res.end(); } }); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET / is the page, never cached, with a same-origin-only policy', async () => {
    const r = await get(port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /https?:/, 'no other origin is allowed');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.body.toString(), '<!doctype html><title>poolnet</title>');
    assert.equal((await get(port, '/index.html')).status, 200);
    assert.equal((await get(port, '/?session=x')).status, 200);
  });

  test('assets have their type, are cached for good, and are gzipped when asked', async () => {
    const css = await get(port, '/assets/style-abc.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.match(String(css.headers['cache-control']), /immutable/);
    const js = await get(port, '/assets/index-abc.js', { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(js.body).toString(), big);
    const plain = await get(port, '/assets/index-abc.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), big);
  });

  test('HEAD gives the headers without a body', async () => {
    const r = await get(port, '/', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.ok(Number(r.headers['content-length']) > 0);
  });

  test('nothing outside the dist directory, and nothing else, is served', async () => {
    for (const p of ['/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/secret.txt', '/assets/missing.js', '/assets/', '/assets/%E0%A4%A']) {
      const r = await get(port, p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.body.toString(), /outside/, p);
    }
  });

  test('without a built console, / says how to build it', async () => {
    const onGet = consoleHandler(join(dir, 'nowhere'));
    const s = http.createServer((req, res) => { void onGet(req, res).then((done) => { if (!done) { res.writeHead(404); res.end(); } }); });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const r = await get((s.address() as AddressInfo).port, '/');
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /npm run build:console/);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('console on poolnetd', () => {
  let d: TestDaemon;
  before(async () => { d = await startTestDaemon(); });
  after(async () => { await d.dispose(); });

  test('GET / is the console (or how to build it); POST stays the XenAPI', async () => {
    const page = await fetch(`${d.url}/`);
    assert.ok(page.status === 200 || page.status === 503, String(page.status));
    assert.match(await page.text(), /poolnet console/);
    assert.match(String(page.headers.get('content-security-policy')), /default-src 'self'/);
    assert.equal((await fetch(`${d.url}/nothing-here`)).status, 404);
    const s = await login(d.url);
    assert.ok(((await call(d.url, 'host.get_all', [s])) as string[]).length === 1);
  });
});
