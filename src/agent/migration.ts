// A live migration's destination (src/domain/migration.ts): after each pass of the agent, answer
// the master's order in VM.migration_report.
//  - prepare: prepared once every attached VIF of the VM has its port in this host's desired
//    state, applied, its flows not refused, and (in the lab) no device already holding a port's
//    name; failed otherwise.
//  - switch: once the VM's NICs are wired here (the lab's hypervisor pulled them in during the
//    pass), the VM is announced from each new port (announce.ts, through the port's locks) and
//    the answer is switched. Without a hypervisor there are no NICs to move: switched at once.
// Answers are written again on every pass until the replica shows them (writes are idempotent);
// an announcement goes out once per migration.

import { existsSync } from 'node:fs';
import type { Database, Obj } from '../db/database.ts';
import { MIGRATION_CAPABILITY, MIGRATION_PROTOCOL, migrationOrder, migrationReport, reportFields, type MigrationOrder, type MigrationReport } from '../domain/migration.ts';
import { announcements } from './announce.ts';
import { isTextIfName } from './checked.ts';
import type { DesiredHost, PortSpec } from './desired.ts';
import type { RefusedFilter, SwitchBackend } from './switch.ts';
import type { VmBackend } from './vms.ts';

type Updates = [string, Record<string, unknown>][];
interface Log { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void }

/** Repeats of an announcement after the first (ms after it), as QEMU's announce rounds: for a switch that missed one. */
const REPEATS_MS = [50, 150];
/** How often a bystander drops its switch's cached flows while a VM switches over, and for how long at most. */
const PURGE_MS = 40;
const PURGE_FOR_MS = 3000;
const PURGES_AFTER = 2;

export class MigrationAnswers {
  private readonly announced = new Set<string>();
  private readonly logged = new Set<string>();

  /** Migrations this host's switch relearns from (a bystander's). */
  private readonly relearning = new Set<string>();
  private started = false;
  private closed = false;

  private readonly unsubscribe: () => void;

  constructor(private readonly db: Database, private readonly host: () => string, private readonly log: Log, sw: SwitchBackend) {
    this.relearn(sw, [...db.all('VM')]);
    // only the VMs a commit touched (a replica's batch, or one transaction)
    this.unsubscribe = db.onCommit((c) => this.relearn(sw, c.touched.map((r) => db.get(r)).filter((o): o is Obj => o?.cls === 'VM')));
  }

  close(): void { this.closed = true; this.unsubscribe(); }

  /**
   * A bystander of a migration (its source, or any host with a PIF on one of the VM's networks):
   * while the destination switches the VM over, and once more when it says it has announced it,
   * the switch's cached forwarding is dropped (every PURGE_MS), so that the MAC table, which
   * learns the VM's new place from the announcement, decides at once. Driven by commits, not by
   * the agent's pass, which may be busy.
   */
  private relearn(sw: SwitchBackend, vms: readonly Obj[]): void {
    if (!sw.relearn) return;
    if (this.relearning.size > 10_000) this.relearning.clear();
    const me = this.host();
    const first = !this.started;
    this.started = true;
    for (const vm of vms) {
      const order = migrationOrder(vm.rec.migration);
      const report = migrationReport(vm.rec.migration_report);
      // the order while it switches; or only its answer (this host's copy may get the whole switch-over at once)
      const id = order?.phase === 'switch' ? order.id : report?.state === 'switched' ? report.id : undefined;
      if (id === undefined || this.relearning.has(id)) continue;
      this.relearning.add(id);
      const destination = order?.id === id ? order.destination : vm.rec.resident_on;
      if (first || destination === me) continue;
      const nets = new Set(this.db.referrers(vm.ref, 'VIF', 'VM').map((v) => String(this.db.get(v)?.rec.network)));
      if (![...nets].some((n) => this.db.referrers(n, 'PIF', 'network').some((p) => this.db.get(p)?.rec.host === me))) continue;
      const until = Date.now() + PURGE_FOR_MS;
      let after = PURGES_AFTER;
      const tick = () => {
        void sw.relearn!().catch((e: Error) => this.log.warn({ err: e.message }, 'live migration: could not drop the switch\'s cached flows'));
        const now = this.db.get(vm.ref);
        const r = migrationReport(now?.rec.migration_report);
        const ongoing = migrationOrder(now?.rec.migration)?.id === id && !(r?.id === id && r.state !== 'prepared');
        // a few more after the answer: the announcement (and the VM's first frames) may reach this switch just after it
        if (!ongoing) after--;
        if (!this.closed && Date.now() < until && after > 0) setTimeout(tick, PURGE_MS).unref();
      };
      if (order?.id === id) setTimeout(tick, PURGE_MS).unref(); else tick();
    }
  }

  /**
   * The status writes to make in a pass whose `desired` was compiled at generation `at`: for the
   * switch phase right after the hypervisor's step (the NICs just arrived: no wait for the rest of
   * the pass), for the prepare phase after the switch's apply, which gave `refused`.
   */
  async answer(stage: 'nics' | 'switch', desired: DesiredHost, at: number, refused: readonly RefusedFilter[], sw: SwitchBackend, hv: VmBackend | undefined): Promise<Updates> {
    const me = this.host();
    const out: Updates = [];
    // this host answers orders: the master orders two phases only to hosts that say so
    const h = this.db.get(me);
    const sv = (h?.rec.software_version ?? {}) as Record<string, string>;
    if (h && stage === 'switch' && sv[MIGRATION_CAPABILITY] !== MIGRATION_PROTOCOL) out.push([me, { software_version: { ...sv, [MIGRATION_CAPABILITY]: MIGRATION_PROTOCOL } }]);
    for (const vm of this.db.all('VM')) {
      const order = migrationOrder(vm.rec.migration);
      // an order that came after the desired state was compiled is answered by the next pass (the commit kicked one)
      if (order?.destination !== me || vm.modified > at || (order.phase === 'switch') !== (stage === 'nics')) continue;
      const prior = migrationReport(vm.rec.migration_report);
      const ports = this.portsOf(vm, order, desired);
      let report: MigrationReport | undefined;
      if (order.phase === 'prepare') {
        if (prior?.id === order.id && (prior.state === 'prepared' || prior.state === 'failed')) continue;
        const why = this.notReady(vm, order, ports, desired, refused, hv !== undefined);
        report = { id: order.id, state: why ? 'failed' : 'prepared', reason: why ?? '', preparedAt: why ? '' : String(Date.now()), switchedAt: '' };
      } else {
        if (prior?.id === order.id && (prior.state === 'switched' || prior.state === 'failed')) continue;
        if (hv && !hv.arrived(ports.map((p) => p.port.name))) continue; // not yet: a later pass
        if (hv) await this.announce(order.id, ports, sw);
        report = { id: order.id, state: 'switched', reason: '', preparedAt: prior?.id === order.id ? prior.preparedAt : '', switchedAt: String(Date.now()) };
      }
      const key = `${order.id} ${report.state}`;
      if (!this.logged.has(key)) { this.logged.add(key); this.log.info({ vm: vm.rec.uuid, migration: order.id, state: report.state, reason: report.reason || undefined, ports: ports.map((p) => p.port.name) }, 'live migration: answered the master'); }
      out.push([vm.ref, { migration_report: reportFields(report) }]);
    }
    return out;
  }

  /** The VM's ports in the desired state (by the xs-vm-uuid the port carries), with their bridges. */
  private portsOf(vm: Obj, order: MigrationOrder, desired: DesiredHost): { bridge: string; port: PortSpec }[] {
    const prefix = `vif${order.domid}.`;
    return desired.bridges.flatMap((b) => b.ports.filter((p) => p.kind === 'vif' && p.name.startsWith(prefix) && p.externalIds?.['xs-vm-uuid'] === vm.rec.uuid).map((port) => ({ bridge: b.name, port })));
  }

  /** Why the VM's ports are not ready here, or undefined when they are. */
  private notReady(vm: Obj, order: MigrationOrder, ports: readonly { port: PortSpec }[], desired: DesiredHost, refused: readonly RefusedFilter[], lab: boolean): string | undefined {
    const names = new Set(ports.map((p) => p.port.name));
    for (const r of this.db.referrers(vm.ref, 'VIF', 'VM')) {
      const vif = this.db.get(r);
      if (!vif?.rec.currently_attached) continue;
      const name = `vif${order.domid}.${String(vif.rec.device)}`;
      // a disabled VIF has no port anywhere (it passes nothing): nothing to ready
      if (desired.detachedVifs?.includes(name)) continue;
      if (!names.has(name)) return `VIF ${String(vif.rec.uuid)} has no port here (its network is not attached on this host, or a value of it was refused)`;
    }
    for (const p of ports) {
      if (refused.some((r) => r.port === p.port.name)) return `the switch refused the locking flows of port ${p.port.name}`;
      // in the lab the NIC arrives under the port's name: a device holding it already would take the VM's place
      if (lab && isTextIfName(p.port.name) && existsSync(`/sys/class/net/${p.port.name}`)) return `a device named ${p.port.name} is already on this host`;
    }
    return undefined;
  }

  /** The VM's announcements from each of its new ports, now and a couple of times after. */
  private async announce(id: string, ports: readonly { bridge: string; port: PortSpec }[], sw: SwitchBackend): Promise<void> {
    if (this.announced.has(id) || !sw.inject) return;
    this.announced.add(id);
    const send = async () => {
      for (const p of ports) {
        const frames = p.port.lock ? announcements(p.port.lock) : [];
        if (frames.length) await sw.inject!(p.bridge, p.port.name, frames, p.port.tag ?? 0).catch((e: Error) => this.log.warn({ port: p.port.name, err: e.message }, 'live migration: could not announce the VM'));
      }
    };
    await send();
    // this switch too may hold cached flows that sent the VM's traffic elsewhere (where it was before)
    if (sw.relearn) await sw.relearn().catch((e: Error) => this.log.warn({ err: e.message }, 'live migration: could not drop the switch\'s cached flows'));
    for (const ms of REPEATS_MS) setTimeout(() => { void send(); }, ms).unref();
  }
}
