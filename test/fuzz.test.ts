// Malformed requests never crash the daemon, and each one gets an error answer: HTTP 500
// (parse error) or HTTP 200 with a structured failure. 10,000 generated bodies, split over
// XML-RPC and JSON-RPC, POSTed over keep-alive connections to a running daemon.
//
// Every generated request is bound to fail: it is unparsable, names no method, or carries a
// session reference that does not exist (or a login with a wrong password). The daemon must
// still answer a valid call afterwards.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { jsonBody, utf8, xmlBody, xmlCall } from '../bench/fuzz-inputs.ts';
import { parseMethodResponse } from '../src/api/xmlrpc.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

const RUNS_PER_TRANSPORT = 5_000;
/** Requests in flight at once (each property run posts a batch of this size). */
const BATCH = 8;

// ---------------------------------------------------------------- HTTP

interface Answer { status: number; contentType: string; body: string }

let d: TestDaemon;
let agent: http.Agent;
/** Logged in before the fuzz: its wrong passwords get this address throttled (see login-throttle.test.ts). */
let honest: string;

function postRaw(path: string, body: Uint8Array, contentType: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: d.port, path, method: 'POST', agent,
      headers: { 'Content-Type': contentType, 'Content-Length': body.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The error code of an error answer, or a description of why the answer is not one. */
function classify(isJson: boolean, a: Answer): { ok: true; code: string } | { ok: false; why: string } {
  if (a.status === 500) {
    return a.contentType === 'text/html' && a.body.includes('Parse_error(') ? { ok: true, code: 'HTTP 500' } : { ok: false, why: `500 without a parse error: ${a.contentType}` };
  }
  if (a.status !== 200) return { ok: false, why: `HTTP ${a.status}` };
  if (isJson) {
    if (a.contentType !== 'application/json') return { ok: false, why: `content-type ${a.contentType}` };
    let v: Record<string, unknown>;
    try { v = JSON.parse(a.body) as Record<string, unknown>; } catch { return { ok: false, why: 'unparsable JSON answer' }; }
    const e = v.error as { code?: unknown; message?: unknown; data?: unknown } | unknown[] | null | undefined;
    if (v.jsonrpc === '2.0' && e && !Array.isArray(e) && e.code === 1 && typeof e.message === 'string' && Array.isArray(e.data) && !('result' in v)) return { ok: true, code: e.message };
    if (v.jsonrpc === undefined && v.result === null && Array.isArray(e) && typeof e[0] === 'string') return { ok: true, code: e[0] };
    return { ok: false, why: `not a JSON-RPC error: ${a.body.slice(0, 200)}` };
  }
  if (a.contentType !== 'text/xml') return { ok: false, why: `content-type ${a.contentType}` };
  let v: unknown;
  try { v = parseMethodResponse(a.body); } catch (e) { return { ok: false, why: `unparsable XML answer: ${(e as Error).message}` }; }
  const s = v as { Status?: unknown; ErrorDescription?: unknown };
  if (s.Status === 'Failure' && Array.isArray(s.ErrorDescription) && s.ErrorDescription.length > 0 && s.ErrorDescription.every((x) => typeof x === 'string')) {
    return { ok: true, code: s.ErrorDescription[0] as string };
  }
  return { ok: false, why: `not a Failure: ${a.body.slice(0, 200)}` };
}

// ---------------------------------------------------------------- the runs

before(async () => {
  d = await startTestDaemon();
  agent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
  honest = await login(d.url);
});

after(async () => {
  agent?.destroy();
  await d?.dispose();
});

async function fuzz(isJson: boolean, body: fc.Arbitrary<Uint8Array>, paths: fc.Arbitrary<string>, contentType: fc.Arbitrary<string>): Promise<Map<string, number>> {
  const codes = new Map<string, number>();
  const request = fc.record({ body, path: paths, contentType });
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (reqs) => {
      const answers = await Promise.all(reqs.map((r) => postRaw(r.path, r.body, r.contentType)));
      answers.forEach((a, i) => {
        const c = classify(isJson, a);
        if (!c.ok) throw new Error(`${c.why}\nrequest to ${reqs[i].path}: ${Buffer.from(reqs[i].body).toString('utf8').slice(0, 300)}`);
        codes.set(c.code, (codes.get(c.code) ?? 0) + 1);
      });
    }),
    { numRuns: RUNS_PER_TRANSPORT / BATCH, includeErrorInReport: true },
  );
  return codes;
}

const summary = (codes: Map<string, number>): string => [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}: ${n}`).join(', ');

test(`${RUNS_PER_TRANSPORT} malformed XML-RPC bodies each get an error answer`, async (t) => {
  const codes = await fuzz(false, xmlBody, fc.constantFrom('/', '/RPC2', '/xmlrpc', '/json', '/anything?x=1'), fc.constantFrom('text/xml', 'application/xml', 'application/json', ''));
  assert.equal([...codes.values()].reduce((a, b) => a + b, 0), RUNS_PER_TRANSPORT);
  t.diagnostic(summary(codes));
});

test(`${RUNS_PER_TRANSPORT} malformed JSON-RPC bodies each get an error answer`, async (t) => {
  const codes = await fuzz(true, jsonBody, fc.constantFrom('/jsonrpc', '/jsonrpc?x=1'), fc.constantFrom('application/json', 'text/xml', ''));
  assert.equal([...codes.values()].reduce((a, b) => a + b, 0), RUNS_PER_TRANSPORT);
  t.diagnostic(summary(codes));
});

test('the daemon still answers valid calls, on both transports', async () => {
  const networks = (await call(d.url, 'network.get_all', [honest])) as string[];
  assert.equal(networks.length, 3); // the fuzz created nothing
  const xml = await postRaw('/', utf8(xmlCall('network.get_all', [`<value>${honest}</value>`])), 'text/xml');
  assert.equal(xml.status, 200);
  const v = parseMethodResponse(xml.body) as { Status: string; Value: string[] };
  assert.equal(v.Status, 'Success');
  assert.deepEqual([...v.Value].sort(), [...networks].sort());
  // no session leaked from the fuzz: only the one made before it
  assert.equal(d.db.count('session'), 1);
});
