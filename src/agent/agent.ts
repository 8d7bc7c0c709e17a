// The host agent loop: after every commit (debounced) and on a timer, compile the database
// into this host's desired state and reconcile the switch and the kernel with it. Status
// (carrier, speed, bond links, DHCP addresses) flows back into the database. A restart never
// flushes anything: the first pass finds the switch already right and changes nothing.

import { readFileSync } from 'node:fs';
import type { Commit, Database, Obj } from '../db/database.ts';
import { NULL_REF } from '../model/index.ts';
import { netmaskOfPrefix } from '../domain/ipv4.ts';
import { compile } from './compile.ts';
import { bondLinkState, metricsOf, nicLinkState } from './linkstate.ts';
import { newRejectionAlerts, type RejectionAlert } from './rejections.ts';
import { raiseAlert } from '../ops/message.ts';
import type { DesiredHost, PortSpec } from './desired.ts';
import type { HostOs } from './hostos.ts';
import type { RefusedFilter, SwitchBackend } from './switch.ts';
import type { VmBackend } from './vms.ts';
import { MigrationAnswers } from './migration.ts';

export type { RefusedFilter, SwitchBackend } from './switch.ts';

/** The pool message raised for a VIF whose filter the switch refused. */
export const VIF_FILTER_REFUSED = 'VIF_FILTER_REFUSED';

export interface AgentLog { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void }

const read = (p: string) => { try { return readFileSync(p, 'utf8').trim(); } catch { return undefined; } };
/** A NIC's link from /sys (the agent runs in the host's network namespace, with its own /sys). */
const sysLinkState = (dev: string) => nicLinkState(read(`/sys/class/net/${dev}/carrier`), read(`/sys/class/net/${dev}/speed`), read(`/sys/class/net/${dev}/duplex`));

/**
 * The desired state as text, to tell whether it changed: each port's part remembered by the port
 * (compile() gives an unchanged VIF the same PortSpec object), so that a one-VIF change over 512
 * VIFs does not stringify them all (about 4 ms) before it reaches the switch.
 */
const portText = new WeakMap<PortSpec, string>();
function desiredKey(d: DesiredHost): string {
  const { bridges, ...rest } = d;
  let key = JSON.stringify(rest);
  for (const { ports, ...b } of bridges) {
    key += JSON.stringify(b);
    for (const p of ports) {
      let t = portText.get(p);
      if (t === undefined) portText.set(p, t = JSON.stringify(p));
      key += t;
    }
  }
  return key;
}

export class Agent {
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  /** Resolves when a pass that started after the last kick has finished (tests, benches). */
  private waiters: (() => void)[] = [];
  lastError: string | undefined;
  passes = 0;
  private readonly migrations: MigrationAnswers;
  /** The lab's hypervisor (VM namespaces and their NICs), on lab hosts only: set before start(). */
  hypervisor: VmBackend | undefined;
  /** Commits that change nothing the agent realises (the drop poller's counts): no pass. Set before start(). */
  quiet: ((c: Commit) => boolean) | undefined;
  /**
   * What the last clean pass realised (the desired state and the lab hypervisor's wanted VMs, as
   * JSON). In a pool every commit reaches every member, and most of them (another host's status,
   * a VIF elsewhere) change nothing here: a pass for a commit that leaves this the same only
   * answers migrations. The timer's passes and settled() always apply in full (drift and link
   * changes are found there); the switch's own events (refresh()) always apply the switch.
   */
  private realised: string | undefined;
  /**
   * The lab hypervisor's wanted VMs as last applied without a failure (JSON): a change pass that
   * leaves them the same (a VLAN, a lock, another host's VM) does not read every VM namespace
   * again; the timer's full passes still do, and repair what changed behind its back.
   */
  private hvRealised: string | undefined;
  private full = true;
  /** The switch asked for a pass (refresh()): the unchanged-state skip does not apply. */
  private switchChanged = false;
  /** Change passes that found nothing to do (tests, benches). */
  unchangedPasses = 0;

  constructor(
    private readonly db: Database,
    private readonly host: () => string,
    private readonly sw: SwitchBackend,
    private readonly os: HostOs | undefined,
    private readonly log: AgentLog,
    /** debounceMs: no longer used (a pass starts right after the commit's turn); callers may still give it. */
    private readonly opts: { intervalMs: number; debounceMs?: number } = { intervalMs: 10_000 },
    /** Where status goes: the local database (master), or the master over the network (member). */
    private readonly writeStatus: (updates: [string, Record<string, unknown>][]) => Promise<void> = async (updates) => {
      db.transact((tx) => { for (const [ref, patch] of updates) if (db.get(ref) && ref !== NULL_REF) tx.update(ref, patch); });
    },
    /** Where pool messages go (values compile() rejected): the local database, or the master's. */
    private readonly raise: (alerts: readonly RejectionAlert[]) => Promise<void> = async (alerts) => {
      db.transact((tx) => { for (const a of alerts) raiseAlert(tx, a); });
    },
  ) { this.migrations = new MigrationAnswers(db, host, log, sw); }

  /** Bodies of the rejection messages raised by this process (each is raised once). */
  private readonly raised = new Set<string>();

  /** Refused VIF filters reported so far (a message each, once while the refusal lasts). */
  private refusedReported = new Set<string>();

  start(): void {
    this.unsubscribe = this.db.onCommit((c) => { if (!this.quiet?.(c)) this.kick(); });
    this.sw.watch?.(() => this.refresh());
    this.timer = setInterval(() => { void this.pass('timer'); }, this.opts.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /**
   * A pass as soon as the commit's own turn of the event loop is over: the commits of one turn
   * make one pass, and commits during a pass one more after it. (No timer: a 2 ms debounce was
   * most of a one-VIF change's time to reach the switch.)
   */
  kick(): void {
    if (this.stopped || this.pending) return;
    this.pending = setImmediate(() => { this.pending = undefined; void this.pass('change'); });
  }

  /**
   * A pass soon that applies even if the database did not change: the switch changed under it (a
   * port numbered, a device replaced, a flow table changed by someone else). The switch's matter
   * only: the lab hypervisor runs when its own part changed, or on a full pass.
   */
  refresh(): void {
    this.switchChanged = true;
    this.kick();
  }

  /** Wait for a full pass that begins after this call. */
  settled(): Promise<void> {
    return new Promise((resolve) => { this.waiters.push(resolve); this.full = true; this.kick(); });
  }

  private async pass(reason: 'change' | 'timer'): Promise<void> {
    if (this.stopped) return;
    if (this.running) { this.again = true; return this.running; }
    const waiters = this.waiters;
    this.waiters = [];
    this.running = (async () => {
      try {
        const compiledAt = this.db.generation;
        const desired = compile(this.db, this.host());
        const full = this.full || reason === 'timer';
        const forced = full || this.switchChanged;
        this.full = false;
        this.switchChanged = false;
        const hvWant = this.hypervisor?.desired(this.db, this.host());
        const hvKey = JSON.stringify(hvWant ?? null);
        const key = `${desiredKey(desired)}${hvKey}`;
        if (!forced && key === this.realised) {
          // nothing of this host changed: only a migration's destination may owe the master an answer
          await this.answerMigrations('nics', desired, compiledAt, []);
          await this.answerMigrations('switch', desired, compiledAt, []);
          this.unchangedPasses++;
          return;
        }
        this.realised = undefined;
        // what compile() left out: one pool message per object and reason; never holds up the pass
        const alerts = newRejectionAlerts(this.db, this.host(), desired.rejected ?? [], this.raised);
        if (alerts.length) {
          this.log.warn({ rejected: alerts.map((a) => a.body) }, 'values left out of the desired state');
          await this.raise(alerts).catch((e: Error) => { for (const a of alerts) this.raised.delete(a.body); this.log.error({ err: e.message }, 'could not raise a pool message'); });
        }
        const drifted = reason === 'timer' && this.sw.drift ? await this.sw.drift(desired).catch(() => []) : [];
        // a switch that failed (partly) does not hold up the host OS step and the status: each
        // backend applies what it can, and the failure is raised after them
        let swError: unknown;
        let hvFailed = false;
        // the VMs' NICs first: the switch takes in a VIF's device in the pass that makes it
        if (this.hypervisor && hvWant && (full || hvKey !== this.hvRealised)) {
          this.hvRealised = undefined;
          const hv = this.hypervisor;
          await hv.apply(hvWant).then(() => { if (hv.complete) this.hvRealised = hvKey; }, (e: Error) => { hvFailed = true; this.log.error({ err: e.message }, 'the lab hypervisor failed; will retry'); });
        }
        await this.answerMigrations('nics', desired, compiledAt, []);
        const r = await this.sw.apply(desired).catch((e: unknown) => { swError = e; return undefined; });
        if (r) await this.reportRefused(desired, r.refused ?? []);
        // a live migration's destination answers once its switch has the ports (migration.ts)
        if (r) await this.answerMigrations('switch', desired, compiledAt, r.refused ?? []);
        const osChanges = this.os ? await this.os.apply(desired) : 0;
        await this.reportStatus(desired);
        if (swError !== undefined) throw swError;
        if (!r) return;
        if (!(r.refused ?? []).length && !hvFailed) this.realised = key;
        this.passes++;
        this.lastError = undefined;
        if (reason === 'timer' && (r.switchChanges > 0 || drifted.length > 0 || r.filterBridges.length > 0)) {
          this.log.warn({ switchChanges: r.switchChanges, filterBridges: [...new Set([...drifted, ...r.filterBridges])] }, 'the switch had drifted from the database; repaired');
        } else if (r.switchChanges || r.filterBridges.length || r.rateChanges || osChanges) {
          this.log.info({ switchChanges: r.switchChanges, filterBridges: r.filterBridges, rates: r.rateChanges, os: osChanges }, 'reconciled');
        }
      } catch (e) {
        this.lastError = (e as Error).message;
        this.log.error({ err: (e as Error).message }, 'reconcile failed; will retry');
      } finally {
        this.running = undefined;
        for (const w of waiters) w();
        if (this.again && !this.stopped) { this.again = false; this.kick(); }
      }
    })();
    return this.running;
  }

  /** A live migration's destination answers the master (migration.ts): its NICs arrived, or its switch has the ports. */
  private async answerMigrations(stage: 'nics' | 'switch', desired: DesiredHost, at: number, refused: readonly RefusedFilter[]): Promise<void> {
    const u = await this.migrations.answer(stage, desired, at, refused, this.sw, this.hypervisor);
    if (u.length) await this.writeStatus(u);
  }

  /**
   * VIFs whose filter the switch refused (each drops everything meanwhile): logged, and a pool
   * message each, once while the refusal lasts (again if it comes back).
   */
  private async reportRefused(desired: DesiredHost, refused: readonly RefusedFilter[]): Promise<void> {
    const now = new Set<string>();
    const alerts: RejectionAlert[] = [];
    for (const r of refused) {
      const vif = desired.bridges.find((b) => b.name === r.bridge)?.ports.find((p) => p.name === r.port)?.externalIds?.['xs-vif-uuid'];
      const key = `${r.bridge} ${r.port} ${vif ?? ''}`;
      now.add(key);
      if (this.refusedReported.has(key)) continue;
      // about the host, as compile()'s rejections: the VIF is named in the body
      alerts.push({
        name: VIF_FILTER_REFUSED, priority: 2, cls: 'Host', obj_uuid: String(this.db.get(this.host())?.rec.uuid ?? ''),
        body: `The switch refused the port-locking flows of ${vif ? `VIF ${vif}` : 'a VIF'} (port ${r.port} on ${r.bridge}): everything it sends is dropped until they are accepted. The switch said: ${r.reason}`,
      });
    }
    this.refusedReported = now;
    if (!alerts.length) return;
    this.log.warn({ refused: refused.map((r) => `${r.bridge}/${r.port}`) }, 'the switch refused VIF filters: those VIFs pass nothing; the rest was applied');
    await this.raise(alerts).catch((e: Error) => this.log.error({ err: e.message }, 'could not raise a pool message'));
  }

  /** Carrier and speed of NICs, links up of bonds, addresses DHCP gave: back into the database. */
  private async reportStatus(desired: DesiredHost): Promise<void> {
    const host = this.host();
    const pifs = this.db.referrers(host, 'PIF', 'host').map((r) => this.db.get(r)!).filter(Boolean);
    const updates: [string, Record<string, unknown>][] = [];
    const differs = (o: Obj, patch: Record<string, unknown>) => Object.entries(patch).some(([k, v]) => JSON.stringify(o.rec[k]) !== JSON.stringify(v));
    for (const p of pifs) {
      if (!p.rec.physical) continue;
      const dev = p.rec.device as string;
      const metrics = this.db.get(p.rec.metrics as string);
      const m = metricsOf(sysLinkState(dev));
      if (metrics && differs(metrics, m)) updates.push([metrics.ref, m]);
    }
    for (const b of this.db.all('Bond')) {
      const master = this.db.get(b.rec.master as string);
      if (!master || master.rec.host !== host || !this.sw.bondMembers) continue;
      const members = await this.sw.bondMembers(master.rec.device as string);
      if (members === undefined) continue;
      // the bond's own link, as the reference's network daemon reports it (linkstate.ts)
      const st = bondLinkState(members, (d) => { const l = sysLinkState(d); return { speed: l.speed, duplex: l.duplex }; });
      if (st.linksUp !== b.rec.links_up) updates.push([b.ref, { links_up: st.linksUp }]);
      const metrics = this.db.get(master.rec.metrics as string);
      const m = metricsOf(st);
      if (metrics && differs(metrics, m)) updates.push([metrics.ref, m]);
    }
    if (this.os) {
      for (const i of desired.interfaces) {
        if (i.ipv4.mode !== 'dhcp') continue;
        const st = await this.os.status(i.device);
        const a = st?.ipv4[0];
        // read now: `desired` was compiled at the start of the pass, and the PIF may have left DHCP since
        const ref = pifs.find((p) => p.rec.uuid === i.pif)?.ref;
        const pif = ref ? this.db.get(ref) : undefined;
        if (!pif || pif.rec.ip_configuration_mode !== 'DHCP') continue;
        const patch = { IP: a?.ip ?? '', netmask: a ? netmaskOfPrefix(a.prefix) : '' };
        if (differs(pif, patch)) {
          updates.push([pif.ref, patch]);
          if (pif.rec.management && a) updates.push([host, { address: a.ip }]);
        }
      }
    }
    if (updates.length === 0) return;
    await this.writeStatus(updates);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.migrations.close();
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearImmediate(this.pending);
    await this.running;
    this.sw.close();
    this.os?.stop();
  }
}
