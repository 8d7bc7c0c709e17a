// The host OS step reads addresses and default routes in one `ip -batch` process: the same as the
// two reads apart, in a namespace of the test's own; and its parser takes nothing but the answers asked for.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseBatchJson } from '../src/agent/ipbatch.ts';
import { nsSkipReason, plainNs } from './helpers/netns.ts';

describe('HostOs.read', () => {
  const n = plainNs('pnhread');
  const skip = nsSkipReason();
  after(() => { if (!skip) n.del(); });

  it('one process: the addresses and default routes the two reads apart give', { skip }, () => {
    n.add();
    n.addHostNic();
    const out = n.runTs(`
      import("./src/agent/hostos.ts").then(async (m) => {
        const { execFileSync } = await import("node:child_process");
        const os = new m.HostOs({ stateDir: "/nonexistent", manageDns: false });
        const read = await os.read();
        const apart = { links: await os.links(), routes: JSON.parse(execFileSync("ip", ["-j", "route", "show", "default"], { encoding: "utf8" })) };
        console.log(JSON.stringify([read, apart]));
      })`);
    assert.equal(out.status, 0, out.stderr);
    const [read, apart] = JSON.parse(out.stdout.trim()) as [{ links: { ifname: string; addr_info: { local: string }[] }[]; routes: { gateway: string; dev: string }[] }, unknown];
    assert.deepEqual(read, apart);
    assert.deepEqual(read.links.map((l) => l.ifname).sort(), ['eth5', 'eth6', 'lo']);
    assert.ok(read.links.find((l) => l.ifname === 'eth5')?.addr_info.some((a) => a.local === '192.0.2.5'));
    assert.deepEqual(read.routes.map((r) => [r.gateway, r.dev]), [['192.0.2.1', 'eth5']]);
  });

  it('the parser: exactly the answers asked for, each JSON', () => {
    assert.deepEqual(parseBatchJson('[{"a":1}]\n[]\n', 2), [[{ a: 1 }], []]);
    assert.equal(parseBatchJson('[{"a":1}]\n', 2), undefined);
    assert.equal(parseBatchJson('[]\n[]\n[]\n', 2), undefined);
    assert.equal(parseBatchJson('[]\n[{"a"\n', 2), undefined);
    assert.equal(parseBatchJson('', 2), undefined);
  });
});
