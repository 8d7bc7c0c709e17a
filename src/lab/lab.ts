// poolnet lab: a whole pool on one machine. A fabric namespace with its own Open vSwitch (the
// physical switches), host namespaces each with K NICs, its own Open vSwitch and its own
// poolnetd, VMs as namespaces whose eth0 is a VIF, dnsmasq for DHCP. The user reaches the
// master through 127.0.0.1:PORT, forwarded to the master's unix socket: no route from the
// machine's own namespace ever leads into lab addresses.
//
// `up` makes what is independent side by side, each kind of step bounded so that a 2-core
// machine is not thrashed: every host's namespace and cables at once (batched), switches a few at
// a time, poolnetds a few at a time (each compiles and loads the daemon), each host joining the
// pool as soon as it answers, each VM made as soon as its host is in the pool.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../domain/backend.ts';
import { down } from './down.ts';
import { daemon, limiter, pidAlive, sh, sleep } from './exec.ts';
import { cable, makeFabric } from './fabric.ts';
import { configureNics, freshBundle, hostDef, joinPool, makeCertificate, makeNamespace, startHostSwitch, startPoolnetd, waitForPool } from './hosts.ts';
import { Tally, type Progress } from './progress.ts';
import { call, login, logout, waitForApi, type Link } from './rpc.ts';
import { LAB_DIR, labNamespaces, readState, writeState, type LabHost, type LabState, type LabVm } from './state.ts';
import { createVm } from './vms.ts';

export * from './state.ts';
export { daemon, nsExec } from './exec.ts';
export { fabricBond, fabricUnbond, fabricVsctl } from './fabric.ts';
export { MEMBER_MALLOC_ENV, MEMBER_NODE_FLAGS, hostExecArgv, poolnetdPid, restartPoolnetd, startPoolnetd } from './hosts.ts';
export { masterSocket, rpc } from './rpc.ts';
export { createVm, migrateVm, waitNic } from './vms.ts';
export { status, roleOf, type LabHostRole, type LabStatus } from './status.ts';
export { down, type Progress };

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const POOLNET = join(REPO, 'bin', 'poolnet.mjs');

/**
 * How many of each step run at once. Switches are light; a poolnetd's start is the heaviest
 * (CPU and memory while it loads); joins and VM calls queue on the master anyway.
 */
export const PARALLEL = { switches: 8, daemons: 4, joins: 4, vmCalls: 4 };

/** Run a command inside a lab namespace. */
export function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], { input });
}

async function waitForTcp(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => { res.resume(); r(true); });
      req.on('error', () => r(false));
      req.end();
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`the forwarder on 127.0.0.1:${port} did not start`);
    await sleep(50);
  }
}

export interface UpOptions {
  hosts: number; nics: number; vms: number; stack: BackendName; port: number; password?: string;
  /** Join the hosts into one pool (default); false leaves them standalone (to test pool.join). */
  pool?: boolean;
  /** How long members tolerate an unreachable master before emergency mode (poolnetd --master-timeout). */
  masterTimeoutMs?: number;
  /** The last hosts left out of the pool, standalone (to time a join into a pool of the others); VMs go to the others. */
  standalone?: number;
}

export async function up(o: UpOptions, progress: Progress): Promise<LabState> {
  const existing = readState();
  if (existing?.complete && labNamespaces().length > 0) {
    progress('a lab is already up; leaving it as it is (run `poolnet lab down` first to rebuild)');
    return existing;
  }
  if (labNamespaces().length > 0 || existsSync(LAB_DIR)) { progress('cleaning up the remains of an earlier lab'); down(() => undefined); }
  for (const bin of ['ovs-vswitchd', 'ovsdb-server', 'dnsmasq', 'ip']) {
    try { sh('which', [bin]); } catch { throw new Error(`${bin} is missing: run scripts/setup.sh (it installs the Debian packages the lab needs)`); }
  }
  mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
  // 144 bits from the system's secure random source
  const password = o.password ?? (process.env.POOLNET_ROOT_PASSWORD || randomBytes(18).toString('base64url'));
  const state: LabState = { hosts: [], vms: [], stack: o.stack, port: o.port, password, created: new Date().toISOString() };
  writeState(state);

  progress('fabric: namespace, Open vSwitch, DHCP server; the daemon\'s bundle');
  const [bundle] = await Promise.all([freshBundle(), makeFabric()]);
  progress(bundle);

  const hosts = Array.from({ length: o.hosts }, (_, x) => hostDef(x + 1, o.nics, o.stack, o.masterTimeoutMs));
  const pool = o.pool !== false && hosts.length > 1;
  // the hosts that join (all but host1 and those left standalone) and those that take VMs
  const pooled = pool ? Math.max(1, hosts.length - Math.max(0, o.standalone ?? 0)) : hosts.length;
  progress(`${hosts.length} host namespaces, ${hosts.length * o.nics} NICs cabled to the fabric`);
  await Promise.all(hosts.map(makeNamespace));
  const cabling = hosts.map((h, x) => ({ host: x + 1, ns: h.ns, nics: o.nics }));
  await cable(cabling, cabling);
  await Promise.all(hosts.map(configureNics));

  const tally = new Tally(progress);
  tally.expect('hosts up', hosts.length);
  if (pool) tally.expect('joined', pooled - 1);
  tally.expect('VMs', o.vms);
  progress(`${hosts.length} hosts (Open vSwitch, poolnetd)${pool ? ', joining the pool of host1' : ''}${o.vms ? `, ${o.vms} VMs` : ''}: side by side`);
  // the first failure stops every step not yet begun, and `up` waits for those under way
  let failed: unknown;
  const step = <T>(lim: <U>(fn: () => Promise<U>) => Promise<U>, fn: () => Promise<T>) => lim(() => {
    if (failed !== undefined) throw new Error('another step failed');
    return fn();
  });
  const switches = limiter(PARALLEL.switches), daemons = limiter(PARALLEL.daemons), joins = limiter(PARALLEL.joins), vmCalls = limiter(PARALLEL.vmCalls);
  const record = (h: LabHost) => {
    state.hosts = [...state.hosts, h].sort((a, b) => Number(a.name.slice(4)) - Number(b.name.slice(4)));
    writeState(state);
  };
  const hostUp = hosts.map(async (h) => {
    await step(switches, () => Promise.all([startHostSwitch(h), makeCertificate(h)]));
    await step(daemons, async () => {
      startPoolnetd(h, password);
      record(h);
      await waitForApi(h.socket);
    });
    tally.done('hosts up', h.name);
  });
  let master: Link | undefined;
  const masterUp = hostUp[0].then(async () => (master = await login(hosts[0].socket, password)));
  const inPool = hosts.map((h, x) => x === 0 || !pool || x >= pooled ? hostUp[x] : hostUp[x].then(async () => {
    await masterUp;
    await step(joins, () => joinPool(h, hosts[0].ip, password));
    tally.done('joined', h.name);
  }));
  const vms = Array.from({ length: o.vms }, (_, x) => {
    const j = x + 1;
    const hx = x % pooled;
    return Promise.all([masterUp, inPool[hx]]).then(async ([m]) => {
      const vm: LabVm = await createVm(hosts[hx], j, password, undefined, m, (fn) => step(vmCalls, fn));
      state.vms = [...state.vms, vm].sort((a, b) => Number(a.name.slice(2)) - Number(b.name.slice(2)));
      writeState(state);
      tally.done('VMs', vm.name);
    });
  });
  const results = await Promise.allSettled([masterUp, ...inPool, ...vms].map((p) => p.catch((e: unknown) => { failed ??= e; throw e; })));
  if (failed !== undefined || results.some((r) => r.status === 'rejected')) throw failed;
  const m = master!;
  if (pool) await waitForPool(m, pooled);
  if (o.stack === 'openvswitch' && ((await call<string[]>(m, 'SDN_controller.get_all')).length === 0)) {
    // poolnet's own controller, so that cross-server private networks can be made at once
    await call(m, 'SDN_controller.introduce', 'pssl', '', 0);
  }
  await logout(m);

  if (o.port > 0) {
    progress(`forwarding 127.0.0.1:${o.port} to host1's XenAPI`);
    const fwd = daemon(undefined, [process.execPath, POOLNET, 'lab', 'forward', '--port', String(o.port), '--socket', state.hosts[0].socket],
      join(LAB_DIR, 'forward.log'), join(LAB_DIR, 'forward.pid'));
    await waitForTcp(o.port);
    await sleep(300);
    // something else answering on the port does not count: the forwarder must be ours and alive
    if (!pidAlive(fwd)) throw new Error(`127.0.0.1:${o.port} is taken by another program: choose another with --port`);
  }
  state.complete = true;
  writeState(state);
  return state;
}
