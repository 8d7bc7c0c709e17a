// xe over HTTPS to poolnetd's self-signed certificate: trusted on first use (with a warning),
// silently afterwards, refused when it changes, and pinnable in advance with fingerprint=.
// On-host, as the real xe (newcli.ml): the server named `127.0.0.1` is reached through the local
// API socket, or when there is none, plain HTTP on the port (80 unless given) — never TLS, --nossl
// or not. Another loopback address (127.0.0.2 here) is another server: TLS.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type Daemon } from '../src/daemon/serve.ts';
import { knownServersFile, runXe } from '../src/cli/xe/main.ts';
import { defaultOptions, portOf, usesTls } from '../src/cli/xe/options.ts';
import { FACTS, ROOT_PASSWORD } from './helpers/daemon.ts';

/** A loopback address that is not the string the real xe takes for this host. */
const OTHER = '127.0.0.2';

describe('xe over HTTPS', () => {
  let d: Daemon;
  let dataDir: string;
  let home: string;

  const xe = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runXe(['-s', OTHER, '-p', String(d.port), '-pw', ROOT_PASSWORD, ...args], {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '',
      readFile: (p) => readFileSync(p, 'utf8'), env: { HOME: home },
    });
    return { code, out, err };
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'xe-tls-'));
    home = mkdtempSync(join(tmpdir(), 'xe-tls-home-'));
    d = await startDaemon({ dataDir, port: 0, bind: OTHER, insecureHttp: false, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent' });
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
    assert.equal(first.err, `Warning: trusting the certificate of ${OTHER}:${d.port} on first use (SHA-256 ${d.fingerprint}); remembered in ${knownServersFile(home)}.\n`);
    assert.equal(readFileSync(knownServersFile(home), 'utf8'), `${OTHER}:${d.port} ${d.fingerprint}\n`);
    assert.deepEqual(await xe(['pif-list', 'params=device', '--minimal']), { code: 0, out: 'eth0,eth1,eth2\n', err: '' });
  });

  it('refuses a server whose certificate changed, before logging in', async () => {
    writeFileSync(knownServersFile(home), `${OTHER}:${d.port} 00:11:22\n`);
    const r = await xe(['host-list']);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.ok(r.err.startsWith(`Error: the certificate of ${OTHER}:${d.port} has changed since it was first trusted.\n`), r.err);
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

  const xe = async (port: number, args: string[], server = OTHER) => {
    let out = '';
    let err = '';
    const code = await runXe(['-s', server, '-p', String(port), '-pw', ROOT_PASSWORD, ...args, 'pif-list'], {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '',
      readFile: (p) => readFileSync(p, 'utf8'), env: { HOME: home },
    });
    return { code, out, err };
  };

  /** A port on this machine that nothing listens on (this test's own, closed again). */
  const closedPort = async (): Promise<number> => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, OTHER, r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  };

  it('connection refused: the system error over plain TCP, "Unable to contact server" over TLS', async () => {
    const port = await closedPort();
    assert.deepEqual(await xe(port, ['--nossl']), { code: 1, out: '', err: 'Error: Connection refused (calling connect )\n' });
    assert.deepEqual(await xe(port, []), { code: 1, out: '', err: 'Unable to contact server. Please check server and port settings.\n' });
    // on-host (and no local socket here): plain TCP without --nossl too
    assert.deepEqual(await xe(port, [], '127.0.0.1'), { code: 1, out: '', err: 'Error: Connection refused (calling connect )\n' });
  });

  it('an HTTP answer that is not the API: "Server internal error."', async () => {
    const s = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>not xapi</html>'); });
    await new Promise<void>((r) => s.listen(0, OTHER, r));
    try {
      assert.deepEqual(await xe((s.address() as AddressInfo).port, ['--nossl']), { code: 1, out: '', err: 'Server internal error.\n' });
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('xe -s 127.0.0.1: this host, as the real xe reaches it', () => {
  let d: Daemon;
  let dataDir: string;
  let home: string;
  let socket: string;

  const xe = async (args: string[], localSocket: string) => {
    let out = '';
    let err = '';
    const code = await runXe(['-s', '127.0.0.1', '-pw', ROOT_PASSWORD, ...args], {
      out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '',
      readFile: (p) => readFileSync(p, 'utf8'), env: { HOME: home }, localSocket,
    });
    return { code, out, err };
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'xe-local-'));
    home = mkdtempSync(join(tmpdir(), 'xe-local-home-'));
    socket = join(dataDir, 'xapi');
    // HTTPS on its port, as poolnetd by default, and plain HTTP on its local socket
    d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: false, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent', unixSocket: socket });
  });
  after(async () => {
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('the rule: never TLS on-host, so port 80 unless given; TLS elsewhere unless --nossl', () => {
    const o = (server: string, nossl = false) => ({ ...defaultOptions(), server, nossl });
    assert.deepEqual([usesTls(o('127.0.0.1')), portOf(o('127.0.0.1'))], [false, 80]);
    assert.deepEqual([usesTls(o('127.0.0.1', true)), portOf(o('127.0.0.1', true))], [false, 80]);
    for (const other of ['localhost', OTHER, '10.77.0.11', '::1']) assert.deepEqual([usesTls(o(other)), portOf(o(other))], [true, 443], other);
    assert.deepEqual([usesTls(o(OTHER, true)), portOf(o(OTHER, true))], [false, 80]);
  });

  it('through the local socket first: the TCP port given is not used at all, no certificate asked', async () => {
    const r = await xe(['-p', '1', '--debug', 'host-list', 'params=name-label', '--minimal'], socket);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'host1\n');
    assert.match(r.err, new RegExp(`Connecting to Unix socket \\[${socket.replace(/[.]/g, '\\.')}\\]`));
    assert.doesNotMatch(r.err, /Connecting via|trusting the certificate/);
    assert.equal(existsSync(knownServersFile(home)), false, 'no certificate remembered');
  });

  it('no local socket: plain HTTP to 127.0.0.1 on the port, --nossl or not (an HTTPS port then fails as plain HTTP)', async () => {
    const absent = join(dataDir, 'absent');
    // a plain-HTTP API on the port: reached without --nossl
    const plainDir = mkdtempSync(join(tmpdir(), 'xe-local-plain-'));
    const plain = await startDaemon({ dataDir: plainDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'silent' });
    try {
      const r = await xe(['-p', String(plain.port), '--debug', 'host-list', 'params=name-label', '--minimal'], absent);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'host1\n');
      assert.match(r.err, new RegExp(`Connecting to Unix socket \\[${absent.replace(/[.]/g, '\\.')}\\]\\n failed\\nConnecting via TCP to \\[127\\.0\\.0\\.1\\] port \\[${plain.port}\\]`));
      assert.doesNotMatch(r.err, /trusting the certificate/);
    } finally {
      await plain.close();
      rmSync(plainDir, { recursive: true, force: true });
    }
    // the HTTPS daemon's port is not spoken TLS to from on-host
    const tlsPort = await xe(['-p', String(d.port), 'host-list'], absent);
    assert.equal(tlsPort.code, 1);
    assert.equal(tlsPort.out, '');
    assert.doesNotMatch(tlsPort.err, /trusting the certificate/);
    console.log(`# plain HTTP to the HTTPS port: ${tlsPort.err.trim()}`);
  });
});
