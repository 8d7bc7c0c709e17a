// Flow-table benchmark: `node --import tsx bench/apply.ts` (npm run bench:apply). Needs root and
// Open vSwitch (Debian openvswitch-switch); everything runs in a network namespace of its own,
// with its own ovsdb-server and ovs-vswitchd (userspace datapath), removed at the end, also after
// a failure or Ctrl-C. Options: --vifs N (512), --runs N (5), --sample N (300 reference rules),
// --full-reference (time every reference rule, minutes), --ports internal|patch.
//
// A pool database holds 512 running VMs with one locked VIF each on xenbr0 (the reference's
// per-host VIF limit); poolnetd runs in this process on it. The VIFs' ports are made in the
// switch as internal ports of the same names (the hypervisor's vif devices do not exist here).
// The figures, side by side:
//   1. lock all 512 VIFs (the table without VIF flows -> the full port-locking table), for
//      1 IPv4 address per VIF (7,168 VIF flows: DESIGN's count) and for 2 IPv4 + 1 IPv6:
//      poolnet (compile() of the database, then OvsBackend.apply, as the agent's pass does: its
//      flows over the agent's persistent OpenFlow connection, and the same backend with the
//      connection off, through ovs-ofctl; also the first pass of a new backend, as after a
//      daemon start), a bare
//      `ovs-ofctl --bundle replace-flows` of the same table from a file (with port names, and
//      with --no-names and port numbers, which is what poolnet runs), and the reference's way
//      (one `ovs-ofctl add-flow` process per rule, timed on a sample and extrapolated unless
//      --full-reference);
//   2. change one VIF's allowed addresses: OvsBackend.replaceVifFlows, the agent's pass (over the
//      connection, and through ovs-ofctl), bare bundles, the reference's way (del-flows of the
//      VIF's cookie, then one add-flow per rule), and through the XenAPI (VIF.set_ipv4_allowed)
//      with the agent loop (src/agent/agent.ts) running on the daemon's database, again both
//      ways; after every run the switch is checked: that VIF has its new flows and no other VIF's
//      flows were rewritten.
// It prints its figures next to the targets; nothing here asserts a time.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { compile, vifPortName } from '../src/agent/compile.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeFlows, cookieOf, flowText, ovsTables, type Flow } from '../src/agent/ovsflows.ts';
import { Agent, type SwitchBackend } from '../src/agent/agent.ts';
import { OvsBackend, type OvsOptions } from '../src/agent/ovs.ts';
import { OfConnection } from '../src/agent/openflow/conn.ts';
import { roundTrip } from '../src/agent/openflow/transact.ts';
import type { ObjOf } from '../src/db/database.ts';
import type { HostFacts } from '../src/db/init.ts';
import { call, login, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from '../test/helpers/daemon.ts';
import { startSwitchNs, switchNsSkipReason, type SwitchNs } from '../test/helpers/netns.ts';
import { makePoolDatabase } from './common.ts';

const run = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    vifs: { type: 'string', default: '512' },
    runs: { type: 'string', default: '5' },
    sample: { type: 'string', default: '300' },
    'full-reference': { type: 'boolean', default: false },
    ports: { type: 'string', default: 'internal' },
  },
});
const VIFS = Number(opt.vifs);
const RUNS = Math.max(1, Number(opt.runs));
const SAMPLE = Number(opt.sample);
const PORT_TYPE = opt.ports === 'patch' ? 'patch' : 'internal';
const BR = 'xenbr0';

const FACTS: HostFacts = {
  hostname: 'bench-apply',
  nics: [{ device: 'eth0', mac: '02:00:00:00:0a:00', mtu: 1500, carrier: true, speed: 10000, ipv4: [{ ip: '10.9.0.11', prefix: 24 }], gateway: '10.9.0.1' }],
  dns: ['10.9.0.1'],
};

// ---------------------------------------------------------------- cleanup, also on Ctrl-C

const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try { await c(); } catch (e) { console.error('cleanup:', (e as Error).message); }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    interrupted = true;
    console.error(`\n${sig}: cleaning up (namespace, switch processes, temporary files)`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- helpers

const now = () => performance.now();
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}x`;
const n = (x: number) => x.toLocaleString('en-US');
const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - s.length));
const lpad = (s: string, w: number) => ' '.repeat(Math.max(0, w - s.length)) + s;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

function mac(i: number): string {
  return `02:16:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}
const ipv4Of = (i: number, k: number, base = 10) => `${base}.${1 + k}.${(i >> 8) & 255}.${i & 255}`;
const ipv6Of = (i: number, k: number) => `fd00:${k + 1}::${i.toString(16)}`;

interface Row { label: string; times: number[]; note?: string }
function table(rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.label.length)) + 2;
  console.log(`   ${pad('', w)}${lpad('median', 10)}${lpad('min', 10)}${lpad('runs', 6)}`);
  for (const r of rows) {
    const t = r.times.length ? `${lpad(ms(median(r.times)), 10)}${lpad(ms(Math.min(...r.times)), 10)}${lpad(String(r.times.length), 6)}` : '';
    console.log(`   ${pad(r.label, w)}${t}${r.note ? `  ${r.note}` : ''}`);
  }
}

// ---------------------------------------------------------------- the setting: database, daemon, switch

/** What every scenario works on: the daemon and its VIFs, the switch, and the ways to read and reset its table. */
interface Bench {
  readonly d: TestDaemon;
  readonly host: string;
  /** The guests' VIFs, in domid order (vifs[i - 1] is vif<i>.0). */
  readonly vifs: readonly ObjOf<'VIF'>[];
  /** Every VIF locked to `v4` IPv4 and `v6` IPv6 addresses of its own. */
  readonly setAddresses: (v4: number, v6: number) => void;
  readonly opts: OvsOptions;
  /** The bridge's OpenFlow management socket. */
  readonly target: string;
  readonly ofctl: (...args: string[]) => Promise<string>;
  /** A temporary directory for flow files. */
  readonly work: string;
  /** The desired state with the VIF ports as this bench makes them (no hypervisor devices here). */
  readonly asBench: (x: DesiredHost) => DesiredHost;
  /** A fresh bridge's table: only the default normal switching. */
  readonly reset: () => Promise<void>;
  readonly flowCount: () => Promise<number>;
  /** The table with OpenFlow port numbers in place of port names (for ovs-ofctl --no-names). */
  readonly numbered: (flows: readonly Flow[]) => string;
  readonly bareNames: readonly string[];
  readonly bareNumbers: readonly string[];
  /** One ovs-ofctl process with one round trip to the switch, now. */
  readonly floorTrip: number;
  /** The running agent's backend: it has seen the switch (flows over its OpenFlow connection). */
  readonly running: OvsBackend;
  /** The same with the connection off: every flow write is an ovs-ofctl process (the baseline). */
  readonly runningOfctl: OvsBackend;
}

/** The pool database: VIFS running VMs with one locked VIF each on eth0's network. */
function buildPoolDatabase(dataDir: string): void {
  makePoolDatabase(dataDir, FACTS, ROOT_PASSWORD, (db) => {
    const host = db.all('host').next().value!.ref;
    const net = [...db.all('network')].find((x) => x.rec.bridge === BR)!.ref;
    db.transact((tx) => {
      for (let i = 1; i <= VIFS; i++) {
        const vm = tx.create('VM', { name_label: `vm-${i}`, power_state: 'Running', resident_on: host, domid: i, other_config: {} });
        tx.create('VIF', {
          device: '0', network: net, VM: vm, MAC: mac(i), MTU: 1500, currently_attached: true, other_config: {}, qos_algorithm_params: {},
          locking_mode: 'locked', ipv4_allowed: [ipv4Of(i, 0)], ipv6_allowed: [],
        });
      }
    });
  });
}

/** The daemon on the pool database, the switch with its bridge and the VIFs' ports, the process floor. */
async function setUp(): Promise<Bench> {
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-bench-apply-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  buildPoolDatabase(dataDir);
  const d: TestDaemon = await startTestDaemon({ dataDir, facts: FACTS });
  cleanups.push(() => d.dispose());
  const host = [...d.db.all('host')][0].ref;
  const domid = (v: ObjOf<'VIF'>) => d.db.getOf('VM', v.rec.VM)!.rec.domid;
  const vifs = [...d.db.all('VIF')].filter((v) => !d.db.getOf('VM', v.rec.VM)?.rec.is_control_domain).sort((a, b) => domid(a) - domid(b));
  const setAddresses = (v4: number, v6: number) => d.db.transact((tx) => vifs.forEach((v, i) => tx.update(v, {
    ipv4_allowed: Array.from({ length: v4 }, (_, k) => ipv4Of(i + 1, k)), ipv6_allowed: Array.from({ length: v6 }, (_, k) => ipv6Of(i + 1, k)),
  })));

  // the switch, its bridge and the VIFs' ports
  const sw: SwitchNs = await startSwitchNs(1, 'bench');
  cleanups.push(() => sw.dispose());
  // no flow monitor: the bare ways write the table behind the backends' backs on purpose, and a
  // monitor would make their next pass a whole-table repair (bench/drift measures the monitor)
  const opts: OvsOptions = { dbSocket: sw.dbSocket, runDir: sw.dir, datapathType: 'netdev', flowMonitor: false };
  const target = `unix:${join(sw.dir, `${BR}.mgmt`)}`;
  const ofctl = async (...args: string[]) => (await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', ...args], { maxBuffer: 256 << 20 })).stdout;
  const work = mkdtempSync(join(tmpdir(), 'poolnet-bench-apply-flows-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  // The VIF ports: in a real host the hypervisor makes vif<domid>.<device>; here the same names as
  // OVS ports of a type that needs no device of its own (internal: a tap; patch: nothing).
  const initial = compile(d.db, host);
  // the same bench port for the same port: compile() gives an unchanged VIF the same PortSpec,
  // and the backend's per-VIF caches go by it (a new object per pass would cost them 5 ms)
  const benchPorts = new WeakMap<PortSpec, PortSpec>();
  const benchPort = (p: PortSpec): PortSpec => {
    let q = benchPorts.get(p);
    if (!q) benchPorts.set(p, q = { ...p, type: PORT_TYPE, options: PORT_TYPE === 'patch' ? { peer: `${p.name}-peer` } : undefined });
    return q;
  };
  const asBench = (x: DesiredHost): DesiredHost => ({
    ...x, bridges: x.bridges.map((b) => ({ ...b, ports: b.ports.map((p) => (p.kind === 'vif' ? benchPort(p) : p)) })),
  });
  const setup = new OvsBackend(opts);
  let t0 = now();
  const ops = await setup.applySwitch(asBench(initial));
  const tSwitch = now() - t0;
  setup.close();
  t0 = now();
  for (;;) {
    const desc = await ofctl('dump-ports-desc', target).catch(() => '');
    if ((desc.match(/\(vif\d+\.\d+\)/g) ?? []).length >= VIFS) break;
    if (now() - t0 > 120_000) throw new Error('the VIF ports never all appeared on the bridge');
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`switch: bridge ${BR} with ${n(VIFS)} VIF ports (type=${PORT_TYPE}), made in one OVSDB transaction of ${n(ops)} operations (${ms(tSwitch)}), all with an OpenFlow port after ${ms(now() - t0)} more`);

  const flowCount = async () => Number(/flow_count=(\d+)/.exec(await ofctl('dump-aggregate', target))?.[1] ?? NaN);
  const DEFAULT = 'priority=0,actions=NORMAL';
  const reset = async () => { await ofctl('del-flows', target); await ofctl('add-flow', target, DEFAULT); };
  const ofports = new Map<string, number>((JSON.parse(sw.vsctl('--format=json', '--columns=name,ofport', 'list', 'interface')) as { data: [string, number][] }).data);
  const numbered = (flows: readonly Flow[]) => flows.map((f) => flowText({ ...f, match: f.match.replace(/\bin_port=([^,]+)/, (all, p: string) => (ofports.has(p) ? `in_port=${ofports.get(p)}` : all)) })).join('\n') + '\n';

  // what one ovs-ofctl process costs on this machine now, doing nothing / one round trip to the switch
  const floor = async (args: string[]) => { const xs: number[] = []; for (let i = 0; i < 10; i++) { const a = now(); await run('ovs-ofctl', args); xs.push(now() - a); } return median(xs); };
  const floorSpawn = await floor(['--version']);
  const floorTrip = await floor(['-O', 'OpenFlow13', '--no-names', 'dump-aggregate', target]);
  // and one round trip over an OpenFlow connection kept open (a bundle waits for two)
  const conn = await OfConnection.open(join(sw.dir, `${BR}.mgmt`));
  const trips: number[] = [];
  try { for (let i = 0; i < 20; i++) { const a = now(); await roundTrip(conn); trips.push(now() - a); } } finally { conn.close(); }
  console.log(`process floor: one ovs-ofctl process ${ms(floorSpawn)} (--version), ${ms(floorTrip)} with one round trip to the switch (dump-aggregate), medians of 10; one round trip over a kept OpenFlow connection ${ms(median(trips))} (median of 20; a bundle waits for two)`);

  const running = new OvsBackend(opts);
  cleanups.push(() => running.close());
  const runningOfctl = new OvsBackend({ ...opts, openflow: false });
  cleanups.push(() => runningOfctl.close());
  return {
    d, host, vifs, setAddresses, opts, target, ofctl, work, asBench, reset, flowCount, numbered, floorTrip, running, runningOfctl,
    bareNames: ['-O', 'OpenFlow13', '--bundle', 'replace-flows', target],
    bareNumbers: ['-O', 'OpenFlow13', '--no-names', '--bundle', 'replace-flows', target],
  };
}

// ---------------------------------------------------------------- 1. lock all VIFs

interface LockConfig { readonly v4: number; readonly v6: number; readonly label: string }
interface LockResult { config: string; flows: number; poolnet: number; poolnetOfctl: number; fresh: number; bareNames: number; bareNumbers: number; reference: number; extrapolated: boolean }

const LOCK_CONFIGS: readonly LockConfig[] = [
  { v4: 1, v6: 0, label: '1 IPv4 each' },
  { v4: 2, v6: 1, label: '2 IPv4 + 1 IPv6 each' },
];

/** Lock every VIF to `c`'s addresses from a fresh bridge's table: poolnet, bare bundles and the reference, side by side. */
async function lockAll(b: Bench, c: LockConfig): Promise<LockResult> {
  const { d, host } = b;
  b.setAddresses(c.v4, c.v6);
  const desired = compile(d.db, host);
  const flows = ovsTables(desired).flows[BR];
  const perVif = flows.filter((f) => f.cookie === cookieOf(b.vifs[0].rec.uuid)).length;
  const namesFile = join(b.work, `table-${c.v4}-${c.v6}.flows`);
  const numbersFile = join(b.work, `table-${c.v4}-${c.v6}.numbered.flows`);
  writeFileSync(namesFile, flows.map(flowText).join('\n') + '\n');
  writeFileSync(numbersFile, b.numbered(flows));
  console.log(`\n1. Lock ${n(VIFS)} VIFs, ${c.label}: ${perVif} flows per VIF, ${n(flows.length)} flows in ${BR}'s table (${n(VIFS)} x ${perVif} + the default NORMAL flow), from a fresh bridge's table`);

  const t: Record<'poolnet' | 'poolnetOfctl' | 'compile' | 'fresh' | 'names' | 'numbers', number[]> = { poolnet: [], poolnetOfctl: [], compile: [], fresh: [], names: [], numbers: [] };
  const ways = ['poolnet', 'poolnetOfctl', 'fresh', 'names', 'numbers'] as const;
  const writes = { ...b.running.writes };
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < ways.length; k++) {
      const way = ways[(r + k) % ways.length]; // rotate the order, so that no way always goes first
      if (way === 'poolnet' || way === 'poolnetOfctl') {
        const running = way === 'poolnet' ? b.running : b.runningOfctl;
        // the running agent's pass: its backend knows the switch, whose table has no VIF flows yet
        // (the other ways wrote the switch behind its back: its drift check notices)
        const unlocked = b.asBench(desired);
        const noVifFlows = { flows: { [BR]: bridgeFlows([], desired.bridges.find((x) => x.name === BR)?.ports ?? []) }, meters: {} };
        await b.reset();
        await running.drift(unlocked);
        await running.apply(unlocked, noVifFlows);
        const a = now();
        const want = compile(d.db, host);
        const m = now();
        await running.apply(b.asBench(want));
        t[way].push(now() - a);
        if (way === 'poolnet') t.compile.push(m - a);
      } else if (way === 'fresh') {
        // a backend that knows nothing of the switch yet, as after a daemon start
        await b.reset();
        const be = new OvsBackend(b.opts);
        try {
          const a = now();
          await be.apply(b.asBench(compile(d.db, host)));
          t.fresh.push(now() - a);
        } finally { be.close(); }
      } else {
        await b.reset();
        const a = now();
        await run('ovs-ofctl', [...(way === 'names' ? b.bareNames : b.bareNumbers), way === 'names' ? namesFile : numbersFile]);
        t[way].push(now() - a);
      }
      const got = await b.flowCount();
      if (got !== flows.length) throw new Error(`${way}: the switch has ${got} flows, expected ${flows.length}`);
    }
  }

  // the reference: one process per rule, as xapi's setup-vif-rules runs them (port names, no -O)
  await b.reset();
  const rules = flows.filter((f) => f.cookie !== '0x0');
  const sample = opt['full-reference'] ? rules.length : Math.min(SAMPLE, rules.length);
  const a = now();
  for (const f of rules.slice(0, sample)) await run('ovs-ofctl', ['add-flow', b.target, flowText(f)]);
  const per = (now() - a) / sample;
  const reference = per * rules.length;
  const extrapolated = sample < rules.length;
  const got = await b.flowCount();
  if (got !== sample + 1) throw new Error(`reference: the switch has ${got} flows, expected ${sample + 1}`);

  if (b.running.writes.ofctl !== writes.ofctl) throw new Error('poolnet\'s connection path fell back to ovs-ofctl');
  table([
    { label: 'poolnet: compile() + OvsBackend.apply', times: t.poolnet, note: '(the running agent\'s pass; flows over its OpenFlow connection)' },
    { label: '  of which compile() of the pool database', times: t.compile },
    { label: 'poolnet, the same with ovs-ofctl', times: t.poolnetOfctl, note: '(the connection off: one ovs-ofctl --bundle replace-flows)' },
    { label: 'poolnet, first pass after a daemon start', times: t.fresh, note: '(a new OvsBackend: OVSDB read, meters read)' },
    { label: 'bare: ovs-ofctl --bundle replace-flows FILE', times: t.names, note: '(port names, as typed by hand)' },
    { label: 'bare: the same with --no-names, port numbers', times: t.numbers, note: '(what poolnet runs)' },
    { label: 'reference: one ovs-ofctl add-flow per rule', times: [], note: `${ms(reference)} ${extrapolated ? `EXTRAPOLATED from the first ${n(sample)} of ${n(rules.length)} rules` : `all ${n(rules.length)} rules`}, ${ms(per)} per rule` },
  ]);
  const p = median(t.poolnet), po = median(t.poolnetOfctl), pf = median(t.fresh), bn = median(t.names), bu = median(t.numbers);
  console.log(`   poolnet / bare = ${ratio(p, bn)} (port names), ${ratio(p, bu)} (port numbers); target at most 1.0x: ${verdict(p <= Math.min(bn, bu))}; with ovs-ofctl: ${ratio(po, bn)}, ${ratio(po, bu)}; after a daemon start: ${ratio(pf, bn)}, ${ratio(pf, bu)};  reference / poolnet = ${ratio(reference, p)}`);
  return { config: c.label, flows: flows.length, poolnet: p, poolnetOfctl: po, fresh: pf, bareNames: bn, bareNumbers: bu, reference, extrapolated };
}

// ---------------------------------------------------------------- 2. change one VIF's addresses

/** The one VIF whose addresses change, the VIFs around it whose flows must stay, and how each way is checked. */
interface Victim {
  readonly vif: ObjOf<'VIF'>;
  readonly cookie: string;
  readonly port: string;
  /** The number of its flows. */
  readonly flows: number;
  readonly others: readonly { i: number; cookie: string }[];
  /** The table's size, which no way may change. */
  readonly tableSize: number;
  /** Its flows in a desired state. */
  readonly flowsIn: (x: DesiredHost) => Flow[];
  /** Its ipv4_allowed written to the database. */
  readonly set: (v4: string[]) => void;
  /**
   * One way of changing its addresses, checked in the switch: the victim has its new flows, the
   * other VIFs' flows are the same flows as before and were not rewritten (their ages did not go
   * back), the table has its size. `resync` runs after the checks (outside any timing).
   */
  readonly checked: (way: string, change: (v4: string[]) => Promise<void>, resync?: () => Promise<void>) => Promise<void>;
  /** Bring poolnet's record of the table back in step after another way wrote the switch. */
  readonly resync: () => Promise<void>;
  /** The same for another backend. */
  readonly prime: (be: OvsBackend) => Promise<void>;
}

function victimOf(b: Bench, tableSize: number): Victim {
  const { d, host } = b;
  const victimIdx = VIFS >> 1;
  const vif = b.vifs[victimIdx - 1];
  const cookie = cookieOf(vif.rec.uuid);
  const port = vifPortName(victimIdx, '0');
  const others = [1, victimIdx - 1, victimIdx + 1, VIFS].filter((i) => i >= 1 && i <= VIFS && i !== victimIdx).map((i) => ({ i, cookie: cookieOf(b.vifs[i - 1].rec.uuid) }));
  let flip = 0;
  /** The victim's next ipv4_allowed: alternates, so that every run is a real change. */
  const nextV4 = () => (++flip % 2 ? [ipv4Of(victimIdx, 0, 172), ipv4Of(victimIdx, 1, 172)] : [ipv4Of(victimIdx, 0), ipv4Of(victimIdx, 1)]);
  const set = (v4: string[]) => d.db.transact((tx) => tx.update(vif, { ipv4_allowed: v4 }));
  const flowsIn = (x: DesiredHost): Flow[] => ovsTables(x).flows[BR].filter((f) => f.cookie === cookie);
  const flows = flowsIn(compile(d.db, host)).length;

  /** The flows of one cookie in the switch: each flow's text without statistics -> its age in seconds. */
  const dumpCookie = async (c: string): Promise<Map<string, number>> => {
    const out = await b.ofctl('dump-flows', b.target, `cookie=${c}/-1`);
    const lines = out.split('\n').filter((l) => l.includes('cookie='));
    return new Map(lines.map((l) => [l.replace(/\s*(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?/g, '').trim(), Number(/duration=([\d.]+)s/.exec(l)?.[1])]));
  };
  const sameFlows = (x: Map<string, number>, y: Map<string, number>) => x.size === y.size && [...x.keys()].every((k) => y.has(k));
  const checked = async (way: string, change: (v4: string[]) => Promise<void>, resync?: () => Promise<void>): Promise<void> => {
    const before = await Promise.all(others.map((o) => dumpCookie(o.cookie)));
    const v4 = nextV4();
    await change(v4);
    const after = await Promise.all(others.map((o) => dumpCookie(o.cookie)));
    const mine = await dumpCookie(cookie);
    const problems: string[] = [];
    others.forEach((o, k) => {
      if (before[k].size === 0) problems.push(`vif${o.i}.0 has no flows`);
      if (!sameFlows(before[k], after[k])) problems.push(`vif${o.i}.0's flows changed`);
      if ([...after[k]].some(([f, age]) => age + 0.001 < before[k].get(f)!)) problems.push(`vif${o.i}.0's flows were rewritten (their age went back)`);
    });
    if (mine.size !== flows) problems.push(`${port} has ${mine.size} flows, expected ${flows}`);
    if (!v4.every((ip) => [...mine.keys()].some((l) => new RegExp(`nw_src=${ip.replace(/\./g, '\\.')}(,|\\s|$)`).test(l)))) problems.push(`${port}'s new addresses are not in the switch`);
    if ((await b.flowCount()) !== tableSize) problems.push('the table size changed');
    if (problems.length) throw new Error(`${way}: ${problems.join('; ')}`);
    await resync?.();
  };
  const prime = async (be: OvsBackend) => { await be.replaceVifFlows(BR, cookie, flowsIn(compile(d.db, host))); };
  const resync = () => prime(b.running);
  return { vif, cookie, port, flows, others, tableSize, flowsIn, set, checked, resync, prime };
}

type Times = Record<string, number[]>;

/** Each way of making the change, RUNS times: poolnet's per-VIF call and agent pass, bare bundles, the reference. */
async function changeByEachWay(b: Bench, v: Victim, t2: Times): Promise<void> {
  const { d, host } = b;
  const be = b.running;
  const push = (k: string, x: number) => (t2[k] ??= []).push(x);
  for (let r = 0; r < RUNS; r++) {
    // poolnet, the per-VIF call: compile, take the VIF's flows, replace them by cookie
    await v.checked('per-VIF cookie bundle', async (v4) => {
      v.set(v4);
      const a = now();
      const want = compile(d.db, host);
      const m = now();
      await be.replaceVifFlows(BR, v.cookie, v.flowsIn(want));
      push('perVif', now() - a); push('perVifBackend', now() - m);
    });
    // poolnet, what the agent loop does: compile, then apply (OVSDB check of bridges and ports, then flows)
    await v.checked('agent pass', async (v4) => {
      v.set(v4);
      const a = now();
      const want = compile(d.db, host);
      const m = now();
      await be.applySwitch(b.asBench(want));
      const c = now();
      await be.applyFlows(want);
      const e = now();
      push('pass', e - a); push('passCompile', m - a); push('passSwitch', c - m); push('passFlows', e - c);
    });
    // the same pass by the backend whose flows go through ovs-ofctl (told first, outside the
    // timing, what the other ways left in the switch for this VIF)
    await v.prime(b.runningOfctl);
    await v.checked('agent pass, ovs-ofctl', async (v4) => {
      v.set(v4);
      const a = now();
      const want = compile(d.db, host);
      await b.runningOfctl.applySwitch(b.asBench(want));
      await b.runningOfctl.applyFlows(want);
      push('passOfctl', now() - a);
    }, v.resync);
    // bare: the same one-VIF change as one ovs-ofctl bundle from a file (the floor for any process-based way)
    await v.checked('bare one-VIF bundle', async (v4) => {
      v.set(v4);
      const file = join(b.work, 'one-vif.flows');
      const adds = b.numbered(v.flowsIn(compile(d.db, host))).trim().split('\n').map((l) => `add ${l}`);
      writeFileSync(file, [`delete cookie=${v.cookie}/-1`, ...adds].join('\n') + '\n');
      const a = now();
      await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', '--bundle', 'add-flows', b.target, file]);
      push('bareVif', now() - a);
    }, v.resync);
    // bare: replace-flows of the whole new table from a file, with port names and with numbers
    for (const [key, args, text] of [['bareNames', b.bareNames, (f: readonly Flow[]) => f.map(flowText).join('\n') + '\n'], ['bareNumbers', b.bareNumbers, b.numbered]] as const) {
      await v.checked(`bare replace-flows (${key})`, async (v4) => {
        v.set(v4);
        const file = join(b.work, 'changed.flows');
        writeFileSync(file, text(ovsTables(compile(d.db, host)).flows[BR]));
        const a = now();
        await run('ovs-ofctl', [...args, file]);
        push(key, now() - a);
      }, v.resync);
    }
    // the reference: delete the VIF's flows, then one process per rule
    await v.checked('reference', async (v4) => {
      v.set(v4);
      const want = v.flowsIn(compile(d.db, host));
      const a = now();
      await run('ovs-ofctl', ['del-flows', b.target, `cookie=${v.cookie}/-1`]);
      for (const f of want) await run('ovs-ofctl', ['add-flow', b.target, flowText(f)]);
      push('reference', now() - a);
    }, v.resync);
  }
}

/**
 * Through the XenAPI: VIF.set_ipv4_allowed on the in-process poolnetd, with the agent loop
 * (src/agent/agent.ts) running on its database and driving this switch, RUNS times.
 */
async function changeThroughApi(b: Bench, v: Victim, t2: Times, be: OvsBackend, key: string): Promise<void> {
  const { d, host } = b;
  const push = (k: string, x: number) => (t2[k] ??= []).push(x);
  const session = await login(d.url);
  let onApplied: ((t: number) => void) | undefined;
  const sink = { info: () => {}, warn: () => {}, error: (o: object) => console.error('   agent:', JSON.stringify(o)) };
  const sb: SwitchBackend = {
    apply: async (desired) => {
      const r = await be.apply(b.asBench(desired));
      if (r.filterBridges.includes(BR)) onApplied?.(now());
      return r;
    },
    close: () => {},
  };
  const agent = new Agent(d.db, () => host, sb, undefined, sink, { intervalMs: 3_600_000 });
  cleanups.push(() => agent.stop());
  // the backend told what the other ways left for this VIF; from here on only the agent writes the switch
  await v.prime(be);
  agent.start();
  await agent.settled();
  for (let r = 0; r < RUNS; r++) {
    await v.checked(`XenAPI + agent loop (${key})`, async (v4) => {
      const inSwitch = new Promise<number>((resolve, reject) => {
        onApplied = resolve;
        setTimeout(() => reject(new Error('the agent did not apply the change within 10 s')), 10_000).unref();
      });
      const a = now();
      await call(d.url, 'VIF.set_ipv4_allowed', [session, v.vif.ref, v4]);
      const m = now();
      const e = await inSwitch;
      onApplied = undefined;
      push(`${key}Call`, m - a); push(`${key}Total`, e - a); push(`${key}After`, Math.max(0, e - m));
    });
  }
  await agent.stop();
}

interface ChangeResult { perVif: number; pass: number; passOfctl: number; after: number; afterOfctl: number; bareVif: number; bareNames: number; bareNumbers: number; reference: number }

/** Change one VIF's addresses in the table `lockAll` left for `last`: each way, then through the XenAPI. */
async function changeOne(b: Bench, last: LockConfig, tableSize: number): Promise<ChangeResult> {
  const v = victimOf(b, tableSize);
  console.log(`\n2. Change one VIF's allowed addresses (${v.port}, cookie ${v.cookie}) in the table of ${n(VIFS)} VIFs locked to ${last.label} (${n(tableSize)} flows)`);

  // the table as poolnet leaves it after locking, and a backend that has run a pass already
  await b.reset();
  await b.running.drift(compile(b.d.db, b.host));
  await b.running.apply(b.asBench(compile(b.d.db, b.host)));

  const t2: Times = {};
  const writes = { ...b.running.writes };
  await changeByEachWay(b, v, t2);
  await changeThroughApi(b, v, t2, b.running, 'api');
  await changeThroughApi(b, v, t2, b.runningOfctl, 'apiOfctl');
  if (b.running.writes.ofctl !== writes.ofctl) throw new Error('poolnet\'s connection path fell back to ovs-ofctl');

  table([
    { label: 'poolnet, per-VIF: compile() + OvsBackend.replaceVifFlows', times: t2.perVif },
    { label: '  of which replaceVifFlows (one bundle, OpenFlow connection)', times: t2.perVifBackend },
    { label: 'poolnet, agent pass: compile() + applySwitch + applyFlows', times: t2.pass, note: '(flows over the OpenFlow connection)' },
    { label: '  compile() of the pool database', times: t2.passCompile },
    { label: '  applySwitch (no OVSDB change: one echo)', times: t2.passSwitch },
    { label: '  applyFlows (changed cookies only, one bundle)', times: t2.passFlows },
    { label: 'poolnet, the same agent pass with ovs-ofctl', times: t2.passOfctl, note: '(the connection off)' },
    { label: 'bare: ovs-ofctl --bundle add-flows, the same change', times: t2.bareVif, note: `(delete cookie + ${v.flows} adds, port numbers)` },
    { label: 'bare: ovs-ofctl --bundle replace-flows, whole table', times: t2.bareNames, note: '(port names)' },
    { label: 'bare: the same with --no-names, port numbers', times: t2.bareNumbers },
    { label: `reference: del-flows cookie + ${v.flows} x add-flow`, times: t2.reference, note: `(${v.flows + 1} processes)` },
    { label: 'XenAPI: VIF.set_ipv4_allowed call to its return', times: t2.apiCall },
    { label: '  from the return to the flows in the switch', times: t2.apiAfter, note: '(agent loop, OpenFlow connection)' },
    { label: '  from the call to the flows in the switch', times: t2.apiTotal },
    { label: 'XenAPI, the agent loop with ovs-ofctl: call to return', times: t2.apiOfctlCall },
    { label: '  from the return to the flows in the switch', times: t2.apiOfctlAfter, note: '(the connection off)' },
    { label: '  from the call to the flows in the switch', times: t2.apiOfctlTotal },
  ]);
  const res: ChangeResult = {
    perVif: median(t2.perVif), pass: median(t2.pass), passOfctl: median(t2.passOfctl), after: median(t2.apiAfter), afterOfctl: median(t2.apiOfctlAfter), bareVif: median(t2.bareVif),
    bareNames: median(t2.bareNames), bareNumbers: median(t2.bareNumbers), reference: median(t2.reference),
  };
  console.log(`   checked in the switch after every run (dump-flows cookie=X/-1 of ${v.port} and of ${v.others.map((o) => `vif${o.i}.0`).join(', ')}): ${v.port} has its new flows; the others have the same flows, not rewritten (their ages never went back); the table keeps its ${n(tableSize)} flows`);
  console.log(`   target, in the switch under 5 ms after the API call returns: ${ms(res.after)}, ${verdict(res.after < 5)}  (with ovs-ofctl ${ms(res.afterOfctl)}: ${ratio(res.afterOfctl, res.after)} slower; agent pass ${ms(res.pass)}, with ovs-ofctl ${ms(res.passOfctl)}; per-VIF call ${ms(res.perVif)})`);
  console.log(`   the same change as one bare ovs-ofctl bundle takes ${ms(res.bareVif)} here now (one ovs-ofctl process: ${ms(b.floorTrip)}): agent pass / bare = ${ratio(res.pass, res.bareVif)}; compile() of the whole database ${ms(median(t2.passCompile))}`);
  console.log(`   bare whole table / agent pass = ${ratio(res.bareNames, res.pass)} (port names), ${ratio(res.bareNumbers, res.pass)} (port numbers);  reference / agent pass = ${ratio(res.reference, res.pass)}`);
  return res;
}

// ---------------------------------------------------------------- summary

function summary(results: readonly LockResult[], c: ChangeResult): void {
  console.log('\nSummary (medians; issue 12\'s targets)');
  for (const r of results) {
    const bare = Math.min(r.bareNames, r.bareNumbers);
    console.log(`   lock ${n(VIFS)} VIFs, ${r.config} (${n(r.flows)} flows): poolnet ${ms(r.poolnet)} (OpenFlow connection) | ${ms(r.poolnetOfctl)} (ovs-ofctl) | bare bundle ${ms(r.bareNames)} (names), ${ms(r.bareNumbers)} (numbers) | reference ${r.extrapolated ? '~' : ''}${ms(r.reference)}${r.extrapolated ? ' (extrapolated)' : ''}`);
    console.log(`      poolnet / bare bundle: ${ratio(r.poolnet, bare)} over the connection (at most 1.0x: ${verdict(r.poolnet <= bare)}), ${ratio(r.poolnetOfctl, bare)} with ovs-ofctl; first pass after a daemon start ${ratio(r.fresh, bare)};  reference / poolnet ${ratio(r.reference, r.poolnet)}`);
  }
  console.log(`   change one VIF's addresses: XenAPI return -> in the switch ${ms(c.after)} over the connection (under 5 ms: ${verdict(c.after < 5)}), ${ms(c.afterOfctl)} with ovs-ofctl (${ratio(c.afterOfctl, c.after)}) | agent pass ${ms(c.pass)} (connection), ${ms(c.passOfctl)} (ovs-ofctl) | per-VIF call ${ms(c.perVif)} | bare bundle of the change ${ms(c.bareVif)} | bare bundle of the whole table ${ms(c.bareNames)} (names), ${ms(c.bareNumbers)} (numbers) | reference ${ms(c.reference)}; only that VIF's flows rewritten: checked`);
}

// ---------------------------------------------------------------- the bench

async function main(): Promise<void> {
  const missing = switchNsSkipReason();
  if (missing) throw new Error(missing);
  const ovsVersion = (await run('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];
  console.log(`bench/apply: ${n(VIFS)} locked VIFs on one host; ${ovsVersion}, userspace datapath, in a namespace of its own`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start (other work on the machine makes times noisy: compare the ratios)`);
  const b = await setUp();
  const results: LockResult[] = [];
  for (const c of LOCK_CONFIGS) results.push(await lockAll(b, c));
  const change = await changeOne(b, LOCK_CONFIGS[LOCK_CONFIGS.length - 1], results[results.length - 1].flows);
  summary(results, change);
  console.log(`machine: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`);
}

try {
  await main();
} catch (e) {
  if (!interrupted) console.error(`bench/apply failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
