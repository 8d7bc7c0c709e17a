// `lab up` makes hosts, joins and VMs side by side: a lab of 4 hosts and 6 VMs (two hosts with
// two VMs) comes up with every host a member of host1's pool (each member's own answer, and the
// master's host list), every VM wired to the host the pool placed it on and reaching every other
// VM, the state file listing hosts and VMs in order; progress was told in counted lines. Then
// `lab down` leaves no namespace, no process and no directory of the lab.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';
import { reachable } from './helpers/pool-lab.ts';

/** Every pid of the machine whose command line names the lab's directory (its daemons are started with it). */
function pidsNaming(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e)); } catch { /* gone */ }
  }
  return out;
}

describe('lab up in parallel: 4 hosts joined, 6 VMs reachable; lab down leaves nothing', { skip: labSkip() }, () => {
  let t: TestLab;
  const told: string[] = [];

  before(async () => {
    t = await startLab({ tag: 'par', hosts: 4, nics: 2, vms: 6, progress: (m) => told.push(m) });
  });
  after(async () => { await t?.dispose(); });

  it('every host is up and in host1\'s pool: members answer HOST_IS_SLAVE naming host1, the master lists 4 hosts', async () => {
    const s = t.state;
    assert.deepEqual(s.hosts.map((h) => h.name), ['host1', 'host2', 'host3', 'host4']);
    const st = await t.lab.status();
    assert.equal(st.hosts.length, 4);
    for (const h of st.hosts) {
      assert.equal(h.poolnetd, true, `${h.name}'s poolnetd runs`);
      if (h.name === 'host1') assert.equal(h.role, 'master');
      else assert.deepEqual({ role: h.role, master: h.role === 'member' ? h.master : '' }, { role: 'member', master: s.hosts[0].ip }, h.name);
    }
    const session = await t.session(1);
    const hosts = (await t.call(1, 'host.get_all_records', [session])) as Record<string, { hostname: string }>;
    assert.deepEqual(Object.values(hosts).map((h) => h.hostname).sort(), ['host1', 'host2', 'host3', 'host4']);
  });

  it('every VM runs where the pool placed it (round robin), wired to that host\'s switch, and reaches every other VM', async () => {
    const s = t.state;
    assert.deepEqual(s.vms.map((v) => v.name), ['vm1', 'vm2', 'vm3', 'vm4', 'vm5', 'vm6']);
    const session = await t.session(1);
    for (const [x, v] of s.vms.entries()) {
      const host = s.hosts[x % 4];
      assert.equal(v.host, host.name);
      const vm = ((await t.call(1, 'VM.get_by_uuid', [session, v.uuid])) as string);
      const resident = (await t.call(1, 'VM.get_resident_on', [session, vm])) as string;
      assert.equal((await t.call(1, 'host.get_hostname', [session, resident])) as string, host.name, `${v.name} resident on ${host.name}`);
      assert.match(t.host(x % 4 + 1, 'ip', ['-br', 'link', 'show', 'dev', v.port]), new RegExp(`^${v.port.replace('.', '\\.')}@`), `${v.port} on ${host.name}`);
    }
    for (const [x, v] of s.vms.entries()) {
      const peer = s.vms[(x + 1) % s.vms.length];
      assert.equal(await reachable(v.ns, peer.ip), true, `${v.name} (${v.host}) reaches ${peer.name} (${peer.host})`);
    }
  });

  it('progress was told as counted lines, ending with every kind complete', () => {
    assert.ok(told.some((m) => /hosts up 4\/4, joined 3\/3, VMs 6\/6/.test(m)), told.join('\n'));
  });

  it('lab down leaves no namespace, no process, no directory of the lab', async () => {
    const dir = t.lab.LAB_DIR;
    const namespaces = t.lab.labNamespaces();
    assert.equal(namespaces.length, 1 + 4 + 6);
    // the processes in the lab's namespaces, each with its namespace: one still alive after
    // down keeps its namespace, so the same link means the same process in the same namespace
    const inodes = new Set(namespaces.map((ns) => `net:[${statSync(`/run/netns/${ns}`).ino}]`));
    const netOf = (pid: string) => { try { return readlinkSync(`/proc/${pid}/ns/net`); } catch { return ''; } };
    const before = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => [p, netOf(p)]).filter(([, n]) => inodes.has(n));
    assert.ok(before.length >= 1 + 4 * 3, `the lab's daemons run before down (${before.length})`);
    const named = pidsNaming(dir);
    await t.dispose();
    assert.deepEqual(t.lab.labNamespaces(), []);
    assert.equal(existsSync(dir), false, `${dir} removed`);
    for (const ns of namespaces) assert.equal(existsSync(`/etc/netns/${ns}`), false, `/etc/netns/${ns} removed`);
    assert.deepEqual(before.filter(([p, n]) => netOf(p) === n), [], 'no process left in a lab namespace');
    assert.deepEqual(named.filter((p) => existsSync(`/proc/${p}`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)), [], 'no process of the lab left');
  });
});
