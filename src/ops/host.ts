// host: the management interface, hostname, HA emergency disable (xapi_host.ml, xapi_mgmt_iface.ml).

import type { Ctx, ImplTable } from '../api/context.ts';
import { NULL_REF, XapiError } from '../model/index.ts';
import { setManagement } from './pif.ts';
import { isBondSlave, managementPif, pifKind, pifsOfHost, thePool } from './topology.ts';

/** HOST_NAME_INVALID [reason] unless `name` is a valid hostname (xapi's rules). */
export function assertHostname(name: string): void {
  if (name === '') throw new XapiError('HOST_NAME_INVALID', ['hostname empty']);
  if (name.length > 255) throw new XapiError('HOST_NAME_INVALID', ['hostname is too long']);
  if (!/^[A-Za-z0-9.-]+$/.test(name) || name.startsWith('-') || name.endsWith('-')) throw new XapiError('HOST_NAME_INVALID', ['hostname contains invalid characters']);
}

export function managementReconfigure(ctx: Ctx, pifRef: string): void {
  const db = ctx.db;
  const pif = ctx.tx.must('PIF', pifRef);
  if (thePool(db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
  // the XenServer documentation: putting the management interface on a VLAN network is not supported
  if (pifKind(db, pif) === 'vlan') throw new XapiError('OPERATION_NOT_ALLOWED', ['The management interface cannot be put on a VLAN network (not supported)']);
  if (pif.rec.managed) {
    if (isBondSlave(pif)) throw new XapiError('CANNOT_PLUG_BOND_SLAVE', [pif.ref]);
    if (pif.rec.primary_address_type === 'IPv4' && pif.rec.ip_configuration_mode === 'None') throw new XapiError('PIF_HAS_NO_NETWORK_CONFIGURATION', [pif.ref]);
    if (pif.rec.primary_address_type === 'IPv6' && pif.rec.ipv6_configuration_mode === 'None') throw new XapiError('PIF_HAS_NO_V6_NETWORK_CONFIGURATION', [pif.ref]);
  }
  if (pif.rec.management) return;
  ctx.tx.update(pif, { currently_attached: true });
  setManagement(ctx.tx, pif.rec.host, pif.ref);
}

/**
 * The database half of xe-reset-networking (xapi's host.reset_networking): every bond, VLAN,
 * tunnel and SR-IOV object built on the host's PIFs, then the PIFs themselves (with the metrics
 * of physical and bond PIFs). The host rebuilds its PIFs from its NICs afterwards (PIF.scan).
 */
function resetNetworking(ctx: Ctx, host: string): void {
  const tx = ctx.tx;
  const local = new Set(pifsOfHost(ctx.db, host).map((p) => p.ref));
  for (const b of tx.all('Bond')) if (local.has(b.rec.master)) tx.delete(b.ref);
  for (const v of tx.all('VLAN')) if (local.has(v.rec.untagged_PIF)) tx.delete(v.ref);
  for (const t of tx.all('tunnel')) if (local.has(t.rec.access_PIF)) tx.delete(t.ref);
  for (const s of tx.all('network_sriov')) if (local.has(s.rec.physical_PIF) || local.has(s.rec.logical_PIF)) tx.delete(s.ref);
  for (const ref of local) {
    const pif = tx.must('PIF', ref);
    const metrics = pif.rec.metrics;
    tx.delete(ref);
    if (metrics !== NULL_REF && !tx.all('PIF').some((p) => p.rec.metrics === metrics)) tx.delete(metrics);
  }
}

export const hostImpls: ImplTable = {
  'host.management_reconfigure': (ctx, a) => { managementReconfigure(ctx, a.pif); },
  'host.management_disable': (ctx) => {
    const host = ctx.svc.thisHost();
    if (thePool(ctx.db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
    if (thePool(ctx.db).rec.master !== host) throw new XapiError('SLAVE_REQUIRES_MANAGEMENT_INTERFACE', []);
    setManagement(ctx.tx, host, undefined);
  },
  // Without a pool membership (ops alone) a host is never in emergency mode; a daemon's
  // membership (src/daemon/membership.ts) answers these two on a member.
  'host.local_management_reconfigure': () => { throw new XapiError('NOT_IN_EMERGENCY_MODE', []); },
  'host.get_management_interface': (ctx, a) => {
    const pif = managementPif(ctx.db, ctx.tx.must('host', a.host).ref);
    if (!pif) throw new XapiError('INTERNAL_ERROR', ['the host has no management interface']);
    return pif.ref;
  },
  'host.set_hostname_live': (ctx, a) => {
    const host = ctx.tx.must('host', a.host);
    const name = a.hostname;
    assertHostname(name);
    ctx.tx.update(host, { hostname: name });
    const dom0 = ctx.db.getOf('VM', host.rec.control_domain);
    if (dom0 && /^Control domain on host: /.test(dom0.rec.name_label)) ctx.tx.update(dom0, { name_label: `Control domain on host: ${name}` });
  },
  'host.emergency_ha_disable': (ctx) => { ctx.tx.update(thePool(ctx.db), { ha_enabled: false }); },
  'host.is_in_emergency_mode': () => false,
  'host.signal_networking_change': () => undefined,
  // a host reports the bridges it has at start-up; a PIF whose network has no bridge there is down
  'host.sync_pif_currently_attached': (ctx, a) => {
    const host = ctx.tx.must('host', a.host);
    const bridges = new Set(a.bridges);
    for (const pif of pifsOfHost(ctx.db, host.ref)) {
      const attached = bridges.has(ctx.db.getOf('network', pif.rec.network)?.rec.bridge ?? '');
      if (pif.rec.currently_attached !== attached) ctx.tx.update(pif, { currently_attached: attached });
    }
  },
  'host.reset_networking': (ctx, a) => { resetNetworking(ctx, ctx.tx.must('host', a.host).ref); },
};
