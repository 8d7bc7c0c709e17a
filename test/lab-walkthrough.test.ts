// The walkthrough a first-time user does after `poolnet lab up`: every command the lab prints
// (src/cli/labhints.ts, what `lab up` writes), run as printed in a shell, on a lab of the test's
// own (its own prefix and directory, which the printed text names, and its own port). Each must
// succeed with sensible output:
// - console and XenAPI: the URL serves the console's page, and the printed password logs in over
//   JSON-RPC and XML-RPC;
// - xe, both ways printed (`poolnet lab xe host-list` and the plain `xe -s ... -pwf FILE`): both
//   hosts listed; then `xe host-set-hostname-live`, and `poolnet lab host-exec host2 hostname`
//   shows the new name (the host's UTS namespace, not the machine's);
// - vm-exec ping, host-exec ovs-vsctl show, lab status (host1 master, host2 a member of it, no
//   "NOT ANSWERING"), and output piped into a reader that has gone: no EPIPE trace;
// - down: nothing of the lab left.
// `poolnet` and `xe` are named in the hints only when the PATH finds this repository's commands
// (scripts/setup.sh links them): the test puts such links first in its PATH, and checks that a
// foreign `xe` makes the hint name bin/xe.mjs instead.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { commandName, labHints } from '../src/cli/labhints.ts';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';

const BIN = fileURLToPath(new URL('../bin', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

describe('the commands poolnet and xe name themselves by', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'poolnet-path-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('our link first in the PATH: the bare name; a foreign xe first, or none: the file that runs', () => {
    const ours = join(dir, 'ours'), foreign = join(dir, 'foreign');
    for (const d of [ours, foreign]) spawnSync('mkdir', ['-p', d]);
    symlinkSync(join(BIN, 'xe.mjs'), join(ours, 'xe'));
    symlinkSync(join(BIN, 'poolnet.mjs'), join(ours, 'poolnet'));
    writeFileSync(join(foreign, 'xe'), '#!/bin/sh\necho a real xe\n');
    chmodSync(join(foreign, 'xe'), 0o755);
    assert.equal(commandName('xe', ours), 'xe');
    assert.equal(commandName('poolnet', `${foreign}:${ours}`), 'poolnet');
    assert.equal(commandName('xe', `${foreign}:${ours}`), join(BIN, 'xe.mjs'), 'a foreign xe earlier in the PATH is never taken for ours');
    assert.equal(commandName('xe', join(dir, 'nowhere')), join(BIN, 'xe.mjs'));
  });
});

describe('lab walkthrough: every command `lab up` prints, as printed', { skip: labSkip() }, () => {
  let t: TestLab;
  let pathDir: string;
  let env: NodeJS.ProcessEnv;
  let hints: string[];

  before(async () => {
    // poolnet and xe as scripts/setup.sh makes them: links to bin/*.mjs, first in the PATH
    pathDir = mkdtempSync(join(tmpdir(), 'poolnet-walk-bin-'));
    symlinkSync(join(BIN, 'poolnet.mjs'), join(pathDir, 'poolnet'));
    symlinkSync(join(BIN, 'xe.mjs'), join(pathDir, 'xe'));
    t = await startLab({ tag: 'wk', hosts: 2, nics: 2, vms: 2, port: await freePort() });
    // the lab's prefix and directory (startLab set them) reach every command through the environment
    env = { ...process.env, PATH: `${pathDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: pathDir };
    hints = labHints(t.state, t.lab.passwordPath(), { poolnet: commandName('poolnet', env.PATH), xe: commandName('xe', env.PATH) });
  });
  after(async () => {
    await t?.dispose();
    rmSync(pathDir, { recursive: true, force: true });
  });

  /** The command a hint line prints (after its label), or its `(or: ...)` alternative. */
  const command = (label: string, alternative = false): string => {
    const line = hints.find((l) => l.trimStart().startsWith(`${label}:`));
    assert.ok(line, `a "${label}:" line in ${JSON.stringify(hints)}`);
    const text = line.slice(line.indexOf(':') + 1).trim();
    const alt = /\(or: (.*)\)\s*$/.exec(text);
    if (alternative) { assert.ok(alt, `an alternative on ${line}`); return alt[1]; }
    return text.replace(/\s+\((?:or: .*|[^)]*)\)\s*$/, '').trim();
  };
  /** Run a printed command in a shell, as a user would paste it. */
  const sh = (cmd: string) => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const ok = (cmd: string) => {
    const r = sh(cmd);
    assert.equal(r.code, 0, `${cmd}\nexit ${String(r.code)}\nstdout: ${r.out}\nstderr: ${r.err}`);
    return r;
  };

  it('prints poolnet and xe by name (the PATH finds ours), and the lab\'s own port and directory', () => {
    const text = hints.join('\n');
    assert.match(text, /^ {2}xe: {7}poolnet lab xe host-list/m);
    assert.match(text, new RegExp(`\\(or: xe -s 127\\.0\\.0\\.1 -p ${t.state.port} --nossl -pwf ${t.lab.passwordPath()} host-list\\)`));
    assert.ok(text.includes(t.state.hosts[0].dir), 'the hosts line names this lab\'s directory');
  });

  it('console and XenAPI: the page is served, the printed password logs in (JSON-RPC and XML-RPC)', async () => {
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(command('console'))![0];
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const password = /password (\S+)/.exec(hints.find((l) => l.trimStart().startsWith('XenAPI:'))!)![1];
    assert.equal(password, t.state.password);
    const json = await (await fetch(`${url}jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', password], id: 1 }) })).json() as { result?: string };
    assert.match(json.result ?? '', /^OpaqueRef:/);
    const xml = await (await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: `<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>${password}</value></param></params></methodCall>` })).text();
    assert.match(xml, /<name>Status<\/name>\s*<value>(?:<string>)?Success/);
  });

  it('xe, both ways printed: both hosts listed', () => {
    for (const cmd of [command('xe'), command('xe', true)]) {
      const r = ok(cmd);
      assert.match(r.out, /name-label \( RW\): host1/, cmd);
      assert.match(r.out, /name-label \( RW\): host2/, cmd);
      assert.equal(r.err, '', cmd);
    }
  });

  it('VMs: the printed ping reaches the other VM', () => {
    const r = ok(command('VMs'));
    assert.match(r.out, /1 received/);
  });

  it('hosts: ovs-vsctl show on host1\'s switch; host2\'s hostname, before and after xe host-set-hostname-live', async () => {
    const show = ok(command('hosts'));
    assert.match(show.out, /Bridge "?xenbr0"?/);
    const hostnameLine = hints.find((l) => /host-exec host2 hostname/.test(l))!;
    const hostnameCmd = hostnameLine.trim().replace(/\s+\(.*\)$/, '');
    assert.equal(ok(hostnameCmd).out.trim(), 'host2');
    // rename through xe as printed (the plain form, with the printed -pwf file)
    const xe = command('xe', true).replace(/ host-list$/, '');
    const uuid = ok(`${xe} host-list name-label=host2 --minimal`).out.trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    ok(`${xe} host-set-hostname-live host-uuid=${uuid} host-name=renamed2`);
    let name = '';
    for (let i = 0; i < 100 && name !== 'renamed2'; i++) { name = ok(hostnameCmd).out.trim(); if (name !== 'renamed2') await sleep(200); }
    assert.equal(name, 'renamed2', 'host-exec shows the host\'s own name');
    assert.notEqual(ok('hostname').out.trim(), 'renamed2', 'the machine keeps its own');
  });

  it('status: host1 the master, host2 a member of it; piped into a reader that has gone: quiet', () => {
    const r = ok(command('status'));
    assert.match(r.out, /^host1 .*poolnetd running {2}master$/m);
    assert.match(r.out, new RegExp(`^host2 .*poolnetd running {2}member \\(of ${t.state.hosts[0].ip.replace(/\./g, '\\.')}\\)$`, 'm'));
    assert.doesNotMatch(r.out, /NOT ANSWERING/);
    // the reader exits at once: poolnet writes into a closed pipe
    for (const cmd of [`${command('status')} | true`, `${command('status')} | head -n1`, `${command('xe')} | true`]) {
      const p = sh(cmd);
      assert.equal(p.code, 0, `${cmd}: exit ${String(p.code)}, ${p.err}`);
      assert.doesNotMatch(p.err, /EPIPE|Error|at /, `${cmd}: nothing on stderr`);
    }
  });

  it('down: nothing of the lab is left', () => {
    const r = ok(command('down'));
    assert.match(r.out, /lab down/);
    assert.deepEqual(t.lab.labNamespaces(), []);
    assert.equal(ok(command('status')).out, 'no lab\n');
  });
});
