// xe over HTTPS to poolnetd's self-signed certificate: trusted on first use (with a warning),
// silently afterwards, refused when it changes, and pinnable in advance with fingerprint=.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type Daemon } from '../src/daemon/serve.ts';
import { knownServersFile, runXe } from '../src/cli/xe/main.ts';
import { FACTS, ROOT_PASSWORD } from './helpers/daemon.ts';

describe('xe over HTTPS', () => {
  let d: Daemon;
  let dataDir: string;
  let home: string;

  const xe = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runXe(['-s', '127.0.0.1', '-p', String(d.port), '-pw', ROOT_PASSWORD, ...args], {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '',
      readFile: (p) => readFileSync(p, 'utf8'), env: { HOME: home },
    });
    return { code, out, err };
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'xe-tls-'));
    home = mkdtempSync(join(tmpdir(), 'xe-tls-home-'));
    d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: false, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent' });
  });
  after(async () => {
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('trusts the certificate on first use, then without a word', async () => {
    const first = await xe(['pif-list', 'params=device', '--minimal']);
    assert.equal(first.code, 0);
    assert.equal(first.out, 'eth0,eth1,eth2\n');
    assert.equal(first.err, `Warning: trusting the certificate of 127.0.0.1:${d.port} on first use (SHA-256 ${d.fingerprint}); remembered in ${knownServersFile(home)}.\n`);
    assert.equal(readFileSync(knownServersFile(home), 'utf8'), `127.0.0.1:${d.port} ${d.fingerprint}\n`);
    assert.deepEqual(await xe(['pif-list', 'params=device', '--minimal']), { code: 0, out: 'eth0,eth1,eth2\n', err: '' });
  });

  it('refuses a server whose certificate changed, before logging in', async () => {
    writeFileSync(knownServersFile(home), `127.0.0.1:${d.port} 00:11:22\n`);
    const r = await xe(['host-list']);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.ok(r.err.startsWith(`Error: the certificate of 127.0.0.1:${d.port} has changed since it was first trusted.\n`), r.err);
  });

  it('accepts a pinned fingerprint and refuses a wrong one', async () => {
    rmSync(knownServersFile(home), { force: true });
    assert.deepEqual(await xe([`fingerprint=${d.fingerprint}`, 'host-list', 'params=name-label', '--minimal']), { code: 0, out: 'host1\n', err: '' });
    const wrong = await xe(['fingerprint=AB:CD', 'host-list']);
    assert.equal(wrong.code, 1);
    assert.ok(wrong.err.includes('does not match the pinned fingerprint'));
  });
});

describe('xe when the server cannot be reached or read: the real xe\'s texts', () => {
  let home: string;
  before(() => { home = mkdtempSync(join(tmpdir(), 'xe-conn-home-')); });
  after(() => { rmSync(home, { recursive: true, force: true }); });

  const xe = async (port: number, args: string[]) => {
    let out = '';
    let err = '';
    const code = await runXe(['-s', '127.0.0.1', '-p', String(port), '-pw', ROOT_PASSWORD, ...args, 'pif-list'], {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '',
      readFile: (p) => readFileSync(p, 'utf8'), env: { HOME: home },
    });
    return { code, out, err };
  };

  /** A port on this machine that nothing listens on (this test's own, closed again). */
  const closedPort = async (): Promise<number> => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  };

  it('connection refused: the system error over plain TCP, "Unable to contact server" over TLS', async () => {
    const port = await closedPort();
    assert.deepEqual(await xe(port, ['--nossl']), { code: 1, out: '', err: 'Error: Connection refused (calling connect )\n' });
    assert.deepEqual(await xe(port, []), { code: 1, out: '', err: 'Unable to contact server. Please check server and port settings.\n' });
  });

  it('an HTTP answer that is not the API: "Server internal error."', async () => {
    const s = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>not xapi</html>'); });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      assert.deepEqual(await xe((s.address() as AddressInfo).port, ['--nossl']), { code: 1, out: '', err: 'Server internal error.\n' });
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
