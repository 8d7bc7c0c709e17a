// What the drop poller costs per read (src/agent/droppoller.ts): `node --import tsx bench/drops.ts`
// (npm run bench:drops). Needs root and Open vSwitch; everything runs in namespaces of its own,
// removed at the end, also after a failure or Ctrl-C. Options: --vifs N (512), --runs N (20).
//
// A bridge with N locked VIFs (one IPv4 address each; internal ports named as the hypervisor's
// vif devices), its table written by OvsBackend. Side by side, per read of every VIF's drop
// counters: over the backend's persistent OpenFlow connection (flow stats of the VIF cookies),
// and one `ovs-ofctl dump-flows` process; each with the parse and the accounting dropstats.ts
// does. Then the Linux bridge's nftables table for the same N VIFs in a namespace: one
// `nft -j list counters`. Times are wall-clock (the switch's and nft's work included); the poller
// reads once a second, or every 10 times a read's duration when that is longer. Nothing here
// asserts a time.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { fullScript, nftState } from '../src/agent/bridgerules.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { DropCounter, flowReadings, parseFlowDump, type FlowStat } from '../src/agent/dropstats.ts';
import { nftReadings } from '../src/agent/droppoller.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { cookieOf, DROP_REASON } from '../src/agent/ovsflows.ts';
import { startSwitchNs, switchNsSkipReason, type SwitchNs } from '../test/helpers/netns.ts';

const run = promisify(execFile);
const { values: opt } = parseArgs({ options: { vifs: { type: 'string', default: '512' }, runs: { type: 'string', default: '20' } } });
const VIFS = Number(opt.vifs);
const RUNS = Math.max(3, Number(opt.runs));
const BR = 'xenbr0';

const cleanups: (() => unknown)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) { try { await c(); } catch (e) { console.error('cleanup:', (e as Error).message); } }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => { void cleanup().finally(() => process.exit(130)); });

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const mac = (i: number) => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const ip = (i: number) => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;

async function timed(f: () => Promise<unknown>): Promise<{ p50: number; max: number }> {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) { const t = performance.now(); await f(); xs.push(performance.now() - t); }
  xs.sort((a, b) => a - b);
  return { p50: xs[Math.floor(xs.length / 2)], max: xs[xs.length - 1] };
}
// the poller spaces reads out to 10 times a read's duration (at least 1 s, droppoller.ts)
const show = (what: string, r: { p50: number; max: number }) => console.log(`  ${what.padEnd(58)} p50 ${r.p50.toFixed(1).padStart(6)} ms   max ${r.max.toFixed(1).padStart(6)} ms   -> a read every ${Math.max(1, r.p50 / 100).toFixed(1)} s`);

async function main(): Promise<void> {
  const missing = switchNsSkipReason();
  if (missing) { console.log(`skipped: ${missing}`); return; }
  const sw: SwitchNs = await startSwitchNs(1, 'drops');
  cleanups.push(() => sw.dispose());
  const ports: PortSpec[] = [...Array(VIFS).keys()].map((k) => {
    const i = k + 1;
    return { name: `vif${i}.0`, kind: 'vif', interfaces: [`vif${i}.0`], type: 'internal', vifUuid: uuid(i), lock: { mode: 'locked', mac: mac(i), ipv4: [ip(i)], ipv6: [] } };
  });
  const desired: DesiredHost = { hostname: 'bench', bridges: [{ name: BR, ports: [{ name: 'eth0', kind: 'uplink', interfaces: ['eth0'], type: '' }, ...ports], externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] };
  const ovs = new OvsBackend({ dbSocket: sw.dbSocket, runDir: sw.dir, datapathType: 'netdev' });
  cleanups.push(() => ovs.close());
  let t = performance.now();
  await ovs.apply(desired);
  const flows = Number(/flow_count=(\d+)/.exec(sw.ofctl('dump-aggregate', `unix:${join(sw.dir, `${BR}.mgmt`)}`))?.[1]);
  console.log(`Open vSwitch: ${VIFS} locked VIFs, ${flows} flows on ${BR} (written in ${(performance.now() - t).toFixed(0)} ms); ${RUNS} reads each:`);
  const cookies = new Map(ports.map((p) => [cookieOf(p.vifUuid!), p.vifUuid!]));
  const counter = new DropCounter();
  const overOpenFlow = async () => {
    const st = await ovs.flowStats(BR, '0x1', '0x1');
    const fs: FlowStat[] = st.map((f) => ({ cookie: f.cookie, priority: f.priority, match: f.match, packets: Number(f.packet_count), ageSec: f.duration_sec, drop: DROP_REASON.has(f.priority) }));
    counter.add(flowReadings(BR, fs, cookies, 1, 1));
  };
  const overOfctl = async () => {
    const { stdout } = await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', 'dump-flows', `unix:${join(sw.dir, `${BR}.mgmt`)}`, 'cookie=0x1/0x1'], { maxBuffer: 256 << 20 });
    counter.add(flowReadings(BR, parseFlowDump(stdout), cookies, 1));
  };
  await overOpenFlow().catch((e: Error) => console.log(`  (no OpenFlow connection: ${e.message})`));
  try { show('flow stats over the persistent OpenFlow connection', await timed(overOpenFlow)); } catch (e) { console.log(`  OpenFlow: ${(e as Error).message}`); }
  show('ovs-ofctl dump-flows (one process per read)', await timed(overOfctl));

  // the Linux bridge stack: the same VIFs' named counters in a namespace's nftables
  const ns = `pn-bench-drops-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  cleanups.push(() => run('ip', ['netns', 'del', ns]));
  const state = nftState(ports.map((p) => ({ port: p.name, ...p.lock! })));
  t = performance.now();
  const load = run('ip', ['netns', 'exec', ns, 'nft', '-f', '-']);
  load.child.stdin!.end(fullScript(state));
  await load;
  console.log(`Linux bridge: ${state.counters.length} named counters for ${VIFS} locked VIFs (table loaded in ${(performance.now() - t).toFixed(0)} ms); ${RUNS} reads:`);
  const byPort = new Map(ports.map((p) => [p.name, p.vifUuid!]));
  show('nft -j list counters (one process per read)', await timed(async () => {
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'counters', 'table', 'bridge', 'poolnet'], { maxBuffer: 256 << 20 });
    counter.add(nftReadings(stdout, byPort));
  }));
}

main().catch((e: Error) => { console.error(e.stack ?? e.message); process.exitCode = 1; }).finally(() => cleanup());
