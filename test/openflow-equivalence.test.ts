// The agent's OpenFlow connection against ovs-ofctl on a real ovs-vswitchd (userspace datapath,
// a namespace of the test's own): the same desired tables written both ways leave the same
// flows and meters in the switch (dump-flows, normalised); a one-VIF change goes through the
// connection as that VIF's cookie alone; the switch's refusal blames the right VIF; per-flow
// statistics are read back; after ovs-vswitchd restarts, the connection comes back and the whole
// table is written again through it.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { cookieOf, vifFlows, type VifLock } from '../src/agent/ovsflows.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { ovsLayout, waitForPath } from '../src/lab/ovsns.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const skip = switchNsSkipReason();

const uuid = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const mac = (i: number) => `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;

/** A VIF port: its lock, and optionally a rate and trunks. */
function vif(i: number, lock: Omit<VifLock, 'port' | 'vifUuid' | 'mac'>, extra: Partial<PortSpec> = {}): PortSpec {
  return { name: `vif${i}.0`, kind: 'vif', interfaces: [`vif${i}.0`], type: 'internal', vifUuid: uuid(i), lock: { mode: lock.mode, mac: mac(i), ipv4: lock.ipv4, ipv6: lock.ipv6 }, ...extra };
}

/** Every kind of VIF ovsflows.ts writes flows for: locked (v4, v6, both), unlocked, disabled, trunked, rate-limited. */
function desired(change = 0): DesiredHost {
  const ports: PortSpec[] = [
    vif(1, { mode: 'locked', ipv4: [`10.0.0.${1 + change}`], ipv6: [] }),
    vif(2, { mode: 'locked', ipv4: ['10.0.0.2', '192.168.7.2'], ipv6: ['fd00::2', '2001:db8:0:1::abcd'] }),
    vif(3, { mode: 'unlocked', ipv4: [], ipv6: [] }),
    vif(4, { mode: 'disabled', ipv4: [], ipv6: [] }),
    vif(5, { mode: 'locked', ipv4: ['10.0.0.5'], ipv6: ['fe80::5'] }, { trunks: [100, 200] }),
    vif(6, { mode: 'locked', ipv4: ['10.0.0.6'], ipv6: [] }, { rateKbps: 125 }),
    vif(7, { mode: 'unlocked', ipv4: [], ipv6: [] }, { rateKbps: 1000, trunks: [7] }),
    vif(8, { mode: 'locked', ipv4: [], ipv6: ['::ffff:10.0.0.8'] }),
  ];
  return { hostname: 'h', bridges: [{ name: 'br0', ports, externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] };
}

describe('OpenFlow connection vs ovs-ofctl', { skip }, () => {
  let sw: SwitchNs;
  let viaOf: OvsBackend;
  let viaOfctl: OvsBackend;
  let restarted: ChildProcess | undefined;
  const target = () => `unix:${sw.dir}/br0.mgmt`;
  /** dump-flows without statistics, ports by name (a restarted switch may number them anew), sorted: what both ways must leave. */
  const table = () => sw.ofctl('--names', 'dump-flows', '--no-stats', target()).split('\n').map((l) => l.trim()).filter((l) => l.includes('actions=')).sort();
  const meters = () => sw.ofctl('dump-meters', target()).replace(/\s+/g, ' ').trim();
  const ages = (cookie: string) => sw.ofctl('dump-flows', target(), `cookie=${cookie}/-1`).split('\n').filter((l) => l.includes('actions=')).map((l) => Number(/duration=([\d.]+)s/.exec(l)?.[1]));

  before(async () => {
    sw = await startSwitchNs(0, 'ofeq');
    viaOf = switchBackend(sw);
    viaOfctl = switchBackend(sw, { openflow: false });
  });
  after(async () => {
    viaOf?.close(); viaOfctl?.close();
    if (restarted && restarted.exitCode === null) { restarted.kill('SIGTERM'); await new Promise((r) => restarted!.once('exit', r)); }
    await sw?.dispose();
  });

  it('writes the same table and meters as ovs-ofctl', async () => {
    await viaOfctl.apply(desired());
    assert.equal(viaOfctl.writes.openflow, 0);
    assert.ok(viaOfctl.writes.ofctl > 0);
    const byOfctl = table(), metersByOfctl = meters();
    assert.ok(byOfctl.length > 60, `${byOfctl.length} flows`);
    assert.match(metersByOfctl, /meter=\d+ kbps burst/);
    // empty the switch, then the other way
    sw.ofctl('del-flows', target());
    for (const m of metersByOfctl.matchAll(/meter=(\d+)/g)) sw.ofctl('del-meter', target(), `meter=${m[1]}`);
    assert.equal(table().length, 0);
    await viaOf.apply(desired());
    assert.ok(viaOf.connected('br0'), 'the connection is up');
    assert.equal(viaOf.writes.ofctl, 0, 'nothing went through ovs-ofctl');
    assert.equal(viaOf.writes.openflow, 1);
    assert.deepEqual(table(), byOfctl);
    assert.equal(meters(), metersByOfctl);
  });

  it("sends a one-VIF change as that VIF's cookie alone, with the same result as ovs-ofctl", async () => {
    const before1 = ages(cookieOf(uuid(2)));
    await new Promise((r) => setTimeout(r, 1100)); // ages are in whole-ish seconds: let them grow
    const r = await viaOf.apply(desired(10));
    assert.deepEqual(r.filterBridges, ['br0']);
    assert.equal(viaOf.writes.openflow, 2);
    const after1 = ages(cookieOf(uuid(2)));
    assert.equal(after1.length, before1.length);
    assert.ok(after1.every((a, i) => a >= before1[i]), "VIF 2's flows were not rewritten");
    assert.ok(ages(cookieOf(uuid(1))).every((a) => a < 1), "VIF 1's flows are new");
    const viaConnection = table();
    // the same desired table through ovs-ofctl, from a switch as the first write left it
    const fresh = switchBackend(sw, { openflow: false });
    try {
      sw.ofctl('del-flows', target());
      await fresh.apply(desired(10));
      assert.deepEqual(table(), viaConnection);
    } finally { fresh.close(); }
  });

  it('blames the VIF whose flow the switch refuses (a meter it lacks) and quarantines it alone', async () => {
    const d = desired(10);
    const tables = { flows: { br0: [...d.bridges[0].ports.flatMap((p) => p.lock ? vifFlows({ port: p.name, vifUuid: p.vifUuid!, ...p.lock, meter: p.name === 'vif3.0' ? 4242 : undefined }) : [])] }, meters: {} };
    const r = await viaOf.apply(d, tables);
    assert.deepEqual(r.refused.map((x) => x.port), ['vif3.0']);
    assert.match(r.refused[0].reason, /OFPET_METER_MOD_FAILED/);
    const q = sw.ofctl('--names', 'dump-flows', '--no-stats', target(), `cookie=${cookieOf(uuid(3))}/-1`).split('\n').filter((l) => l.includes('actions='));
    assert.equal(q.length, 1);
    assert.match(q[0], /priority=10000,in_port="?vif3\.0"? actions=drop/);
    assert.ok(table().some((l) => l.includes('nw_src=10.0.0.2 ')), 'the other VIFs are in');
    await viaOf.apply(desired(10));
  });

  it("reads each flow's packet count", async () => {
    const stats = await viaOf.flowStats('br0', cookieOf(uuid(1)));
    assert.equal(stats.length, vifFlows({ port: 'vif1.0', vifUuid: uuid(1), mode: 'locked', mac: mac(1), ipv4: ['10.0.0.11'], ipv6: [] }).length);
    assert.ok(stats.every((s) => s.cookie === cookieOf(uuid(1)) && typeof s.packet_count === 'bigint'));
    assert.ok(stats.some((s) => s.match.includes('nw_src=10.0.0.11')), stats.map((s) => s.match).join('\n'));
    // a frame sent from VIF 1's port (an internal port: its device is in the namespace) is counted
    sw.exec('ip', ['link', 'set', 'vif1.0', 'up']);
    sw.exec('ip', ['addr', 'add', '10.0.0.11/24', 'dev', 'vif1.0']);
    sw.exec('ip', ['link', 'set', 'vif1.0', 'address', mac(1)]);
    try { sw.exec('ping', ['-c', '1', '-W', '1', '-I', 'vif1.0', '10.0.0.99']); } catch { /* nobody answers */ }
    const counted = await viaOf.flowStats('br0', cookieOf(uuid(1)));
    assert.ok(counted.some((s) => s.packet_count > 0n), counted.map((s) => `${s.match} ${s.packet_count}`).join('\n'));
  });

  it('comes back after ovs-vswitchd restarts and writes the whole table again through the connection', async () => {
    const want = table();
    let kicked = 0;
    viaOf.watch(() => { kicked++; });
    const l = ovsLayout(sw.dir);
    const pid = Number(readFileSync(join(sw.dir, 'vswitchd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && viaOf.connected('br0'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(!viaOf.connected('br0'), 'the connection saw the switch go');
    restarted = spawn('ip', ['netns', 'exec', sw.ns, ...l.vswitchd], { env: l.env, stdio: 'ignore' });
    await waitForPath(join(sw.dir, 'br0.mgmt'), 'the bridge socket');
    for (let i = 0; i < 400 && !viaOf.connected('br0'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(viaOf.connected('br0'), 'reconnected');
    assert.ok(kicked > 0, 'a pass was asked for');
    const n = viaOf.writes.openflow;
    await viaOf.apply(desired(10));
    assert.equal(viaOf.writes.openflow, n + 1, 'the resync went through the connection');
    assert.deepEqual(table(), want);
  });
});
