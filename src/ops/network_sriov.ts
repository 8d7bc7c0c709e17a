// network_sriov: SR-IOV on a physical NIC, its logical PIF, and the accounting of its virtual
// functions (xapi_network_sriov.ml, xapi_network_sriov_helpers.ml).
//
// VF capacity is simulated. A real host learns how many VFs a NIC offers from the kernel
// (sysfs sriov_totalvfs) through networkd; the machines poolnet is developed and tested on have
// no SR-IOV NIC, so the number is a stand-in: the physical PIF's other_config "sriov-max-vfs"
// when it holds a non-negative integer (the host agent writes it for a NIC it finds capable),
// else 8. It is copied into the record's internal max_vfs at create time.
//
// A VF is reserved for a VIF when its VM starts (VM.start / start_on, src/ops/vm.ts) and
// released when it stops. The reservation lives on the VIF (internal fields reserved_VF_of,
// reserved_VF): a VF index belongs to at most one VIF, so a VF is never shared.

import type { ImplTable } from '../api/context.ts';
import type { Database, ObjFor, ObjOf } from '../db/database.ts';
import { XapiError, type ClassName } from '../model/index.ts';
import { virtualPif } from './pif_records.ts';

/** The MAC every SR-IOV logical PIF carries (xapi's network_sriov_mac). */
export const SRIOV_LOGICAL_MAC = 'fe:ff:ff:ff:ff:ff';
export const DEFAULT_MAX_VFS = 8;

type Pif = ObjOf<'PIF'>;
type Sriov = ObjOf<'network_sriov'>;

const firstReferrer = <C extends ClassName>(db: Database, target: string, cls: C, field: string): ObjFor<C> | undefined => {
  const r = db.referrers(target, cls, field)[0];
  return r ? db.getOf(cls, r) : undefined;
};

/** The network_sriov whose logical PIF is `pif`, or which sits under the VLAN PIF `pif`. */
export function sriovUnderPif(db: Database, pif: Pif): Sriov | undefined {
  const direct = firstReferrer(db, pif.ref, 'network_sriov', 'logical_PIF');
  if (direct) return direct;
  const vlan = firstReferrer(db, pif.ref, 'VLAN', 'untagged_PIF');
  if (!vlan) return undefined;
  return firstReferrer(db, vlan.rec.tagged_PIF, 'network_sriov', 'logical_PIF');
}

/** An SR-IOV network: VIFs on it are backed by VFs rather than by a switch port (one rule: src/domain/pif.ts). */
export { isSriovNetwork } from './topology.ts';

/** The network_sriov that realises `network` on `host`, if any. */
export function sriovOfNetworkOnHost(db: Database, network: string, host: string): Sriov | undefined {
  for (const r of db.referrers(network, 'PIF', 'network')) {
    const pif = db.getOf('PIF', r);
    if (pif && pif.rec.host === host) {
      const s = sriovUnderPif(db, pif);
      if (s) return s;
    }
  }
  return undefined;
}

/** VIFs holding a VF of this network_sriov. */
export function vfHolders(db: Database, sriov: string): ObjOf<'VIF'>[] {
  return db.referrers(sriov, 'VIF', 'reserved_VF_of').map((r) => db.getOf('VIF', r)!).filter(Boolean);
}

/**
 * The lowest free VF index of `sriov`, undefined when all are taken. VFs held by the `except`
 * VIFs count as free; indices in `taken` (a plan not yet written) count as used.
 */
export function freeVf(db: Database, sriov: Sriov, opts: { except?: ReadonlySet<string>; taken?: ReadonlySet<number> } = {}): number | undefined {
  const used = new Set(vfHolders(db, sriov.ref).filter((v) => !opts.except?.has(v.ref)).map((v) => v.rec.reserved_VF));
  const max = sriov.rec.max_vfs;
  for (let i = 0; i < max; i++) if (!used.has(i) && !opts.taken?.has(i)) return i;
  return undefined;
}

export function remainingCapacity(db: Database, sriov: Sriov): number {
  return Math.max(0, sriov.rec.max_vfs - vfHolders(db, sriov.ref).length);
}

/** VFs a NIC offers (simulated, see the head of this file). */
export function maxVfsOf(pif: Pif): number {
  const v = pif.rec.other_config['sriov-max-vfs'];
  return v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : DEFAULT_MAX_VFS;
}

/** The PCI identity of a NIC, for "same type of device" (xapi compares PCI vendor and device ids). */
function deviceType(db: Database, pif: Pif): string {
  const m = db.getOf('PIF_metrics', pif.rec.metrics);
  return m ? `${String(m.rec.vendor_id)}:${String(m.rec.device_id)}` : ':';
}

/** A physical PIF in xapi's sense: not a VLAN, tunnel access, SR-IOV logical PIF or bond master. */
function isPhysicalKind(db: Database, pif: Pif): boolean {
  if (db.referrers(pif.ref, 'tunnel', 'access_PIF').length > 0) return false;
  if (db.referrers(pif.ref, 'VLAN', 'untagged_PIF').length > 0) return false;
  if (db.referrers(pif.ref, 'network_sriov', 'logical_PIF').length > 0) return false;
  if (db.referrers(pif.ref, 'Bond', 'master').length > 0) return false;
  return pif.rec.physical === true;
}

export const networkSriovImpls: ImplTable = {
  'network_sriov.create': (ctx, a) => {
    const { db, tx } = ctx;
    const pif = tx.must('PIF', a.pif);
    const network = tx.must('network', a.network);
    // No licence check: poolnet has no licences (xapi: LICENCE_RESTRICTION ["Network_sriov"]).
    if (!network.rec.managed) throw new XapiError('NETWORK_UNMANAGED', [network.ref]);
    if (!pif.rec.managed) throw new XapiError('PIF_UNMANAGED', [pif.ref]);
    if (!isPhysicalKind(db, pif)) throw new XapiError('PIF_IS_NOT_PHYSICAL', [pif.ref]);
    if (db.referrers(pif.ref, 'network_sriov', 'physical_PIF').length > 0) throw new XapiError('NETWORK_SRIOV_ALREADY_ENABLED', [pif.ref]);
    if (!pif.rec.capabilities.includes('sriov')) throw new XapiError('PIF_IS_NOT_SRIOV_CAPABLE', [pif.ref]);
    const host = pif.rec.host;
    const local = db.referrers(network.ref, 'PIF', 'network').find((r) => db.getOf('PIF', r)?.rec.host === host);
    if (local) throw new XapiError('NETWORK_ALREADY_CONNECTED', [host, local]);
    // The network must be empty or hold only SR-IOV logical PIFs on the same kind of NIC.
    const existing = db.referrers(network.ref, 'PIF', 'network').map((r) => db.getOf('PIF', r)!);
    if (existing.length > 0) {
      const s = db.referrers(existing[0].ref, 'network_sriov', 'logical_PIF')[0];
      if (!s) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_SRIOV', [network.ref]);
      const otherPhysical = db.getOf('PIF', db.getOf('network_sriov', s)!.rec.physical_PIF);
      if (otherPhysical && deviceType(db, otherPhysical) !== deviceType(db, pif)) throw new XapiError('NETWORK_HAS_INCOMPATIBLE_SRIOV_PIFS', [pif.ref, network.ref]);
    }
    // The logical PIF: same device, dummy MAC, MTU and metrics of the NIC; plugged at once
    // (xapi plugs it, which enables the VFs through networkd).
    const logical = tx.create('PIF', virtualPif({
      device: pif.rec.device, device_name: pif.rec.device_name, network: network.ref, host, MAC: SRIOV_LOGICAL_MAC,
      MTU: pif.rec.MTU, metrics: pif.rec.metrics, currently_attached: true, IPv6: [],
    }));
    return tx.create('network_sriov', {
      physical_PIF: pif.ref, logical_PIF: logical, requires_reboot: false, configuration_mode: 'unknown', max_vfs: maxVfsOf(pif),
    });
  },

  'network_sriov.destroy': (ctx, a) => {
    const { db, tx } = ctx;
    const sriov = tx.must('network_sriov', a.self);
    const logical = db.getOf('PIF', sriov.rec.logical_PIF);
    if (logical) {
      if (db.referrers(logical.ref, 'VLAN', 'tagged_PIF').length > 0) throw new XapiError('PIF_VLAN_STILL_EXISTS', [logical.ref]);
      // xapi unplugs the logical PIF first: refused under HA, and while a running VM uses a VF.
      if (logical.rec.currently_attached) {
        const pool = db.all('pool').next().value;
        if (pool?.rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
      }
      const holder = vfHolders(db, sriov.ref)[0];
      if (holder) throw new XapiError('VIF_IN_USE', [holder.rec.network, holder.ref]);
      tx.delete(logical.ref); // its metrics belong to the physical PIF and stay
    }
    tx.delete(sriov.ref);
  },

  'network_sriov.get_remaining_capacity': (ctx, a) => remainingCapacity(ctx.db, ctx.tx.must('network_sriov', a.self)),
};
