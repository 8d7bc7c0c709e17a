// Master and members. A member logs in to the master with the pool secret, keeps a full
// replica of the pool database from the master's change stream, reports its own host's status,
// and answers other clients HOST_IS_SLAVE. When the master cannot be reached for longer than
// the timeout, the member enters emergency mode: its agent keeps the switch as it is, and only
// the emergency calls are served.
//
// The pool secret only travels between the pool's hosts, over TLS pinned to each host's
// certificate: a joining host's is pinned when the master admits it (pool.join_request, which
// only local root may authorise), each host's is in its host record, and a call to a host sends
// nothing until the host shows the certificate pinned for it. A host that shows another is
// refused, logged, and reported as a pool message. Sessions made with the secret are superuser,
// as xapi's slave sessions: they belong to hosts that hold the whole pool database anyway.

import type { Api } from '../api/dispatch.ts';
import type { ImplTable } from '../api/context.ts';
import type { Database, ObjOf, ReplicaBatch } from '../db/database.ts';
import type { HostFacts, NicFacts } from '../db/init.ts';
import { initialise } from '../db/init.ts';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { checkRecordValues } from '../model/checks.ts';
import { classDef, NULL_REF, XapiError } from '../model/index.ts';
import { raiseAlert } from '../ops/message.ts';
import { now } from '../api/marshal.ts';
import { reportedDrops } from '../agent/dropstats.ts';
import { forgetHost, joinIntroduce, preJoinChecks, syncNetworking, type HostInfo, type RemotePool } from '../ops/pool_join.ts';
import { setManagement } from '../ops/pif.ts';
import { poolImpls } from '../ops/pool.ts';
import { managementPif, pifsOfHost, thePool } from '../ops/topology.ts';
import { PeerCertificateMismatch, callPeer, peerFingerprint, type Peer } from './rpcclient.ts';
import { PollPacer, ReplicaFeed } from './replicafeed.ts';
import { rowOwners } from './ownership.ts';
import type { BackendName } from '../domain/backend.ts';

/** Calls a member answers itself; everything else goes to the master (HOST_IS_SLAVE). */
const MEMBER_CALLS = new Set([
  'session.slave_login', 'session.slave_local_login_with_password', 'session.local_logout', 'session.logout',
  'pool.emergency_transition_to_master', 'pool.emergency_reset_master', 'pool.eject_self', 'pool.join_deliver',
  'host.is_in_emergency_mode', 'host.local_management_reconfigure', 'host.management_disable', 'host.emergency_ha_disable',
]);

/** How long an old master serves its replica to the host it designated before following it. */
const HANDOVER_MS = 30_000;

/** Fields a member may write about its own host through pool.replica_write (which rows: ownership.ts). */
const STATUS_FIELDS: Record<string, readonly string[]> = {
  PIF_metrics: ['carrier', 'speed', 'duplex', 'vendor_id', 'vendor_name', 'device_id', 'device_name', 'pci_bus_path', 'last_updated'],
  PIF: ['IP', 'netmask', 'gateway', 'IPv6', 'MAC', 'MTU'],
  Bond: ['links_up'],
  host: ['address', 'nic_facts', 'bridge_facts', 'hostname', 'certificate_fingerprint', 'software_version'],
  // a live migration's destination answers the master's order (src/domain/migration.ts)
  VM: ['migration_report'],
  tunnel: ['status'],
  // its VIFs' locking drops (src/agent/droppoller.ts): checked and merged by reportedDrops
  VIF: ['locking_drops'],
};

/**
 * pool.replica_write's argument (typed `any` in the model), checked whole before anything is
 * written: a list of [ref, record] pairs, else FIELD_TYPE_ERROR.
 */
function replicaUpdates(v: unknown): [string, Record<string, unknown>][] {
  const pair = (e: unknown): e is [string, Record<string, unknown>] =>
    Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'object' && e[1] !== null && !Array.isArray(e[1]);
  if (!Array.isArray(v) || !v.every(pair)) throw new XapiError('FIELD_TYPE_ERROR', ['updates']);
  return v;
}

export interface MembershipOptions {
  /** How long a member tolerates an unreachable master before emergency mode. */
  readonly masterTimeoutMs: number;
  /** Talk plain HTTP to peers (tests on loopback only). */
  readonly insecurePeers: boolean;
  readonly facts: () => HostFacts;
  /** The same facts without blocking the event loop (a member reads them every few seconds); else facts(). */
  readonly factsAsync?: () => Promise<HostFacts>;
  readonly backend: BackendName;
  /** The SHA-256 fingerprint of this daemon's API certificate (none with insecurePeers). */
  readonly ownFingerprint?: string;
}

type Log = { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void };

export class Membership {
  emergency = false;
  private stopped = false;
  private link: Promise<void> | undefined;
  private session: string | undefined;
  /** The host the session speaks for (named at session.slave_login): this host, as the replica knew it then. */
  private sessionHost = NULL_REF;
  /** Rows of other hosts a member sent (pool.replica_write), logged once each: `${host} ${ref}`. */
  private readonly foreignLogged = new Set<string>();
  private lastContact = Date.now();
  private wake: (() => void) | undefined;
  /** Aborts the link's request in flight (the master moved: it may hang on the old address). */
  private abort: AbortController | undefined;
  /** The pool.join in progress on this host: the nonce the master must deliver the secret with. */
  private pendingJoin: { nonce: string; secret?: string } | undefined;
  private lastLinkError = '';
  /** The change stream's pace (replicafeed.ts): the master's shared batches, this member's polls. */
  private readonly feed: ReplicaFeed;
  private readonly pacer: PollPacer;

  constructor(
    private readonly db: Database,
    private readonly api: Api,
    private readonly thisHost: () => string,
    private readonly log: Log,
    private readonly opts: MembershipOptions,
  ) {
    this.feed = new ReplicaFeed(db);
    // never so long that the master's long poll and the emergency watchdog notice
    this.pacer = new PollPacer({ burstMs: 250, minMs: 50, maxMs: Math.min(2000, opts.masterTimeoutMs / 5) });
  }

  get role(): 'master' | 'member' { return this.db.getLocal('role') === 'member' ? 'member' : 'master'; }
  get masterAddress(): string { return this.db.getLocal('master_address') ?? ''; }
  private get peer(): Peer { return { address: this.masterAddress, fingerprints: this.poolPins(), insecure: this.opts.insecurePeers }; }

  /**
   * The certificates a master of this member may show: the one pinned at join and those of the
   * pool's other hosts (every one of them holds the secret already), from the replica.
   */
  private poolPins(): string[] {
    const me = this.thisHost();
    const pins = new Set<string>();
    const joined = this.db.getLocal('master_fingerprint');
    if (joined) pins.add(joined);
    for (const h of this.db.all('host')) if (h.ref !== me && h.rec.certificate_fingerprint) pins.add(h.rec.certificate_fingerprint);
    return [...pins];
  }

  /** The master keeps its own certificate in its host record, for members to pin. */
  private recordOwnCertificate(): void {
    const fp = this.opts.ownFingerprint;
    const me = this.db.getOf('host', this.thisHost());
    if (!fp || !me || me.rec.certificate_fingerprint === fp) return;
    this.db.transact((tx) => tx.update(me, { certificate_fingerprint: fp }));
  }

  start(): void {
    this.api.setGate((name) => {
      if (this.role !== 'member' || MEMBER_CALLS.has(name)) return;
      throw new XapiError('HOST_IS_SLAVE', [this.masterAddress.split(':')[0]]);
    });
    if (this.role === 'member') this.startLink();
    else this.recordOwnCertificate();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** A call to the master with the member's pool session. */
  async callMaster(method: string, params: unknown[]): Promise<unknown> {
    if (!this.session) throw new Error('not connected to the master');
    return callPeer(this.peer, method, [this.session, ...params]);
  }

  private startLink(): void {
    if (this.link) return;
    this.link = this.runLink().finally(() => { this.link = undefined; });
  }

  /** Enter emergency mode once the master has not answered for longer than the timeout. */
  private checkContact(err?: unknown): void {
    if (this.emergency || this.stopped || this.role !== 'member' || Date.now() - this.lastContact <= this.opts.masterTimeoutMs) return;
    this.emergency = true;
    this.log.warn({ master: this.masterAddress, err: err ? (err as Error).message : 'no answer' }, 'cannot reach the master: emergency mode');
  }

  private async runLink(): Promise<void> {
    let token = '';
    this.lastContact = Date.now();
    // the master answers a long poll at least every half timeout; a request that hangs (the
    // master's address gone: nobody answers, nobody refuses) must not delay emergency mode
    const pollS = Math.max(0.5, Math.min(20, this.opts.masterTimeoutMs / 2000));
    const watchdog = setInterval(() => this.checkContact(), Math.min(250, this.opts.masterTimeoutMs / 8));
    watchdog.unref();
    try {
      while (!this.stopped && this.role === 'member') {
        const abort = (this.abort = new AbortController());
        try {
          // (after every await: a daemon that stopped meanwhile has closed its database)
          if (!this.session) {
            await this.login(abort.signal);
            if (this.stopped) return;
            token = '';
          }
          if (token === '') await this.reportManagement();
          if (this.stopped) return;
          const asked = Date.now();
          const batch = (await callPeer(this.peer, 'pool.replica_from', [this.session, token, token === '' ? 0 : pollS], Math.max(10_000, pollS * 2000 + 5000), abort.signal)) as ReplicaBatch;
          if (this.stopped) return;
          this.lastContact = Date.now();
          if (this.emergency) { this.emergency = false; this.log.info({ master: this.masterAddress }, 'the master answers again: emergency mode over'); }
          if (batch.full || batch.rows.length || batch.dels.length) this.db.applyReplica(batch);
          // the first replica after a join gives this host its ref in the pool: its session, made
          // naming no host (or its ref from before), may report about none (ownership.ts)
          const me = this.thisHost();
          if (me !== NULL_REF && me !== this.sessionHost && this.role === 'member') {
            const old = this.session;
            await this.login(abort.signal);
            if (this.stopped) return;
            void callPeer(this.peer, 'session.logout', [old], 10_000).catch(() => undefined);
          }
          if (token === '') await this.reportFacts(); else await this.refreshNicFacts();
          if (this.stopped) return;
          this.lastLinkError = '';
          token = String(batch.generation);
          this.afterSync();
          // a burst of the master's commits reaches this host in a few batches (replicafeed.ts)
          const gap = batch.full || batch.rows.length || batch.dels.length ? this.pacer.changed(Date.now() - asked) : 0;
          if (gap > 0 && !this.stopped) await new Promise<void>((r) => { this.wake = r; setTimeout(r, gap); });
        } catch (e) {
          if (this.stopped) return;
          if (e instanceof XapiError && e.code === 'SESSION_INVALID') { this.session = undefined; continue; }
          if (e instanceof XapiError && e.code === 'SESSION_AUTHENTICATION_FAILED') this.log.error({}, 'the master refuses the pool secret');
          if (e instanceof PeerCertificateMismatch && e.message !== this.lastLinkError) {
            this.lastLinkError = e.message;
            this.log.error({ master: this.masterAddress }, `not sending the pool secret: ${e.message}`);
          }
          this.session = undefined;
          // the host followed is a member now (designate_new_master) and names the master: this
          // host, when the change reached it through no replica yet, or another to follow
          const named = e instanceof XapiError && e.code === 'HOST_IS_SLAVE' && !this.masterAddress.includes(':') ? e.params[0] : undefined;
          if (named && named === this.myAddress()) { this.log.info({}, 'the old master names this host master of the pool'); this.db.setLocal('role', 'master'); return; }
          if (named && named !== this.masterAddress) {
            this.log.info({ master: named }, 'the pool has a new master');
            this.db.setLocal('master_address', named);
            continue;
          }
          this.checkContact(e);
          if (abort.signal.aborted) continue; // told where the master is now: at once
          await new Promise<void>((r) => { this.wake = r; setTimeout(r, 1000); });
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  /** A pool session on the master, naming this host (NULL before the replica holds it: a joining host's). */
  private async login(signal: AbortSignal): Promise<void> {
    const me = this.thisHost();
    const session = (await callPeer(this.peer, 'session.slave_login', [me, this.db.getLocal('pool_secret') ?? ''], 10_000, signal)) as string;
    if (this.stopped) return;
    this.session = session;
    this.sessionHost = me;
  }

  /** After a sync: the pool may have a new master (designate_new_master), or have ejected us. */
  private afterSync(): void {
    const me = this.thisHost();
    if (me === NULL_REF) { this.log.warn({}, 'this host is no longer in the pool: leaving it'); this.becomeStandalone(); return; }
    const master = this.db.getOf('host', thePool(this.db).rec.master);
    if (!master) return;
    if (master.ref === me) { this.log.info({}, 'designated master of the pool'); this.db.setLocal('role', 'master'); this.session = undefined; return; }
    // another host became master: follow it. The same master at a new address is not followed
    // (as xapi's members do not): they lose it, enter emergency mode, and pool.recover_slaves on
    // the master tells them where it is now.
    const known = this.db.getLocal('master_host');
    if (known !== master.ref) this.db.setLocal('master_host', master.ref);
    if (known === undefined || known === master.ref) return;
    const addr = master.rec.address;
    if (addr && addr !== this.masterAddress.split(':')[0] && !this.masterAddress.includes(':')) {
      this.log.info({ master: addr }, 'the pool has a new master');
      this.db.setLocal('master_address', addr);
      this.session = undefined;
    }
  }

  private async reportFacts(): Promise<void> {
    const me = this.thisHost();
    if (me === NULL_REF) return;
    // this host's certificate too: the master pins it for its calls here (recover_slaves)
    const cert = this.opts.ownFingerprint ? { certificate_fingerprint: this.opts.ownFingerprint } : {};
    await this.callMaster('pool.replica_write', [[[me, { ...(await this.switchReport()), ...cert }]]]);
    // a member (re)starting inherits the master's bonds, VLANs and tunnels
    await this.callMaster('host.sync_vlans', [me]);
  }

  /** What the master's checks read about this host's NICs and switch (PIF.scan, VLAN_IN_USE, BRIDGE_NOT_AVAILABLE). */
  private async switchReport(): Promise<{ nic_facts: string; bridge_facts: string }> {
    const facts = this.opts.factsAsync ? await this.opts.factsAsync() : this.opts.facts();
    return { nic_facts: JSON.stringify(facts.nics), bridge_facts: facts.bridges ? JSON.stringify(facts.bridges) : '' };
  }

  private nicFactsAt = 0;
  /** The NICs and bridges again, every few seconds and only when they changed. */
  private async refreshNicFacts(): Promise<void> {
    const me = this.thisHost();
    if (me === NULL_REF || Date.now() - this.nicFactsAt < 5000) return;
    this.nicFactsAt = Date.now();
    const now = await this.switchReport();
    if (this.stopped) return;
    const host = this.db.getOf('host', me);
    if (now.nic_facts !== host?.rec.nic_facts || now.bridge_facts !== host.rec.bridge_facts) await this.callMaster('pool.replica_write', [[[me, now]]]);
  }

  /** This host's PIF for an interface name as xapi's inventory holds it: a bridge or a device. */
  private localPif(iface: string): ObjOf<'PIF'> | undefined {
    const pifs = pifsOfHost(this.db, this.thisHost());
    return pifs.find((p) => this.db.getOf('network', p.rec.network)?.rec.bridge === iface) ?? pifs.find((p) => p.rec.device === iface && p.rec.VLAN === -1);
  }

  /**
   * A management interface chosen locally in emergency mode (host.local_management_reconfigure)
   * goes to the master's database once the master answers again, before the replica replaces
   * this host's copy: as xapi's member takes the management interface from its inventory when
   * it reconnects.
   */
  private async reportManagement(): Promise<void> {
    const iface = this.db.getLocal('management_interface');
    if (!iface) return;
    const pif = this.localPif(iface);
    try {
      // (this host's copy says management already: the master's may not)
      if (pif) await this.callMaster('host.management_reconfigure', [pif.ref]);
      else if (!pif) this.log.warn({ interface: iface }, 'the management interface chosen in emergency mode has no PIF: the master keeps its own');
    } catch (e) {
      if (!(e instanceof XapiError) || e.code === 'SESSION_INVALID') throw e;
      this.log.error({ interface: iface, err: e.message }, 'the master refuses the management interface chosen in emergency mode');
    }
    this.db.setLocal('management_interface', undefined);
  }

  /** A fresh standalone pool on this host, as after a fresh install (pool.eject). */
  private becomeStandalone(): void {
    const rootHash = [...this.db.all('pool')][0]?.rec.root_password_hash;
    const hostUuid = this.db.getLocal('host_uuid');
    this.db.applyReplica({ generation: this.db.generation + 1, full: true, rows: [], dels: [] });
    for (const k of ['role', 'master_address', 'master_fingerprint', 'master_host', 'pool_secret', 'management_interface']) this.db.setLocal(k, undefined);
    initialise(this.db, this.opts.facts(), { backend: this.opts.backend });
    // keep the host's identity and root's password across the eject
    this.db.transact((tx) => {
      const host = [...this.db.all('host')][0];
      if (hostUuid && host) tx.update(host.ref, { uuid: hostUuid });
      if (rootHash) tx.update(thePool(this.db).ref, { root_password_hash: rootHash });
    });
    if (hostUuid) this.db.setLocal('host_uuid', hostUuid);
    this.session = undefined;
  }

  private becomeMember(address: string, secret: string, fingerprint: string | undefined): void {
    this.db.setLocal('master_address', address);
    this.db.setLocal('pool_secret', secret);
    this.db.setLocal('master_fingerprint', fingerprint);
    this.db.setLocal('role', 'member');
    this.session = undefined;
    this.emergency = false;
    this.startLink();
  }

  private hostInfo(): HostInfo {
    const me = this.db.getOf('host', this.thisHost())!;
    const mgmt = managementPif(this.db, me.ref);
    const facts = this.opts.facts();
    return {
      uuid: me.rec.uuid, hostname: me.rec.hostname, address: me.rec.address,
      software_version: me.rec.software_version, nics: facts.nics as NicFacts[],
      management: { device: mgmt?.rec.device ?? '', mode: mgmt?.rec.ip_configuration_mode ?? 'None', IP: mgmt?.rec.IP ?? '', netmask: mgmt?.rec.netmask ?? '', gateway: mgmt?.rec.gateway ?? '', DNS: mgmt?.rec.DNS ?? '' },
      fingerprint: this.opts.ownFingerprint ?? '',
    };
  }

  /** What the checks of a join compare, read from the master with the user's session. */
  private static async readRemote(talk: (m: string, p: unknown[]) => Promise<unknown>, s: string): Promise<RemotePool> {
    const [poolRef, pool] = Object.entries((await talk('pool.get_all_records', [s])) as Record<string, { master: string; ha_enabled: boolean }>)[0] ?? [];
    if (!poolRef || !pool) throw new XapiError('JOINING_HOST_SERVICE_FAILED', []);
    const master = (await talk('host.get_record', [s, pool.master])) as { uuid: string; software_version: Record<string, string> };
    const pifs = (await talk('PIF.get_all_records', [s])) as Record<string, { host: string; management: boolean; VLAN: number | string; primary_address_type: string }>;
    const mgmt = Object.values(pifs).find((p) => p.management && p.host === pool.master);
    const sdn = Object.values((await talk('SDN_controller.get_all_records', [s])) as Record<string, { protocol: string; address: string; port: number }>)[0];
    const nets = (await talk('network.get_all_records', [s])) as Record<string, { purpose: string[] }>;
    return {
      haEnabled: pool.ha_enabled === true, masterUuid: master.uuid, masterBackend: master.software_version.network_backend ?? '',
      managementVlan: mgmt ? Number(mgmt.VLAN) : -1, primaryAddressType: mgmt?.primary_address_type ?? 'IPv4',
      sdnController: sdn, purposes: Object.values(nets).flatMap((n) => n.purpose ?? []),
    };
  }

  /**
   * pool.join, on the joining host, as xapi's: log in to the master, then its pre_join_checks.
   * The credentials given only authorise the join on the master; the master sends the pool
   * secret to this host's daemon (pool.join_deliver) over TLS pinned to this host's
   * certificate, and this host introduces itself with a session made with it.
   */
  private async join(address: string, user: string, password: string): Promise<void> {
    if (this.role === 'member') throw new XapiError('OPERATION_NOT_ALLOWED', ['This host is already a member of a pool']);
    if (this.pendingJoin) throw new XapiError('OPERATION_NOT_ALLOWED', ['A pool join is already in progress on this host']);
    let fingerprint: string | undefined;
    if (!this.opts.insecurePeers) {
      // the master named by the user is trusted on first use, as xapi's pool.join does
      try { fingerprint = await peerFingerprint(address); } catch { throw new XapiError('JOINING_HOST_CONNECTION_FAILED', []); }
    }
    const peer: Peer = { address, fingerprints: fingerprint ? [fingerprint] : [], insecure: this.opts.insecurePeers };
    const talk = async (method: string, params: unknown[], timeoutMs = 15_000): Promise<unknown> => {
      try { return await callPeer(peer, method, params, timeoutMs); } catch (e) {
        if (e instanceof XapiError) throw e;
        throw new XapiError('JOINING_HOST_CONNECTION_FAILED', []);
      }
    };
    const s = (await talk('session.login_with_password', [user, password, '2.23', 'pool.join'])) as string;
    try {
      preJoinChecks(this.db, this.thisHost(), await Membership.readRemote(talk, s));
      const pending: { nonce: string; secret?: string } = { nonce: randomBytes(32).toString('hex') };
      this.pendingJoin = pending;
      try {
        await talk('pool.join_request', [s, this.myAddress(), this.opts.ownFingerprint ?? '', pending.nonce], 30_000);
      } finally {
        this.pendingJoin = undefined;
      }
      const secret = pending.secret;
      if (!secret) throw new XapiError('JOINING_HOST_SERVICE_FAILED', []);
      // (the master holds no host of this one's yet: join_introduce makes it; the session reports about no host)
      const ps = (await talk('session.slave_login', [NULL_REF, secret])) as string;
      try {
        await talk('pool.join_introduce', [ps, this.hostInfo()]);
      } finally {
        await callPeer(peer, 'session.logout', [ps]).catch(() => undefined);
      }
      this.log.info({ master: address }, 'joined the pool: this host is now a member');
      this.becomeMember(address, secret, fingerprint);
    } finally {
      await callPeer(peer, 'session.logout', [s]).catch(() => undefined);
    }
  }

  /**
   * pool.join_request, on the master: send the secret to the joining host's daemon, at the
   * address it named, only if it shows the certificate it named.
   */
  private async admit(address: string, fingerprint: string, nonce: string): Promise<void> {
    if (!this.opts.insecurePeers && !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(fingerprint)) throw new XapiError('SSL_VERIFY_ERROR', ['the joining host named no certificate']);
    if (!address) throw new XapiError('JOINING_HOST_CONNECTION_FAILED', []);
    const peer: Peer = { address, fingerprints: [fingerprint], insecure: this.opts.insecurePeers, fresh: true };
    try {
      await callPeer(peer, 'pool.join_deliver', [nonce, thePool(this.db).rec.pool_secret], 15_000);
    } catch (e) {
      if (e instanceof PeerCertificateMismatch) {
        this.log.warn({ address }, `pool.join: not sending the pool secret: ${e.message}`);
        throw new XapiError('SSL_VERIFY_ERROR', [e.message]);
      }
      if (e instanceof XapiError) throw e;
      throw new XapiError('JOINING_HOST_CONNECTION_FAILED', []);
    }
    this.log.info({ address }, 'pool.join: the pool secret went to the joining host');
  }

  /** pool.join_deliver, on the joining host: the secret, for the join in progress only. */
  private deliver(nonce: string, secret: string): void {
    const p = this.pendingJoin;
    const given = Buffer.from(nonce);
    if (!p || p.secret !== undefined || given.length !== p.nonce.length || !timingSafeEqual(given, Buffer.from(p.nonce))) throw new XapiError('SESSION_AUTHENTICATION_FAILED', ['pool', 'Authentication failure']);
    p.secret = secret;
  }

  /** The master's own address for its members: its management address. */
  private myAddress(): string {
    return this.db.getOf('host', this.thisHost())?.rec.address ?? '';
  }

  /** pool.recover_slaves: every member is told this host's address; the members that accepted. */
  private async recoverSlaves(): Promise<string[]> {
    const master = thePool(this.db).rec.master;
    const out: string[] = [];
    for (const h of [...this.db.all('host')].map((x) => x.ref).filter((x) => x !== master)) {
      try { await this.tellMember(h, 'pool.emergency_reset_master', [this.myAddress()]); out.push(h); } catch (e) {
        if (e instanceof PeerCertificateMismatch) this.refused(h, e, 'pool.recover_slaves');
        else this.log.warn({ host: h, err: (e as Error).message }, 'recover_slaves: host did not accept');
      }
    }
    return out;
  }

  /** A member, pinned to the certificate in its host record: nothing is sent to another. */
  private memberPeer(host: string): Peer {
    const h = this.db.getOf('host', host)!;
    const fp = h.rec.certificate_fingerprint;
    return { address: h.rec.address, fingerprints: fp ? [fp] : [], insecure: this.opts.insecurePeers, fresh: true };
  }

  /** A host that does not show its pinned certificate: logged, and a pool message for the administrator. */
  private refused(host: string, e: PeerCertificateMismatch, what: string): void {
    const h = this.db.getOf('host', host);
    this.log.warn({ host, address: h?.rec.address }, `${what}: not sending the pool secret: ${e.message}`);
    if (!h || this.stopped) return;
    this.db.transact((tx) => raiseAlert(tx, {
      name: 'POOL_MEMBER_CERTIFICATE_MISMATCH', priority: 2, cls: 'Host', obj_uuid: h.rec.uuid,
      body: `${what}: the server at ${String(h.rec.address)} did not show the certificate pinned for ${String(h.rec.hostname)} when it joined the pool; the pool secret was not sent. (${e.message})`,
    }));
  }

  /** Wait (up to HANDOVER_MS) until `host` answers a master-only call, i.e. has taken the pool over. */
  private async handOver(host: string): Promise<void> {
    const until = Date.now() + HANDOVER_MS;
    while (!this.stopped && Date.now() < until) {
      try { await this.tellMember(host, 'pool.get_all', []); return; } catch (e) {
        if (e instanceof PeerCertificateMismatch) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.log.warn({ host }, 'the designated master has not taken the pool over: following it anyway');
  }

  /** Rows a member may not write (pool.replica_write): logged once each, as its agent sends them again every pass. */
  private foreignRows(host: string, member: boolean, rows: readonly string[]): void {
    const fresh = rows.filter((r) => !this.foreignLogged.has(`${host} ${r}`));
    if (!fresh.length) return;
    if (this.foreignLogged.size > 10_000) this.foreignLogged.clear(); // bounded, whatever a member sends
    for (const r of fresh) this.foreignLogged.add(`${host} ${r}`);
    this.log.warn({ host, hostname: this.db.getOf('host', host)?.rec.hostname, rows: fresh.slice(0, 20), count: fresh.length }, member
      ? 'pool.replica_write: a member sent rows of other hosts: left out'
      : 'pool.replica_write: a pool session that names no member host reports about none: left out');
  }

  private async tellMember(host: string, method: string, params: unknown[]): Promise<unknown> {
    const peer = this.memberPeer(host);
    const s = (await callPeer(peer, 'session.slave_login', [host, thePool(this.db).rec.pool_secret], 10_000)) as string;
    try {
      return await callPeer(peer, method, [s, ...params], 15_000);
    } finally {
      await callPeer(peer, 'session.logout', [s], 10_000).catch(() => undefined);
    }
  }

  impls(): ImplTable {
    // (the internal pool messages are 'pool-member' in the model: the dispatcher lets only
    // sessions made with the pool secret call them)
    return {
      'pool.join': (_ctx, a) => this.join(a.master_address, a.master_username, a.master_password),
      'pool.join_force': (_ctx, a) => this.join(a.master_address, a.master_username, a.master_password),
      'pool.join_request': (_ctx, a) => this.admit(String(a.address), String(a.fingerprint), String(a.nonce)),
      'pool.join_deliver': (_ctx, a) => { this.deliver(String(a.nonce), String(a.psecret)); },
      'pool.join_introduce': (ctx, a) => joinIntroduce(ctx, a.host_info as HostInfo),
      'pool.replica_from': async (_ctx, a) => {
        const token = String(a.token);
        const since = token === '' || !/^\d+$/.test(token) || Number(token) > this.db.generation ? -1 : Number(token);
        const deadline = Date.now() + Math.min(Number(a.timeout) || 0, 60) * 1000;
        while (since >= 0 && this.db.generation <= since && Date.now() < deadline) await this.api.hub.wait(deadline - Date.now());
        return this.feed.since(since);
      },
      'pool.replica_write': (ctx, a) => {
        const updates = replicaUpdates(a.updates);
        // the host the member's session speaks for (session.slave_login). Never this host: the
        // master writes its own rows itself, and its certificate is what every member pins
        const host = ctx.session?.rec.this_host ?? NULL_REF;
        const speaksFor = host !== NULL_REF && host !== this.thisHost() && ctx.db.getOf('host', host) ? host : undefined;
        const owners = rowOwners(ctx.db);
        const foreign: string[] = [];
        for (const [ref, patch] of updates) {
          const o = ctx.db.get(ref);
          if (!o) continue;
          // a row of another host (or of none) is left out, the others are written
          if (!speaksFor || !owners(o).includes(speaksFor)) { foreign.push(`${o.cls} ${ref}`); continue; }
          const allowed = STATUS_FIELDS[o.cls] ?? [];
          if (o.cls === 'VIF') { const d = reportedDrops(o.rec.locking_drops, patch.locking_drops, now()); if (d) ctx.tx.update(ref, d); continue; }
          // what a member reports is checked as the API checks it; a bad value is left out alone
          const valid = ([k, v]: [string, unknown]) => { try { checkRecordValues(classDef(o.cls), { [k]: v }, false); return true; } catch { return false; } };
          const clean = Object.fromEntries(Object.entries(patch).filter(([k]) => allowed.includes(k)).filter(valid));
          if (Object.keys(clean).length) ctx.tx.update(ref, clean);
        }
        if (foreign.length) this.foreignRows(host, speaksFor !== undefined, foreign);
      },
      'pool.eject': (ctx, a) => {
        const host = ctx.db.must('host', a.host).ref;
        if (host === thePool(ctx.db).rec.master) throw new XapiError('HOST_CANNOT_DESTROY_SELF', [host]);
        if (thePool(ctx.db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
        // the member learns it is out from its replica (its host disappears) and starts over alone
        forgetHost(ctx, host);
      },
      'pool.eject_self': () => { setImmediate(() => { if (!this.stopped) this.becomeStandalone(); }); },
      'pool.recover_slaves': () => this.recoverSlaves(),
      // as xapi's: every host's management interface moves (ops/pool.ts, in this call's
      // transaction), then recover_slaves, once that is committed: the members follow the master
      // to its new address
      'pool.management_reconfigure': (ctx, a) => {
        poolImpls['pool.management_reconfigure']!(ctx, a);
        return Promise.resolve().then(async () => { await this.recoverSlaves(); });
      },
      'pool.emergency_reset_master': (_ctx, a) => {
        if (this.role !== 'member') throw new XapiError('OPERATION_NOT_ALLOWED', ['This host is the master']);
        // (the caller holds the secret; the link still sends it only to a pool host's certificate)
        this.db.setLocal('master_address', a.master_address);
        this.session = undefined;
        this.abort?.abort();
        this.wake?.();
        this.startLink();
      },
      'pool.emergency_transition_to_master': (ctx) => {
        if (this.role === 'master') return;
        if (thePool(ctx.db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
        this.db.setLocal('role', 'master');
        // a management interface chosen in emergency mode is in this database already
        this.db.setLocal('management_interface', undefined);
        this.emergency = false;
        this.session = undefined;
        ctx.tx.update(thePool(ctx.db).ref, { master: this.thisHost() });
      },
      'pool.designate_new_master': async (ctx, a) => {
        const host = ctx.tx.must('host', a.host);
        // the current master: nothing to do, before the HA check (as xapi)
        if (host.ref === this.thisHost()) return;
        if (thePool(ctx.db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
        // first make sure the new master is the host that joined (its pinned certificate): this
        // host is about to log in there with the secret
        const peer = this.memberPeer(host.ref);
        try { await callPeer(peer, 'session.local_logout', [], 10_000); } catch (e) {
          if (e instanceof PeerCertificateMismatch) { this.refused(host.ref, e, 'pool.designate_new_master'); throw new XapiError('SSL_VERIFY_ERROR', [e.message]); }
          throw new XapiError('HOST_OFFLINE', [host.ref]);
        }
        if (this.stopped) return;
        // the new master learns it from its replica. This host keeps serving the replica until the
        // new master answers as one: following it earlier, it would hear "HOST_IS_SLAVE <this
        // host>" and take the pool back while the other took it too (two masters)
        this.db.transact((tx) => tx.update(thePool(this.db).ref, { master: host.ref }));
        void this.handOver(host.ref).then(() => {
          if (!this.stopped) this.becomeMember(peer.address, thePool(this.db).rec.pool_secret, host.rec.certificate_fingerprint);
        });
      },
      'host.is_in_emergency_mode': () => this.emergency,
      'host.local_management_reconfigure': (ctx, a) => {
        if (this.role !== 'member' || !this.emergency) throw new XapiError('NOT_IN_EMERGENCY_MODE', []);
        // as xapi writes the inventory: the name is taken as given; this host's copy of the
        // database follows at once (its agent moves the default route and DNS), the master's
        // when it answers again
        const iface = String(a.interface);
        this.db.setLocal('management_interface', iface);
        const pif = this.localPif(iface);
        if (pif) setManagement(ctx.tx, this.thisHost(), pif.ref);
        this.log.info({ interface: iface }, 'emergency mode: the management interface moves locally');
      },
      'host.sync_vlans': (ctx, a) => { syncNetworking(ctx, ctx.tx.must('host', a.host).ref); },
      'host.sync_tunnels': (ctx, a) => { syncNetworking(ctx, ctx.tx.must('host', a.host).ref); },
    };
  }
}
