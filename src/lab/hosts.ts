// The lab's hosts: a namespace each with K NICs (cabled to the fabric), its own Open vSwitch and
// its own poolnetd in a UTS namespace of its own; joining them into one pool.

import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../domain/backend.ts';
import { daemon, pidAlive, run, sleep } from './exec.ts';
import { offloadOff } from './fabric.ts';
import { call, login, logout, waitForApi } from './rpc.ts';
import { LAB_DIR, MGMT_NET, PREFIX, hostIp, hostNs, type LabHost } from './state.ts';
import { startSwitch } from './switch.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const POOLNET = join(REPO, 'bin', 'poolnet.mjs');

export function hostDef(i: number, nics: number, stack: BackendName, masterTimeoutMs?: number): LabHost {
  const dir = join(LAB_DIR, `host${i}`);
  return { name: `host${i}`, ns: hostNs(i), ip: hostIp(i), dir, socket: join(dir, 'xapi.sock'), nics, stack, masterTimeoutMs };
}

/**
 * The daemon's prebuilt bundle (dist/poolnet.mjs, scripts/build.ts), rebuilt first when a source
 * is newer: bin/poolnet.mjs runs the TypeScript sources through tsx otherwise, and 64 hosts would
 * each compile them at start (seconds of CPU) and keep the compiler (some 30 MB each). What it
 * says: whether the bundle is used, for the progress.
 */
export async function freshBundle(): Promise<string> {
  try {
    const out = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'build.ts'), '--if-stale'], { env: { ...process.env }, timeoutMs: 120_000 });
    return out.trim().split('\n').filter(Boolean).join('; ') || 'dist/poolnet.mjs is up to date';
  } catch (e) {
    return `no bundle (${(e as Error).message.split('\n')[0]}): hosts run the TypeScript sources`;
  }
}

/** The host's namespace and its resolver file (before its NICs are cabled). */
export async function makeNamespace(h: LabHost): Promise<void> {
  mkdirSync(join(h.dir, 'data'), { recursive: true });
  await run('ip', ['netns', 'add', h.ns]);
  mkdirSync(`/etc/netns/${h.ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${h.ns}/resolv.conf`, `nameserver ${MGMT_NET}.1\n`);
}

/** Once cabled: the NICs up, eth0 on the management network, the default route via the fabric. */
export async function configureNics(h: LabHost): Promise<void> {
  const devs = Array.from({ length: h.nics }, (_, k) => `eth${k}`);
  const lines = ['link set lo up', ...devs.map((d) => `link set ${d} up`), `addr add ${h.ip}/24 dev eth0`, `route add default via ${MGMT_NET}.1`];
  await run('ip', ['-n', h.ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  await offloadOff(h.ns, devs);
}

/**
 * The host's TLS certificate, made before its poolnetd first starts (which then keeps it): an
 * ECDSA P-256 key by openssl takes milliseconds, where the daemon's own RSA 2048 key, made in
 * JavaScript, takes a few hundred milliseconds of CPU, 64 times over on 2 cores. Named as the
 * daemon names its own: the host's name, localhost, 127.0.0.1.
 */
export async function makeCertificate(h: LabHost): Promise<void> {
  const data = join(h.dir, 'data');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const key = join(data, 'server.key'), cert = join(data, 'server.crt');
  if (existsSync(key) && existsSync(cert)) return;
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '3650', '-subj', `/CN=${h.name}`, '-addext', `subjectAltName=DNS:${h.name},DNS:localhost,IP:127.0.0.1`]);
    chmodSync(key, 0o600);
  } catch {
    // no openssl: the daemon makes its own, as on a real host
    rmSync(key, { force: true });
    rmSync(cert, { force: true });
  }
}

/** The host's own Open vSwitch. */
export const startHostSwitch = (h: LabHost): Promise<void> => startSwitch(h.ns, join(h.dir, 'ovs'));

/**
 * V8's settings for a lab member's poolnetd (host1, the pool's master, keeps the defaults), so that 64 fit on one machine: a young generation of
 * 2 MB semi-spaces instead of up to 16 MB (a daemon's garbage is short-lived and small; the
 * default lets each grow up to ~50 MB before it collects), and one V8 helper thread instead of
 * four. Each thread's malloc arena and a scrypt block above 128 KB go back to the kernel when
 * freed (MALLOC_MMAP_THRESHOLD_ fixes glibc's threshold, which otherwise grows to keep them).
 */
export const MEMBER_NODE_FLAGS = ['--max-semi-space-size=2', '--v8-pool-size=1'];
export const MEMBER_MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/** Start a host's poolnetd (again): in the host's namespace, in a UTS namespace of its own. */
export function startPoolnetd(h: LabHost, password: string): number {
  const nics = Array.from({ length: h.nics }, (_, k) => `eth${k}`).join(',');
  // its own UTS namespace, so that the host's hostname is its own and never the machine's
  const mountNs = openSync('/proc/self/ns/mnt', 'r');
  try {
    const member = h.name !== 'host1';
    return daemon(h.ns, ['unshare', '--uts', 'sh', '-c', `hostname ${h.name} && exec "$0" "$@"`, process.execPath, ...(member ? MEMBER_NODE_FLAGS : []), POOLNET, 'serve', '--data-dir', join(h.dir, 'data'), '--port', '443', '--bind', '0.0.0.0',
      '--switch', h.stack, '--ovs-rundir', join(h.dir, 'ovs'), '--unix-socket', h.socket, '--nics', nics, '--backend', h.stack, '--manage-dns', '--manage-hostname', '--log-level', 'info', '--master-timeout', String(h.masterTimeoutMs ?? 10_000),
      // the host plays the hypervisor for its VMs; `ip netns exec` gives it a mount namespace of its
      // own, so it names VM namespaces in this one (the machine's), handed over as its fd 9
      '--lab-vms', PREFIX, '--lab-mount-ns-fd', '9'],
      join(h.dir, 'poolnetd.log'), join(h.dir, 'poolnetd.pid'), { ...process.env, ...(member ? MEMBER_MALLOC_ENV : {}), POOLNET_ROOT_PASSWORD: password }, mountNs);
  } finally {
    closeSync(mountNs);
  }
}

/** The pid of a host's poolnetd. */
export function poolnetdPid(h: LabHost): number {
  return Number(readFileSync(join(h.dir, 'poolnetd.pid'), 'utf8').trim());
}

/** Restart a host's poolnetd, the hard way by default (SIGKILL), and wait until it answers. */
export async function restartPoolnetd(h: LabHost, password: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = poolnetdPid(h);
  try { process.kill(pid, signal); } catch { /* already gone */ }
  while (pidAlive(pid)) await sleep(20);
  startPoolnetd(h, password);
  await waitForApi(h.socket);
}

/** A standalone host joins the pool of the master at `masterIp` (pool.join on the host, as `xe pool-join`). */
export async function joinPool(h: LabHost, masterIp: string, password: string): Promise<void> {
  const l = await login(h.socket, password);
  try {
    await call(l, 'pool.join', masterIp, 'root', password);
  } finally {
    // the session went with the join (a member answers other clients HOST_IS_SLAVE)
    await logout(l);
  }
}

/** Until the master lists `hosts` hosts. */
export async function waitForPool(master: { socket: string; session: string }, hosts: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const n = (await call<string[]>(master, 'host.get_all')).length;
    if (n === hosts) return;
    if (Date.now() > end) throw new Error(`only ${n} of ${hosts} hosts joined the pool`);
    await sleep(100);
  }
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
