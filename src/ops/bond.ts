// Bond: create/destroy with everything that moves up to the bond and back down (management,
// IP configuration, VLANs, tunnels, VIFs), set_mode and set_property (xapi_bond.ml).
// All of it in one transaction: a refused or failed bond leaves nothing half-built.
// The top layer of the PIF ops: it builds on PIF, VLAN and tunnel, and nothing under it imports it.

import type { Ctx, ImplTable } from '../api/context.ts';
import type { Obj, Txn } from '../db/database.ts';
import { NULL_REF, XapiError } from '../model/index.ts';
import { isMac } from './addr.ts';
import { requirements, setBondMode, validateProperties, type BondProperties as Props } from './bond_mode.ts';
import { pifCopy, virtualPif } from './pif_records.ts';
import {
  assertManaged, assertNetworkManaged, assertNoOtherLocalPifs, bondOfMaster, isBondSlave, isSriovNetwork, pifKind, pifsOfHost, thePool,
} from './topology.ts';
import { destroyPif, plug, setManagement } from './pif.ts';
import { createTunnelRecords } from './tunnel.ts';
import { createVlanRecords } from './vlan.ts';

const hasIp = (p: Obj): boolean => (p.rec.primary_address_type === 'IPv6' ? p.rec.ipv6_configuration_mode : p.rec.ip_configuration_mode) !== 'None';

const IPV4_FIELDS = ['ip_configuration_mode', 'IP', 'netmask', 'gateway', 'DNS'] as const;

/** Copy the IPv4 configuration from one PIF to another and clear it on the source (bonds move IPv4 only, as xapi). */
function moveIp(tx: Txn, from: Obj, to: string): void {
  const patch: Record<string, unknown> = {};
  for (const f of IPV4_FIELDS) patch[f] = from.rec[f];
  tx.update(to, patch);
  tx.update(from.ref, { ip_configuration_mode: 'None', IP: '', netmask: '', gateway: '', DNS: '' });
}

/** VIFs of `network` whose VM runs on `host`, or runs nowhere in a one-host pool. */
function localVifs(ctx: Ctx, network: string, host: string): string[] {
  const oneHost = ctx.db.count('host') === 1;
  return ctx.db.referrers(network, 'VIF', 'network').filter((v) => {
    const vm = ctx.db.get(ctx.db.get(v)!.rec.VM as string);
    const on = vm?.rec.resident_on as string | undefined;
    return on === host || ((!on || on === NULL_REF) && oneHost);
  });
}

/** Move a VLAN from its tagged PIF to `target` (xapi's move_vlan). */
function moveVlan(ctx: Ctx, vlan: Obj, target: Obj): void {
  const db = ctx.db, tx = ctx.tx;
  const oldU = db.get(vlan.rec.untagged_PIF as string)!;
  const network = oldU.rec.network as string;
  const existing = db.referrers(target.ref, 'VLAN', 'tagged_PIF').map((r) => db.get(r)!).find((v) => v.rec.tag === vlan.rec.tag);
  let newU: string;
  if (existing) {
    newU = existing.rec.untagged_PIF as string;
    const to = db.get(newU)!.rec.network as string;
    for (const v of localVifs(ctx, network, target.rec.host as string)) tx.update(v, { network: to });
  } else {
    newU = createVlanRecords(tx, target, vlan.rec.tag as number, network).untagged;
  }
  const patch: Record<string, unknown> = {};
  for (const f of [...IPV4_FIELDS, 'ipv6_configuration_mode', 'IPv6', 'ipv6_gateway', 'other_config', 'disallow_unplug']) patch[f] = oldU.rec[f];
  tx.update(newU, { ...patch, currently_attached: oldU.rec.currently_attached, management: oldU.rec.management });
  tx.delete(vlan.ref);
  destroyPif(tx, oldU);
}

/** Move a tunnel to a new transport PIF: a new tunnel and access PIF on the same network. */
function moveTunnel(ctx: Ctx, tunnel: Obj, target: Obj): void {
  const tx = ctx.tx;
  const access = ctx.db.get(tunnel.rec.access_PIF as string)!;
  createTunnelRecords(tx, pifCopy(access, { metrics: target.rec.metrics }), target.ref, { status: { active: 'false' }, other_config: tunnel.rec.other_config, protocol: tunnel.rec.protocol });
  tx.delete(tunnel.ref);
  tx.delete(access.ref);
}

function nextBondDevice(ctx: Ctx, host: string): string {
  const used = new Set(pifsOfHost(ctx.db, host).filter((p) => bondOfMaster(ctx.db, p)).map((p) => p.rec.device));
  for (let n = 0; ; n++) if (!used.has(`bond${n}`)) return `bond${n}`;
}

export function createBond(ctx: Ctx, a: { network: string; members: string[]; MAC: string; mode: string; properties: Props }, opts: { allowOneMember?: boolean } = {}): string {
  const db = ctx.db, tx = ctx.tx;
  const members = [...new Set(a.members)].map((m) => tx.must('PIF', m));
  // xapi accepts one member (it builds partial bonds at pool join); the API refuses it, as documented
  if (members.length === 0 || (members.length < 2 && !opts.allowOneMember)) throw new XapiError('PIF_BOND_NEEDS_MORE_MEMBERS', []);
  const network = tx.must('network', a.network);
  const pool = thePool(db);
  if (pool.rec.ha_enabled) {
    if (members.some((m) => m.rec.management)) throw new XapiError('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE', []);
    // the seed: bond creation disturbs HA heartbeating, so it is refused outright while HA is on
    throw new XapiError('HA_IS_ENABLED', []);
  }
  assertNetworkManaged(network);
  const host = members[0].rec.host as string;
  assertNoOtherLocalPifs(db, host, network.ref);
  if (isSriovNetwork(db, network.ref)) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_BOND', [network.ref]);
  const mac = a.MAC.toLowerCase();
  if (mac !== '' && !isMac(mac)) throw new XapiError('MAC_INVALID', [a.MAC]);
  const properties = validateProperties(a.mode, a.properties);
  const primary = members.find((m) => m.rec.management) ?? members.find(hasIp) ?? members[0];
  for (const m of members) {
    if (m.rec.primary_address_type !== primary.rec.primary_address_type) throw new XapiError('PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', [m.ref]);
  }
  for (const m of members) {
    assertManaged(m);
    const kind = pifKind(db, m);
    if (kind === 'physical' && isBondSlave(m)) throw new XapiError('PIF_ALREADY_BONDED', [m.ref]);
    if (kind === 'vlan') throw new XapiError('PIF_VLAN_EXISTS', [m.rec.device]);
    if (kind === 'tunnel_access') throw new XapiError('IS_TUNNEL_ACCESS_PIF', [m.ref]);
    if (kind === 'sriov_logical') throw new XapiError('PIF_IS_SRIOV_LOGICAL', [m.ref]);
    // xapi lets a bond master through here; bonding a bond is never meant, so refuse it
    if (kind === 'bond_master') throw new XapiError('PIF_ALREADY_BONDED', [m.ref]);
  }
  if (members.some((m) => m.rec.host !== host)) throw new XapiError('PIF_CANNOT_BOND_CROSS_HOST', []);
  const props0 = JSON.stringify(sortKeys(members[0].rec.properties as Props));
  if (members.some((m) => JSON.stringify(sortKeys(m.rec.properties as Props)) !== props0)) throw new XapiError('INCOMPATIBLE_PIF_PROPERTIES', []);
  if (members.filter(hasIp).length > 1) throw new XapiError('PIF_BOND_MORE_THAN_ONE_IP', []);

  const metrics = tx.create('PIF_metrics', { last_updated: '19700101T00:00:00Z' });
  const master = tx.create('PIF', virtualPif({
    device: nextBondDevice(ctx, host), network: network.ref, host, MAC: mac || primary.rec.MAC, MTU: network.rec.MTU, metrics,
    primary_address_type: primary.rec.primary_address_type, properties: members[0].rec.properties,
  }));
  const bond = tx.create('Bond', { master, primary_slave: primary.ref, mode: a.mode, properties, links_up: 0, auto_update_mac: mac === '', other_config: {} });
  for (const m of members) tx.update(m.ref, { bond_slave_of: bond });
  moveIp(tx, primary, master);
  if (members.some((m) => m.rec.management)) setManagement(tx, host, master);
  plug(ctx, db.get(master)!);
  for (const m of members) {
    for (const v of db.referrers(m.ref, 'VLAN', 'tagged_PIF')) moveVlan(ctx, db.get(v)!, db.get(master)!);
    for (const t of db.referrers(m.ref, 'tunnel', 'transport_PIF')) moveTunnel(ctx, db.get(t)!, db.get(master)!);
    for (const v of localVifs(ctx, m.rec.network as string, host)) tx.update(v, { network: network.ref });
  }
  if (members.some((m) => m.rec.disallow_unplug)) {
    tx.update(master, { disallow_unplug: true });
    for (const m of members) tx.update(m.ref, { disallow_unplug: false });
  }
  return bond;
}

export function destroyBond(ctx: Ctx, bond: Obj): void {
  const db = ctx.db, tx = ctx.tx;
  const master = db.get(bond.rec.master as string)!;
  const host = master.rec.host as string;
  const pool = thePool(db);
  if (pool.rec.ha_enabled) {
    if (master.rec.management) throw new XapiError('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE', []);
    throw new XapiError('HA_IS_ENABLED', []);
  }
  const slaves = db.referrers(bond.ref, 'PIF', 'bond_slave_of').map((r) => db.get(r)!);
  const primary = db.get(bond.rec.primary_slave as string) ?? slaves[0];
  moveIp(tx, master, primary.ref);
  // members leave the bond before they are plugged again
  for (const s of slaves) tx.update(s.ref, { bond_slave_of: NULL_REF });
  if (master.rec.management) setManagement(tx, host, primary.ref);
  if (master.rec.currently_attached || master.rec.management) for (const s of slaves) plug(ctx, db.get(s.ref)!);
  for (const v of db.referrers(master.ref, 'VLAN', 'tagged_PIF')) moveVlan(ctx, db.get(v)!, db.get(primary.ref)!);
  for (const v of localVifs(ctx, master.rec.network as string, host)) tx.update(v, { network: primary.rec.network });
  for (const t of db.referrers(master.ref, 'tunnel', 'transport_PIF')) moveTunnel(ctx, db.get(t)!, db.get(primary.ref)!);
  if (master.rec.disallow_unplug) tx.update(primary.ref, { disallow_unplug: true });
  tx.delete(bond.ref);
  destroyPif(tx, db.get(master.ref)!);
}

function sortKeys(p: Props): Props {
  return Object.fromEntries(Object.entries(p).sort(([a], [b]) => a.localeCompare(b)));
}

export const bondImpls: ImplTable = {
  'Bond.create': (ctx, a) => createBond(ctx, a as Parameters<typeof createBond>[1]),
  'Bond.destroy': (ctx, a) => { destroyBond(ctx, ctx.tx.must('Bond', a.self as string)); },
  'Bond.set_mode': (ctx, a) => { setBondMode(ctx.tx, ctx.tx.must('Bond', a.self as string), a.value as string); },
  'Bond.set_property': (ctx, a) => {
    const b = ctx.tx.must('Bond', a.self as string);
    const name = a.name as string, value = a.value as string;
    if (!requirements(b.rec.mode as string)[name]?.valid(value)) throw new XapiError('INVALID_VALUE', ['properties', `${name} = ${value}`]);
    ctx.tx.update(b.ref, { properties: { ...(b.rec.properties as Props), [name]: value } });
  },
};

