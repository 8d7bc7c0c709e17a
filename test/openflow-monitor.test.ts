// The OpenFlow 1.4 flow monitor (src/agent/openflow/monitor.ts) that finds drift without reading
// tables back:
//  1. codec: the request is what `ovs-ofctl ofp-print` reads as "add, delete, modify of every
//     flow"; replies ofp-print reads as ADDED / ABBREV / PAUSED are parsed as such; truncated and
//     hostile replies are refused, and over a connection (a peer of the test's own) they end it,
//     never the process;
//  2. on a real switch: the agent's own bundles are not reported (the switch abbreviates them); an `ovs-ofctl add-flow`,
//     `del-flows` or `mod-flows` by someone else is, for that bridge alone, and the next apply
//     restores the table (compared with dump-flows); a write of the agent's own through ovs-ofctl
//     (its fallback) is not reported either;
//     after ovs-vswitchd restarts, the table is written whole again and a new monitor watches it;
//  3. while the monitor is up, drift() runs no ovs-ofctl (the backend's count of processes), and
//     with the monitor off it runs one per bridge, as before.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { cookieOf, type VifLock } from '../src/agent/ovsflows.ts';
import type { OvsBackend } from '../src/agent/ovs.ts';
import { Agent } from '../src/agent/agent.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { OfConnection, OfTransportError } from '../src/agent/openflow/conn.ts';
import { FlowMonitor, flowMonitorRequest, OFPFMF, parseFlowUpdates, type FlowUpdate } from '../src/agent/openflow/monitor.ts';
import { writeTable } from '../src/agent/openflow/tables.ts';
import { ovsLayout, waitForPath } from '../src/lab/ovsns.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const noOfctl = spawnSync('ovs-ofctl', ['--version']).status === 0 ? false : 'needs ovs-ofctl (Debian openvswitch-common)';
const skip = switchNsSkipReason();

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** ovs-ofctl's reading of message bytes, without the xid. */
const ofpPrint = (msg: Buffer): string => spawnSync('ovs-ofctl', ['ofp-print', msg.toString('hex')], { encoding: 'utf8' }).stdout.trim().replace(/ \(xid=0x[0-9a-f]+\)/, '');
/** A flow monitor reply (xid 0, as the switch sends updates) around `body`. */
const reply = (body: Buffer): Buffer => {
  const h = Buffer.alloc(16);
  h.writeUInt8(5, 0); h.writeUInt8(19, 1); h.writeUInt16BE(16 + body.length, 2); h.writeUInt16BE(16, 8);
  return Buffer.concat([h, body]);
};
const ADDED = '0028 0001 00 00 0000 0000 0064 00000000 0000000000000005 0001 000c 80000004 00000003 00000000';
const ABBREV = '0008 0004 00000009';
const PAUSED = '0008 0005 00000000';

async function until<T>(f: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('flow monitor codec', { skip: noOfctl }, () => {
  it('encodes the request ovs-ofctl reads as add, delete and modify of every flow in every table', () => {
    assert.equal(ofpPrint(flowMonitorRequest(7, 3)), 'OFPST_FLOW_MONITOR request (OF1.4):\n id=3 flags=add,delete,modify');
    // and ONLY_OWN is what Open vSwitch calls "own" (abbreviate the connection's own changes): not asked for
    assert.equal(ofpPrint(flowMonitorRequest(7, 3, OFPFMF.ADD | OFPFMF.ONLY_OWN)), 'OFPST_FLOW_MONITOR request (OF1.4):\n id=3 flags=add,own');
  });

  it('reads the updates ovs-ofctl reads from the same bytes', () => {
    const body = hex(ADDED + ABBREV + PAUSED);
    assert.equal(ofpPrint(reply(body)), 'OFPST_FLOW_MONITOR reply (OF1.4):\n event=ADDED table=0 cookie=0x5 in_port=3\n event=ABBREV xid=0x9\n event=PAUSED');
    assert.deepEqual(parseFlowUpdates(body), [
      { event: 'added', table: 0, reason: 0, priority: 100, cookie: 5n },
      { event: 'abbrev', xid: 9 },
      { event: 'paused' },
    ] satisfies FlowUpdate[]);
    assert.deepEqual(parseFlowUpdates(Buffer.alloc(0)), []);
  });

  it('refuses truncated and hostile replies', () => {
    const bad: [string, string][] = [
      ['4 bytes', '0008 0004'],
      ['length 0', '0000 0004 00000000'],
      ['length not a multiple of 8', '000c 0004 00000000 00000000'],
      ['length past the body', '0010 0004 00000009'],
      ['unknown event', '0008 0007 00000000'],
      ['abbrev of 16 bytes', '0010 0004 00000009 00000000 00000000'],
      ['full update too short for its match', '0018 0001 00 00 0000 0000 0064 00000000 0000000000000005'],
      ['match length past the update', '0020 0001 00 00 0000 0000 0064 00000000 0000000000000005 0001 0040 00000000'],
      ['match length under its header', '0020 0001 00 00 0000 0000 0064 00000000 0000000000000005 0001 0002 00000000'],
      ['a match not OXM', '0020 0001 00 00 0000 0000 0064 00000000 0000000000000005 0000 0004 00000000'],
      ['a good update then garbage', `${ABBREV} ffff`],
    ];
    for (const [what, bytes] of bad) assert.throws(() => parseFlowUpdates(hex(bytes)), RangeError, what);
  });
});

const HELLO14 = hex('05000010000000000001000800000020');

/** Reads whole OpenFlow messages from a socket. */
function messages(s: Socket, on: (type: number, xid: number) => void): void {
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
      on(buf[1], buf.readUInt32BE(4));
      buf = buf.subarray(buf.readUInt16BE(2));
    }
  });
}

describe('flow monitor: hostile peers', () => {
  let dir: string;
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'poolnet-ofmon-')); });
  after(() => { for (const s of sockets) s.destroy(); for (const s of servers) s.close(); rmSync(dir, { recursive: true, force: true }); });
  /** A peer that says HELLO, answers the monitor request (type 18) with `answer`, then sends `then`. */
  const peer = (name: string, answer: (xid: number) => Buffer, then?: Buffer): Promise<string> => {
    const path = join(dir, name);
    const server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      s.write(HELLO14);
      messages(s, (type, xid) => {
        if (type === 18) { s.write(answer(xid)); if (then) setTimeout(() => s.write(then), 20); }
        if (type === 20) s.write(Buffer.from([5, 21, 0, 8, xid >>> 24, (xid >>> 16) & 255, (xid >>> 8) & 255, xid & 255]));
      });
    });
    servers.push(server);
    return new Promise((resolve) => server.listen(path, () => resolve(path)));
  };
  const withXid = (m: Buffer, xid: number) => { const b = Buffer.from(m); b.writeUInt32BE(xid, 4); return b; };

  it('reports a full update and a pause from the peer, ignores an abbreviated one', async () => {
    const path = await peer('good', (x) => withXid(reply(Buffer.alloc(0)), x), Buffer.concat([reply(hex(ABBREV)), reply(hex(ADDED + PAUSED))]));
    const c = await OfConnection.open(path, 1_000);
    const seen: FlowUpdate[] = [];
    const m = await FlowMonitor.start(c, (u) => seen.push(u), 1_000);
    await until(() => seen.length > 1, 2_000, 'the updates');
    assert.deepEqual(seen.map((u) => u.event), ['added', 'paused']);
    assert.deepEqual(m.counts, { ignored: 1, drift: 2 });
    assert.ok(m.up);
    c.close();
  });

  it('a malformed reply to the request ends the connection; start() fails with a transport error', async () => {
    const path = await peer('bad-reply', (x) => withXid(reply(hex('0010 0004 00000009')), x));
    const c = await OfConnection.open(path, 1_000);
    let ended: Error | undefined;
    c.onClose = (e) => { ended = e; };
    await assert.rejects(FlowMonitor.start(c, () => undefined, 1_000), (e: unknown) => e instanceof OfTransportError);
    assert.equal(c.open, false);
    assert.ok(ended instanceof OfTransportError);
  });

  it('a malformed update later ends the connection (it then reconnects and resyncs), never the process', async () => {
    for (const [i, bytes] of ['0008 0009 00000000', '0020 0001 00 00 0000 0000 0064 00000000 0000000000000005 0001 00ff 00000000', '0008 0004'].entries()) {
      // also a multipart header cut short: 12 bytes of a reply
      const then = i === 2 ? hex('0513000c 00000000 0010 0000') : reply(hex(bytes));
      const path = await peer(`bad-update-${i}`, (x) => withXid(reply(Buffer.alloc(0)), x), then);
      const c = await OfConnection.open(path, 1_000);
      let ended: Error | undefined;
      c.onClose = (e) => { ended = e; };
      const seen: FlowUpdate[] = [];
      await FlowMonitor.start(c, (u) => seen.push(u), 1_000);
      await until(() => ended, 2_000, `the connection to end (${i})`);
      assert.equal(c.open, false);
      assert.deepEqual(seen, []);
    }
  });
});

/** A VIF uuid (the switch's ports carry only well-formed ones). */
const uuid = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lock = (i: number, ipv4: string[]): VifLock => ({ port: `vif${i}.0`, vifUuid: uuid(i), mac: `02:00:00:00:00:0${i}`, mode: 'locked', ipv4, ipv6: [] });
const vifPort = (l: VifLock): PortSpec => ({ name: l.port, kind: 'vif', interfaces: [l.port], type: 'internal', vifUuid: l.vifUuid, lock: { mode: l.mode, mac: l.mac, ipv4: l.ipv4, ipv6: l.ipv6 } });
/** Two bridges with two locked VIFs each. */
function host(ip1 = '10.0.0.1'): DesiredHost {
  return {
    hostname: 'h', interfaces: [], devices: [],
    bridges: [
      { name: 'br0', ports: [vifPort(lock(1, [ip1])), vifPort(lock(2, ['10.0.0.2']))], externalIds: {}, mcastSnooping: false },
      { name: 'br1', ports: [vifPort(lock(3, ['10.0.1.3'])), vifPort(lock(4, ['10.0.1.4']))], externalIds: {}, mcastSnooping: false },
    ],
  };
}

describe('flow monitor on a real switch', { skip }, () => {
  let sw: SwitchNs;
  let ovs: OvsBackend;
  let asked = 0;
  let restarted: ChildProcess | undefined;
  const target = (br: string) => `unix:${sw.dir}/${br}.mgmt`;
  /** A bridge's flows as dump-flows prints them, without statistics, sorted. */
  const table = (br: string) => sw.ofctl('dump-flows', '--no-stats', target(br)).split('\n').filter((l) => l.includes('actions=')).map((l) => l.trim()).sort().join('\n');

  before(async () => {
    sw = await startSwitchNs(0, 'ofmon');
    ovs = switchBackend(sw);
  });
  after(async () => {
    ovs?.close();
    if (restarted && restarted.exitCode === null) { restarted.kill('SIGTERM'); await new Promise((r) => restarted!.once('exit', r)); }
    await sw?.dispose();
  });

  it('monitors each bridge; the agent\'s own bundles are not reported, and drift() then runs no ovs-ofctl', async () => {
    await ovs.apply(host());
    assert.ok(ovs.monitored('br0') && ovs.monitored('br1'), 'a monitor on each bridge');
    // the first check after a monitor starts still reads each table back (what changed before it)
    let n = ovs.spawned.ofctl;
    assert.deepEqual(await ovs.drift(host()), []);
    assert.equal(ovs.spawned.ofctl - n, 2, 'one diff-flows per bridge, once');
    ovs.watch(() => { asked++; });
    // a change of the agent's own (one VIF's flows, one bundle; the repairs below are whole-table bundles)
    await ovs.apply(host('10.0.0.11'));
    assert.match(table('br0'), /nw_src=10\.0\.0\.11/);
    await new Promise((r) => setTimeout(r, 500));
    n = ovs.spawned.ofctl;
    for (let i = 0; i < 5; i++) assert.deepEqual(await ovs.drift(host('10.0.0.11')), []);
    assert.equal(ovs.spawned.ofctl, n, 'no ovs-ofctl while the monitor is up');
    assert.equal(asked, 0, 'no pass asked for');
  });

  for (const [what, tamper] of [
    ['add-flow', () => sw.ofctl('add-flow', target('br1'), 'priority=60000,dl_src=02:00:00:00:00:99,actions=NORMAL')],
    ['del-flows', () => sw.ofctl('del-flows', target('br1'), `cookie=${cookieOf(uuid(3))}/-1`)],
    ['mod-flows', () => sw.ofctl('mod-flows', target('br1'), `cookie=${cookieOf(uuid(4))}/-1,actions=NORMAL`)],
  ] as const) {
    it(`reports an ${what} by someone else on that bridge alone, and apply restores its table`, async () => {
      const want = host('10.0.0.11');
      const before1 = table('br1'), before0 = table('br0');
      const was = asked;
      tamper();
      assert.notEqual(table('br1'), before1, `${what} changed the table`);
      await until(() => asked > was, 20_000, 'a pass asked for');
      const n = ovs.spawned.ofctl;
      assert.deepEqual(await ovs.drift(want), ['br1']);
      assert.equal(ovs.spawned.ofctl, n, 'known from the monitor, not read back');
      const r = await ovs.apply(want);
      assert.deepEqual(r.filterBridges, ['br1']);
      assert.equal(table('br1'), before1, 'br1 restored');
      assert.equal(table('br0'), before0, 'br0 untouched');
      // the repair itself (a whole-table bundle) is the agent's own: nothing more reported
      const after = asked;
      await new Promise((res) => setTimeout(res, 300));
      assert.deepEqual(await ovs.drift(want), []);
      assert.equal(asked, after);
    });
  }

  it('on a raw connection: own bundles unreported, ovs-ofctl reported, an ovs-ofctl write in quiet() not', async () => {
    const c = await OfConnection.open(join(sw.dir, 'br1.mgmt'));
    try {
      const seen: FlowUpdate[] = [];
      const m = await FlowMonitor.start(c, (u) => seen.push(u));
      await writeTable(c, new Map([['0x77', 'cookie=0x77,priority=5,dl_src=02:00:00:00:00:77,actions=drop']]), ['0x77']);
      // the switch names the connection's own change in an abbreviated update (ignored)
      await until(() => m.counts.ignored > 0, 10_000, 'the abbreviated update of the own bundle');
      const own = m.counts.ignored;
      sw.ofctl('add-flow', target('br1'), 'cookie=0x78,priority=5,dl_src=02:00:00:00:00:78,actions=drop');
      await until(() => seen.length > 0, 10_000, 'the update');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen.map((u) => [u.event, 'cookie' in u ? u.cookie : undefined]), [['added', 0x78n]]);
      await m.quiet(async () => { sw.ofctl('del-flows', target('br1'), 'cookie=0x78/-1'); });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(seen.length, 1, 'a write in quiet() is not reported');
      assert.ok(m.counts.ignored > own, 'its update came, and was ignored');
    } finally { c.close(); }
  });

  it('after ovs-vswitchd restarts: the whole table again (the resync), a new monitor, and drift found again', async () => {
    const want = host('10.0.0.11');
    // the test before wrote br1 behind the backend's back: reported, and repaired
    assert.deepEqual(await ovs.drift(want), ['br1']);
    await ovs.apply(want);
    const before1 = table('br1');
    assert.doesNotMatch(before1, /cookie=0x77/);
    const l = ovsLayout(sw.dir);
    process.kill(Number(readFileSync(join(sw.dir, 'vswitchd.pid'), 'utf8').trim()), 'SIGTERM');
    await until(() => !ovs.connected('br1'), 10_000, 'the connection to see the switch go');
    assert.ok(!ovs.monitored('br1'));
    restarted = spawn('ip', ['netns', 'exec', sw.ns, ...l.vswitchd], { env: l.env, stdio: 'ignore' });
    await waitForPath(join(sw.dir, 'br1.mgmt'), 'the bridge socket');
    await until(() => ovs.connected('br1'), 20_000, 'the connection back');
    await ovs.apply(want);
    assert.equal(table('br1'), before1, 'the whole table written again');
    assert.ok(ovs.monitored('br0') && ovs.monitored('br1'), 'a monitor on each new connection');
    // the first check after the new monitor reads back once (what happened in between), then not
    let n = ovs.spawned.ofctl;
    assert.deepEqual(await ovs.drift(want), []);
    assert.equal(ovs.spawned.ofctl - n, 2);
    const was = asked;
    sw.ofctl('del-flows', target('br1'), `cookie=${cookieOf(uuid(3))}/-1`);
    await until(() => asked > was, 20_000, 'a pass asked for');
    n = ovs.spawned.ofctl;
    assert.deepEqual(await ovs.drift(want), ['br1']);
    assert.equal(ovs.spawned.ofctl, n);
    await ovs.apply(want);
    assert.equal(table('br1'), before1);
  });

  it('with the monitor off, drift() reads each table back on every call, as before', async () => {
    const off = switchBackend(sw, { flowMonitor: false });
    try {
      const want = host('10.0.0.11');
      await off.apply(want);
      assert.ok(!off.monitored('br0'));
      const n = off.spawned.ofctl;
      assert.deepEqual(await off.drift(want), []);
      assert.deepEqual(await off.drift(want), []);
      assert.equal(off.spawned.ofctl - n, 4);
      sw.ofctl('del-flows', target('br0'), `cookie=${cookieOf(uuid(2))}/-1`);
      assert.deepEqual(await off.drift(want), ['br0']);
    } finally { off.close(); }
  });
});

describe('the agent repairs at once what the monitor reports', { skip }, () => {
  let d: TestDaemon;
  let sw: SwitchNs;
  let agent: Agent;
  let ovs: OvsBackend;
  before(async () => {
    d = await startTestDaemon();
    sw = await startSwitchNs(2, 'ofmona');
    ovs = switchBackend(sw);
    const host = [...d.db.all('host')][0].ref;
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    // a timer that never fires within the test: only the monitor can bring the repair
    agent = new Agent(d.db, () => host, ovs, undefined, log, { intervalMs: 3_600_000 });
    agent.start();
    await agent.settled();
  });
  after(async () => { await agent?.stop(); await sw?.dispose(); await d?.dispose(); });

  it("an administrator's del-flows is undone without a timer pass, and no ovs-ofctl runs for it", async () => {
    const target = `unix:${sw.dir}/xenbr1.mgmt`;
    const flows = () => sw.ofctl('dump-flows', '--no-stats', target).split('\n').filter((l) => l.includes('actions=')).map((l) => l.trim()).sort().join('\n');
    await until(() => ovs.monitored('xenbr1'), 20_000, 'the monitor on xenbr1');
    const want = flows();
    assert.match(want, /actions=/);
    const n = ovs.spawned.ofctl, passes = agent.passes;
    sw.ofctl('del-flows', target);
    await until(() => flows() === want, 20_000, 'the table back');
    assert.ok(agent.passes > passes, 'a pass repaired it');
    assert.equal(ovs.spawned.ofctl, n, 'over the OpenFlow connection, no ovs-ofctl');
  });
});
