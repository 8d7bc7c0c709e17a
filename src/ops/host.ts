// host: the management interface, hostname, HA emergency disable (xapi_host.ml, xapi_mgmt_iface.ml).

import type { Ctx, ImplTable } from '../api/context.ts';
import { XapiError } from '../model/index.ts';
import { setManagement } from './pif.ts';
import { isBondSlave, managementPif, pifKind, thePool } from './topology.ts';

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
  // the seed: putting the management interface on a VLAN network is not supported
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

export const hostImpls: ImplTable = {
  'host.management_reconfigure': (ctx, a) => { managementReconfigure(ctx, a.pif); },
  'host.management_disable': (ctx) => {
    const host = ctx.svc.thisHost();
    if (thePool(ctx.db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
    if (thePool(ctx.db).rec.master !== host) throw new XapiError('SLAVE_REQUIRES_MANAGEMENT_INTERFACE', []);
    setManagement(ctx.tx, host, undefined);
  },
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
};
