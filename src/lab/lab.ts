// poolnet lab: a whole pool on one machine. A fabric namespace with its own Open vSwitch (the
// physical switches), host namespaces each with K NICs, its own Open vSwitch and its own
// poolnetd, VMs as namespaces whose eth0 is a VIF, dnsmasq for DHCP. The user reaches the
// master through 127.0.0.1:PORT, forwarded to the master's unix socket: no route from the
// machine's own namespace ever leads into lab addresses.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardRuleset } from '../agent/kernelguard.ts';
import { createOvsDb, initOvsDb, ovsLayout, waitForPath } from './ovsns.ts';
import type { BackendName } from '../domain/backend.ts';

export const LAB_DIR = process.env.POOLNET_LAB_DIR ?? '/run/poolnet-lab';
// tests run labs of their own beside a user's: another prefix and directory keep them apart
export const PREFIX = process.env.POOLNET_LAB_PREFIX ?? 'pnl-';
const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const POOLNET = join(REPO, 'bin', 'poolnet.mjs');

export const MGMT_NET = '10.77.0';
export const fabricNs = `${PREFIX}fabric`;
export const hostNs = (i: number) => `${PREFIX}host${i}`;
export const vmNs = (j: number) => `${PREFIX}vm${j}`;
export const hostIp = (i: number) => `${MGMT_NET}.${10 + i}`;
export const vmIp = (j: number) => `${MGMT_NET}.${100 + j}`;

export interface LabVm { name: string; ns: string; host: string; uuid: string; vif: string; mac: string; ip: string; port: string }
export interface LabHost { name: string; ns: string; ip: string; dir: string; socket: string; nics: number; stack: BackendName; masterTimeoutMs?: number }
export interface LabState {
  hosts: LabHost[];
  vms: LabVm[];
  stack: BackendName;
  port: number;
  password: string;
  created: string;
  /** Set when `up` finished: a state without it is the remains of a crash. */
  complete?: boolean;
}

export type Progress = (msg: string) => void;

const sh = (cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
const nsExec = (ns: string, cmd: string, args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
const statePath = () => join(LAB_DIR, 'state.json');

export function readState(): LabState | undefined {
  try { return JSON.parse(readFileSync(statePath(), 'utf8')) as LabState; } catch { return undefined; }
}

// The state holds root's password: readable by its owner only. The credentials also sit in a file
// of the same mode in xe's -pwf format (user, then password, one a line), so that `xe -pwf` needs
// no password on a command line, where `ps` shows it.
function writeState(s: LabState): void {
  writeFileSync(statePath(), JSON.stringify(s, null, 2), { mode: 0o600 });
  chmodSync(statePath(), 0o600);
  writeFileSync(passwordPath(), `root\n${s.password}\n`, { mode: 0o600 });
  chmodSync(passwordPath(), 0o600);
}

/** The file that holds the lab's root credentials for `xe -pwf` (mode 0600). */
export const passwordPath = (): string => join(LAB_DIR, 'root-password');

export function labNamespaces(): string[] {
  try { return sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX)); } catch { return []; }
}

/**
 * Start a long-lived process in a namespace, detached, logging into `log`; its pid goes to
 * `pidfile`. `fd9`: a descriptor it inherits as its fd 9.
 */
function daemon(ns: string | undefined, argv: string[], log: string, pidfile: string, env?: NodeJS.ProcessEnv, fd9?: number): number {
  const out = openSync(log, 'a');
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const stdio: ('ignore' | number)[] = ['ignore', out, out];
  if (fd9 !== undefined) stdio.push('ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd9);
  const child = spawn(full[0], full.slice(1), { detached: true, stdio, env: env ?? process.env });
  child.unref();
  writeFileSync(pidfile, String(child.pid));
  return child.pid!;
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * A veth pair: `a` in namespace `nsA`, `b` in `nsB`, both up, checksum offload off (the userspace
 * datapath needs it). `backend`: `b` is a VIF's device in a host, which, like a hypervisor's
 * backend device, carries no IPv6 of its own (else the host's kernel sends router solicitations,
 * neighbour discovery and MLD straight into the VM, past the switch and its locks).
 */
function veth(a: string, nsA: string, b: string, nsB: string, mac?: string, backend = false): void {
  const tmpA = `pnt${Math.random().toString(36).slice(2, 9)}`, tmpB = `pnt${Math.random().toString(36).slice(2, 9)}`;
  sh('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
  sh('ip', ['link', 'set', tmpA, 'netns', nsA]);
  sh('ip', ['link', 'set', tmpB, 'netns', nsB]);
  nsExec(nsA, 'ip', ['link', 'set', tmpA, 'name', a]);
  nsExec(nsB, 'ip', ['link', 'set', tmpB, 'name', b]);
  if (mac) nsExec(nsA, 'ip', ['link', 'set', a, 'address', mac]);
  if (backend) nsExec(nsB, 'sysctl', ['-qw', `net/ipv6/conf/${b}/disable_ipv6=1`]);
  for (const [ns, dev] of [[nsA, a], [nsB, b]]) {
    nsExec(ns, 'ip', ['link', 'set', dev, 'up']);
    try { nsExec(ns, 'ethtool', ['-K', dev, 'tx', 'off']); } catch { /* ethtool missing: TCP may stall, ping still works */ }
  }
}

function startOvs(ns: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const l = ovsLayout(dir);
  createOvsDb(l);
  daemon(ns, l.ovsdbServer, join(dir, 'ovsdb.out'), join(dir, 'ovsdb.cpid'), l.env);
}

async function startVswitchd(ns: string, dir: string): Promise<void> {
  const l = ovsLayout(dir);
  await waitForPath(l.dbSocket, `ovsdb-server in ${ns}`);
  initOvsDb(l);
  daemon(ns, l.vswitchd, join(dir, 'vswitchd.out'), join(dir, 'vswitchd.cpid'), l.env);
  await waitForPath(join(dir, 'ovs-vswitchd.ctl'), `ovs-vswitchd in ${ns}`);
}

/** One XenAPI call over a unix socket (JSON-RPC). */
export function rpc(socket: string, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
    const req = request({ socketPath: socket, path: '/jsonrpc', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        try {
          const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data: string[] } };
          if (v.error) reject(Object.assign(new Error(`${v.error.message} ${v.error.data.join(' ')}`), { code: v.error.message }));
          else resolvePromise(v.result);
        } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitForApi(socket: string, password: string): Promise<string> {
  const end = Date.now() + 30_000;
  for (;;) {
    try { return (await rpc(socket, 'session.login_with_password', ['root', password])) as string; } catch (e) {
      // a member answers, by sending clients to its master
      if ((e as { code?: string }).code === 'HOST_IS_SLAVE') return '';
      if (Date.now() > end) throw new Error(`the daemon on ${socket} did not answer: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface UpOptions {
  hosts: number; nics: number; vms: number; stack: BackendName; port: number; password?: string;
  /** Join the hosts into one pool (default); false leaves them standalone (to test pool.join). */
  pool?: boolean;
  /** How long members tolerate an unreachable master before emergency mode (poolnetd --master-timeout). */
  masterTimeoutMs?: number;
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

  progress('fabric: namespace, Open vSwitch, DHCP server');
  sh('ip', ['netns', 'add', fabricNs]);
  nsExec(fabricNs, 'ip', ['link', 'set', 'lo', 'up']);
  const fdir = join(LAB_DIR, 'fabric');
  startOvs(fabricNs, fdir);
  await startVswitchd(fabricNs, fdir);
  const fvs = (...args: string[]) => sh('ovs-vsctl', [`--db=unix:${ovsLayout(fdir).dbSocket}`, ...args]);
  fvs('--may-exist', 'add-br', 'fabric', '--', 'set', 'bridge', 'fabric', 'datapath_type=netdev');
  // the fabric's own address on the management network: the gateway and the DHCP server
  await waitDevice(fabricNs, 'fabric');
  nsExec(fabricNs, 'ip', ['addr', 'add', `${MGMT_NET}.1/24`, 'dev', 'fabric']);
  nsExec(fabricNs, 'ip', ['link', 'set', 'fabric', 'up']);
  daemon(fabricNs, ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces', '--interface=fabric', '--except-interface=lo',
    `--dhcp-range=${MGMT_NET}.200,${MGMT_NET}.250,255.255.255.0,1h`, `--dhcp-leasefile=${join(fdir, 'dnsmasq.leases')}`, `--pid-file=${join(fdir, 'dnsmasq.pid')}`],
    join(fdir, 'dnsmasq.log'), join(fdir, 'dnsmasq.cpid'));

  for (let i = 1; i <= o.hosts; i++) {
    progress(`host${i}: namespace, ${o.nics} NICs, Open vSwitch, poolnetd`);
    const ns = hostNs(i);
    const dir = join(LAB_DIR, `host${i}`);
    mkdirSync(join(dir, 'data'), { recursive: true });
    sh('ip', ['netns', 'add', ns]);
    nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    for (let k = 0; k < o.nics; k++) {
      veth(`eth${k}`, ns, `h${i}e${k}`, fabricNs);
      fvs('--may-exist', 'add-port', 'fabric', `h${i}e${k}`);
    }
    // the fabric's kernel must not answer for its own address on the switch ports
    const fabricPorts = Array.from({ length: i * o.nics }, (_, x) => `h${Math.floor(x / o.nics) + 1}e${x % o.nics}`);
    sh('ip', ['netns', 'exec', fabricNs, 'nft', '-f', '-'], { input: guardRuleset(fabricPorts) });
    nsExec(ns, 'ip', ['addr', 'add', `${hostIp(i)}/24`, 'dev', 'eth0']);
    nsExec(ns, 'ip', ['route', 'add', 'default', 'via', `${MGMT_NET}.1`]);
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${MGMT_NET}.1\n`);
    startOvs(ns, join(dir, 'ovs'));
    await startVswitchd(ns, join(dir, 'ovs'));
    const host: LabHost = { name: `host${i}`, ns, ip: hostIp(i), dir, socket: join(dir, 'xapi.sock'), nics: o.nics, stack: o.stack, masterTimeoutMs: o.masterTimeoutMs };
    startPoolnetd(host, password);
    state.hosts.push(host);
    writeState(state);
  }
  for (const h of state.hosts) await waitForApi(h.socket, password);
  // one pool: host1 is the master, the others join it over the lab's management network
  for (const h of o.pool === false ? [] : state.hosts.slice(1)) {
    progress(`${h.name}: joining the pool of host1`);
    const s = (await rpc(h.socket, 'session.login_with_password', ['root', password])) as string;
    await rpc(h.socket, 'pool.join', [s, state.hosts[0].ip, 'root', password]);
  }
  if (state.hosts.length > 1 && o.pool !== false) await waitForPool(state.hosts[0].socket, password, state.hosts.length);
  if (o.stack === 'openvswitch') {
    // poolnet's own controller, so that cross-server private networks can be made at once
    const s = (await rpc(state.hosts[0].socket, 'session.login_with_password', ['root', password])) as string;
    if (((await rpc(state.hosts[0].socket, 'SDN_controller.get_all', [s])) as string[]).length === 0) await rpc(state.hosts[0].socket, 'SDN_controller.introduce', [s, 'pssl', '', 0]);
  }

  for (let j = 1; j <= o.vms; j++) {
    const h = state.hosts[(j - 1) % state.hosts.length];
    progress(`vm${j}: on ${h.name}, one VIF on the management network`);
    state.vms.push(await createVm(h, j, password));
    writeState(state);
  }

  if (o.port > 0) {
    progress(`forwarding 127.0.0.1:${o.port} to host1's XenAPI`);
    const fwd = daemon(undefined, [process.execPath, POOLNET, 'lab', 'forward', '--port', String(o.port), '--socket', state.hosts[0].socket],
      join(LAB_DIR, 'forward.log'), join(LAB_DIR, 'forward.pid'));
    await waitForTcp(o.port);
    await new Promise((r) => setTimeout(r, 300));
    // something else answering on the port does not count: the forwarder must be ours and alive
    if (!pidAlive(fwd)) throw new Error(`127.0.0.1:${o.port} is taken by another program: choose another with --port`);
  }
  state.complete = true;
  writeState(state);
  return state;
}

/** Start a host's poolnetd (again): in the host's namespace, in a UTS namespace of its own. */
export function startPoolnetd(h: LabHost, password: string): number {
  const nics = Array.from({ length: h.nics }, (_, k) => `eth${k}`).join(',');
  // its own UTS namespace, so that the host's hostname is its own and never the machine's
  const mountNs = openSync('/proc/self/ns/mnt', 'r');
  const pid = daemon(h.ns, ['unshare', '--uts', 'sh', '-c', `hostname ${h.name} && exec "$0" "$@"`, process.execPath, POOLNET, 'serve', '--data-dir', join(h.dir, 'data'), '--port', '443', '--bind', '0.0.0.0',
    '--switch', h.stack, '--ovs-rundir', join(h.dir, 'ovs'), '--unix-socket', h.socket, '--nics', nics, '--backend', h.stack, '--manage-dns', '--manage-hostname', '--log-level', 'info', '--master-timeout', String(h.masterTimeoutMs ?? 10_000),
    // the host plays the hypervisor for its VMs; `ip netns exec` gives it a mount namespace of its
    // own, so it names VM namespaces in this one (the machine's), handed over as its fd 9
    '--lab-vms', PREFIX, '--lab-mount-ns-fd', '9'],
    join(h.dir, 'poolnetd.log'), join(h.dir, 'poolnetd.pid'), { ...process.env, POOLNET_ROOT_PASSWORD: password }, mountNs);
  closeSync(mountNs);
  return pid;
}

/** The pid of a host's poolnetd. */
export function poolnetdPid(h: LabHost): number {
  return Number(readFileSync(join(h.dir, 'poolnetd.pid'), 'utf8').trim());
}

/** Restart a host's poolnetd, the hard way by default (SIGKILL), and wait until it answers. */
export async function restartPoolnetd(h: LabHost, password: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = poolnetdPid(h);
  try { process.kill(pid, signal); } catch { /* already gone */ }
  while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  startPoolnetd(h, password);
  await waitForApi(h.socket, password);
}

/** ovs-vsctl on the fabric's switch. */
export function fabricVsctl(...args: string[]): string {
  return sh('ovs-vsctl', [`--db=unix:${ovsLayout(join(LAB_DIR, 'fabric')).dbSocket}`, ...args]);
}

/** Bond the fabric ports facing some of a host's NICs (the physical switch side of a host bond). */
export function fabricBond(hostIndex: number, nics: number[], mode: 'lacp' | 'active-backup' | 'balance-slb'): string {
  const name = `h${hostIndex}bond`;
  const ports = nics.map((k) => `h${hostIndex}e${k}`);
  const args = ['--if-exists', 'del-port', 'fabric', name];
  for (const p of ports) args.push('--', '--if-exists', 'del-port', 'fabric', p);
  args.push('--', 'add-bond', 'fabric', name, ...ports);
  if (mode === 'lacp') args.push('lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast');
  else args.push(`bond_mode=${mode === 'active-backup' ? 'active-backup' : 'balance-slb'}`);
  args.push('--', 'set', 'port', name, 'other_config:bond-detect-mode=carrier', 'bond_updelay=0', 'bond_downdelay=0');
  fabricVsctl(...args);
  return name;
}

/** Undo fabricBond: the ports are plain switch ports again. */
export function fabricUnbond(hostIndex: number, nics: number[]): void {
  const args = ['--if-exists', 'del-port', 'fabric', `h${hostIndex}bond`];
  for (const k of nics) args.push('--', '--may-exist', 'add-port', 'fabric', `h${hostIndex}e${k}`);
  fabricVsctl(...args);
}

/** Run a command inside a lab namespace. */
export function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], { input });
}

/** Until the master lists every host and every member's replica knows its VMs can be placed. */
async function waitForPool(masterSocket: string, password: string, hosts: number): Promise<void> {
  const s = (await rpc(masterSocket, 'session.login_with_password', ['root', password])) as string;
  const end = Date.now() + 60_000;
  for (;;) {
    const n = ((await rpc(masterSocket, 'host.get_all', [s])) as string[]).length;
    if (n === hosts) return;
    if (Date.now() > end) throw new Error(`only ${n} of ${hosts} hosts joined the pool`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The socket of the pool's master (host1 unless designated otherwise): the one that does not answer HOST_IS_SLAVE. */
export async function masterSocket(password: string): Promise<string> {
  const st = readState();
  for (const h of st?.hosts ?? []) {
    try { await rpc(h.socket, 'session.login_with_password', ['root', password]); return h.socket; } catch (e) { if ((e as { code?: string }).code !== 'HOST_IS_SLAVE') throw e; }
  }
  throw new Error('no master answers');
}

async function waitDevice(ns: string, dev: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try { nsExec(ns, 'ip', ['link', 'show', dev]); return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${dev} did not appear in ${ns}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A VM, through the XenAPI only: VM and VIF records, started on its host, whose poolnetd (the
 * lab's hypervisor) makes its namespace and eth0; then the guest's address, as its OS would.
 */
export async function createVm(target: LabHost, j: number, password: string, network?: string): Promise<LabVm> {
  // every call goes to the pool's master; the VM starts on the target host
  const h = { ...target, socket: await masterSocket(password) };
  const s = (await rpc(h.socket, 'session.login_with_password', ['root', password])) as string;
  try {
    const hostRef = ((await rpc(h.socket, 'host.get_all_where', [s, `field "hostname"="${target.name}"`])) as string[])[0];
    if (!hostRef) throw new Error(`the pool has no host ${target.name}`);
    const net = network ?? ((await rpc(h.socket, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const vm = (await rpc(h.socket, 'VM.create', [s, { name_label: `vm${j}`, name_description: 'lab VM', other_config: {} }])) as string;
    const vif = (await rpc(h.socket, 'VIF.create', [s, { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }])) as string;
    await rpc(h.socket, 'VM.start_on', [s, vm, hostRef, false, false]);
    const domid = (await rpc(h.socket, 'VM.get_domid', [s, vm])) as number;
    const mac = (await rpc(h.socket, 'VIF.get_MAC', [s, vif])) as string;
    const ns = vmNs(j);
    await waitNic(ns, 'eth0', mac);
    const ip = vmIp(j);
    nsExec(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    return { name: `vm${j}`, ns, host: target.name, uuid: (await rpc(h.socket, 'VM.get_uuid', [s, vm])) as string, vif: (await rpc(h.socket, 'VIF.get_uuid', [s, vif])) as string, mac, ip, port: `vif${domid}.0` };
  } finally {
    await rpc(h.socket, 'session.logout', [s]).catch(() => undefined);
  }
}

/** Until the VM's namespace has NIC `dev`, up, with the VIF's MAC (the host's poolnetd makes it). */
export async function waitNic(ns: string, dev: string, mac: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const l = (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string; flags: string[] }[])[0];
      if (l?.address === mac.toLowerCase() && l.flags.includes('UP')) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`the lab's hypervisor did not give ${ns} its ${dev} (${mac})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Live-migrate a lab VM: the VIF's host end moves to the target host's namespace under its new
 * name vif<domid>.0 (what a hypervisor does with the backend device), VM.pool_migrate through the
 * master, and the VM announces itself once the target's switch has its port; the VM's namespace
 * keeps running throughout.
 */
export async function migrateVm(vm: LabVm, target: LabHost, password: string): Promise<LabVm> {
  const socket = await masterSocket(password);
  const s = (await rpc(socket, 'session.login_with_password', ['root', password])) as string;
  try {
    const vmRef = (await rpc(socket, 'VM.get_by_uuid', [s, vm.uuid])) as string;
    const hostRef = ((await rpc(socket, 'host.get_all_where', [s, `field "hostname"="${target.name}"`])) as string[])[0];
    // the domain id the VM will have there (Xen hands out the smallest free one)
    const resident = (await rpc(socket, 'VM.get_all_records_where', [s, `field "resident_on"="${hostRef}"`])) as Record<string, { domid: number }>;
    const used = new Set(Object.values(resident).map((r) => Number(r.domid)));
    let domid = 1;
    while (used.has(domid)) domid++;
    const port = `vif${domid}.0`;
    // the addresses the VM announces when it runs there (read now, out of the pause)
    const addrs = (JSON.parse(nsExec(vm.ns, 'ip', ['-j', '-4', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string }[] }[]).flatMap((a) => a.addr_info.map((i) => i.local));
    // The pool moves the VM; the hosts' hypervisors move its NIC (the target's poolnetd takes the
    // backend device over, as a destination backend does), and the target's switch takes it in.
    // The lab does not move the device itself: a pass of the source's hypervisor before the
    // migration commits would pull it back, and the two would race.
    await rpc(socket, 'VM.pool_migrate', [s, vmRef, hostRef, {}]);
    try { sh('ip', ['netns', 'exec', target.ns, 'ovs-vsctl', `--db=unix:${ovsLayout(join(target.dir, 'ovs')).dbSocket}`, '--timeout=30', 'wait-until', 'Interface', port, 'ofport>0']); } catch { /* the announcements below go on regardless */ }
    // the VM resumes there and announces its addresses (gratuitous ARP, every 50 ms, as QEMU's
    // announce rounds), so that the switches that learnt it behind the source (the fabric's, the
    // other hosts' across tunnels) relearn where it is
    const announcers = addrs.map((a) => spawn('ip', ['netns', 'exec', vm.ns, 'arping', '-q', '-U', '-c', '10', '-W', '0.05', '-I', 'eth0', a], { stdio: 'ignore' }).on('error', () => undefined));
    await new Promise((r) => setTimeout(r, 600));
    for (const p of announcers) if (p.exitCode === null) p.kill();
    // a backend device carries no IPv6 of its own (see veth)
    try { nsExec(target.ns, 'sysctl', ['-qw', `net/ipv6/conf/${port}/disable_ipv6=1`]); } catch { /* the VM's traffic does not depend on it */ }
    const actual = (await rpc(socket, 'VM.get_domid', [s, vmRef])) as number;
    if (actual !== domid) throw new Error(`the VM got domain id ${actual}, not ${domid}`);
    const moved = { ...vm, host: target.name, port };
    const st = readState()!;
    st.vms = st.vms.map((v) => (v.name === vm.name ? moved : v));
    writeState(st);
    return moved;
  } finally {
    await rpc(socket, 'session.logout', [s]).catch(() => undefined);
  }
}

/** Remove everything a lab made: processes (by their pid files, then anything left in lab namespaces), namespaces, files. */
export function down(progress: Progress): void {
  const pidfiles: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pid|cpid)$/.test(e.name)) pidfiles.push(p);
    }
  };
  walk(LAB_DIR);
  const pids = pidfiles.map((f) => { try { return Number(readFileSync(f, 'utf8').trim()); } catch { return 0; } }).filter((p) => p > 1);
  for (const pid of pids) if (pidAlive(pid)) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && pids.some(pidAlive)) execFileSync('sleep', ['0.05']);
  for (const ns of labNamespaces()) {
    // whatever still runs inside a lab namespace was started by the lab
    let pids: string[] = [];
    try { pids = sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean); } catch { /* none */ }
    for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
    progress(`removing namespace ${ns}`);
    try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
  rmSync(LAB_DIR, { recursive: true, force: true });
}

/** How a host's XenAPI answers: as the master, as a member (HOST_IS_SLAVE, naming its master), or not at all. */
export type LabHostRole = { role: 'master' } | { role: 'member'; master: string } | { role: 'not answering'; error: string };
export interface LabStatus { up: boolean; namespaces: string[]; hosts: ({ name: string; ip: string; poolnetd: boolean; api: boolean } & LabHostRole)[]; vms: LabVm[]; port?: number }

/** The role a host's answer to a call with a made-up session shows. */
export function roleOf(answer: { code?: string; message?: string } | undefined): LabHostRole {
  // a master checks the session (SESSION_INVALID); a member sends every client to its master
  if (answer?.code === 'SESSION_INVALID') return { role: 'master' };
  if (answer?.code === 'HOST_IS_SLAVE') return { role: 'member', master: String(answer.message ?? '').split(' ')[1] ?? '' };
  return { role: 'not answering', error: answer?.message ?? 'no answer' };
}

export async function status(): Promise<LabStatus> {
  const s = readState();
  const namespaces = labNamespaces();
  if (!s) return { up: false, namespaces, hosts: [], vms: [] };
  const hosts = await Promise.all(s.hosts.map(async (h) => {
    let pid = 0;
    try { pid = Number(readFileSync(join(h.dir, 'poolnetd.pid'), 'utf8')); } catch { /* never started */ }
    const role = await rpc(h.socket, 'pool.get_all', ['x']).then(() => roleOf(undefined), (e: { code?: string; message?: string }) => roleOf(e));
    return { name: h.name, ip: h.ip, poolnetd: pid > 1 && pidAlive(pid), api: role.role !== 'not answering', ...role };
  }));
  return { up: namespaces.length > 0, namespaces, hosts, vms: s.vms, port: s.port };
}

/**
 * A command run inside a host (within its network namespace, by the caller): also in the UTS
 * namespace of the host's poolnetd, so that `hostname` shows the host's own name (the one
 * host.set_hostname_live sets). Without a running poolnetd, the network namespace alone.
 */
export function hostExecArgv(h: LabHost, cmd: readonly string[]): string[] {
  let pid = 0;
  try { pid = poolnetdPid(h); } catch { /* never started */ }
  return pid > 1 && pidAlive(pid) ? ['nsenter', '--target', String(pid), '--uts', '--', ...cmd] : [...cmd];
}

export function hostByName(name: string): LabHost {
  const s = readState();
  const h = s?.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return h;
}

export function vmByName(name: string): LabVm {
  const s = readState();
  const v = s?.vms.find((x) => x.name === name);
  if (!v) throw new Error(`no lab VM ${name}`);
  return v;
}
