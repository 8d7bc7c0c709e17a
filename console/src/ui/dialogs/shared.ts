// Helpers the dialogs share: ordering, the pool's coordinator, host names, the interfaces a VLAN,
// bond member or IP can go on.

import { natural, isRef, num, str, type Rec, type Ref, type Store } from '../../logic/store.ts';
import { pifKind } from '../../logic/topology.ts';

export const byDevice = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'device'), str(b[1], 'device')) || num(a[1], 'VLAN') - num(b[1], 'VLAN');

export function poolMaster(store: Store): Ref | undefined {
  const p = store.all('pool')[0]?.[1];
  return isRef(p?.master) ? (p!.master as string) : store.all('host')[0]?.[0];
}

export const hostName = (store: Store, h: unknown) => str(store.get('host', h), 'name_label');

/** Interfaces a VLAN, bond member or IP can go on: physical NICs not in a bond, and bonds. */
export function untaggedPifs(store: Store, host?: Ref): [Ref, Rec][] {
  return store.all('pif').filter(([, p]) => (!host || p.host === host) && (pifKind(p) === 'bond_master' || (pifKind(p) === 'physical' && !isRef(p.bond_slave_of)))).sort(byDevice);
}
