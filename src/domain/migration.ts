// A live migration in two phases, through the pool database (poolnet's extension of VM; xapi
// drives xenopsd on both hosts instead). The master orders each phase in VM.migration; the
// destination's agent answers in VM.migration_report; the source's agent reads both.
//
//   prepare  the destination readies the VM's ports: each VIF's switch port on its bridge, with
//            its flows (locks, meters) in place under an OpenFlow port number chosen in advance
//            (migrationOfport), tunnels up. Answer: prepared (or failed: the VM stays put).
//   switch   the destination takes the VM's NICs over (the lab's hypervisor pulls the backend
//            devices in under the new names: they land on ports whose flows already wait for
//            them) and announces the VM from its new ports. Answer: switched.
//   commit   the master moves the VM (resident_on, domid) and clears the order; the source's
//            switch lets go of its ports.
//
// Pure: what the maps hold, read as values from a replica that may hold anything.

export type MigrationPhase = 'prepare' | 'switch';
export type MigrationState = 'prepared' | 'switched' | 'failed';

/** VM.migration, as the master wrote it. */
export interface MigrationOrder {
  readonly id: string;
  readonly phase: MigrationPhase;
  /** host refs */
  readonly source: string;
  readonly destination: string;
  /** The VM's domain id on the destination (its ports are named vif<domid>.<device> there). */
  readonly domid: number;
  /** When the master wrote the first phase (ms since the epoch; 0 when unknown). */
  readonly since: number;
}

/** VM.migration_report, as the destination's agent wrote it. */
export interface MigrationReport {
  readonly id: string;
  readonly state: MigrationState;
  readonly reason: string;
  /** ms since the epoch, as the destination saw them ('' when not reached) */
  readonly preparedAt: string;
  readonly switchedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REF = /^OpaqueRef:[0-9A-Za-z-]{1,64}$/;

const asMap = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});

/** The order in VM.migration, or undefined when there is none (or it is not one). */
export function migrationOrder(v: unknown): MigrationOrder | undefined {
  const m = asMap(v);
  const { id, phase, source, destination, domid } = m;
  if (typeof id !== 'string' || !UUID.test(id)) return undefined;
  if (phase !== 'prepare' && phase !== 'switch') return undefined;
  if (typeof source !== 'string' || !REF.test(source) || typeof destination !== 'string' || !REF.test(destination)) return undefined;
  if (typeof domid !== 'string' || !/^\d{1,9}$/.test(domid) || Number(domid) < 1) return undefined;
  const since = typeof m.since === 'string' && /^\d{1,15}$/.test(m.since) ? Number(m.since) : 0;
  return { id, phase, source, destination, domid: Number(domid), since };
}

export const orderFields = (o: MigrationOrder): Record<string, string> =>
  ({ id: o.id, phase: o.phase, source: o.source, destination: o.destination, domid: String(o.domid), since: String(o.since) });

/** The report in VM.migration_report, or undefined. */
export function migrationReport(v: unknown): MigrationReport | undefined {
  const m = asMap(v);
  const { id, state } = m;
  if (typeof id !== 'string' || !UUID.test(id)) return undefined;
  if (state !== 'prepared' && state !== 'switched' && state !== 'failed') return undefined;
  const text = (x: unknown) => (typeof x === 'string' ? x.slice(0, 500) : '');
  return { id, state, reason: text(m.reason), preparedAt: text(m.prepared_at), switchedAt: text(m.switched_at) };
}

export const reportFields = (r: MigrationReport): Record<string, string> =>
  ({ id: r.id, state: r.state, ...(r.reason ? { reason: r.reason } : {}), ...(r.preparedAt ? { prepared_at: r.preparedAt } : {}), ...(r.switchedAt ? { switched_at: r.switchedAt } : {}) });

/**
 * The OpenFlow port number a migrating VIF's port asks for on the destination (OVS
 * `ofport_request`), so that its flows go in before its device exists. Open vSwitch numbers ports
 * itself only below 32768; above, one number per (domid, device), and a domid is one running VM's
 * on a host: no two ports of a host ask for the same number. Undefined when the pair does not fit
 * (the port is then numbered when its device arrives, and its flows follow).
 */
export function migrationOfport(domid: number, device: string): number | undefined {
  if (!/^\d{1,2}$/.test(device) || Number(device) > 15 || !Number.isSafeInteger(domid) || domid < 1) return undefined;
  const n = 32768 + domid * 16 + Number(device);
  return n <= 0xfeff ? n : undefined;
}

/** The software_version key by which a host's agent says it answers migration orders (its value: the protocol's version). */
export const MIGRATION_CAPABILITY = 'poolnet_live_migration';
export const MIGRATION_PROTOCOL = '2';
