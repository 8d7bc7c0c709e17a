// A real poolnetd in this process, on a loopback port, with a temporary data directory
// and fixed host facts (three NICs, management on eth0), for API-level tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon/serve.ts';
import type { HostFacts } from '../../src/db/init.ts';
import type { BackendName } from '../../src/domain/backend.ts';

export const ROOT_PASSWORD = 'test-root-pw';

export const FACTS: HostFacts = {
  hostname: 'host1',
  nics: [
    { device: 'eth0', mac: '02:00:00:00:01:00', mtu: 1500, carrier: true, speed: 1000, ipv4: [{ ip: '10.0.0.11', prefix: 24 }], gateway: '10.0.0.1' },
    { device: 'eth1', mac: '02:00:00:00:01:01', mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '' },
    { device: 'eth2', mac: '02:00:00:00:01:02', mtu: 1500, carrier: false, speed: 0, ipv4: [], gateway: '' },
  ],
  dns: ['10.0.0.1'],
};

export interface TestDaemon extends Daemon {
  readonly url: string;
  readonly dataDir: string;
  /** Stop the daemon and delete its data directory. */
  dispose(): Promise<void>;
}

export async function startTestDaemon(opts: { dataDir?: string; facts?: HostFacts; backend?: BackendName; masterTimeoutMs?: number } = {}): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'poolnet-test-'));
  const d = await startDaemon({
    dataDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: ROOT_PASSWORD,
    facts: opts.facts ?? FACTS, backend: opts.backend, logLevel: 'silent', masterTimeoutMs: opts.masterTimeoutMs,
  });
  return {
    ...d, close: d.close, url: `http://127.0.0.1:${d.port}`, dataDir,
    async dispose() { await d.close(); rmSync(dataDir, { recursive: true, force: true }); },
  };
}

/** POST a raw body; the status, headers and exact body text come back. */
export async function post(url: string, path: string, body: string, contentType = 'text/xml'): Promise<{ status: number; contentType: string | null; body: string }> {
  const r = await fetch(url + path, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  return { status: r.status, contentType: r.headers.get('content-type'), body: await r.text() };
}

/** A JSON-RPC 2.0 call: the result, or throws an Error whose `description` is [CODE, ...params]. */
export async function call(url: string, method: string, params: unknown[]): Promise<unknown> {
  const r = await post(url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }), 'application/json');
  const v = JSON.parse(r.body) as { result?: unknown; error?: { message: string; data: string[] } };
  if (v.error) throw Object.assign(new Error(`${v.error.message} ${JSON.stringify(v.error.data)}`), { description: [v.error.message, ...v.error.data] });
  return v.result;
}

/** A session for `user` (root by default). */
export async function login(url: string, user = 'root', password = ROOT_PASSWORD): Promise<string> {
  return (await call(url, 'session.login_with_password', [user, password])) as string;
}

/** The [CODE, ...params] a call fails with (fails the test if it succeeds). */
export async function failure(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    const d = (e as { description?: string[] }).description;
    if (d) return d;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** A record with its sets sorted: XenAPI sets have no order, and a rolled-back call may reorder one. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  return v;
}
