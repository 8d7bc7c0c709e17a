// The pool database side of joining and leaving (xapi_pool.ml, sync_networking.ml): the
// joining host's records on the master, and the copy of bonds, VLANs and tunnels onto it by
// NIC position, as a member restart does too ("inherits its settings from the pool master").

import type { Ctx } from '../api/context.ts';
import type { Database, ObjOf } from '../db/database.ts';
import { introducePhysical, type NicFacts } from '../db/init.ts';
import { NULL_REF, XapiError, classDef } from '../model/index.ts';
import { checkRecordValues } from '../model/checks.ts';
import { VALUE_TYPES } from '../model/valid.ts';
import { createBond } from './bond.ts';
import { destroyPif } from './pif.ts';
import { pifCopy } from './pif_records.ts';
import { bondOfMaster, isBondSlave, managementPif, pifsOfHost, thePool, tunnelOfAccess, vlanOf } from './topology.ts';
import { createTunnelRecords } from './tunnel.ts';
import { createVlanRecords } from './vlan.ts';

/** What a joining host tells the master about itself. */
export interface HostInfo {
  uuid: string;
  hostname: string;
  address: string;
  software_version: Record<string, string>;
  nics: NicFacts[];
  management: { device: string; mode: string; IP: string; netmask: string; gateway: string; DNS: string };
  /** The SHA-256 fingerprint of the joining host's API certificate ('' on plain HTTP): pinned for the master's calls to it. */
  fingerprint?: string;
}

/** What a joining host reads from the master it logged in to, for the checks that compare the two. */
export interface RemotePool {
  haEnabled: boolean;
  masterUuid: string;
  /** The master's software_version network_backend ('' when absent: the bridge, as xapi reads it). */
  masterBackend: string;
  /** The master's management PIF's VLAN (-1: none) and primary address type. */
  managementVlan: number;
  primaryAddressType: string;
  sdnController: { protocol: string; address: string; port: number } | undefined;
  /** The purposes of the pool's networks. */
  purposes: string[];
}

const NBDISH = (p: string) => p === 'nbd' || p === 'insecure_nbd';

/**
 * xapi's pre_join_checks (xapi_pool.ml), networking ones and those around them, in its order:
 * made on the joining host after it has logged in to the master, so that an unreachable
 * master or refused credentials come first.
 */
export function preJoinChecks(db: Database, me: string, remote: RemotePool): void {
  const mgmt = managementPif(db, me);
  if (!mgmt) throw new XapiError('HOST_STILL_BOOTING', []);
  if (thePool(db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
  if (remote.haEnabled) throw new XapiError('HA_IS_ENABLED', []);
  const hosts = db.count('host');
  if (remote.masterUuid === db.getOf('host', me)?.rec.uuid) throw new XapiError('OPERATION_NOT_ALLOWED', [hosts > 1 ? 'Host is already part of a pool' : 'Host cannot become slave of itself']);
  if (hosts > 1) throw new XapiError('JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS', []);
  if (db.count('Bond') > 0) throw new XapiError('POOL_JOINING_HOST_HAS_BONDS', []);
  if (db.count('tunnel') > 0) throw new XapiError('POOL_JOINING_HOST_HAS_TUNNELS', []);
  if (db.count('network_sriov') > 0) throw new XapiError('POOL_JOINING_HOST_HAS_NETWORK_SRIOVS', []);
  for (const v of db.all('VLAN')) if (!db.getOf('PIF', v.rec.untagged_PIF)?.rec.management) throw new XapiError('POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS', []);
  if (mgmt.rec.VLAN !== remote.managementVlan) throw new XapiError('POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH', [mgmt.rec.VLAN, remote.managementVlan]);
  const myBackend = db.getOf('host', me)?.rec.software_version.network_backend || 'bridge';
  if (myBackend !== (remote.masterBackend || 'bridge')) throw new XapiError('OPERATION_NOT_ALLOWED', ['Network backends differ']);
  // an SDN controller on the joiner must be the pool's
  const mine = [...db.all('SDN_controller')][0]?.rec;
  const theirs = remote.sdnController;
  if (myBackend === 'openvswitch' && mine && (!theirs || theirs.protocol !== mine.protocol || theirs.address !== mine.address || Number(theirs.port) !== Number(mine.port))) {
    throw new XapiError('OPERATION_NOT_ALLOWED', ['SDN controller differs']);
  }
  if (mgmt.rec.primary_address_type !== remote.primaryAddressType) throw new XapiError('OPERATION_NOT_ALLOWED', ['Primary address type differs']);
  // the first NBD purpose found on each side must agree, when both sides have one
  const myNbd = [...db.all('network')].flatMap((n) => n.rec.purpose).find(NBDISH);
  const theirNbd = remote.purposes.find(NBDISH);
  if (myNbd && theirNbd && myNbd !== theirNbd) throw new XapiError('OPERATION_NOT_ALLOWED', ['Incompatible network purposes: nbd and insecure_nbd']);
}

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** The N of the xenbrN bridge of a PIF's network: how xapi matches NICs across hosts. */
export function positionOf(ctx: Ctx, pif: ObjOf<'PIF'>): number | undefined {
  const bridge = ctx.db.getOf('network', pif.rec.network)?.rec.bridge;
  const m = bridge ? /^xenbr(\d+)$/.exec(bridge) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * The values a joining host sends go into the same fields as the API's and reach the same
 * programs: the datamodel's declarations check them here too (host_info is a free struct on the wire).
 */
export function checkHostInfo(info: HostInfo): void {
  const bad = (what: string): never => { throw new XapiError('INVALID_VALUE', ['host_info', what]); };
  if (typeof info !== 'object' || info === null) bad('not a struct');
  if (typeof info.uuid !== 'string' || !/^[0-9a-f-]{36}$/i.test(info.uuid)) bad('uuid');
  checkRecordValues(classDef('host'), { hostname: info.hostname });
  // an address, or address:port (daemons on loopback ports in tests)
  const withPort = /^(.+):(\d{1,5})$/.exec(info.address);
  const addrOk = VALUE_TYPES.ipAny.check(info.address) || (withPort !== null && VALUE_TYPES.ipAny.check(withPort[1]) && !withPort[1].includes(':'));
  if (info.address !== '' && !addrOk) throw VALUE_TYPES.ipAny.error('address', info.address);
  if (!Array.isArray(info.nics)) bad('nics');
  for (const nic of info.nics) {
    if (typeof nic !== 'object' || nic === null) bad('nics');
    checkRecordValues(classDef('PIF'), { device: nic.device, MAC: nic.mac });
  }
  const m = info.management;
  if (typeof m !== 'object' || m === null) bad('management');
  if (m.device !== '') checkRecordValues(classDef('PIF'), { device: m.device });
  checkRecordValues(classDef('PIF'), { IP: m.IP, netmask: m.netmask, gateway: m.gateway, DNS: m.DNS });
  if (!['None', 'DHCP', 'Static'].includes(m.mode)) bad('management.mode');
}

/**
 * The master side of a join, called with the session the joining host made with the pool secret
 * (pool.join_request sent it there): the answer carries nothing secret.
 */
export function joinIntroduce(ctx: Ctx, info: HostInfo): { host: string } {
  const { tx, db } = ctx;
  checkHostInfo(info);
  if (db.byUuidOf('host', info.uuid)) throw new XapiError('OPERATION_NOT_ALLOWED', ['a host with this uuid is already in the pool']);
  const fingerprint = info.fingerprint ?? '';
  if (fingerprint !== '' && !FINGERPRINT.test(fingerprint)) throw new XapiError('INVALID_VALUE', ['host_info', 'fingerprint']);
  const master = db.getOf('host', thePool(db).rec.master)!;
  if (master.rec.software_version.network_backend !== info.software_version.network_backend) throw new XapiError('OPERATION_NOT_ALLOWED', ['Network backends differ']);
  const host = tx.create('host', {
    uuid: info.uuid, name_label: info.hostname, hostname: info.hostname, name_description: 'Default install', address: info.address,
    software_version: info.software_version, API_version_major: master.rec.API_version_major, API_version_minor: master.rec.API_version_minor,
    API_version_vendor: 'XenSource', enabled: true, logging: {}, other_config: {}, nic_facts: JSON.stringify(info.nics),
    allowed_operations: master.rec.allowed_operations, certificate_fingerprint: fingerprint,
  });
  const dom0 = tx.create('VM', {
    name_label: `Control domain on host: ${info.hostname}`, name_description: 'The domain which manages physical devices and manages other domains',
    power_state: 'Running', is_control_domain: true, resident_on: host, domid: 0, other_config: {},
  });
  tx.update('host', host, { control_domain: dom0 });
  for (const nic of info.nics) {
    // physical NICs attach to the pool-wide networks by bridge name (xenbrN for ethN)
    const pif = introducePhysical(tx, host, nic, { attached: true });
    if (nic.device === info.management.device) {
      const m = info.management;
      tx.update(pif, { management: true, ip_configuration_mode: m.mode, IP: m.IP, netmask: m.netmask, gateway: m.gateway, DNS: m.DNS });
    }
  }
  syncNetworking(ctx, host);
  return { host };
}

/**
 * Give `host` the master's bonds, VLANs and tunnels: bonds by NIC position (xapi's
 * copy_bonds_from_master), VLANs and tunnels by the network of the PIF under them.
 */
export function syncNetworking(ctx: Ctx, host: string): void {
  const { db, tx } = ctx;
  const master = thePool(db).rec.master;
  if (host === master) return;
  const hostPifs = () => pifsOfHost(db, host);
  const onNetwork = (network: string) => hostPifs().find((p) => p.rec.network === network);
  for (const bond of [...db.all('Bond')]) {
    const bmaster = db.getOf('PIF', bond.rec.master)!;
    if (bmaster.rec.host !== master || onNetwork(bmaster.rec.network)) continue;
    const slaves = db.referrers(bond.ref, 'PIF', 'bond_slave_of').map((r) => db.getOf('PIF', r)!);
    const primary = db.getOf('PIF', bond.rec.primary_slave);
    const mine = slaves.map((s) => {
      const pos = positionOf(ctx, s);
      return { s, pif: hostPifs().find((p) => p.rec.physical && !isBondSlave(p) && pos !== undefined && positionOf(ctx, p) === pos) };
    }).filter((x) => x.pif);
    if (mine.length === 0) continue;
    // the NIC at the master's primary slave's position goes first: it becomes this host's primary
    mine.sort((a, b) => Number(b.s.ref === primary?.ref) - Number(a.s.ref === primary?.ref));
    createBond(ctx, { network: bmaster.rec.network, members: mine.map((x) => x.pif!.ref), MAC: '', mode: bond.rec.mode, properties: { ...bond.rec.properties } }, { allowOneMember: true });
  }
  for (const vlan of [...db.all('VLAN')]) {
    const untagged = db.getOf('PIF', vlan.rec.untagged_PIF);
    const tagged = db.getOf('PIF', vlan.rec.tagged_PIF);
    if (!untagged || !tagged || untagged.rec.host !== master || onNetwork(untagged.rec.network)) continue;
    const mineTagged = onNetwork(tagged.rec.network);
    if (!mineTagged) continue;
    const { untagged: u } = createVlanRecords(tx, mineTagged, vlan.rec.tag, untagged.rec.network);
    tx.update('PIF', u, { currently_attached: true });
  }
  for (const t of [...db.all('tunnel')]) {
    const access = db.getOf('PIF', t.rec.access_PIF);
    const transport = db.getOf('PIF', t.rec.transport_PIF);
    if (!access || !transport || access.rec.host !== master || onNetwork(access.rec.network)) continue;
    const mineTransport = onNetwork(transport.rec.network);
    if (!mineTransport) continue;
    const pif = pifCopy(access, { host, metrics: mineTransport.rec.metrics, currently_attached: mineTransport.rec.ip_configuration_mode !== 'None' });
    createTunnelRecords(tx, pif, mineTransport.ref, { status: { ...t.rec.status }, other_config: {}, protocol: t.rec.protocol });
  }
}

/** Remove a host and everything that hangs off it from the pool database (xapi's eject + gc). */
export function forgetHost(ctx: Ctx, host: string): void {
  const { db, tx } = ctx;
  for (const p of pifsOfHost(db, host)) {
    const v = vlanOf(db, p); if (v) tx.delete(v.ref);
    const t = tunnelOfAccess(db, p); if (t) tx.delete(t.ref);
    const b = bondOfMaster(db, p); if (b) tx.delete(b.ref);
    for (const s of db.referrers(p.ref, 'network_sriov', 'physical_PIF')) tx.delete(s);
  }
  for (const p of pifsOfHost(db, host)) destroyPif(tx, db.getOf('PIF', p.ref)!);
  for (const vm of db.referrers(host, 'VM', 'resident_on')) {
    const v = db.getOf('VM', vm)!;
    if (v.rec.is_control_domain) { for (const vif of db.referrers(vm, 'VIF', 'VM')) tx.delete(vif); tx.delete(vm); }
    else tx.update(v, { power_state: 'Halted', resident_on: NULL_REF, domid: -1 });
  }
  tx.delete(host);
}
