// VLAN: create/destroy on a physical, bond or SR-IOV logical PIF (xapi_vlan.ml), the pool-wide
// pool.create_VLAN_from_PIF, and the PIF messages that are VLAN operations (PIF.create_VLAN,
// PIF.destroy: xapi's older way to make and remove a VLAN). Above the PIF layer, beside tunnel.ts.

import type { Ctx, ImplTable } from '../api/context.ts';
import type { Database, ObjOf, Txn } from '../db/database.ts';
import { XapiError } from '../model/index.ts';
import {
  assertManaged, assertNetworkManaged, assertNoOtherLocalPifs, assertNoProtection, bondOfMaster, isBondSlave, isSriovNetwork,
  pifKind, pifsOfHost, sriovOfLogical, vlanOf,
} from './topology.ts';
import { virtualPif } from './pif_records.ts';
import { destroyPif, plug, unplug } from './pif.ts';

type Pif = ObjOf<'PIF'>;

export const VLAN_PIF_MAC = 'fe:ff:ff:ff:ff:ff';

/** The kind of NIC under a PIF: xapi compares PCI vendor and device ids; poolnet keeps them in the PIF's metrics. */
function nicModel(db: Database, pif: Pif): string {
  const m = db.getOf('PIF_metrics', pif.rec.metrics);
  return `${String(m?.rec.vendor_id ?? '')}:${String(m?.rec.device_id ?? '')}`;
}

/** The NICs under a tagged PIF: its own device, a bond's members, an SR-IOV logical PIF's physical NIC. */
function nicDevices(db: Database, pif: Pif): string[] {
  const bond = bondOfMaster(db, pif);
  if (bond) return db.referrers(bond.ref, 'PIF', 'bond_slave_of').map((s) => db.getOf('PIF', s)?.rec.device ?? '').filter(Boolean);
  const sriov = sriovOfLogical(db, pif);
  if (sriov) return [db.getOf('PIF', sriov.rec.physical_PIF)?.rec.device ?? ''];
  return [pif.rec.device];
}

/**
 * VLAN_IN_USE [device, tag]: the host already carries the tag on the PIF's NICs outside poolnet (a
 * kernel VLAN device, an Open vSwitch fake bridge), as xapi asks its network daemon
 * (Interface.has_vlan). The host reports what it has with its NICs (src/agent/discover.ts); a
 * member's report is a replica value, so only well-formed tags count.
 */
function assertVlanNotInUse(ctx: Ctx, tagged: Pif, tag: number): void {
  const devices = nicDevices(ctx.db, tagged);
  const used = ctx.svc.hostNics(tagged.rec.host).some((n) => devices.includes(n.device) && Array.isArray(n.vlans) && n.vlans.some((v) => v === tag));
  if (used) throw new XapiError('VLAN_IN_USE', [tagged.rec.device, tag]);
}

export function assertVlanTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > 4094) throw new XapiError('VLAN_TAG_INVALID', [tag]);
}

/** The records of a VLAN on `tagged` (no checks, no plug): xapi's create_internal. */
export function createVlanRecords(tx: Txn, tagged: Pif, tag: number, network: string): { vlan: string; untagged: string } {
  const untagged = tx.create('PIF', virtualPif({
    device: tagged.rec.device, device_name: tagged.rec.device, network, host: tagged.rec.host, MAC: VLAN_PIF_MAC,
    MTU: tagged.rec.MTU, VLAN: tag, metrics: tagged.rec.metrics, primary_address_type: tagged.rec.primary_address_type,
  }));
  const vlan = tx.create('VLAN', { tagged_PIF: tagged.ref, untagged_PIF: untagged, tag, other_config: {} });
  return { vlan, untagged };
}

export function createVlan(ctx: Ctx, tagged: Pif, tag: number, network: ObjOf<'network'>): string {
  const db = ctx.db;
  const host = tagged.rec.host;
  assertNetworkManaged(network);
  assertNoOtherLocalPifs(db, host, network.ref);
  assertManaged(tagged);
  const kind = pifKind(db, tagged);
  if (kind === 'physical' && isBondSlave(tagged)) throw new XapiError('CANNOT_ADD_VLAN_TO_BOND_SLAVE', [tagged.ref]);
  if (kind === 'vlan') throw new XapiError('PIF_IS_VLAN', [tagged.ref]);
  if (kind === 'tunnel_access') throw new XapiError('IS_TUNNEL_ACCESS_PIF', [tagged.ref]);
  if (kind === 'sriov_logical') {
    // the network must be empty or hold only VLANs on SR-IOV logical PIFs of the same kind of NIC
    const candidate = db.getOf('PIF', sriovOfLogical(db, tagged)!.rec.physical_PIF)!;
    for (const p of db.referrers(network.ref, 'PIF', 'network').map((r) => db.getOf('PIF', r)!)) {
      const v = vlanOf(db, p);
      const s = v && sriovOfLogical(db, db.getOf('PIF', v.rec.tagged_PIF)!);
      if (!s) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_VLAN_ON_SRIOV', [network.ref]);
      if (nicModel(db, db.getOf('PIF', s.rec.physical_PIF)!) !== nicModel(db, candidate)) {
        throw new XapiError('NETWORK_HAS_INCOMPATIBLE_VLAN_ON_SRIOV_PIFS', [tagged.ref, network.ref]);
      }
    }
  } else if (isSriovNetwork(db, network.ref)) {
    throw new XapiError('NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE', [network.ref]);
  }
  assertVlanTag(tag);
  if (db.referrers(tagged.ref, 'VLAN', 'tagged_PIF').some((v) => db.getOf('VLAN', v)!.rec.tag === tag)) throw new XapiError('PIF_VLAN_EXISTS', [tagged.rec.device]);
  assertVlanNotInUse(ctx, tagged, tag);
  if (db.referrers(network.ref, 'VIF', 'network').some((v) => db.getOf('VIF', v)!.rec.trunks.length > 0)) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_TRUNKS', [network.ref]);
  const { vlan, untagged } = createVlanRecords(ctx.tx, tagged, tag, network.ref);
  plug(ctx, db.getOf('PIF', untagged)!);
  return vlan;
}

export function destroyVlan(ctx: Ctx, vlan: ObjOf<'VLAN'>): void {
  const db = ctx.db;
  const untagged = db.getOf('PIF', vlan.rec.untagged_PIF);
  if (!untagged) { ctx.tx.delete(vlan.ref); return; } // orphan clean-up
  if (isBondSlave(untagged)) throw new XapiError('PIF_ALREADY_BONDED', [untagged.ref]);
  assertNoProtection(db, untagged);
  if (untagged.rec.VLAN < 0) throw new XapiError('PIF_IS_PHYSICAL', []); // xapi gives no parameter
  unplug(ctx, untagged);
  ctx.tx.delete(vlan.ref);
  destroyPif(ctx.tx, db.getOf('PIF', untagged.ref)!);
}

/** pool.create_VLAN_from_PIF: the same VLAN on every host's PIF of `pif`'s network, all or none. */
export function createVlanFromPif(ctx: Ctx, pif: Pif, network: ObjOf<'network'>, tag: number): string[] {
  const db = ctx.db;
  const pifs = db.referrers(pif.rec.network, 'PIF', 'network').map((r) => db.getOf('PIF', r)!).filter((p) => db.getOf('host', p.rec.host)?.rec.enabled !== false);
  // the PIF given first, so that a refusal about it (PIF_IS_VLAN, NETWORK_ALREADY_CONNECTED) names
  // that PIF and its host, not another host's; one transaction: the first refusal rolls back every
  // VLAN already made (xapi does this by hand)
  pifs.sort((x, y) => Number(y.ref === pif.ref) - Number(x.ref === pif.ref));
  return pifs.map((p) => db.getOf('VLAN', createVlan(ctx, p, tag, network))!.rec.untagged_PIF);
}

/** PIF.create_VLAN: the VLAN on `host`'s non-VLAN PIF named `device`; returns the untagged PIF. */
function createVlanOnDevice(ctx: Ctx, host: string, device: string, network: ObjOf<'network'>, tag: number): string {
  const tagged = pifsOfHost(ctx.db, host).find((p) => p.rec.device === device && p.rec.VLAN === -1);
  if (!tagged) throw new XapiError('INVALID_VALUE', ['device', device]);
  return ctx.db.getOf('VLAN', createVlan(ctx, tagged, tag, network))!.rec.untagged_PIF;
}

export const vlanImpls: ImplTable = {
  'VLAN.create': (ctx, a) => createVlan(ctx, ctx.tx.must('PIF', a.tagged_PIF), a.tag, ctx.tx.must('network', a.network)),
  'VLAN.destroy': (ctx, a) => { destroyVlan(ctx, ctx.tx.must('VLAN', a.self)); },
  'VLAN.pool_introduce': (ctx, a) => ctx.tx.create('VLAN', {
    tagged_PIF: ctx.tx.must('PIF', a.tagged_PIF).ref, untagged_PIF: ctx.tx.must('PIF', a.untagged_PIF).ref,
    tag: a.tag, other_config: a.other_config,
  }),
  'pool.create_VLAN_from_PIF': (ctx, a) => createVlanFromPif(ctx, ctx.tx.must('PIF', a.pif), ctx.tx.must('network', a.network), a.VLAN),
  'PIF.create_VLAN': (ctx, a) => createVlanOnDevice(ctx, ctx.tx.must('host', a.host).ref, a.device, ctx.tx.must('network', a.network), a.VLAN),
  'PIF.destroy': (ctx, a) => {
    const pif = ctx.tx.must('PIF', a.self);
    const vlan = vlanOf(ctx.db, pif);
    if (pif.rec.VLAN < 0 || !vlan) throw new XapiError('PIF_IS_PHYSICAL', []); // xapi gives no parameter
    destroyVlan(ctx, vlan);
  },
  // xapi's deprecated call: PIF.create_VLAN by device name on every host (not only the hosts on
  // one network, as create_VLAN_from_PIF); the first refusal undoes them all (one transaction)
  'pool.create_VLAN': (ctx, a) => {
    const network = ctx.tx.must('network', a.network);
    return [...ctx.db.all('host')].map((h) => createVlanOnDevice(ctx, h.ref, a.device, network, a.VLAN));
  },
};
