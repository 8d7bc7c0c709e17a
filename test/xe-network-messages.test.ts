// The xe commands of issue 11's messages against a fresh poolnetd (runXe in-process):
// network-param-add/remove purpose, network-attach and pool-set-vswitch-controller reach the
// API and change what the API then reports; a conflicting purpose prints xapi's error.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { runXe } from '../src/cli/xe/main.ts';
import { ROOT_PASSWORD, call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

let d: TestDaemon;
let home: string;
let s: string;
beforeEach(async () => { d = await startTestDaemon(); home = mkdtempSync(join(tmpdir(), 'xe-net-')); s = await login(d.url); });
afterEach(async () => { await d.dispose(); rmSync(home, { recursive: true, force: true }); });

async function xe(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await runXe(args, {
    out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '', readFile: (p) => readFileSync(p, 'utf8'),
    env: { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${d.port},nossl=true,password=${ROOT_PASSWORD}` },
  });
  return { code, out, err };
}
const api = (method: string, ...args: unknown[]): Promise<unknown> => call(d.url, method, [s, ...args]);

test('xe network-param-add/remove param-name=purpose, with the conflict refused', async () => {
  const a = (await xe('network-create', 'name-label=a')).out.trim();
  const b = (await xe('network-create', 'name-label=b')).out.trim();
  assert.equal((await xe('network-param-add', `uuid=${a}`, 'param-name=purpose', 'param-key=nbd')).code, 0);
  assert.equal((await xe('network-param-get', `uuid=${a}`, 'param-name=purpose')).out.trim(), 'nbd');
  const refused = await xe('network-param-add', `uuid=${b}`, 'param-name=purpose', 'param-key=insecure_nbd');
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /insecure_nbd/);
  assert.equal((await xe('network-param-remove', `uuid=${a}`, 'param-name=purpose', 'param-key=nbd')).code, 0);
  assert.equal((await xe('network-param-get', `uuid=${a}`, 'param-name=purpose')).out.trim(), '');
});

test('xe network-attach plugs the PIF; xe pool-set-vswitch-controller introduces the controller', async () => {
  const host = ((await api('host.get_all')) as string[])[0];
  const pifs = (await api('PIF.get_all_records')) as Record<string, { device: string; network: string }>;
  const [eth1, rec] = Object.entries(pifs).find(([, p]) => p.device === 'eth1')!;
  await api('PIF.unplug', eth1);
  const netUuid = (await api('network.get_uuid', rec.network)) as string;
  const hostUuid = (await api('host.get_uuid', host)) as string;
  const r = await xe('network-attach', `uuid=${netUuid}`, `host-uuid=${hostUuid}`);
  assert.equal(r.err, '');
  assert.equal(r.code, 0);
  assert.equal(await api('PIF.get_currently_attached', eth1), true);
  const v = await xe('pool-set-vswitch-controller', 'address=10.9.8.7');
  assert.equal(v.err, '');
  const ctl = Object.values((await api('SDN_controller.get_all_records')) as Record<string, { address: string; protocol: string }>);
  assert.deepEqual(ctl.map((c) => [c.protocol, c.address]), [['ssl', '10.9.8.7']]);
});
