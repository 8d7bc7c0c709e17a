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
//      poolnet (compile() of the database, then OvsBackend.apply, as the agent's pass does;
//      also the first pass of a new backend, as after a daemon start), a bare
//      `ovs-ofctl --bundle replace-flows` of the same table from a file (with port names, and
//      with --no-names and port numbers, which is what poolnet runs), and the reference's way
//      (one `ovs-ofctl add-flow` process per rule, timed on a sample and extrapolated unless
//      --full-reference);
//   2. change one VIF's allowed addresses: OvsBackend.replaceVifFlows, the agent's pass, bare
//      whole-table bundles, the reference's way (del-flows of the VIF's cookie, then one add-flow
//      per rule), and through the XenAPI (VIF.set_ipv4_allowed) with the agent loop
//      (src/agent/agent.ts) running on the daemon's database; after every run the switch is
//      checked: that VIF has its new flows and no other VIF's flows were rewritten.
// It prints its figures next to the targets; nothing here asserts a time.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { compile, vifPortName } from '../src/agent/compile.ts';
import type { DesiredHost } from '../src/agent/desired.ts';
import { bridgeFlows, cookieOf, flowText, ovsTables, type Flow } from '../src/agent/ovsflows.ts';
import { Agent, type SwitchBackend } from '../src/agent/agent.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { setRootPassword } from '../src/api/sessions.ts';
import { Database } from '../src/db/database.ts';
import { initialise, type HostFacts } from '../src/db/init.ts';
import { call, login, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from '../test/helpers/daemon.ts';
import { canMakeNamespaces, startSwitchNs, type SwitchNs } from '../test/helpers/netns.ts';

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

// ---------------------------------------------------------------- the bench

async function main(): Promise<void> {
  if (!canMakeNamespaces()) throw new Error('needs root, network namespaces and Open vSwitch (Debian openvswitch-switch)');
  const ovsVersion = (await run('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];
  console.log(`bench/apply: ${n(VIFS)} locked VIFs on one host; ${ovsVersion}, userspace datapath, in a namespace of its own`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start (other work on the machine makes times noisy: compare the ratios)`);

  // 1. the pool database: VIFS running VMs with one locked VIF each on eth0's network
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-bench-apply-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  {
    const db = new Database(join(dataDir, 'pool.db'));
    try {
      initialise(db, FACTS, { backend: 'openvswitch' });
      db.transact((tx) => setRootPassword(tx, ROOT_PASSWORD));
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
    } finally { db.close(); }
  }
  const d: TestDaemon = await startTestDaemon({ dataDir, facts: FACTS });
  cleanups.push(() => d.dispose());
  const host = [...d.db.all('host')][0].ref;
  const vifs = [...d.db.all('VIF')].filter((v) => !d.db.get(v.rec.VM as string)?.rec.is_control_domain)
    .sort((a, b) => (d.db.get(a.rec.VM as string)!.rec.domid as number) - (d.db.get(b.rec.VM as string)!.rec.domid as number));
  const setAddresses = (v4: number, v6: number) => d.db.transact((tx) => vifs.forEach((v, i) => tx.update(v.ref, {
    ipv4_allowed: Array.from({ length: v4 }, (_, k) => ipv4Of(i + 1, k)), ipv6_allowed: Array.from({ length: v6 }, (_, k) => ipv6Of(i + 1, k)),
  })));

  // 2. the switch, its bridge and the VIFs' ports
  const sw: SwitchNs = await startSwitchNs(1, 'bench');
  cleanups.push(() => sw.dispose());
  const opts = { dbSocket: sw.dbSocket, runDir: sw.dir, datapathType: 'netdev' as const };
  const target = `unix:${join(sw.dir, `${BR}.mgmt`)}`;
  const ofctl = async (...args: string[]) => (await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', ...args], { maxBuffer: 256 << 20 })).stdout;
  const work = mkdtempSync(join(tmpdir(), 'poolnet-bench-apply-flows-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  // The VIF ports: in a real host the hypervisor makes vif<domid>.<device>; here the same names as
  // OVS ports of a type that needs no device of its own (internal: a tap; patch: nothing).
  const initial = compile(d.db, host);
  const asBench = (x: DesiredHost): DesiredHost => ({
    ...x, bridges: x.bridges.map((b) => ({ ...b, ports: b.ports.map((p) => (p.kind === 'vif' ? { ...p, type: PORT_TYPE, options: PORT_TYPE === 'patch' ? { peer: `${p.name}-peer` } : undefined } : p)) })),
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
  /** A fresh bridge's table: only the default normal switching. */
  const reset = async () => { await ofctl('del-flows', target); await ofctl('add-flow', target, DEFAULT); };
  /** The table with OpenFlow port numbers in place of port names (for ovs-ofctl --no-names). */
  const ofports = new Map<string, number>((JSON.parse(sw.vsctl('--format=json', '--columns=name,ofport', 'list', 'interface')) as { data: [string, number][] }).data);
  const numbered = (flows: readonly Flow[]) => flows.map((f) => flowText({ ...f, match: f.match.replace(/\bin_port=([^,]+)/, (all, p: string) => (ofports.has(p) ? `in_port=${ofports.get(p)}` : all)) })).join('\n') + '\n';
  const BARE_NAMES = ['-O', 'OpenFlow13', '--bundle', 'replace-flows', target];
  const BARE_NUMBERS = ['-O', 'OpenFlow13', '--no-names', '--bundle', 'replace-flows', target];

  // what one ovs-ofctl process costs on this machine now, doing nothing / one round trip to the switch
  const floor = async (args: string[]) => { const xs: number[] = []; for (let i = 0; i < 10; i++) { const a = now(); await run('ovs-ofctl', args); xs.push(now() - a); } return median(xs); };
  const floorSpawn = await floor(['--version']);
  const floorTrip = await floor(['-O', 'OpenFlow13', '--no-names', 'dump-aggregate', target]);
  console.log(`process floor: one ovs-ofctl process ${ms(floorSpawn)} (--version), ${ms(floorTrip)} with one round trip to the switch (dump-aggregate), medians of 10`);

  // ---------------------------------------------------------------- 1. lock all VIFs
  const results: { config: string; flows: number; poolnet: number; fresh: number; bareNames: number; bareNumbers: number; reference: number; extrapolated: boolean }[] = [];
  const running = new OvsBackend(opts);
  cleanups.push(() => running.close());
  const configs: { v4: number; v6: number; label: string }[] = [
    { v4: 1, v6: 0, label: '1 IPv4 each' },
    { v4: 2, v6: 1, label: '2 IPv4 + 1 IPv6 each' },
  ];
  for (const c of configs) {
    setAddresses(c.v4, c.v6);
    const desired = compile(d.db, host);
    const flows = ovsTables(desired).flows[BR];
    const perVif = flows.filter((f) => f.cookie === cookieOf(vifs[0].rec.uuid as string)).length;
    const namesFile = join(work, `table-${c.v4}-${c.v6}.flows`);
    const numbersFile = join(work, `table-${c.v4}-${c.v6}.numbered.flows`);
    writeFileSync(namesFile, flows.map(flowText).join('\n') + '\n');
    writeFileSync(numbersFile, numbered(flows));
    console.log(`\n1. Lock ${n(VIFS)} VIFs, ${c.label}: ${perVif} flows per VIF, ${n(flows.length)} flows in ${BR}'s table (${n(VIFS)} x ${perVif} + the default NORMAL flow), from a fresh bridge's table`);

    const t: Record<'poolnet' | 'compile' | 'fresh' | 'names' | 'numbers', number[]> = { poolnet: [], compile: [], fresh: [], names: [], numbers: [] };
    const ways = ['poolnet', 'fresh', 'names', 'numbers'] as const;
    for (let r = 0; r < RUNS; r++) {
      for (let k = 0; k < ways.length; k++) {
        const way = ways[(r + k) % ways.length]; // rotate the order, so that no way always goes first
        if (way === 'poolnet') {
          // the running agent's pass: its backend knows the switch, whose table has no VIF flows yet
          // (the other ways wrote the switch behind its back: its drift check notices)
          const unlocked = asBench(desired);
          const noVifFlows = { flows: { [BR]: bridgeFlows([], desired.bridges.find((x) => x.name === BR)?.ports ?? []) }, meters: {} };
          await reset();
          await running.drift(unlocked);
          await running.apply(unlocked, noVifFlows);
          const a = now();
          const want = compile(d.db, host);
          const b = now();
          await running.apply(asBench(want));
          t.poolnet.push(now() - a); t.compile.push(b - a);
        } else if (way === 'fresh') {
          // a backend that knows nothing of the switch yet, as after a daemon start
          await reset();
          const be = new OvsBackend(opts);
          try {
            const a = now();
            await be.apply(asBench(compile(d.db, host)));
            t.fresh.push(now() - a);
          } finally { be.close(); }
        } else {
          await reset();
          const a = now();
          await run('ovs-ofctl', [...(way === 'names' ? BARE_NAMES : BARE_NUMBERS), way === 'names' ? namesFile : numbersFile]);
          t[way].push(now() - a);
        }
        const got = await flowCount();
        if (got !== flows.length) throw new Error(`${way}: the switch has ${got} flows, expected ${flows.length}`);
      }
    }

    // the reference: one process per rule, as xapi's setup-vif-rules runs them (port names, no -O)
    await reset();
    const rules = flows.filter((f) => f.cookie !== '0x0');
    const sample = opt['full-reference'] ? rules.length : Math.min(SAMPLE, rules.length);
    const a = now();
    for (const f of rules.slice(0, sample)) await run('ovs-ofctl', ['add-flow', target, flowText(f)]);
    const per = (now() - a) / sample;
    const reference = per * rules.length;
    const extrapolated = sample < rules.length;
    const got = await flowCount();
    if (got !== sample + 1) throw new Error(`reference: the switch has ${got} flows, expected ${sample + 1}`);

    table([
      { label: 'poolnet: compile() + OvsBackend.apply', times: t.poolnet, note: '(the running agent\'s pass)' },
      { label: '  of which compile() of the pool database', times: t.compile },
      { label: 'poolnet, first pass after a daemon start', times: t.fresh, note: '(a new OvsBackend: OVSDB read, meters read)' },
      { label: 'bare: ovs-ofctl --bundle replace-flows FILE', times: t.names, note: '(port names, as typed by hand)' },
      { label: 'bare: the same with --no-names, port numbers', times: t.numbers, note: '(what poolnet runs)' },
      { label: 'reference: one ovs-ofctl add-flow per rule', times: [], note: `${ms(reference)} ${extrapolated ? `EXTRAPOLATED from the first ${n(sample)} of ${n(rules.length)} rules` : `all ${n(rules.length)} rules`}, ${ms(per)} per rule` },
    ]);
    const p = median(t.poolnet), pf = median(t.fresh), bn = median(t.names), bu = median(t.numbers);
    console.log(`   poolnet / bare = ${ratio(p, bn)} (port names), ${ratio(p, bu)} (port numbers); target at most 1.5x: ${verdict(p <= 1.5 * Math.min(bn, bu))}; after a daemon start: ${ratio(pf, bn)}, ${ratio(pf, bu)};  reference / poolnet = ${ratio(reference, p)}`);
    results.push({ config: c.label, flows: flows.length, poolnet: p, fresh: pf, bareNames: bn, bareNumbers: bu, reference, extrapolated });
  }

  // ---------------------------------------------------------------- 2. change one VIF's addresses
  const last = configs[configs.length - 1];
  const tableSize = results[results.length - 1].flows;
  const victimIdx = VIFS >> 1;
  const victim = vifs[victimIdx - 1];
  const vCookie = cookieOf(victim.rec.uuid as string);
  const vPort = vifPortName(victimIdx, '0');
  const others = [1, victimIdx - 1, victimIdx + 1, VIFS].filter((i) => i >= 1 && i <= VIFS && i !== victimIdx).map((i) => ({ i, cookie: cookieOf(vifs[i - 1].rec.uuid as string) }));
  console.log(`\n2. Change one VIF's allowed addresses (${vPort}, cookie ${vCookie}) in the table of ${n(VIFS)} VIFs locked to ${last.label} (${n(tableSize)} flows)`);

  // the table as poolnet leaves it after locking, and a backend that has run a pass already
  const be = running;
  await reset();
  await be.drift(compile(d.db, host));
  await be.apply(asBench(compile(d.db, host)));

  let flip = 0;
  /** The victim's next ipv4_allowed: alternates, so that every run is a real change. */
  const nextV4 = () => (++flip % 2 ? [ipv4Of(victimIdx, 0, 172), ipv4Of(victimIdx, 1, 172)] : [ipv4Of(victimIdx, 0), ipv4Of(victimIdx, 1)]);
  const setVictim = (v4: string[]) => d.db.transact((tx) => tx.update(victim.ref, { ipv4_allowed: v4 }));
  const vifFlowsOf = (x: DesiredHost, cookie: string): Flow[] => ovsTables(x).flows[BR].filter((f) => f.cookie === cookie);
  const victimFlows = vifFlowsOf(compile(d.db, host), vCookie).length;

  /** The flows of one cookie in the switch: each flow's text without statistics -> its age in seconds. */
  const dumpCookie = async (cookie: string): Promise<Map<string, number>> => {
    const out = await ofctl('dump-flows', target, `cookie=${cookie}/-1`);
    const lines = out.split('\n').filter((l) => l.includes('cookie='));
    return new Map(lines.map((l) => [l.replace(/\s*(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?/g, '').trim(), Number(/duration=([\d.]+)s/.exec(l)?.[1])]));
  };
  const sameFlows = (a: Map<string, number>, b: Map<string, number>) => a.size === b.size && [...a.keys()].every((k) => b.has(k));
  /**
   * One way of changing the victim's addresses, checked in the switch: the victim has its new
   * flows, the other VIFs' flows are the same flows as before and were not rewritten (their ages
   * did not go back), the table has its size. `resync` runs after the checks (outside any timing).
   */
  const checked = async (way: string, change: (v4: string[]) => Promise<void>, resync?: () => Promise<void>): Promise<void> => {
    const before = await Promise.all(others.map((o) => dumpCookie(o.cookie)));
    const v4 = nextV4();
    await change(v4);
    const after = await Promise.all(others.map((o) => dumpCookie(o.cookie)));
    const mine = await dumpCookie(vCookie);
    const problems: string[] = [];
    others.forEach((o, k) => {
      if (before[k].size === 0) problems.push(`vif${o.i}.0 has no flows`);
      if (!sameFlows(before[k], after[k])) problems.push(`vif${o.i}.0's flows changed`);
      if ([...after[k]].some(([f, age]) => age + 0.001 < before[k].get(f)!)) problems.push(`vif${o.i}.0's flows were rewritten (their age went back)`);
    });
    if (mine.size !== victimFlows) problems.push(`${vPort} has ${mine.size} flows, expected ${victimFlows}`);
    if (!v4.every((ip) => [...mine.keys()].some((l) => new RegExp(`nw_src=${ip.replace(/\./g, '\\.')}(,|\\s|$)`).test(l)))) problems.push(`${vPort}'s new addresses are not in the switch`);
    if ((await flowCount()) !== tableSize) problems.push('the table size changed');
    if (problems.length) throw new Error(`${way}: ${problems.join('; ')}`);
    await resync?.();
  };
  /** Bring poolnet's record of the table back in step after another way wrote the switch. */
  const resync = async () => { await be.replaceVifFlows(BR, vCookie, vifFlowsOf(compile(d.db, host), vCookie)); };

  const t2: Record<string, number[]> = {};
  const push = (k: string, v: number) => (t2[k] ??= []).push(v);
  for (let r = 0; r < RUNS; r++) {
    // poolnet, the per-VIF call: compile, take the VIF's flows, replace them by cookie
    await checked('per-VIF cookie bundle', async (v4) => {
      setVictim(v4);
      const a = now();
      const want = compile(d.db, host);
      const b = now();
      await be.replaceVifFlows(BR, vCookie, vifFlowsOf(want, vCookie));
      push('perVif', now() - a); push('perVifBackend', now() - b);
    });
    // poolnet, what the agent loop does: compile, then apply (OVSDB check of bridges and ports, then flows)
    await checked('agent pass', async (v4) => {
      setVictim(v4);
      const a = now();
      const want = compile(d.db, host);
      const b = now();
      await be.applySwitch(asBench(want));
      const c = now();
      await be.applyFlows(want);
      const e = now();
      push('pass', e - a); push('passCompile', b - a); push('passSwitch', c - b); push('passFlows', e - c);
    });
    // bare: the same one-VIF change as one ovs-ofctl bundle from a file (the floor for any process-based way)
    await checked('bare one-VIF bundle', async (v4) => {
      setVictim(v4);
      const file = join(work, 'one-vif.flows');
      const adds = numbered(vifFlowsOf(compile(d.db, host), vCookie)).trim().split('\n').map((l) => `add ${l}`);
      writeFileSync(file, [`delete cookie=${vCookie}/-1`, ...adds].join('\n') + '\n');
      const a = now();
      await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', '--bundle', 'add-flows', target, file]);
      push('bareVif', now() - a);
    }, resync);
    // bare: replace-flows of the whole new table from a file, with port names and with numbers
    for (const [key, args, text] of [['bareNames', BARE_NAMES, (f: Flow[]) => f.map(flowText).join('\n') + '\n'], ['bareNumbers', BARE_NUMBERS, numbered]] as const) {
      await checked(`bare replace-flows (${key})`, async (v4) => {
        setVictim(v4);
        const file = join(work, 'changed.flows');
        writeFileSync(file, text(ovsTables(compile(d.db, host)).flows[BR] as Flow[]));
        const a = now();
        await run('ovs-ofctl', [...args, file]);
        push(key, now() - a);
      }, resync);
    }
    // the reference: delete the VIF's flows, then one process per rule
    await checked('reference', async (v4) => {
      setVictim(v4);
      const want = vifFlowsOf(compile(d.db, host), vCookie);
      const a = now();
      await run('ovs-ofctl', ['del-flows', target, `cookie=${vCookie}/-1`]);
      for (const f of want) await run('ovs-ofctl', ['add-flow', target, flowText(f)]);
      push('reference', now() - a);
    }, resync);
  }

  // through the XenAPI: VIF.set_ipv4_allowed on the in-process poolnetd, with the agent loop
  // (src/agent/agent.ts) running on its database and driving this switch
  const session = await login(d.url);
  let onApplied: ((t: number) => void) | undefined;
  const sink = { info: () => {}, warn: () => {}, error: (o: object) => console.error('   agent:', JSON.stringify(o)) };
  const sb: SwitchBackend = {
    apply: async (desired) => {
      const r = await be.apply(asBench(desired));
      if (r.filterBridges.includes(BR)) onApplied?.(now());
      return r;
    },
    close: () => {},
  };
  const agent = new Agent(d.db, () => host, sb, undefined, sink, { intervalMs: 3_600_000, debounceMs: 2 });
  cleanups.push(() => agent.stop());
  agent.start();
  await agent.settled();
  for (let r = 0; r < RUNS; r++) {
    await checked('XenAPI + agent loop', async (v4) => {
      const inSwitch = new Promise<number>((resolve, reject) => {
        onApplied = resolve;
        setTimeout(() => reject(new Error('the agent did not apply the change within 10 s')), 10_000).unref();
      });
      const a = now();
      await call(d.url, 'VIF.set_ipv4_allowed', [session, victim.ref, v4]);
      const b = now();
      const e = await inSwitch;
      onApplied = undefined;
      push('apiCall', b - a); push('apiTotal', e - a); push('apiAfter', Math.max(0, e - b));
    });
  }
  await agent.stop();

  table([
    { label: 'poolnet, per-VIF: compile() + OvsBackend.replaceVifFlows', times: t2.perVif },
    { label: '  of which replaceVifFlows (one ovs-ofctl bundle)', times: t2.perVifBackend },
    { label: 'poolnet, agent pass: compile() + applySwitch + applyFlows', times: t2.pass },
    { label: '  compile() of the pool database', times: t2.passCompile },
    { label: '  applySwitch (OVSDB read and compare: no change)', times: t2.passSwitch },
    { label: '  applyFlows (changed cookies only, one bundle)', times: t2.passFlows },
    { label: 'bare: ovs-ofctl --bundle add-flows, the same change', times: t2.bareVif, note: `(delete cookie + ${victimFlows} adds, port numbers)` },
    { label: 'bare: ovs-ofctl --bundle replace-flows, whole table', times: t2.bareNames, note: '(port names)' },
    { label: 'bare: the same with --no-names, port numbers', times: t2.bareNumbers },
    { label: `reference: del-flows cookie + ${victimFlows} x add-flow`, times: t2.reference, note: `(${victimFlows + 1} processes)` },
    { label: 'XenAPI: VIF.set_ipv4_allowed call to its return', times: t2.apiCall },
    { label: '  from the return to the flows in the switch', times: t2.apiAfter },
    { label: '  from the call to the flows in the switch', times: t2.apiTotal },
  ]);
  const pv = median(t2.perVif), pass = median(t2.pass), after = median(t2.apiAfter);
  console.log(`   checked in the switch after every run (dump-flows cookie=X/-1 of ${vPort} and of ${others.map((o) => `vif${o.i}.0`).join(', ')}): ${vPort} has its new flows; the others have the same flows, not rewritten (their ages never went back); the table keeps its ${n(tableSize)} flows`);
  const bareVif = median(t2.bareVif);
  console.log(`   target, in the switch under 20 ms after the API call returns: ${ms(after)}, ${verdict(after < 20)}  (agent pass ${ms(pass)}, per-VIF call ${ms(pv)})`);
  console.log(`   the same change as one bare ovs-ofctl bundle takes ${ms(bareVif)} here now (one ovs-ofctl process: ${ms(floorTrip)}): agent pass / bare = ${ratio(pass, bareVif)}, poolnet's own work in the pass ~${ms(Math.max(0, pass - bareVif))} (compile ${ms(median(t2.passCompile))})`);
  console.log(`   bare whole table / agent pass = ${ratio(median(t2.bareNames), pass)} (port names), ${ratio(median(t2.bareNumbers), pass)} (port numbers);  reference / agent pass = ${ratio(median(t2.reference), pass)}`);

  // ---------------------------------------------------------------- summary
  console.log('\nSummary (medians)');
  for (const r of results) {
    console.log(`   lock ${n(VIFS)} VIFs, ${r.config} (${n(r.flows)} flows): poolnet ${ms(r.poolnet)} | bare bundle ${ms(r.bareNames)} (names), ${ms(r.bareNumbers)} (numbers) | reference ${r.extrapolated ? '~' : ''}${ms(r.reference)}${r.extrapolated ? ' (extrapolated)' : ''}`);
    console.log(`      poolnet / bare ${ratio(r.poolnet, r.bareNames)} (names), ${ratio(r.poolnet, r.bareNumbers)} (numbers): at most 1.5x ${verdict(r.poolnet <= 1.5 * Math.min(r.bareNames, r.bareNumbers))}; first pass after a daemon start ${ms(r.fresh)} (${ratio(r.fresh, r.bareNames)}, ${ratio(r.fresh, r.bareNumbers)});  reference / poolnet ${ratio(r.reference, r.poolnet)}`);
  }
  console.log(`   change one VIF's addresses: XenAPI return -> in the switch ${ms(after)} (under 20 ms: ${verdict(after < 20)}) | agent pass ${ms(pass)} | per-VIF call ${ms(pv)} | bare bundle of the change ${ms(bareVif)} | bare bundle of the whole table ${ms(median(t2.bareNames))} (names), ${ms(median(t2.bareNumbers))} (numbers) | reference ${ms(median(t2.reference))}; only that VIF's flows rewritten: checked`);
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
