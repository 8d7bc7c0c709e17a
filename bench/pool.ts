// Pool benchmark at XenServer's limits: `npm run bench:pool [-- --sizes 8,16,64] [--no-limits]`.
// Needs root, network namespaces, Open vSwitch, dnsmasq, ethtool, nft, openssl (what `poolnet lab`
// needs). Everything runs in poolnet labs of the bench's own (namespaces pnbpool-*, files in
// /run/poolnet-bench-pool), removed after each size, also after a failure or Ctrl-C. It prints
// figures, side by side per pool size; nothing here asserts a time.
//
// For each pool size N (a lab: N hosts with 2 NICs, hosts 1..N-1 in a pool with one VM each, host N
// standalone):
//   1. lab up: the time `poolnet lab up` takes for it (hosts, joins and VMs side by side);
//   2. idle: each member's poolnetd RSS (median, max), the master's, and the CPU of every lab
//      process (poolnetd, ovsdb-server, ovs-vswitchd, their children) over 10 s;
//   3. the last host's join: host N's pool.join into the pool of N-1, until it returns, and until
//      its replica (its own database file) lists N hosts;
//   4. a pool-wide VLAN: pool.create_VLAN_from_PIF on the master's eth1 with tag 100, until each
//      host's switch has the VLAN's fake bridge (seen by an ovsdb-client monitor on each switch, so
//      nothing polls): the distribution over hosts, and the CPU the master and the members spent;
//   5. the change stream's fan-out: 20 database-only changes (a network's other_config) 150 ms
//      apart, the master's CPU per change and per member, and the members' CPU per change;
//   6. a private network across all N hosts (GRE, a full mesh: N-1 tunnel ports on every host): from
//      the first tunnel.create until each host's switch has its N-1 ports, then a second NIC on
//      every VM on it and a ring of pings (vm_j to vm_j+1) carrying traffic.
// Then one host at its limits (unless --no-limits): 800 VLANs on eth1, 16 private networks, 64
// VMs with 8 VIFs each (512 VIFs): the time until its switch shows them all, and its poolnetd's and
// ovs-vswitchd's RSS.
//
// Options: --sizes 8,16 (default 8,16,64; the machine is shared: 64 hosts load it for minutes),
// --no-limits, --timeout S (per wait, 180).

import BetterSqlite3 from 'better-sqlite3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

// the lab's namespaces and files are the bench's own: set before the lab module is loaded
process.env.POOLNET_LAB_PREFIX = 'pnbpool-';
process.env.POOLNET_LAB_DIR = '/run/poolnet-bench-pool';
type LabModule = typeof import('../src/lab/lab.ts');
type LabState = Awaited<ReturnType<LabModule['up']>>;
type LabHost = LabState['hosts'][number];
const lab: LabModule = await import('../src/lab/lab.ts');

const execFileP = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '8,16,64' },
    'no-limits': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '180' },
  },
});
const SIZES = String(opt.sizes).split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 3 && n <= 64);
const WAIT_MS = Math.max(10, Number(opt.timeout)) * 1000;
const PASSWORD = 'bench-pool';
const SUBNET = '10.201.0';

// ---------------------------------------------------------------- cleanup, also on Ctrl-C

const children = new Set<ChildProcess>();
let interrupted = false;
function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
  try { lab.down(() => undefined); } catch (e) { console.error('cleanup:', (e as Error).message); }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up (the lab's namespaces, processes and files)`);
    cleanup();
    process.exit(130);
  });
}

// ---------------------------------------------------------------- helpers

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number | undefined) => (x === undefined ? '—' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const mb = (kb: number | undefined) => (kb === undefined ? '—' : `${(kb / 1024).toFixed(0)} MB`);
const started = now();
const log = (msg: string) => console.log(`  [${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : undefined; };

async function until<T>(check: () => T | undefined | Promise<T | undefined>, within = WAIT_MS, every = 100): Promise<T | undefined> {
  const end = now() + within;
  for (;;) {
    if (interrupted) return undefined;
    try { const v = await check(); if (v !== undefined) return v; } catch { /* not yet */ }
    if (now() > end) return undefined;
    await sleep(every);
  }
}

async function inNs(ns: string, cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return (await execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 })).stdout;
}

class Api {
  private session = '';
  constructor(readonly socket: string) {}
  async call<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
    this.session ||= (await lab.rpc(this.socket, 'session.login_with_password', ['root', PASSWORD])) as string;
    return (await lab.rpc(this.socket, method, [this.session, ...params])) as T;
  }
}

/** At most `n` at once. */
async function inParallel<T, R>(items: readonly T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); }
  }));
  return out;
}

// ---------------------------------------------------------------- processes: CPU and memory

const pidOf = (file: string) => { try { return Number(readFileSync(file, 'utf8').trim()); } catch { return 0; } };
/** CPU time (ms) of a process and its reaped children (an agent's ovs-ofctl, ip, nft). */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch { return 0; }
}
const rssKb = (pid: number) => { try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]); } catch { return undefined; } };
const poolnetd = (h: LabHost) => pidOf(join(h.dir, 'poolnetd.pid'));
/** Every daemon of the lab by kind: poolnetd, ovsdb-server, ovs-vswitchd, dnsmasq. */
function labPids(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pid)$/.test(e.name) && !/^(dnsmasq|forward)/.test(e.name)) {
        const kind = e.name.replace(/\.pid$/, '');
        out.set(kind, [...(out.get(kind) ?? []), pidOf(p)]);
      }
    }
  };
  if (existsSync(lab.LAB_DIR)) walk(lab.LAB_DIR);
  return out;
}
/** The lab's CPU (ms) by kind of daemon during `fn`. */
async function cpuDuring(fn: () => Promise<unknown>): Promise<Map<string, number>> {
  const pids = labPids();
  const before = new Map([...pids].map(([k, ps]) => [k, ps.reduce((a, p) => a + cpuMs(p), 0)]));
  await fn();
  return new Map([...pids].map(([k, ps]) => [k, ps.reduce((a, p) => a + cpuMs(p), 0) - before.get(k)!]));
}

// ---------------------------------------------------------------- switches, watched

/**
 * An ovsdb-client monitor on one host's switch: every row of a table as it changes, with the
 * moment each update came. Nothing polls the switches (64 of them polled every 50 ms would load
 * the machine more than what is measured).
 */
class Watch {
  readonly rows = new Map<string, Record<string, unknown>>();
  private readonly proc: ChildProcess;
  private buf = '';
  private waiters: (() => void)[] = [];
  constructor(h: LabHost, table: string, columns: string[]) {
    this.proc = spawn('ovsdb-client', ['monitor', `unix:${h.dir}/ovs/db.sock`, 'Open_vSwitch', table, columns.join(','), '--format=json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.add(this.proc);
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (c: string) => { this.buf += c; this.parse(); });
  }
  private parse(): void {
    // one JSON object per update, not separated: cut at each top-level closing brace
    let depth = 0, inStr = false, start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (inStr) { if (ch === '\\') i++; else if (ch === '"') inStr = false; continue; }
      if (ch === '"') inStr = true;
      else if (ch === '{') { if (depth++ === 0) start = i; }
      else if (ch === '}' && --depth === 0) {
        this.update(JSON.parse(this.buf.slice(start, i + 1)) as { headings: string[]; data: unknown[][] });
        this.buf = this.buf.slice(i + 1);
        i = -1;
      }
    }
  }
  private update(u: { headings: string[]; data: unknown[][] }): void {
    for (const row of u.data) {
      const rec = Object.fromEntries(u.headings.map((k, i) => [k, row[i]]));
      const uuid = String(rec.row), action = String(rec.action);
      if (action === 'delete' || action === 'old') { if (action === 'delete') this.rows.delete(uuid); continue; }
      this.rows.set(uuid, rec);
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** The moment (performance.now()) `pred` first held over the rows, or undefined after `within`. */
  async when(pred: (rows: Record<string, unknown>[]) => boolean, within = WAIT_MS): Promise<number | undefined> {
    const end = now() + within;
    while (!interrupted) {
      if (pred([...this.rows.values()])) return now();
      const left = end - now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => { const t = setTimeout(r, Math.min(left, 1000)); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
    return undefined;
  }
  close(): void { if (this.proc.exitCode === null) this.proc.kill(); children.delete(this.proc); }
}

interface PifRec { device: string; VLAN: number; host: string; network: string; management: boolean }

// ---------------------------------------------------------------- one pool size

interface SizeFigures {
  n: number;
  labUp: number;
  memberRss: number[]; masterRss?: number;
  idleCpu: Map<string, number>;
  joinReturns?: number; joinReplica?: number;
  vlan: number[]; vlanMissing: number; vlanCpu?: Map<string, number>; vlanMasterCpu?: number;
  fanMasterPerChange?: number; fanMembersPerChange?: number;
  mesh: number[]; meshMissing: number; ring?: { ok: number; of: number };
}

async function benchSize(n: number): Promise<SizeFigures> {
  console.log(`\n== a pool of ${n} hosts`);
  let t = now();
  let told = 0;
  // the counted lines every 5 s at most
  const st = await lab.up({ hosts: n, nics: 2, vms: n - 1, stack: 'openvswitch', port: 0, password: PASSWORD, standalone: 1 }, (m) => {
    if (!m.startsWith('hosts up') || now() - told > 5000) { told = now(); log(m); }
  });
  const labUp = now() - t;
  log(`lab up (${n - 1} hosts joined, ${n - 1} VMs, host${n} standalone) in ${fmt(labUp)}`);
  const hosts = st.hosts;
  const master = new Api(hosts[0].socket);

  // 2. idle
  await sleep(5000);
  const idleCpu = await cpuDuring(() => sleep(10_000));
  const memberRss = hosts.slice(1, n - 1).map((h) => rssKb(poolnetd(h)) ?? 0);
  const masterRss = rssKb(poolnetd(hosts[0]));
  log(`idle: ${[...idleCpu].map(([k, v]) => `${k} ${(v / 100).toFixed(0)}%`).join(', ')} of a core; member RSS median ${mb(median(memberRss))}`);

  // 3. the last host's join
  const last = hosts[n - 1];
  const s = (await lab.rpc(last.socket, 'session.login_with_password', ['root', PASSWORD])) as string;
  const t0 = now();
  await lab.rpc(last.socket, 'pool.join', [s, hosts[0].ip, 'root', PASSWORD]);
  const joinReturns = now() - t0;
  const replica = new BetterSqlite3(join(last.dir, 'data', 'pool.db'), { readonly: true, fileMustExist: true });
  const joinReplica = await until(() => ((replica.prepare("SELECT count(*) AS n FROM objects WHERE cls = 'host'").get() as { n: number }).n === n ? now() - t0 : undefined), WAIT_MS, 20);
  replica.close();
  log(`host${n} joined: pool.join returned after ${fmt(joinReturns)}, its replica lists ${n} hosts after ${fmt(joinReplica)}`);
  await sleep(3000);

  // 4. a pool-wide VLAN, per host
  const pifs = await master.call<Record<string, PifRec>>('PIF.get_all_records');
  const hostRef1 = (await master.call<string[]>('host.get_all_where', 'field "hostname"="host1"'))[0];
  const eth1 = Object.entries(pifs).find(([, p]) => p.host === hostRef1 && p.device === 'eth1' && Number(p.VLAN) === -1)![0];
  const ports = hosts.map((h) => new Watch(h, 'Port', ['name', 'tag', 'fake_bridge']));
  await Promise.all(ports.map((w) => w.when((rows) => rows.length > 0, 10_000)));
  const vnet = await master.call<string>('network.create', { name_label: 'VLAN 100', name_description: 'pool-wide', MTU: 1500, other_config: {} });
  let vlanTimes: (number | undefined)[] = [];
  const masterCpu0 = cpuMs(poolnetd(hosts[0]));
  const vlanCpu = await cpuDuring(async () => {
    const v0 = now();
    const seen = ports.map((w) => w.when((rows) => rows.some((r) => r.fake_bridge === true && r.tag === 100)));
    await master.call('pool.create_VLAN_from_PIF', eth1, vnet, 100);
    vlanTimes = (await Promise.all(seen)).map((x) => (x === undefined ? undefined : x - v0));
    await sleep(2000); // what follows it: the agents' reports, fanned out again
  });
  const vlanMasterCpu = cpuMs(poolnetd(hosts[0])) - masterCpu0;
  for (const w of ports) w.close();
  const vlan = vlanTimes.filter((x): x is number => x !== undefined);
  log(`VLAN 100 on ${vlan.length}/${n} switches: median ${fmt(median(vlan))}, max ${fmt(vlan.length ? Math.max(...vlan) : undefined)}`);

  // 5. the change stream's fan-out: database-only changes
  await sleep(3000);
  const CHANGES = 20;
  const fanMaster0 = cpuMs(poolnetd(hosts[0]));
  const fan = await cpuDuring(async () => {
    for (let i = 0; i < CHANGES; i++) { await master.call('network.add_to_other_config', vnet, `bench${i}`, 'x'); await sleep(150); }
    await sleep(2000);
  });
  const masterFan = cpuMs(poolnetd(hosts[0])) - fanMaster0;
  const pdTotal = fan.get('poolnetd') ?? 0;
  const fanMasterPerChange = masterFan / CHANGES;
  const fanMembersPerChange = (pdTotal - masterFan) / CHANGES;
  log(`fan-out: the master ${fmt(fanMasterPerChange)} of CPU per change (${((fanMasterPerChange * 1000) / (n - 1)).toFixed(0)} µs per member), the members together ${fmt(fanMembersPerChange)}`);

  // 6. a private network across all hosts
  const mgmt = await master.call<Record<string, PifRec>>('PIF.get_all_records_where', 'field "management"="true"');
  const hostRefs = await Promise.all(hosts.map(async (h) => (await master.call<string[]>('host.get_all_where', `field "hostname"="${h.name}"`))[0]));
  const transport = hostRefs.map((ref) => Object.entries(mgmt).find(([, p]) => p.host === ref)![0]);
  const pnet = await master.call<string>('network.create', { name_label: 'bench private', name_description: 'a full mesh', MTU: 1500, other_config: {} });
  const ifaces = hosts.map((h) => new Watch(h, 'Interface', ['name', 'type']));
  await Promise.all(ifaces.map((w) => w.when((rows) => rows.length > 0, 10_000)));
  const m0 = now();
  const meshSeen = ifaces.map((w) => w.when((rows) => rows.filter((r) => r.type === 'gre').length >= n - 1));
  await inParallel(transport, 4, (pif) => master.call('tunnel.create', pif, pnet, 'gre'));
  log(`${n} tunnel.create calls in ${fmt(now() - m0)}`);
  const meshTimes = (await Promise.all(meshSeen)).map((x) => (x === undefined ? undefined : x - m0));
  for (const w of ifaces) w.close();
  const mesh = meshTimes.filter((x): x is number => x !== undefined);
  log(`full mesh (${n - 1} GRE ports) on ${mesh.length}/${n} switches: median ${fmt(median(mesh))}, max ${fmt(mesh.length ? Math.max(...mesh) : undefined)}`);
  // traffic: a second NIC on each VM, on the private network, and a ring of pings
  const vms = st.vms;
  await inParallel(vms, 4, async (v, x) => {
    const vm = await master.call<string>('VM.get_by_uuid', v.uuid);
    const vif = await master.call<string>('VIF.create', { device: '1', network: pnet, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] });
    await master.call('VIF.plug', vif);
    const mac = await master.call<string>('VIF.get_MAC', vif);
    await lab.waitNic(v.ns, 'eth1', mac);
    await inNs(v.ns, 'ip', ['addr', 'add', `${SUBNET}.${x + 1}/24`, 'dev', 'eth1']);
  });
  const ring = await inParallel(vms, 8, async (v, x) => {
    const out = await inNs(v.ns, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', `${SUBNET}.${((x + 1) % vms.length) + 1}`], 30_000).catch((e: { stdout?: string }) => e.stdout ?? '');
    return Number(/(\d+) received/.exec(out)?.[1] ?? 0) > 0;
  });
  log(`traffic on the private network: ${ring.filter(Boolean).length}/${vms.length} VMs answered by the next one`);

  t = now();
  lab.down(() => undefined);
  log(`lab down in ${fmt(now() - t)}`);
  return {
    n, labUp, memberRss, masterRss, idleCpu, joinReturns, joinReplica,
    vlan, vlanMissing: n - vlan.length, vlanCpu, vlanMasterCpu, fanMasterPerChange, fanMembersPerChange,
    mesh, meshMissing: n - mesh.length, ring: { ok: ring.filter(Boolean).length, of: vms.length },
  };
}

// ---------------------------------------------------------------- one host at its limits

interface LimitFigures { vlans?: number; tunnels?: number; vifs?: number; all?: number; oneMore?: number; poolnetdRss?: number; vswitchdRss?: number; calls: number }

async function benchLimits(): Promise<LimitFigures> {
  const VLANS = 800, PRIVATE = 16, VMS = 64, VIFS_PER_VM = 8;
  console.log(`\n== one host at its limits: ${VLANS} VLANs, ${PRIVATE} private networks, ${VMS * VIFS_PER_VM} VIFs (${VMS} VMs with ${VIFS_PER_VM} each)`);
  const st = await lab.up({ hosts: 1, nics: 2, vms: 0, stack: 'openvswitch', port: 0, password: PASSWORD }, () => undefined);
  const h = st.hosts[0];
  const m = new Api(h.socket);
  const pifs = await m.call<Record<string, PifRec>>('PIF.get_all_records');
  const eth1 = Object.entries(pifs).find(([, p]) => p.device === 'eth1' && Number(p.VLAN) === -1)![0];
  const mgmt = Object.entries(pifs).find(([, p]) => p.management)![0];
  const xenbr0 = (await m.call<string[]>('network.get_all_where', 'field "bridge"="xenbr0"'))[0];
  const hostRef = (await m.call<string[]>('host.get_all'))[0];
  const ports = new Watch(h, 'Port', ['name', 'tag', 'fake_bridge']);
  const bridges = new Watch(h, 'Bridge', ['name', 'external_ids']);
  await ports.when((rows) => rows.length > 0, 10_000);
  const t0 = now();
  await inParallel(Array.from({ length: VLANS }, (_, i) => i), 4, async (i) => {
    const net = await m.call<string>('network.create', { name_label: `VLAN ${i + 2}`, name_description: '', MTU: 1500, other_config: {} });
    await m.call('VLAN.create', eth1, i + 2, net);
  });
  const privs = await inParallel(Array.from({ length: PRIVATE }, (_, i) => i), 4, async (i) => {
    const net = await m.call<string>('network.create', { name_label: `private ${i}`, name_description: '', MTU: 1500, other_config: {} });
    await m.call('tunnel.create', mgmt, net, 'gre');
    return m.call<string>('network.get_bridge', net);
  });
  await inParallel(Array.from({ length: VMS }, (_, i) => i), 4, async (i) => {
    const vm = await m.call<string>('VM.create', { name_label: `vm${i + 1}`, name_description: '', other_config: {} });
    for (let d = 0; d < VIFS_PER_VM; d++) await m.call('VIF.create', { device: String(d), network: xenbr0, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] });
    await m.call('VM.start_on', vm, hostRef, false, false);
  });
  const calls = now() - t0;
  log(`${VLANS * 2 + PRIVATE * 2 + VMS * (VIFS_PER_VM + 2)} XenAPI calls in ${fmt(calls)}`);
  const privSet = new Set(privs);
  const [vl, tu, vi] = await Promise.all([
    ports.when((rows) => rows.filter((r) => r.fake_bridge === true).length >= VLANS),
    bridges.when((rows) => rows.filter((r) => privSet.has(String(r.name))).length >= PRIVATE),
    ports.when((rows) => rows.filter((r) => /^vif\d+\.\d+$/.test(String(r.name))).length >= VMS * VIFS_PER_VM, WAIT_MS * 2),
  ]);
  const since = (x: number | undefined) => (x === undefined ? undefined : x - t0);
  const all = vl && tu && vi ? Math.max(vl, tu, vi) - t0 : undefined;
  log(`the switch shows the ${VLANS} VLANs +${vl === undefined ? 'never' : fmt(since(vl))}, the ${PRIVATE} private networks +${fmt(since(tu))}, the ${VMS * VIFS_PER_VM} VIFs +${fmt(since(vi))}`);
  if (vl === undefined) log(`the agent's last error: ${lastError(h)}`);
  await sleep(5000);
  // one more VLAN at the limit (when the others made it to the switch)
  const t1 = now();
  const seen = ports.when((rows) => rows.some((r) => r.fake_bridge === true && r.tag === 4000), vl === undefined ? 1 : WAIT_MS);
  const net = await m.call<string>('network.create', { name_label: 'VLAN 4000', name_description: '', MTU: 1500, other_config: {} });
  await m.call('VLAN.create', eth1, 4000, net);
  const oneMore = vl === undefined ? undefined : since2(await seen, t1);
  ports.close();
  bridges.close();
  await sleep(3000);
  const f: LimitFigures = {
    vlans: since(vl), tunnels: since(tu), vifs: since(vi), all, oneMore, calls,
    poolnetdRss: rssKb(poolnetd(h)), vswitchdRss: rssKb(pidOf(join(h.dir, 'ovs', 'vswitchd.pid'))),
  };
  lab.down(() => undefined);
  return f;
}
/** The last error a host's poolnetd logged (what kept the switch from its state). */
function lastError(h: LabHost): string {
  try {
    const lines = readFileSync(join(h.dir, 'poolnetd.log'), 'utf8').split('\n').filter((l) => l.includes('"level":50'));
    const last = lines.length ? (JSON.parse(lines[lines.length - 1]) as { err?: string; msg?: string }) : undefined;
    return last ? `${last.msg ?? ''}: ${last.err ?? ''}` : 'none';
  } catch { return 'none'; }
}
const since2 = (x: number | undefined, t: number) => (x === undefined ? undefined : x - t);

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, Open vSwitch)');
  const ovs = (await execFileP('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];
  console.log(`bench/pool: poolnet labs (hosts as namespaces, each with its own Open vSwitch (userspace datapath) and poolnetd); ${ovs}`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start; sizes ${SIZES.join(', ')}`);
  if (lab.labNamespaces().length || existsSync(lab.LAB_DIR)) { log('removing the remains of an earlier run'); lab.down(() => undefined); }
  const figs: SizeFigures[] = [];
  for (const n of SIZES) { figs.push(await benchSize(n)); if (interrupted) return; }
  const limits = opt['no-limits'] ? undefined : await benchLimits();

  console.log('\nSummary (targets from issue 12 in brackets)');
  const W = 56;
  const row = (label: string, f: (s: SizeFigures) => string) => console.log(`  ${label.padEnd(W)}${figs.map((s) => f(s).padStart(16)).join('')}`);
  row('pool size', (s) => `${s.n} hosts`);
  row(`lab up: N hosts, N-1 joined, N-1 VMs [64: < 90 s]`, (s) => fmt(s.labUp));
  row('member poolnetd RSS, median [< 80 MB]', (s) => mb(median(s.memberRss)));
  row('member poolnetd RSS, max', (s) => mb(s.memberRss.length ? Math.max(...s.memberRss) : undefined));
  row("the master's poolnetd RSS", (s) => mb(s.masterRss));
  row('idle CPU of the whole pool (% of one core)', (s) => `${([...s.idleCpu.values()].reduce((a, b) => a + b, 0) / 100).toFixed(0)}%`);
  row('  of which the poolnetds', (s) => `${((s.idleCpu.get('poolnetd') ?? 0) / 100).toFixed(0)}%`);
  row('  of which the ovs-vswitchds', (s) => `${((s.idleCpu.get('vswitchd') ?? 0) / 100).toFixed(0)}%`);
  row("the last host's join: pool.join returns", (s) => fmt(s.joinReturns));
  row("  its replica lists every host", (s) => fmt(s.joinReplica));
  row('pool-wide VLAN on a switch: median [< 2 s]', (s) => fmt(median(s.vlan)));
  row('  90th percentile', (s) => fmt(pct(s.vlan, 90)));
  row('  the last host', (s) => fmt(s.vlan.length ? Math.max(...s.vlan) : undefined) + (s.vlanMissing ? ` (${s.vlanMissing} never)` : ''));
  row("  CPU spent: the master's poolnetd", (s) => fmt(s.vlanMasterCpu));
  row('  CPU spent: every poolnetd, ovs-vswitchd', (s) => `${fmt(s.vlanCpu?.get('poolnetd'))}, ${fmt(s.vlanCpu?.get('vswitchd'))}`);
  row("fan-out: master CPU per change", (s) => fmt(s.fanMasterPerChange));
  row("  per change and member", (s) => (s.fanMasterPerChange === undefined ? '—' : `${((s.fanMasterPerChange * 1000) / (s.n - 1)).toFixed(0)} µs`));
  row("  the members' CPU per change, together", (s) => fmt(s.fanMembersPerChange));
  row('private network, full mesh on a switch: median', (s) => fmt(median(s.mesh)));
  row('  the last host', (s) => fmt(s.mesh.length ? Math.max(...s.mesh) : undefined) + (s.meshMissing ? ` (${s.meshMissing} never)` : ''));
  row('  VMs answered across it (ring of pings)', (s) => (s.ring ? `${s.ring.ok}/${s.ring.of}` : '—'));
  if (limits) {
    console.log(`\n  one host at its limits: ${fmt(limits.calls)} of XenAPI calls; from the first call, the switch shows 800 VLANs ${limits.vlans === undefined ? 'never' : fmt(limits.vlans)}, 16 private networks ${fmt(limits.tunnels)}, 512 VIFs ${fmt(limits.vifs)} (all ${fmt(limits.all)})`);
    console.log(`  one more VLAN at the limit: on the switch ${fmt(limits.oneMore)} after the call; poolnetd RSS ${mb(limits.poolnetdRss)}, ovs-vswitchd RSS ${mb(limits.vswitchdRss)}`);
  }
  console.log(`machine: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; total run ${fmt(now() - started)}`);
}

const watchdog = setTimeout(() => {
  console.error('bench/pool: still running after 60 minutes: giving up');
  interrupted = true;
  cleanup();
  process.exit(1);
}, 60 * 60_000);
watchdog.unref();

try {
  await main();
} catch (e) {
  if (!interrupted) console.error(`bench/pool failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  cleanup();
  clearTimeout(watchdog);
}
