// xe over HTTPS to poolnetd's self-signed certificate: trusted on first use (with a warning),
// silently afterwards, refused when it changes, and pinnable in advance with fingerprint=.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
