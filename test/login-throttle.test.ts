// Password logins under attack (issue 16): guesses are throttled per user name and per address
// with a growing delay and a pool message; an address that logged in before is not locked out
// by guesses from elsewhere; hashing does not stop the event loop; unknown user names take as
// long to refuse as known ones. Real daemon, real sockets from distinct loopback addresses.

import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startDaemon, type Daemon, type ServeOptions } from '../src/daemon/serve.ts';
import { FACTS, ROOT_PASSWORD } from './helpers/daemon.ts';

interface D extends Daemon { dispose(): Promise<void> }
const started: D[] = [];
after(async () => { for (const d of started) await d.dispose(); });

async function start(o: Partial<ServeOptions> = {}): Promise<D> {
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-throttle-'));
  const d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent', ...o });
  let gone = false;
  const t: D = { ...d, close: d.close, async dispose() { if (gone) return; gone = true; await d.close(); rmSync(dataDir, { recursive: true, force: true }); } };
  started.push(t);
  return t;
}

/** A JSON-RPC call from a chosen loopback address: [code, ...params] of a failure, or the result. */
function rpc(d: D, method: string, params: unknown[], from = '127.0.0.1'): Promise<{ error?: string[]; result?: unknown }> {
  const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: d.port, path: '/jsonrpc', method: 'POST', localAddress: from, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data: string[] } };
        resolve(v.error ? { error: [v.error.message, ...v.error.data] } : { result: v.result });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const login = (d: D, user: string, pw: string, from?: string) => rpc(d, 'session.login_with_password', [user, pw], from);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const throttled = (r: { error?: string[] }) => r.error?.[0] === 'SESSION_AUTHENTICATION_FAILED' && /Too many failed logins/.test(r.error[2] ?? '');

describe('throttling', () => {
  test('after 5 wrong passwords a user name is throttled, even with the right password, and a pool message says so; the delay passes', async () => {
    const d = await start({ loginThrottle: { baseDelayMs: 1_500 } });
    for (let i = 0; i < 5; i++) {
      const r = await login(d, 'root', 'guess', '127.0.0.2');
      assert.deepEqual(r.error, ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure'], `guess ${i + 1}`);
    }
    // the right password, from an address that never logged in: refused without being checked
    assert.ok(throttled(await login(d, 'root', ROOT_PASSWORD, '127.0.0.3')), 'the 6th attempt was not throttled');
    const msgs = [...d.db.all('message')].filter((m) => m.rec.name === 'LOGIN_THROTTLED');
    assert.equal(msgs.length, 1);
    assert.match(msgs[0].rec.body as string, /user name "root"/);
    await sleep(1_700);
    assert.match(String((await login(d, 'root', ROOT_PASSWORD, '127.0.0.3')).result), /^OpaqueRef:/);
  });

  test('one address guessing many user names is throttled as an address; other addresses are not', async () => {
    const d = await start({ loginThrottle: { freePerAddress: 10, baseDelayMs: 60_000 } });
    for (let i = 0; i < 10; i++) assert.equal((await login(d, `user${i}`, 'guess', '127.0.0.4')).error?.[0], 'SESSION_AUTHENTICATION_FAILED');
    assert.ok(throttled(await login(d, 'root', ROOT_PASSWORD, '127.0.0.4')), 'the address was not throttled');
    assert.match(String((await login(d, 'root', ROOT_PASSWORD, '127.0.0.5')).result), /^OpaqueRef:/);
    assert.ok([...d.db.all('message')].some((m) => m.rec.name === 'LOGIN_THROTTLED' && /address 127\.0\.0\.4/.test(m.rec.body as string)));
  });

  test('guesses from elsewhere do not lock out an address that logged in as that user before; the delay grows', async () => {
    const d = await start({ loginThrottle: { baseDelayMs: 3_000, refusalDelayMs: 0 } });
    assert.ok((await login(d, 'root', ROOT_PASSWORD, '127.0.0.6')).result);
    for (let i = 0; i < 5; i++) assert.equal((await login(d, 'root', 'guess', '127.0.0.7')).error?.[2], 'Authentication failure');
    const first = await login(d, 'root', 'guess', '127.0.0.7');
    assert.ok(throttled(first), 'not throttled after 5 failures');
    assert.ok(throttled(await login(d, 'root', ROOT_PASSWORD, '127.0.0.8')), 'a new address got through while root is throttled');
    assert.match(String((await login(d, 'root', ROOT_PASSWORD, '127.0.0.6')).result), /^OpaqueRef:/, 'the address that logged in before was locked out');
    await sleep(3_200);
    assert.equal((await login(d, 'root', 'guess', '127.0.0.7')).error?.[2], 'Authentication failure'); // checked again, and failed
    const second = await login(d, 'root', 'guess', '127.0.0.7');
    const wait = (r: { error?: string[] }) => Number(/in (\d+) s/.exec(r.error?.[2] ?? '')?.[1]);
    assert.ok(wait(second) > wait(first), `the delay went from ${wait(first)} s to ${wait(second)} s`);
  });
});

describe('hashing', () => {
  test('password checks do not block the event loop', async () => {
    const d = await start({ loginThrottle: { freePerUser: 1_000, freePerAddress: 1_000 } });
    await login(d, 'root', 'guess'); // warm up
    // the share of the time during 8 checks at once that the event loop could not run a 5 ms
    // timer for more than 30 ms: a hash on the event loop (about 50 ms here) stops it all along
    const t0 = performance.now();
    let last = t0;
    let stalled = 0;
    const tick = setInterval(() => { const now = performance.now(); if (now - last > 30) stalled += now - last; last = now; }, 5);
    await Promise.all(Array.from({ length: 8 }, (_, i) => login(d, 'root', `guess${i}`, `127.0.1.${i + 1}`)));
    clearInterval(tick);
    const share = stalled / (performance.now() - t0);
    assert.ok(share < 0.4, `the event loop was stalled ${(share * 100).toFixed(0)}% of the time`);
  });

  test('an unknown user name is refused in about the time of a known one', async () => {
    const d = await start({ loginThrottle: { freePerUser: 1_000, freePerAddress: 1_000 } });
    const s = String((await login(d, 'root', ROOT_PASSWORD)).result);
    assert.ok((await rpc(d, 'subject.create_local_user', [s, 'alice', 'alice-pw', ['read-only']])).result);
    const median = async (user: string): Promise<number> => {
      const ts: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        assert.equal((await login(d, user, 'wrong')).error?.[0], 'SESSION_AUTHENTICATION_FAILED');
        ts.push(performance.now() - t0);
      }
      return ts.sort((a, b) => a - b)[5];
    };
    const known = await median('alice');
    const unknown = await median('mallory');
    assert.ok(unknown >= 0.3 * known, `unknown user: ${unknown.toFixed(1)} ms, known user: ${known.toFixed(1)} ms`);
  });
});
