// poolnetd: the pool database, the XenAPI server and (later) the host agent, in one process.

import type http from 'node:http';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Api } from '../api/dispatch.ts';
import { boundPort, listen, listenUnix, type HttpLimits } from '../api/http.ts';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottlePolicy, type ThrottleStart } from '../api/login-throttle.ts';
import { configureSessions, type SessionPolicy } from '../api/session-policy.ts';
import { Agent } from '../agent/agent.ts';
import { HostOs } from '../agent/hostos.ts';
import { BACKENDS } from '../agent/backends.ts';
import { OvsBackend } from '../agent/ovs.ts';
import { VmBackend } from '../agent/vms.ts';
import type { BackendName } from '../domain/backend.ts';
import { setRootPassword } from '../api/sessions.ts';
import { failInterruptedTasks } from '../api/tasks.ts';
import { discoverHost, discoverHostAsync } from '../agent/discover.ts';
import { Database } from '../db/database.ts';
import { initialise, isInitialised, type HostFacts, type NicFacts } from '../db/init.ts';
import { TunnelController } from './controller.ts';
import { Membership } from './membership.ts';
import { opsImpls } from '../ops/index.ts';
import type { BridgeFacts } from '../ops/network.ts';
import type { Services } from '../api/context.ts';
import { raiseAlert, type Alert } from '../ops/message.ts';
import { DropPoller } from '../agent/droppoller.ts';
import { consoleHandler } from '../console/static.ts';
import { ensureCertificate } from './tls.ts';

export interface ServeOptions {
  dataDir: string;
  port: number;
  bind: string;
  insecureHttp: boolean;
  rootPassword?: string;
  /** Only these devices are this host's NICs (default: discovered). */
  nics?: string[];
  facts?: HostFacts;
  backend?: BackendName;
  logLevel?: string;
  logDestination?: number | string;
  /** The switch this daemon's agent drives; none: database only (tests of the API). */
  switchBackend?: BackendName | 'none';
  /** Open vSwitch's run directory (db.sock, <bridge>.mgmt). */
  ovsRunDir?: string;
  datapath?: 'netdev' | 'system';
  /** Also serve the API, plain HTTP, on this unix socket. */
  unixSocket?: string;
  /** Write /etc/resolv.conf from the DNS interface's configuration. */
  manageDns?: boolean;
  /** Set the kernel's hostname from host.hostname (host.set_hostname_live). */
  manageHostname?: boolean;
  agentIntervalMs?: number;
  /** A lab host: play the hypervisor for VMs resident here, as namespaces named with this prefix (never on a real host). */
  labVmPrefix?: string;
  /** With labVmPrefix: an inherited descriptor of the machine's mount namespace (where namespaces are named). */
  labMountNsFd?: number;
  /** A member tolerates an unreachable master this long before emergency mode. */
  masterTimeoutMs?: number;
  /** The XenAPI server's bounds (defaults: DEFAULT_LIMITS in api/http.ts). */
  httpLimits?: Partial<HttpLimits>;
  /** Login throttling (defaults: DEFAULT_THROTTLE). */
  loginThrottle?: Partial<ThrottlePolicy>;
  /** Session lifetime and limits (defaults: xapi's, DEFAULT_SESSION_POLICY). */
  sessions?: Partial<SessionPolicy>;
}

export interface Daemon {
  readonly agent?: Agent;
  readonly membership: Membership;
  readonly api: Api;
  readonly db: Database;
  readonly server: http.Server;
  readonly port: number;
  readonly fingerprint?: string;
  close(): Promise<void>;
}

function startAgent(o: ServeOptions, db: Database, thisHost: () => string, log: pino.Logger, membership: Membership): { agent: Agent; drops: DropPoller } | undefined {
  if (!o.switchBackend || o.switchBackend === 'none') return undefined;
  const backend = BACKENDS[o.switchBackend];
  const setup = { ovsRunDir: o.ovsRunDir ?? '/var/run/openvswitch', datapath: o.datapath ?? 'netdev', log };
  const sw = backend.make(setup);
  const os = new HostOs({ stateDir: o.dataDir, manageDns: o.manageDns ?? false, manageHostname: o.manageHostname ?? false, guardPorts: backend.portsInKernel(setup) });
  const write = async (updates: [string, Record<string, unknown>][]) => {
    if (membership.role === 'member') { await membership.callMaster('pool.replica_write', [updates]); return; }
    db.transact((tx) => { for (const [ref, patch] of updates) if (db.get(ref)) tx.update(ref, patch); });
  };
  const raise = async (alerts: readonly Alert[]) => {
    // values the agent left out: a pool message, on the master (a member's database is a replica)
    if (membership.role === 'member') { for (const a of alerts) await membership.callMaster('message.create', [a.name, a.priority, a.cls, a.obj_uuid, a.body]); return; }
    db.transact((tx) => { for (const a of alerts) raiseAlert(tx, a); });
  };
  const agent = new Agent(db, thisHost, sw, os, log.child({ svc: 'agent' }), { intervalMs: o.agentIntervalMs ?? 10_000, debounceMs: 2 }, write, raise);
  if (sw instanceof OvsBackend) sw.onPortNumbered = () => agent.refresh();
  if (o.labVmPrefix !== undefined) agent.hypervisor = new VmBackend(o.labVmPrefix, log.child({ svc: 'lab-hypervisor' }), o.labMountNsFd);
  // the VIFs' locking drops, read about once a second (its writes need no agent pass)
  const flowStats = sw instanceof OvsBackend ? (bridge: string) => sw.flowStats(bridge, '0x1', '0x1') : undefined;
  const drops = new DropPoller({ db, host: thisHost, backend: o.switchBackend, ovsRunDir: setup.ovsRunDir, write, raise, flowStats, log: log.child({ svc: 'drops' }) });
  agent.quiet = (c) => drops.onlyCounts(c);
  agent.start();
  drops.start();
  return { agent, drops };
}

/**
 * A pool message when a user name or an address starts to be throttled, so that the administrator
 * learns of password guessing; at most ALERTS_PER_HOUR, whatever an attacker varies.
 */
const ALERTS_PER_HOUR = 20;
function throttleAlerts(db: Database, log: pino.Logger): (t: ThrottleStart) => void {
  let hour = 0;
  let sent = 0;
  return (t) => {
    log.warn({ kind: t.kind, name: t.name, failures: t.failures }, 'login throttled');
    const h = Math.floor(Date.now() / 3600_000);
    if (h !== hour) { hour = h; sent = 0; }
    if (++sent > ALERTS_PER_HOUR || db.getLocal('role') === 'member') return;
    const pool = db.all('pool').next().value;
    if (!pool) return;
    const who = t.kind === 'user' ? `user name ${JSON.stringify(t.name)}` : `address ${t.name}`;
    db.transact((tx) => raiseAlert(tx, {
      name: 'LOGIN_THROTTLED', priority: 3, cls: 'Pool', obj_uuid: pool.rec.uuid,
      body: `${t.failures} failed logins for the ${who}: further attempts are delayed, longer after each failure.`,
    }));
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export class ServeError extends Error {}

export async function startDaemon(o: ServeOptions): Promise<Daemon> {
  if (o.insecureHttp && !LOOPBACK.test(o.bind)) throw new ServeError(`--insecure-http is only allowed on a loopback address, not ${o.bind}`);
  const log = pino({ level: o.logLevel ?? 'info', base: { svc: 'poolnetd' } }, pino.destination({ dest: o.logDestination ?? 2, sync: true }));
  // the database holds the root password's hash, the pool secret and every session: private
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(o.dataDir, 0o700);
  const db = new Database(join(o.dataDir, 'pool.db'));
  try {
    if (!isInitialised(db)) {
      if (!o.rootPassword) throw new ServeError('POOLNET_ROOT_PASSWORD must be set on first start: it becomes the password of root');
      const facts = o.facts ?? discoverHost(o.nics);
      initialise(db, facts, { backend: o.backend ?? 'openvswitch' });
      db.transact((tx) => setRootPassword(tx, o.rootPassword!));
      log.info({ nics: facts.nics.map((n) => n.device), hostname: facts.hostname }, 'initialised a fresh pool database');
    }
    failInterruptedTasks(db);
  } catch (e) {
    db.close();
    throw e;
  }
  // this daemon's host: by the uuid it was installed with (a pool join keeps it)
  const hostUuid = db.getLocal('host_uuid') ?? db.getOf('host', db.all('pool').next().value?.rec.master ?? '')?.rec.uuid;
  if (hostUuid && !db.getLocal('host_uuid')) db.setLocal('host_uuid', hostUuid);
  const thisHost = (): string => (hostUuid && db.byUuidOf('host', hostUuid)?.ref) || 'OpaqueRef:NULL';
  // The NICs the kernel has now: fixed facts (tests) or discovered at each call (PIF.scan after a hot-add).
  const ovsDbSocket = o.switchBackend === 'openvswitch' ? join(o.ovsRunDir ?? '/var/run/openvswitch', 'db.sock') : undefined;
  const localFacts = () => o.facts ?? discoverHost(o.nics, { ovsDbSocket });
  const localFactsAsync = async () => o.facts ?? discoverHostAsync(o.nics, { ovsDbSocket });
  // a member's NICs are what it reported (host.nic_facts); this host's, what the kernel has now
  const hostNics = (host: string) => {
    if (host === thisHost()) return localFacts().nics;
    try { return JSON.parse(db.getOf('host', host)?.rec.nic_facts || '[]') as NicFacts[]; } catch { return []; }
  };
  // the bridges of a host's switch: this host's now, a member's as it reported them (unknown: undefined)
  const hostBridges = (host: string): readonly string[] | undefined => {
    if (host === thisHost()) return localFacts().bridges;
    try {
      const v: unknown = JSON.parse(db.getOf('host', host)?.rec.bridge_facts || 'null');
      return Array.isArray(v) ? v.filter((b): b is string => typeof b === 'string') : undefined;
    } catch { return undefined; }
  };
  const services: Services & BridgeFacts = { db, thisHost, log, hostNics, hostBridges };
  const api = new Api(services, opsImpls);
  const tls = o.insecureHttp ? undefined : await ensureCertificate(o.dataDir, db.getOf('host', thisHost())?.rec.hostname ?? 'poolnet');
  const onGet = consoleHandler(); // the web console on GET / (XenAPI stays on POST)
  const sessions = configureSessions(db, o.sessions ?? {}).start();
  const throttle = new LoginThrottle({ ...DEFAULT_THROTTLE, ...o.loginThrottle });
  const onThrottle = throttleAlerts(db, log);
  const http = { onGet, limits: o.httpLimits, throttle, onThrottle };
  const server = await listen(api, { port: o.port, bind: o.bind, tls, ...http }, log);
  const port = boundPort(server);
  log.info({ port, bind: o.bind, tls: !!tls, fingerprint: tls?.fingerprint }, 'XenAPI listening');
  let local: http.Server | undefined;
  if (o.unixSocket) {
    rmSync(o.unixSocket, { force: true });
    local = await listenUnix(api, o.unixSocket, http, log);
    log.info({ socket: o.unixSocket }, 'XenAPI on a unix socket');
  }
  const membership = new Membership(db, api, thisHost, log.child({ svc: 'pool' }), {
    masterTimeoutMs: o.masterTimeoutMs ?? 10_000, insecurePeers: o.insecureHttp, facts: localFacts, factsAsync: localFactsAsync, backend: o.backend ?? 'openvswitch', ownFingerprint: tls?.fingerprint,
  });
  api.addImpls(membership.impls());
  membership.start();
  const stopController = new TunnelController(db, () => membership.role === 'master').start();
  const started = startAgent(o, db, thisHost, log, membership);
  const agent = started?.agent;
  let closed = false;
  return {
    api, db, server, port, fingerprint: tls?.fingerprint, agent, membership,
    async close() {
      if (closed) return;
      closed = true;
      membership.stop();
      sessions.stop();
      stopController();
      started?.drops.stop();
      await agent?.stop();
      if (local) await new Promise<void>((resolve) => { local!.close(() => resolve()); local!.closeAllConnections(); });
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      api.hub.wake();
      await api.settle();
      db.close();
      log.info({}, 'stopped');
    },
  };
}
