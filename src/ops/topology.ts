// What a PIF is (xapi_pif_helpers.ml) and the checks the PIF, Bond, VLAN and tunnel ops share.
// Pure reads of the database; every refusal is a XapiError with xapi's code and parameters.

import type { Database, ObjFor, ObjOf } from '../db/database.ts';
import { NULL_REF, XapiError, type ClassName } from '../model/index.ts';
import { isSriovNetwork as domainIsSriovNetwork, pifKind as domainPifKind, type PifKind } from '../domain/pif.ts';

export type { PifKind };

type Pif = ObjOf<'PIF'>;

const first = <C extends ClassName>(db: Database, ref: string, cls: C, field: string): ObjFor<C> | undefined => {
  const r = db.referrers(ref, cls, field)[0];
  return r ? db.getOf(cls, r) : undefined;
};

export const vlanOf = (db: Database, pif: Pif): ObjOf<'VLAN'> | undefined => first(db, pif.ref, 'VLAN', 'untagged_PIF');
export const bondOfMaster = (db: Database, pif: Pif): ObjOf<'Bond'> | undefined => first(db, pif.ref, 'Bond', 'master');
export const tunnelOfAccess = (db: Database, pif: Pif): ObjOf<'tunnel'> | undefined => first(db, pif.ref, 'tunnel', 'access_PIF');
export const sriovOfLogical = (db: Database, pif: Pif): ObjOf<'network_sriov'> | undefined => first(db, pif.ref, 'network_sriov', 'logical_PIF');
export const sriovOfPhysical = (db: Database, pif: Pif): ObjOf<'network_sriov'> | undefined => first(db, pif.ref, 'network_sriov', 'physical_PIF');

/** What the database says a PIF is the top of (src/domain/pif.ts decides the order). */
const kindOf = (db: Database, pif: Pif): PifKind | undefined => domainPifKind({
  tunnelAccess: !!tunnelOfAccess(db, pif), vlan: !!vlanOf(db, pif), sriovLogical: !!sriovOfLogical(db, pif),
  bondMaster: !!bondOfMaster(db, pif), physical: !!pif.rec.physical,
});

/** The PIF's type, tested in xapi's order. */
export function pifKind(db: Database, pif: Pif): PifKind {
  const k = kindOf(db, pif);
  if (k === undefined) throw new XapiError('INTERNAL_ERROR', [`PIF ${pif.rec.uuid} has no type`]);
  return k;
}

/** The stack under a PIF, top first, down to a bond master or a physical PIF. */
export function pifTopo(db: Database, pif: Pif): { kind: PifKind; pif: Pif }[] {
  const out: { kind: PifKind; pif: Pif }[] = [];
  let cur: Pif | undefined = pif;
  while (cur) {
    const kind = pifKind(db, cur);
    out.push({ kind, pif: cur });
    if (kind === 'tunnel_access') cur = db.getOf('PIF', tunnelOfAccess(db, cur)!.rec.transport_PIF);
    else if (kind === 'vlan') cur = db.getOf('PIF', vlanOf(db, cur)!.rec.tagged_PIF);
    else if (kind === 'sriov_logical') cur = db.getOf('PIF', sriovOfLogical(db, cur)!.rec.physical_PIF);
    else cur = undefined;
  }
  return out;
}

export const isBondSlave = (pif: Pif): boolean => pif.rec.bond_slave_of !== NULL_REF && !!pif.rec.bond_slave_of;

export function thePool(db: Database): ObjOf<'pool'> {
  const p = db.all('pool').next();
  if (p.done) throw new XapiError('INTERNAL_ERROR', ['no pool']);
  return p.value;
}

export function pifsOfHost(db: Database, host: string): Pif[] {
  return db.referrers(host, 'PIF', 'host').map((r) => db.getOf('PIF', r)!);
}

export function managementPif(db: Database, host: string): Pif | undefined {
  return pifsOfHost(db, host).find((p) => p.rec.management);
}

/** A network is an SR-IOV network when an SR-IOV logical PIF, or a VLAN on one, sits on it (the rule: src/domain/pif.ts). */
export function isSriovNetwork(db: Database, network: string): boolean {
  return domainIsSriovNetwork(db.referrers(network, 'PIF', 'network').flatMap((r) => {
    const pif = db.getOf('PIF', r);
    if (!pif) return [];
    const kind = kindOf(db, pif);
    const vlan = kind === 'vlan' ? vlanOf(db, pif) : undefined;
    const tagged = vlan ? db.getOf('PIF', vlan.rec.tagged_PIF) : undefined;
    return [{ kind, taggedKind: tagged ? kindOf(db, tagged) : undefined }];
  }));
}

// ---- checks (xapi_pif.ml's assert_*) ----

export function assertManaged(pif: Pif): void {
  if (!pif.rec.managed) throw new XapiError('PIF_UNMANAGED', [pif.ref]);
}

export function assertNetworkManaged(network: ObjOf<'network'>): void {
  if (!network.rec.managed) throw new XapiError('NETWORK_UNMANAGED', [network.ref]);
}

export function assertNotManagement(pif: Pif): void {
  if (pif.rec.management) throw new XapiError('PIF_IS_MANAGEMENT_INTERFACE', [pif.ref]);
}

export function assertNoProtection(db: Database, pif: Pif): void {
  if (!pif.rec.currently_attached) return;
  const pool = thePool(db);
  if (pool.rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
  if (pool.rec.redo_log_enabled) throw new XapiError('REDO_LOG_IS_ENABLED', []);
}

export function assertNotInBond(db: Database, pif: Pif): void {
  if (isBondSlave(pif) || bondOfMaster(db, pif)) throw new XapiError('PIF_ALREADY_BONDED', [pif.ref]);
}

export function assertNoVlans(db: Database, pif: Pif): void {
  if (db.referrers(pif.ref, 'VLAN', 'tagged_PIF').length > 0 || vlanOf(db, pif)) throw new XapiError('PIF_VLAN_STILL_EXISTS', [pif.ref]);
}

export function assertNoTunnels(db: Database, pif: Pif): void {
  if (db.referrers(pif.ref, 'tunnel', 'transport_PIF').length > 0 || tunnelOfAccess(db, pif)) throw new XapiError('PIF_TUNNEL_STILL_EXISTS', [pif.ref]);
}

export function assertNoSriov(db: Database, pif: Pif): void {
  if (sriovOfLogical(db, pif)) throw new XapiError('CANNOT_FORGET_SRIOV_LOGICAL', [pif.ref]);
  if (sriovOfPhysical(db, pif)) throw new XapiError('PIF_SRIOV_STILL_EXISTS', [pif.ref]);
}

/** A network is realised on a host by at most one PIF. */
export function assertNoOtherLocalPifs(db: Database, host: string, network: string): void {
  const other = db.referrers(network, 'PIF', 'network').find((r) => db.getOf('PIF', r)?.rec.host === host);
  if (other) throw new XapiError('NETWORK_ALREADY_CONNECTED', [host, other]);
}

export function assertNotBondSlave(pif: Pif): void {
  if (isBondSlave(pif)) throw new XapiError('CANNOT_PLUG_BOND_SLAVE', [pif.ref]);
}

/** Refs of VIFs on `network` that are in use on `host` (attached, of a running VM resident there). */
export function vifsInUseOnHost(db: Database, network: string, host: string): string[] {
  return db.referrers(network, 'VIF', 'network').filter((v) => {
    const vif = db.getOf('VIF', v)!;
    const vm = db.getOf('VM', vif.rec.VM);
    return vif.rec.currently_attached && vm && vm.rec.power_state === 'Running' && vm.rec.resident_on === host;
  });
}

/**
 * Whether `host` can see `network` (xapi_vm_helpers.assert_can_see_networks):
 * - a network with PIFs is seen by the hosts that have one of them (a tunnel network through
 *   its access PIF on that host, an SR-IOV network through its logical PIF);
 * - a network without PIFs is an internal network: a bridge local to one host. It is seen by
 *   every host while no running VM uses it (or when other_config:assume_network_is_shared is
 *   "true"), and otherwise only by the host(s) where running VMs already use it, so that VMs
 *   meant to talk over it are not split across hosts that cannot connect them.
 */
export function hostCanSeeNetwork(db: Database, host: string | undefined, network: string): boolean {
  const pifs = db.referrers(network, 'PIF', 'network');
  if (pifs.length > 0) return pifs.some((r) => db.getOf('PIF', r)?.rec.host === host);
  const n = db.getOf('network', network);
  if (n?.rec.other_config?.assume_network_is_shared === 'true') return true;
  const hosts = new Set<string>();
  for (const v of db.referrers(network, 'VIF', 'network')) {
    const vif = db.getOf('VIF', v);
    const vm = vif && db.getOf('VM', vif.rec.VM);
    if (vm && vm.rec.power_state === 'Running') hosts.add(vm.rec.resident_on);
  }
  return hosts.size === 0 || (host !== undefined && hosts.has(host));
}

/** The hosts a halted VM could start on, as far as its networks decide (xapi's get_possible_hosts, networking part). */
export function possibleHosts(db: Database, vm: ObjOf<'VM'>): string[] {
  return [...db.all('host')].map((h) => h.ref).filter((h) => db.referrers(vm.ref, 'VIF', 'VM').every((v) => hostCanSeeNetwork(db, h, db.getOf('VIF', v)!.rec.network)));
}
