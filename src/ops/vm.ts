// VM: what networking needs of a VM's life (xapi_vm.ml, xapi_vm_helpers.ml, xapi_vm_lifecycle.ml):
// where it runs, its VIFs attached while it runs, network placement checks, SR-IOV VFs.
// There is no hypervisor behind these calls: they change the pool database, and the host
// agents realise the VIFs of running VMs from it.

import { randomUUID } from 'node:crypto';
import type { Ctx, ImplTable } from '../api/context.ts';
import type { Database, ObjOf, Txn } from '../db/database.ts';
import { NULL_REF, XapiError } from '../model/index.ts';
import { freeVf, isSriovNetwork, sriovOfNetworkOnHost } from './network_sriov.ts';
import { hostCanSeeNetwork } from './topology.ts';
import { migrationOrder, migrationReport, orderFields, MIGRATION_CAPABILITY, type MigrationOrder, type MigrationReport } from '../domain/migration.ts';

export { hostCanSeeNetwork }; // (its home is topology.ts: the bond rule for VIFs needs it below the VM layer)

type Vm = ObjOf<'VM'>;
type PowerState = Vm['rec']['power_state'];

/** The power states each operation accepts, in xapi's order (xapi_vm_lifecycle.allowed_power_states). */
const ALLOWED: Record<string, readonly PowerState[]> = {
  start: ['Halted'],
  start_on: ['Halted'],
  clean_shutdown: ['Running'],
  hard_shutdown: ['Paused', 'Suspended', 'Running'],
  pool_migrate: ['Running'],
  destroy: ['Halted', 'Suspended'],
};

/** xapi's lifecycle check: power state first, then templates, then the control domain. */
function assertLifecycle(vm: Vm, op: keyof typeof ALLOWED): void {
  const allowed = ALLOWED[op];
  const state = vm.rec.power_state;
  if (!allowed.includes(state)) throw new XapiError('VM_BAD_POWER_STATE', [vm.ref, allowed.join(', '), state]);
  if (vm.rec.is_a_template && op !== 'destroy') throw new XapiError('VM_IS_TEMPLATE', [vm.ref, op]);
  if (vm.rec.is_control_domain && op !== 'start' && op !== 'start_on') {
    throw new XapiError('OPERATION_NOT_ALLOWED', [op === 'destroy' ? 'This operation is not allowed on dom0' : 'This operation is not allowed on a control domain']);
  }
}

export const vifsOf = (db: Database, vm: string): ObjOf<'VIF'>[] =>
  db.referrers(vm, 'VIF', 'VM').map((r) => db.getOf('VIF', r)!).sort((a, b) => Number(a.rec.device) - Number(b.rec.device));

/** VM_REQUIRES_NETWORK [vm, network] for the first VIF whose network `host` cannot see. */
export function assertCanSeeNetworks(db: Database, vm: Vm, host: string): void {
  for (const vif of vifsOf(db, vm.ref)) {
    const network = vif.rec.network;
    if (!hostCanSeeNetwork(db, host, network)) throw new XapiError('VM_REQUIRES_NETWORK', [vm.ref, network]);
  }
}

/**
 * Reserve a VF on `host` for each VIF of `vm` on an SR-IOV network; NETWORK_SRIOV_INSUFFICIENT_CAPACITY
 * [network] when a NIC has no free VF. Without a transaction, only checks (VFs the VM already
 * holds count as free for it).
 */
function reserveVfs(db: Database, tx: Txn | undefined, vm: Vm, host: string): void {
  const vifs = vifsOf(db, vm.ref);
  const mine = new Set(vifs.map((v) => v.ref));
  const planned = new Map<string, Set<number>>(); // sriov -> indices this plan takes
  for (const vif of vifs) {
    const network = vif.rec.network;
    if (!isSriovNetwork(db, network)) continue;
    const sriov = sriovOfNetworkOnHost(db, network, host);
    if (!sriov) throw new XapiError('VM_REQUIRES_NETWORK', [vm.ref, network]);
    const taken = planned.get(sriov.ref) ?? new Set<number>();
    planned.set(sriov.ref, taken);
    const index = freeVf(db, sriov, { except: mine, taken });
    if (index === undefined) throw new XapiError('NETWORK_SRIOV_INSUFFICIENT_CAPACITY', [network]);
    taken.add(index);
    tx?.update(vif, { reserved_VF_of: sriov.ref, reserved_VF: index });
  }
}

/** Release the VFs and detach the VIFs of a VM that stops. */
function detachAll(tx: Txn, db: Database, vm: Vm): void {
  for (const vif of vifsOf(db, vm.ref)) {
    tx.update(vif, { currently_attached: false, reserved: false, reserved_VF_of: NULL_REF, reserved_VF: -1 });
  }
}

export const SRIOV_HOTPLUG = 'Network SR-IOV VIF plug/unplug not allowed';
export type VifOperation = 'attach' | 'plug' | 'unplug';
const VIF_OPERATIONS: readonly VifOperation[] = ['attach', 'plug', 'unplug'];

/**
 * Why `op` on the VIF is refused now, or undefined: xapi's VIF valid_operations, the first
 * reason found winning. (No guest metrics or PV drivers in poolnet: every guest can hotplug.)
 */
export function vifRefusal(db: Database, vif: ObjOf<'VIF'>, op: VifOperation): XapiError | undefined {
  const [task, current] = Object.entries(vif.rec.current_operations)[0] ?? [];
  if (task !== undefined) return new XapiError('OTHER_OPERATION_IN_PROGRESS', ['VIF', vif.ref, String(current), task]);
  if (op === 'attach') return undefined;
  const vm = db.must('VM', vif.rec.VM);
  if (op === 'plug' && vm.rec.is_control_domain) return new XapiError('OPERATION_NOT_ALLOWED', ['Control domain does not support hotplug']);
  if (isSriovNetwork(db, vif.rec.network)) return new XapiError('OPERATION_NOT_ALLOWED', [SRIOV_HOTPLUG]);
  const state = vm.rec.power_state;
  if (state !== 'Running') return new XapiError('VM_BAD_POWER_STATE', [vm.ref, 'running', state.toLowerCase()]);
  const plugged = vif.rec.currently_attached || vif.rec.reserved;
  if (op === 'plug' && plugged) return new XapiError('DEVICE_ALREADY_ATTACHED', [vif.ref]);
  if (op === 'unplug' && !plugged) return new XapiError('DEVICE_ALREADY_DETACHED', [vif.ref]);
  return undefined;
}

/** Write each VIF's allowed_operations of `vm` (xapi's update_allowed_operations), after any change they depend on. */
export function refreshVifOperations(tx: Txn, db: Database, vm: string): void {
  for (const vif of vifsOf(db, vm)) {
    const allowed = VIF_OPERATIONS.filter((op) => !vifRefusal(db, vif, op));
    if (allowed.join() !== vif.rec.allowed_operations.join()) tx.update(vif, { allowed_operations: allowed });
  }
}

/** The smallest domain id free on a host (0 is the control domain), as Xen hands them out; those of VMs migrating in are taken. */
export function freeDomid(db: Database, host: string): number {
  const used = new Set(db.referrers(host, 'VM', 'resident_on').map((r) => db.getOf('VM', r)!.rec.domid));
  for (const vm of db.all('VM')) { const o = migrationOrder(vm.rec.migration); if (o?.destination === host) used.add(o.domid); }
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

function start(ctx: Ctx, vmRef: string, hostRef: string, op: 'start' | 'start_on', paused: boolean): void {
  const { db, tx } = ctx;
  const vm = tx.must('VM', vmRef);
  const host = tx.must('host', hostRef);
  assertLifecycle(vm, op);
  assertCanSeeNetworks(db, vm, host.ref);
  reserveVfs(db, tx, vm, host.ref);
  for (const vif of vifsOf(db, vm.ref)) tx.update(vif, { currently_attached: true });
  tx.update(vm, { power_state: paused ? 'Paused' : 'Running', resident_on: host.ref, domid: freeDomid(db, host.ref) });
  refreshVifOperations(tx, db, vm.ref);
}

function shutdown(ctx: Ctx, vmRef: string, op: 'clean_shutdown' | 'hard_shutdown'): void {
  const { db, tx } = ctx;
  const vm = tx.must('VM', vmRef);
  assertLifecycle(vm, op);
  detachAll(tx, db, vm);
  tx.update(vm, { power_state: 'Halted', resident_on: NULL_REF, domid: -1 });
  refreshVifOperations(tx, db, vm.ref);
}

/** Device numbers a new VIF of the VM may take: "0".."15" not in use (xapi_vm_helpers). */
export function allowedVifDevices(db: Database, vm: string): string[] {
  const used = new Set(vifsOf(db, vm).map((v) => Number(v.rec.device)));
  const out: string[] = [];
  for (let i = 0; i < 16; i++) if (!used.has(i)) out.push(String(i));
  return out;
}

/** How long the destination has to answer each phase of a live migration. */
export const MIGRATION_PHASE_TIMEOUT_MS = 30_000;

/** Whether a host's agent answers live-migration orders (it says so in its software_version). */
const answersMigrations = (db: Database, host: string): boolean => db.getOf('host', host)?.rec.software_version[MIGRATION_CAPABILITY] !== undefined;

/** The destination's answer to migration `id` once it is one of `states`, or undefined after `ms`. */
function answer(db: Database, vm: string, id: string, states: readonly MigrationReport['state'][], ms: number): Promise<MigrationReport | undefined> {
  const now = (): MigrationReport | undefined => {
    const r = migrationReport(db.getOf('VM', vm)?.rec.migration_report);
    return r?.id === id && states.includes(r.state) ? r : undefined;
  };
  return new Promise((resolve) => {
    const done = (r: MigrationReport | undefined) => { clearTimeout(timer); stop(); resolve(r); };
    const stop = db.onCommit(() => { const r = now(); if (r) done(r); });
    const timer = setTimeout(() => done(undefined), ms);
    const r = now();
    if (r) done(r);
  });
}

/**
 * The master's side of a live migration (src/domain/migration.ts): prepare, then switch, then
 * commit, each phase answered by the destination. A destination that cannot prepare, fails, or
 * does not answer before the switch leaves the VM where it was, its ports there untouched.
 */
async function twoPhases(db: Database, vmRef: string, order: MigrationOrder): Promise<void> {
  const abort = (why: string): never => {
    db.transact((tx) => {
      const vm = db.getOf('VM', vmRef);
      if (vm && migrationOrder(vm.rec.migration)?.id === order.id) tx.update(vm, { migration: {}, current_operations: {} });
    });
    throw new XapiError('VM_MIGRATE_FAILED', [vmRef, order.source, order.destination, why]);
  };
  const stillOurs = () => migrationOrder(db.getOf('VM', vmRef)?.rec.migration)?.id === order.id && db.getOf('VM', vmRef)?.rec.power_state === 'Running';
  const prepared = await answer(db, vmRef, order.id, ['prepared', 'failed'], MIGRATION_PHASE_TIMEOUT_MS);
  if (!stillOurs()) abort('the VM stopped or the migration was cancelled');
  if (!prepared) abort('the destination did not ready the VM\'s ports in time');
  if (prepared!.state === 'failed') abort(`the destination could not ready the VM's ports: ${prepared!.reason}`);
  db.transact((tx) => tx.update('VM', vmRef, { migration: orderFields({ ...order, phase: 'switch' }) }));
  const switched = await answer(db, vmRef, order.id, ['switched', 'failed'], MIGRATION_PHASE_TIMEOUT_MS);
  if (!stillOurs()) abort('the VM stopped or the migration was cancelled');
  if (!switched) abort('the destination did not take the VM\'s NICs over in time');
  if (switched!.state === 'failed') abort(`the destination could not take the VM's NICs over: ${switched!.reason}`);
  db.transact((tx) => {
    tx.update('VM', vmRef, { resident_on: order.destination, domid: order.domid, migration: {}, current_operations: {} });
    refreshVifOperations(tx, db, vmRef);
  });
}

export const vmImpls: ImplTable = {
  // every VM gets a mac_seed (xapi's VM.create), so that VIF.create with MAC "" can derive one
  'VM.create': (ctx, a) => {
    const args = { ...a.args };
    const seed = args.other_config?.mac_seed ?? randomUUID();
    return ctx.tx.create('VM', { ...args, other_config: { ...args.other_config, mac_seed: seed } });
  },
  'VM.start': (ctx, a) => start(ctx, a.vm, ctx.svc.thisHost(), 'start', a.start_paused === true),
  'VM.start_on': (ctx, a) => start(ctx, a.vm, a.host, 'start_on', a.start_paused === true),
  'VM.clean_shutdown': (ctx, a) => shutdown(ctx, a.vm, 'clean_shutdown'),
  'VM.hard_shutdown': (ctx, a) => shutdown(ctx, a.vm, 'hard_shutdown'),

  'VM.pool_migrate': (ctx, a) => {
    const { db, tx } = ctx;
    const vm = tx.must('VM', a.vm);
    const host = tx.must('host', a.host);
    assertLifecycle(vm, 'pool_migrate');
    // A VF ties the VM to its NIC (the seed: no live migration with an SR-IOV VF).
    if (vifsOf(db, vm.ref).some((v) => isSriovNetwork(db, v.rec.network))) throw new XapiError('VM_HAS_SRIOV_VIF', [vm.ref]);
    assertCanSeeNetworks(db, vm, host.ref);
    if (vm.rec.resident_on === host.ref) return undefined;
    // an order older than its phases' time (its master stopped half-way) is over: the VM never left its source
    const busy = migrationOrder(vm.rec.migration);
    if (busy && Date.now() - busy.since < 2 * MIGRATION_PHASE_TIMEOUT_MS + 10_000) throw new XapiError('OTHER_OPERATION_IN_PROGRESS', ['VM', vm.ref, 'pool_migrate', Object.keys(vm.rec.current_operations)[0] ?? busy.id]);
    const domid = freeDomid(db, host.ref);
    // a destination whose agent does not answer migrations (no switch agent: nothing to ready) gets the VM at once
    if (!answersMigrations(db, host.ref)) { tx.update(vm, { resident_on: host.ref, domid }); return undefined; }
    const order: MigrationOrder = { id: randomUUID(), phase: 'prepare', source: vm.rec.resident_on, destination: host.ref, domid, since: Date.now() };
    tx.update(vm, { migration: orderFields(order), current_operations: { [ctx.task ?? order.id]: 'pool_migrate' } });
    // the phases run after this transaction commits: each is an order in the database, answered by the destination's agent
    return twoPhases(db, vm.ref, order);
  },

  'VM.get_allowed_VIF_devices': (ctx, a) => allowedVifDevices(ctx.db, ctx.tx.must('VM', a.vm).ref),

  'VM.assert_can_boot_here': (ctx, a) => {
    const { db, tx } = ctx;
    const vm = tx.must('VM', a.self);
    const host = tx.must('host', a.host);
    assertCanSeeNetworks(db, vm, host.ref);
    reserveVfs(db, undefined, vm, host.ref);
  },

  // The generated destructor would leave the VM's VIFs pointing nowhere: xapi destroys them with it.
  'VM.destroy': (ctx, a) => {
    const { db, tx } = ctx;
    const vm = tx.must('VM', a.self);
    assertLifecycle(vm, 'destroy');
    for (const vif of vifsOf(db, vm.ref)) tx.delete(vif.ref);
    tx.delete(vm.ref);
  },
};
