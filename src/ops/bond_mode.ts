// Bond modes and the properties each takes (xapi_bond.ml's requirements_of_mode): shared by the
// Bond ops and by PIF.plug, which applies a bond master's legacy other-config:bond-mode.

import type { ObjOf, Txn } from '../db/database.ts';
import type { RecordOf } from '../model/index.ts';
import { XapiError } from '../model/index.ts';

export type BondProperties = Record<string, string>;

/** Valid properties per mode, with their defaults (xapi's requirements_of_mode). */
const LACP: Record<string, { valid: (v: string) => boolean; def?: string }> = {
  hashing_algorithm: { valid: (v) => v === 'src_mac' || v === 'tcpudp_ports', def: 'tcpudp_ports' },
  'lacp-time': { valid: (v) => v === 'fast' || v === 'slow', def: 'slow' },
  'lacp-aggregation-key': { valid: (v) => /^-?\d+$/.test(v) },
  'lacp-fallback-ab': { valid: (v) => v === 'true' || v === 'false', def: 'true' },
};

export const requirements = (mode: string) => (mode === 'lacp' ? LACP : {});

/** Validate `props` for `mode` and add the defaults it lacks. */
export function validateProperties(mode: string, props: BondProperties): BondProperties {
  const req = requirements(mode);
  for (const [k, v] of Object.entries(props)) {
    if (!req[k]?.valid(v)) throw new XapiError('INVALID_VALUE', ['properties', `${k} = ${v}`]);
  }
  const out: BondProperties = {};
  for (const [k, r] of Object.entries(req)) {
    if (k in props) out[k] = props[k];
    else if (r.def !== undefined) out[k] = r.def;
  }
  return out;
}

/** A new mode keeps the properties still valid for it and gains its defaults. */
export function setBondMode(tx: Txn, bond: ObjOf<'Bond'>, mode: RecordOf<'Bond'>['mode']): void {
  const keep: BondProperties = {};
  const req = requirements(mode);
  for (const [k, v] of Object.entries(bond.rec.properties)) if (req[k]?.valid(v)) keep[k] = v;
  tx.update(bond, { mode, properties: validateProperties(mode, keep) });
}
