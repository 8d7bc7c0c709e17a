// What an idle agent costs to find drift: `node --import tsx bench/drift.ts` (npm run bench:drift).
// Needs root and Open vSwitch; the switch runs in a namespace of its own, removed at the end, also
// after a failure or Ctrl-C. Options: --seconds N (60, the idle window), --nics N (3 bridges),
// --vifs N (16 locked VIF ports per bridge, internal ports: larger tables, as on a host with VMs).
//
// One agent (src/agent/agent.ts, its production 10 s timer) on a pool database, its switch in a
// namespace, idle for the window; side by side in one run:
//   - with the flow monitor (default): each bridge's flows watched over the agent's own OpenFlow
//     connection, drift() reads nothing back (a diff-flows once after each monitor starts, then
//     every 5 minutes);
//   - the old path (OvsOptions.flowMonitor false): one `ovs-ofctl diff-flows` per bridge per
//     timer pass.
// Printed for each: ovs-ofctl processes spawned, CPU of this process (the agent, and the daemon
// idle beside it), CPU of its reaped children (the ovs-ofctl processes), CPU of ovs-vswitchd (it
// answers each diff-flows' dump); and how long an administrator's `ovs-ofctl del-flows` on one
// bridge stays unrepaired (timed by polling dump-flows every 20 ms). Nothing here asserts a time.

import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../src/agent/agent.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { compile } from '../src/agent/compile.ts';
import type { OvsBackend } from '../src/agent/ovs.ts';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon.ts';
import { startSwitchNs, switchBackend, switchNsSkipReason, type SwitchNs } from '../test/helpers/netns.ts';

const { values: opt } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, nics: { type: 'string', default: '3' }, vifs: { type: 'string', default: '16' } } });
const SECONDS = Math.max(5, Number(opt.seconds));
const NICS = Math.max(1, Number(opt.nics));
const VIFS = Math.max(0, Number(opt.vifs));
const INTERVAL_MS = 10_000;

const cleanups: (() => unknown)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) { try { await c(); } catch (e) { console.error('cleanup:', (e as Error).message); } }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => { void cleanup().finally(() => process.exit(130)); });

const TICK = 100; // clock ticks per second (USER_HZ) on Linux
/** utime+stime and cutime+cstime of a process, in ms. */
function cpuOf(pid: number | 'self'): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // fields 14-17 of stat; f[0] is field 3
  return { own: ((f[11] + f[12]) * 1000) / TICK, children: ((f[13] + f[14]) * 1000) / TICK };
}

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** The compiled desired state with VIFS locked VIF ports added to every bridge (internal ports: no VMs here). */
function withVifs(d: DesiredHost): DesiredHost {
  let k = 0;
  return {
    ...d,
    bridges: d.bridges.map((b) => ({
      ...b,
      ports: [...b.ports, ...Array.from({ length: VIFS }, (): PortSpec => {
        const i = ++k;
        return { name: `vif${i}.0`, kind: 'vif', interfaces: [`vif${i}.0`], type: 'internal', vifUuid: uuid(i), lock: { mode: 'locked', mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ipv4: [`10.${i >> 8}.${i & 255}.1`], ipv6: [] } };
      })],
    })),
  };
}

interface Figures { spawned: number; passes: number; agentMs: number; childMs: number; vswitchdMs: number; repairMs: number; bridges: number; flows: number }

async function measure(d: TestDaemon, sw: SwitchNs, monitor: boolean): Promise<Figures> {
  const host = [...d.db.all('host')][0].ref;
  const backend: OvsBackend = switchBackend(sw, { flowMonitor: monitor });
  // the agent's own desired state, with locked VIFs added (compile() is what the agent runs)
  const sb = {
    apply: (x: DesiredHost) => backend.apply(withVifs(x)),
    drift: (x: DesiredHost) => backend.drift(withVifs(x)),
    watch: (f: () => void) => backend.watch(f),
    close: () => backend.close(),
  };
  const log = { info: () => undefined, warn: () => undefined, error: (o: object) => console.error('   agent:', JSON.stringify(o)) };
  const agent = new Agent(d.db, () => host, sb, undefined, log, { intervalMs: INTERVAL_MS });
  cleanups.push(() => agent.stop());
  agent.start();
  await agent.settled();
  const bridges = compile(d.db, host).bridges.map((b) => b.name);
  // one timer pass first: its drift check reads each table back once after the monitors start
  await new Promise((r) => setTimeout(r, INTERVAL_MS + 1_000));
  const vswitchd = Number(readFileSync(join(sw.dir, 'vswitchd.pid'), 'utf8').trim());
  const s0 = backend.spawned.ofctl, p0 = agent.passes, c0 = cpuOf('self'), v0 = cpuOf(vswitchd);
  await new Promise((r) => setTimeout(r, SECONDS * 1_000));
  const s1 = backend.spawned.ofctl, p1 = agent.passes, c1 = cpuOf('self'), v1 = cpuOf(vswitchd);
  // an administrator deletes one bridge's flows: how long until the agent has them back
  const target = `unix:${sw.dir}/${bridges[bridges.length - 1]}.mgmt`;
  const count = () => sw.ofctl('dump-flows', '--no-stats', target).split('\n').filter((l) => l.includes('actions=')).length;
  const flows = count();
  const t0 = performance.now();
  sw.ofctl('del-flows', target);
  while (count() < flows) {
    if (performance.now() - t0 > 3 * INTERVAL_MS) throw new Error('the table was not repaired within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const repairMs = performance.now() - t0;
  await agent.stop();
  return { spawned: s1 - s0, passes: p1 - p0, agentMs: c1.own - c0.own, childMs: c1.children - c0.children, vswitchdMs: v1.own - v0.own, repairMs, bridges: bridges.length, flows };
}

async function main(): Promise<void> {
  const missing = switchNsSkipReason();
  if (missing) throw new Error(missing);
  console.log(`bench/drift: one idle agent, ${NICS} bridges with ${VIFS} locked VIF ports each, ${SECONDS} s idle per way, timer every ${INTERVAL_MS / 1000} s`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`);
  const d = await startTestDaemon();
  cleanups.push(() => d.dispose());
  const sw = await startSwitchNs(NICS, 'bdrift');
  cleanups.push(() => sw.dispose());
  // the old path first, then the monitor: the same switch, a new agent and backend each
  const old = await measure(d, sw, false);
  const mon = await measure(d, sw, true);
  const pad = (s: string, w: number) => ' '.repeat(Math.max(0, w - s.length)) + s;
  const row = (label: string, a: string, b: string) => console.log(`   ${label.padEnd(44)}${pad(a, 18)}${pad(b, 20)}`);
  console.log(`\n   ${old.bridges} bridges, ${old.flows} flows in the one tampered with; over ${SECONDS} s idle:`);
  row('', 'flow monitor', 'diff-flows (old)');
  row('agent timer passes', String(mon.passes), String(old.passes));
  row('ovs-ofctl processes spawned', String(mon.spawned), String(old.spawned));
  row('CPU, agent process (daemon idle included)', `${mon.agentMs.toFixed(0)} ms`, `${old.agentMs.toFixed(0)} ms`);
  row('CPU, its ovs-ofctl children', `${mon.childMs.toFixed(0)} ms`, `${old.childMs.toFixed(0)} ms`);
  row('CPU, ovs-vswitchd', `${mon.vswitchdMs.toFixed(0)} ms`, `${old.vswitchdMs.toFixed(0)} ms`);
  const total = (f: Figures) => f.agentMs + f.childMs + f.vswitchdMs;
  row('CPU, all three, % of one core', `${((100 * total(mon)) / (SECONDS * 1000)).toFixed(2)} %`, `${((100 * total(old)) / (SECONDS * 1000)).toFixed(2)} %`);
  row('an admin\'s del-flows repaired after', `${mon.repairMs.toFixed(0)} ms`, `${old.repairMs.toFixed(0)} ms`);
  console.log(`   (CPU in ${1000 / TICK} ms ticks; the old path's repair waits for the next timer pass: up to ${INTERVAL_MS / 1000} s)`);
  console.log(`machine: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`);
}

try {
  await main();
} finally {
  await cleanup();
}
