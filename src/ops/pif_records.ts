// Builders of the PIF records the ops create, so that each call says only what is its own and
// every field it leaves out takes the datamodel's default (src/model/classes/pif.ts) in Txn.create.
// Pure: they build records, the caller writes them.

import type { ObjOf } from '../db/database.ts';
import type { RecordOf } from '../model/index.ts';

/** What only the caller of `virtualPif` knows; any other field of PIF may be given too. */
/** A virtual PIF shares the metrics of the PIF under it (a bond master has its own). */
export type VirtualPifFields = Partial<RecordOf<'PIF'>> & Pick<RecordOf<'PIF'>, 'device' | 'network' | 'host' | 'MAC' | 'MTU' | 'metrics'>;

/**
 * A virtual PIF: a bond master, a VLAN's untagged PIF, a tunnel access PIF or an SR-IOV logical
 * PIF. Not physical, detached until it is plugged (the model's default is attached), no address,
 * and the one empty IPv6 entry xapi writes for these; the rest is the model's default (managed,
 * VLAN -1, ip_configuration_mode None, primary_address_type IPv4, igmp_snooping_status unknown).
 */
export function virtualPif(fields: VirtualPifFields): Partial<RecordOf<'PIF'>> {
  return { physical: false, currently_attached: false, IPv6: [''], ...fields };
}

/** A new PIF with every field of `pif` but its uuid (Txn.create makes a fresh one), and `patch` over it. */
export function pifCopy(pif: ObjOf<'PIF'>, patch: Partial<RecordOf<'PIF'>>): Partial<RecordOf<'PIF'>> {
  return { ...pif.rec, uuid: undefined, ...patch };
}

/** Some fields of a record, as a patch for another object of its class (a VLAN or IP configuration moving to a new PIF). */
export function fieldsOf<R extends object, K extends keyof R>(rec: R, keys: readonly K[]): Pick<R, K> {
  const out = {} as Pick<R, K>;
  for (const k of keys) out[k] = rec[k];
  return out;
}
