// Builders of the PIF records the ops create, so that each call says only what is its own and
// every field it leaves out takes the datamodel's default (src/model/classes/pif.ts) in Txn.create.
// Pure: they build records, the caller writes them.

import type { Obj } from '../db/database.ts';

/** What only the caller of `virtualPif` knows; any other field of PIF may be given too. */
export interface VirtualPifFields {
  readonly device: unknown;
  readonly network: unknown;
  readonly host: unknown;
  readonly MAC: unknown;
  readonly MTU: unknown;
  /** A virtual PIF shares the metrics of the PIF under it (a bond master has its own). */
  readonly metrics: unknown;
  readonly [field: string]: unknown;
}

/**
 * A virtual PIF: a bond master, a VLAN's untagged PIF, a tunnel access PIF or an SR-IOV logical
 * PIF. Not physical, detached until it is plugged (the model's default is attached), no address,
 * and the one empty IPv6 entry xapi writes for these; the rest is the model's default (managed,
 * VLAN -1, ip_configuration_mode None, primary_address_type IPv4, igmp_snooping_status unknown).
 */
export function virtualPif(fields: VirtualPifFields): Record<string, unknown> {
  return { physical: false, currently_attached: false, IPv6: [''], ...fields };
}

/** A new PIF with every field of `pif` but its uuid (Txn.create makes a fresh one), and `patch` over it. */
export function pifCopy(pif: Obj, patch: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...pif.rec, uuid: undefined, ...patch };
}
