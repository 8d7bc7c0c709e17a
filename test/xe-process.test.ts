// The installed `xe` (bin/xe.mjs) as a real process: stdout, stderr and exit codes, the
// precedence of ~/.xe, XE_EXTRA_ARGS and the command line, and bash completion end to end.
// Spawns are few on purpose (each costs about half a second).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ROOT_PASSWORD, call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

const XE = fileURLToPath(new URL('../bin/xe.mjs', import.meta.url));

interface Run { code: number | null; out: string; err: string }

function run(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('xe as a process', () => {
  let d: TestDaemon;
  let home: string;
  let bin: string;
  let pifs: string[];

  before(async () => {
    d = await startTestDaemon();
    home = mkdtempSync(join(tmpdir(), 'xe-proc-home-'));
    bin = mkdtempSync(join(tmpdir(), 'xe-proc-bin-'));
    symlinkSync(XE, join(bin, 'xe'));
    const s = await login(d.url);
    pifs = Object.values((await call(d.url, 'PIF.get_all_records', [s])) as Record<string, { uuid: string }>).map((p) => p.uuid);
  });
  after(async () => {
    await d.dispose();
    rmSync(home, { recursive: true, force: true });
    rmSync(bin, { recursive: true, force: true });
  });

  it('takes ~/.xe, then XE_EXTRA_ARGS, then the command line', async () => {
    // ~/.xe: a wrong port and password, and minimal=true for the command
    writeFileSync(join(home, '.xe'), `server=127.0.0.1\nport=1\nnossl=true\npassword=wrong\nminimal=true\n`);
    const env = { HOME: home, XE_EXTRA_ARGS: `port=${d.port},password=${ROOT_PASSWORD}` };
    // XE_EXTRA_ARGS overrides the file's port and password; the file's minimal=true still applies
    assert.deepEqual(await run(XE, ['network-list', 'params=bridge'], env), { code: 0, out: 'xenbr0,xenbr1,xenbr2\n', err: '' });
    // the command line overrides both: a wrong password, and minimal=false before the file's
    assert.deepEqual(await run(XE, ['network-list', 'params=bridge', '-pw', 'nope'], env), { code: 1, out: '', err: "Authentication failed\nFor usage run: 'xe help'\n" });
    const table = await run(XE, ['pif-list', 'device=eth0', 'params=device', 'minimal=false'], env);
    assert.deepEqual(table, { code: 0, out: 'device ( RO)    : eth0\n\n\n', err: '' });
  });

  it('prints errors on stderr with exit code 1, usage with exit code 0', async () => {
    const env = { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${d.port},nossl=true,password=${ROOT_PASSWORD}` };
    assert.deepEqual(await run(XE, ['network-param-list', 'uuid=1234'], env), { code: 1, out: '', err: 'The uuid you supplied was invalid.\ntype: network\nuuid: 1234\n' });
    // (a ~/.xe with command arguments would count as arguments: use a home without one)
    const usage = await run(XE, [], { HOME: bin });
    assert.equal(usage.code, 0);
    assert.equal(usage.out, '');
    assert.ok(usage.err.startsWith('Usage:\n  xe <command>\n'));
  });

  it('completes uuids through the bash script of `xe completion bash`', async () => {
    writeFileSync(join(home, '.xe'), `server=127.0.0.1\nport=${d.port}\nnossl=true\npassword=${ROOT_PASSWORD}\n`);
    const script = [
      'eval "$(xe completion bash)"',
      // bash splits `uuid=` into the words `uuid` and `=`: the script must keep only what follows
      'COMP_LINE="xe pif-param-list uuid="; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(xe pif-param-list uuid =); COMP_CWORD=3',
      '_xe_complete; printf "%s|\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = await run('bash', ['-c', script], { HOME: home, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').sort(), pifs.map((u) => `=${u} |`).sort());
  });
});
