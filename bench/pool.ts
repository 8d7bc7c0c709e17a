// Pool benchmark: `node --import tsx bench/pool.ts` (npm run bench:pool). Needs root, network
// namespaces, Open vSwitch, dnsmasq, ethtool and nft (what `poolnet lab` needs). Everything runs
// in a poolnet lab of the bench's own (namespaces pnbpool-*, files in /run/poolnet-bench-pool),
// removed at the end, also after a failure or Ctrl-C. It prints figures; nothing here asserts a time.
//
//   1. join: two standalone hosts with 1 + 2*BONDS NICs each (eth0 management, eth1..eth8 in 4
//      active-backup bonds of two). On host1 (the master) 4 bonds and 50 VLANs spread over the
//      bonds' networks; then host2's pool.join is timed from the call until
//        - the pool database lists host2's copies (the master's API: 4 bonds, 50 VLAN PIFs),
//        - host2's replica holds them (host2's own database file, read-only),
//        - host2's own switch (ovs-vsctl in its namespace) has the 4 bond ports and the 50 VLAN
//          fake bridges (polled every 50 ms),
//        - host2's agent has reported its bonds' links up (Bond.links_up on the master).
//   2. private network: a pool of 8 hosts (one NIC each), a new network, a GRE tunnel on each
//      host's management PIF, one VM per host on the network with an address on 10.201.0.0/24;
//      timed from the first tunnel.create call until every VM has an answer from its peer (vm2..vm8
//      ping vm1, vm1 pings vm2), with each host's readiness.
//
// Options: --part join|private|both (both), --hosts N (8), --bonds N (4), --vlans N (50),
// --timeout S (per wait, 120).

import BetterSqlite3 from 'better-sqlite3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
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
    part: { type: 'string', default: 'both' },
    hosts: { type: 'string', default: '8' },
    bonds: { type: 'string', default: '4' },
    vlans: { type: 'string', default: '50' },
    timeout: { type: 'string', default: '120' },
  },
});
const PART = opt.part === 'join' || opt.part === 'private' ? opt.part : 'both';
const HOSTS = Math.max(2, Number(opt.hosts));
const BONDS = Math.max(1, Number(opt.bonds));
const VLANS = Math.max(0, Number(opt.vlans));
const WAIT_MS = Math.max(10, Number(opt.timeout)) * 1000;
const PASSWORD = 'bench-pool';
const SUBNET = '10.201.0';
const POLL_MS = 50;

// ---------------------------------------------------------------- cleanup, also on Ctrl-C

const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;
let interrupted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    try { lab.down(() => undefined); } catch (e) { console.error('cleanup:', (e as Error).message); }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up (the lab's namespaces, processes and files)`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- helpers

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - s.length));
const lpad = (s: string, w: number) => ' '.repeat(Math.max(0, w - s.length)) + s;
const started = now();
const log = (msg: string) => console.log(`  [${lpad(((now() - started) / 1000).toFixed(1), 6)} s] ${msg}`);

/** Poll `check` every `every` ms until it gives a value (undefined or a throw: not yet); undefined after `within` ms. */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, within = WAIT_MS, every = POLL_MS): Promise<T | undefined> {
  const end = now() + within;
  for (;;) {
    if (interrupted) return undefined;
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch { /* not yet */ }
    if (now() > end) return undefined;
    await sleep(every);
  }
}

/** As until(), but a timeout is an error: what `what` waited for never came. */
async function must<T>(check: () => T | undefined | Promise<T | undefined>, what: string, within = WAIT_MS): Promise<T> {
  const v = await until(check, within);
  if (v === undefined) throw new Error(interrupted ? 'interrupted' : `timed out after ${ms(within)} waiting for ${what}`);
  return v;
}

/** A command in a lab namespace, without blocking the event loop (the pollers run side by side). */
async function inNs(ns: string, cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
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

interface PifRec { device: string; VLAN: number; host: string; network: string; management: boolean; bond_master_of: string[]; currently_attached: boolean }

/** One row of the switch's Port table (ovs-vsctl --format=json). */
interface SwitchPort { name: string; tag?: number; fake: boolean; bondMode: string; interfaces: number }

/** A lab host's switch, read in its namespace: every port with its tag, fake-bridge flag, bond mode and interface count. */
async function switchPorts(h: LabHost): Promise<SwitchPort[]> {
  const out = await inNs(h.ns, 'ovs-vsctl', [`--db=unix:${h.dir}/ovs/db.sock`, '--format=json', '--columns=name,tag,fake_bridge,bond_mode,interfaces', 'list', 'Port']);
  const setOf = (v: unknown): unknown[] => (Array.isArray(v) && v[0] === 'set' ? (v[1] as unknown[]) : [v]);
  return (JSON.parse(out) as { data: unknown[][] }).data.map(([name, tag, fake, mode, ifaces]) => ({
    name: name as string,
    tag: typeof tag === 'number' ? tag : undefined,
    fake: fake === true,
    bondMode: typeof mode === 'string' ? mode : '',
    interfaces: setOf(ifaces).length,
  }));
}

// ---------------------------------------------------------------- 1. join

interface JoinFigures { returned: number; pool?: number; replica?: number; switch?: number; linksUp?: number; masterOwn: number }

async function benchJoin(): Promise<JoinFigures> {
  const nics = 1 + 2 * BONDS;
  console.log(`\n1. pool.join carrying ${BONDS} bonds and ${VLANS} VLANs: 2 standalone hosts with ${nics} NICs each`);
  let t = now();
  const st = await lab.up({ hosts: 2, nics, vms: 0, stack: 'openvswitch', port: 0, password: PASSWORD, pool: false }, (m) => log(m));
  log(`lab up in ${ms(now() - t)}`);
  const [h1, h2] = st.hosts;
  const m = new Api(h1.socket);

  // the master's bonds (eth1+eth2, eth3+eth4, ...) and VLANs (tags 100.., round robin over the bonds)
  t = now();
  const pifs = await m.call<Record<string, PifRec>>('PIF.get_all_records');
  const hostRef1 = (await m.call<string[]>('host.get_all'))[0];
  const pifOf = (dev: string) => Object.entries(pifs).find(([, p]) => p.host === hostRef1 && p.device === dev && p.VLAN === -1)![0];
  const bondPifs: string[] = [];
  const bondBridges: string[] = [];
  for (let b = 0; b < BONDS; b++) {
    const net = await m.call<string>('network.create', { name_label: `bond${b}`, name_description: `eth${1 + 2 * b}+eth${2 + 2 * b}`, MTU: 1500, other_config: {} });
    const bond = await m.call<string>('Bond.create', net, [pifOf(`eth${1 + 2 * b}`), pifOf(`eth${2 + 2 * b}`)], '', 'active-backup', {});
    bondPifs.push(await m.call<string>('Bond.get_master', bond));
    bondBridges.push(await m.call<string>('network.get_bridge', net));
  }
  const vlanBridges = new Map<string, number>();
  for (let v = 0; v < VLANS; v++) {
    const tag = 100 + v;
    const net = await m.call<string>('network.create', { name_label: `VLAN ${tag}`, name_description: `tag ${tag} on bond${v % BONDS}`, MTU: 1500, other_config: {} });
    await m.call('VLAN.create', bondPifs[v % BONDS], tag, net);
    vlanBridges.set(await m.call<string>('network.get_bridge', net), tag);
  }
  log(`host1: ${BONDS} bonds and ${VLANS} VLANs created through the XenAPI in ${ms(now() - t)}`);

  /** Whether a host's switch shows every bond port (2 NICs, active-backup) and every VLAN's fake bridge with its tag. */
  const complete = async (h: LabHost) => {
    const ports = await switchPorts(h);
    const bonds = ports.filter((p) => p.bondMode === 'active-backup' && p.interfaces === 2).length;
    const fakes = ports.filter((p) => p.fake && vlanBridges.get(p.name) === p.tag).length;
    return bonds === BONDS && fakes === VLANS ? true : undefined;
  };
  // the master's own switch first, so that host2's join is measured alone
  const lastCall = now();
  await must(() => complete(h1), `host1's switch to show its ${BONDS} bonds and ${VLANS} VLANs`);
  log(`host1's switch shows them ${ms(now() - t)} after the first call`);
  const masterOwn = now() - lastCall;
  await sleep(1000); // let the master's agent settle

  // host2's replica: its database file, read-only (a member answers only HOST_IS_SLAVE)
  const dbPath = join(h2.dir, 'data', 'pool.db');
  if (!existsSync(dbPath)) throw new Error(`no database at ${dbPath}`);
  const replica = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  const replicaHas = () => {
    const uuid = (replica.prepare('SELECT value FROM meta WHERE key = ?').get('local:host_uuid') as { value: string } | undefined)?.value;
    const rows = (cls: string) => (replica.prepare('SELECT ref, record FROM objects WHERE cls = ?').all(cls) as { ref: string; record: string }[])
      .map((r) => ({ ref: r.ref, rec: JSON.parse(r.record) as Record<string, unknown> }));
    const host = rows('host').find((r) => r.rec.uuid === uuid);
    if (!host) return undefined;
    const mine = new Set(rows('PIF').filter((p) => p.rec.host === host.ref).map((p) => p.ref));
    const bonds = rows('Bond').filter((b) => mine.has(b.rec.master as string)).length;
    const vlans = rows('VLAN').filter((v) => mine.has(v.rec.untagged_PIF as string)).length;
    return bonds === BONDS && vlans === VLANS ? true : undefined;
  };
  if (replicaHas()) throw new Error('host2 already has the bonds and VLANs before joining');

  /** The pool database (the master's API): whether it lists host2's bonds and attached VLAN PIFs, and every bond with both links up. */
  const poolState = async () => {
    const ref = (await m.call<string[]>('host.get_all_where', 'field "hostname"="host2"'))[0];
    if (!ref) return { listed: false, up: false };
    const mine = await m.call<Record<string, PifRec>>('PIF.get_all_records_where', `field "host"="${ref}"`);
    const vlans = Object.values(mine).filter((p) => p.VLAN >= 0 && p.currently_attached).length;
    const bondRefs = Object.values(mine).flatMap((p) => p.bond_master_of);
    if (bondRefs.length !== BONDS || vlans !== VLANS) return { listed: false, up: false };
    const up = await Promise.all(bondRefs.map((b) => m.call<number>('Bond.get_links_up', b)));
    return { listed: true, up: up.every((n) => Number(n) === 2) };
  };

  // the join, with every observer polling side by side from the call on (one poller on the master's API)
  const s2 = (await lab.rpc(h2.socket, 'session.login_with_password', ['root', PASSWORD])) as string;
  const t0 = now();
  const since = <T>(p: Promise<T | undefined>) => p.then((v) => (v === undefined ? undefined : now() - t0));
  let listed: number | undefined;
  const observers = {
    pool: until(async () => {
      const r = await poolState();
      if (r.listed) listed ??= now() - t0;
      return r.up ? now() - t0 : undefined;
    }),
    replica: since(until(() => replicaHas())),
    switch: since(until(() => complete(h2))),
  };
  await lab.rpc(h2.socket, 'pool.join', [s2, h1.ip, 'root', PASSWORD]);
  const returned = now() - t0;
  log(`host2: pool.join returned after ${ms(returned)}`);
  const [linksUp, rep, sw] = await Promise.all([observers.pool, observers.replica, observers.switch]);
  const pool = listed;
  replica.close();
  const f: JoinFigures = { returned, pool, replica: rep, switch: sw, linksUp, masterOwn };
  const show = (label: string, x: number | undefined) => console.log(`   ${pad(label, 68)}${lpad(x === undefined ? `not within ${ms(WAIT_MS)}` : ms(x), 10)}`);
  console.log(`   from the pool.join call on host2 until:`);
  show('pool.join returns', f.returned);
  show(`the master's API lists host2's ${BONDS} bonds and ${VLANS} VLAN PIFs (attached)`, f.pool);
  show(`host2's replica (its own database) holds them`, f.replica);
  show(`host2's switch shows ${BONDS} bond ports and ${VLANS} VLAN fake bridges`, f.switch);
  show(`host2's agent reports every bond's 2 links up (Bond.links_up)`, f.linksUp);
  console.log(`   (for scale: host1's own switch showed the same ${ms(f.masterOwn)} after its last XenAPI call)`);
  t = now();
  lab.down(() => undefined);
  log(`lab down in ${ms(now() - t)}`);
  return f;
}

// ---------------------------------------------------------------- 2. a private network across the pool

/** Pings `dst` from `ns` 20 times a second until the first answer: the time of that answer, or undefined after `within`. */
function firstReply(ns: string, dst: string, within: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.05', '-W', '1', dst], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.add(p);
    let done = false;
    const finish = (v: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (p.exitCode === null) p.kill('SIGKILL');
      children.delete(p);
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), within);
    let out = '';
    p.stdout!.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('bytes from')) finish(now()); });
    p.once('exit', () => finish(undefined));
  });
}

interface HostReady { host: string; vmWired: number; reply?: number; peer: string; /** When both ends were wired: the VM and its peer. */ bothWired: number }

async function benchPrivate(): Promise<{ total?: number; hosts: HostReady[]; tunnels: number; active?: number; mesh?: number }> {
  console.log(`\n2. a new private network (GRE) across ${HOSTS} hosts: one VM per host`);
  let t = now();
  const st = await lab.up({ hosts: HOSTS, nics: 1, vms: 0, stack: 'openvswitch', port: 0, password: PASSWORD, pool: true }, (msg) => log(msg));
  log(`lab up (a pool of ${HOSTS}) in ${ms(now() - t)}`);
  const m = new Api(st.hosts[0].socket);
  const hostRefs = await Promise.all(st.hosts.map(async (h) => (await m.call<string[]>('host.get_all_where', `field "hostname"="${h.name}"`))[0]));
  const mgmt = await m.call<Record<string, PifRec>>('PIF.get_all_records_where', 'field "management"="true"');
  const transport = hostRefs.map((ref, i) => {
    const pif = Object.entries(mgmt).find(([, p]) => p.host === ref)?.[0];
    if (!pif) throw new Error(`${st.hosts[i].name} has no management PIF`);
    return pif;
  });
  const net = await m.call<string>('network.create', { name_label: 'bench private', name_description: 'cross-server private network', MTU: 1500, other_config: {} });
  // wait until every member's agent is idle again (the joins, the controller): the network alone is not realised anywhere yet
  await sleep(2000);

  const t0 = now();
  const at = (x: number | undefined) => (x === undefined ? undefined : x - t0);
  const tunnels: string[] = [];
  for (const pif of transport) tunnels.push(await m.call<string>('tunnel.create', pif, net, 'gre'));
  const tunnelsMade = now() - t0;
  log(`${HOSTS} tunnels created in ${ms(tunnelsMade)}`);
  // the controller's view: every tunnel active (polled side by side)
  const active = until(async () => {
    const st2 = await Promise.all(tunnels.map((x) => m.call<Record<string, string>>('tunnel.get_status', x)));
    return st2.every((s) => s.active === 'true') ? now() : undefined;
  }, WAIT_MS * 2, 100);

  const ready: Promise<number | undefined>[] = [];
  const hosts: HostReady[] = [];
  const vmIp = (j: number) => `${SUBNET}.${j}`;
  const vmNs: string[] = [];
  for (let j = 1; j <= HOSTS; j++) {
    const h = st.hosts[j - 1];
    const vm = await lab.createVm(h, j, PASSWORD, net);
    // the VM's address on the private subnet; ARP retried every 100 ms (not every second) so that
    // the first answer tells when the path is there, not when the VM's kernel next asks
    await inNs(vm.ns, 'sh', ['-c', `ip addr flush dev eth0 && ip addr add ${vmIp(j)}/24 dev eth0 && sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=100`]);
    vmNs.push(vm.ns);
    hosts.push({ host: h.name, vmWired: now() - t0, bothWired: now() - t0, peer: j === 1 ? `vm2 (${vmIp(2)})` : `vm1 (${vmIp(1)})` });
    if (j === 2) hosts[0].bothWired = hosts[1].vmWired;
    if (j >= 2) ready[j - 1] = firstReply(vm.ns, vmIp(1), WAIT_MS);
    if (j === 2) ready[0] = firstReply(vmNs[0], vmIp(2), WAIT_MS);
    log(`vm${j} on ${h.name}: wired at +${ms(now() - t0)}`);
  }
  const replies = await Promise.all(ready);
  replies.forEach((r, i) => { hosts[i].reply = at(r); });
  const all = replies.every((r) => r !== undefined) ? Math.max(...replies.map((r) => r!)) - t0 : undefined;
  const act = at(await active);

  // a check once it works: a ring, every VM pings the next one 3 times
  t = now();
  const ring = await Promise.all(vmNs.map(async (ns, i) => {
    const out = await inNs(ns, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '1', vmIp(((i + 1) % HOSTS) + 1)], 15_000).catch((e: { stdout?: string }) => e.stdout ?? '');
    return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
  }));
  const mesh = ring.every((n) => n === 3) ? now() - t : undefined;

  console.log(`   from the first tunnel.create call (${HOSTS} tunnels made in ${ms(tunnelsMade)}; VMs created and wired one after the other):`);
  console.log(`   ${pad('host', 8)}${lpad('VM wired', 12)}${lpad('first answer', 15)}${lpad('after both ends wired', 24)}  peer`);
  for (const r of hosts) {
    console.log(`   ${pad(r.host, 8)}${lpad(`+${ms(r.vmWired)}`, 12)}${lpad(r.reply === undefined ? 'none' : `+${ms(r.reply)}`, 15)}${lpad(r.reply === undefined ? '' : ms(r.reply - r.bothWired), 24)}  ${r.peer}`);
  }
  console.log(`   ${pad(`every VM answered by its peer (${HOSTS} hosts)`, 68)}${lpad(all === undefined ? 'NOT REACHED' : ms(all), 10)}`);
  console.log(`   ${pad('every tunnel reported active (tunnel.status)', 68)}${lpad(act === undefined ? 'not seen' : ms(act), 10)}`);
  console.log(`   ring check afterwards (vm_j pings vm_j+1, 3 each): ${ring.map((n, i) => `vm${i + 1}->vm${((i + 1) % HOSTS) + 1} ${n}/3`).join(', ')}`);
  t = now();
  lab.down(() => undefined);
  log(`lab down in ${ms(now() - t)}`);
  return { total: all, hosts, tunnels: tunnelsMade, active: act, mesh };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, Open vSwitch)');
  const ovs = (await execFileP('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];
  const others = (await execFileP('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l && !l.startsWith('pnbpool-')).length;
  console.log(`bench/pool: poolnet labs (hosts as namespaces, each with its own Open vSwitch (userspace datapath) and poolnetd); ${ovs}`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start${others ? `, ${others} other network namespaces (other labs make times noisy)` : ''}`);
  // the remains of an earlier run that did not finish (killed): the bench's own prefix only
  if (lab.labNamespaces().length || existsSync(lab.LAB_DIR)) { log('removing the remains of an earlier run'); lab.down(() => undefined); }
  const join = PART !== 'private' ? await benchJoin() : undefined;
  const priv = PART !== 'join' ? await benchPrivate() : undefined;

  console.log('\nSummary');
  const fmt = (x: number | undefined) => (x === undefined ? 'not reached' : ms(x));
  if (join) {
    console.log(`   join (${BONDS} bonds, ${VLANS} VLANs): host2's switch has the master's network state ${fmt(join.switch)} after the pool.join call`);
    console.log(`      (pool.join returns ${fmt(join.returned)}, master's API lists host2's copies ${fmt(join.pool)}, host2's replica ${fmt(join.replica)}, links reported up ${fmt(join.linksUp)})`);
  }
  if (priv) {
    const after = priv.hosts.filter((h) => h.reply !== undefined).map((h) => h.reply! - h.bothWired);
    console.log(`   private network across ${HOSTS} hosts: every VM answered ${fmt(priv.total)} after the first tunnel.create`);
    const last = priv.hosts[priv.hosts.length - 1];
    console.log(`      (most of it is the lab making ${HOSTS} VMs one after the other: the last VM was wired at +${ms(last.vmWired)})`);
    if (after.length) console.log(`      (per host, from its VM and its peer wired to its first answer: ${ms(Math.min(...after))} .. ${ms(Math.max(...after))}; tunnels active ${fmt(priv.active)}; ring of ${HOSTS} ${priv.mesh === undefined ? 'incomplete' : 'complete'})`);
  }
  console.log(`machine: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; total run ${ms(now() - started)}`);
}

// a last resort: however a step hangs, the lab goes
const watchdog = setTimeout(() => {
  console.error(`bench/pool: still running after 30 minutes: giving up`);
  interrupted = true;
  void cleanup().finally(() => process.exit(1));
}, 30 * 60_000);
watchdog.unref();

try {
  await main();
} catch (e) {
  if (!interrupted) console.error(`bench/pool failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
