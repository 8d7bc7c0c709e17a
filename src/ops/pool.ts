// pool: the pool-wide flags and reconfigurations networking acts on.

import type { ImplTable } from '../api/context.ts';
import { XapiError } from '../model/index.ts';
import { managementReconfigure } from './host.ts';
import { sdnControllerImpls } from './sdn_controller.ts';
import { isBondSlave, thePool } from './topology.ts';

export const poolImpls: ImplTable = {
  // HA itself is outside networking; the flag gates bonds and management changes as in xapi.
  'pool.set_ha_enabled': (ctx, a) => { ctx.tx.update(ctx.tx.must('pool', a.self), { ha_enabled: a.value }); },
  'pool.set_igmp_snooping_enabled': (ctx, a) => {
    const host = ctx.db.getOf('host', ctx.svc.thisHost())!;
    if (host.rec.software_version.network_backend !== 'openvswitch') throw new XapiError('OPENVSWITCH_NOT_ACTIVE', []);
    ctx.tx.update(ctx.tx.must('pool', a.self), { igmp_snooping_enabled: a.value });
  },
  'pool.management_reconfigure': (ctx, a) => {
    const db = ctx.db;
    const network = ctx.tx.must('network', a.network);
    if (thePool(db).rec.ha_enabled) throw new XapiError('HA_IS_ENABLED', []);
    const pifs = [...db.all('host')].map((h) => {
      const pif = db.referrers(network.ref, 'PIF', 'network').map((r) => db.getOf('PIF', r)!).find((p) => p.rec.host === h.ref);
      if (!pif) throw new XapiError('PIF_NOT_PRESENT', [h.ref, network.ref]);
      return pif;
    });
    const type = pifs[0]?.rec.primary_address_type;
    for (const p of pifs) {
      if (p.rec.primary_address_type !== type) throw new XapiError('PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', [p.ref]);
      if (isBondSlave(p)) throw new XapiError('CANNOT_PLUG_BOND_SLAVE', [p.ref]);
    }
    // members first, the master last (its address change would strand the others)
    const master = thePool(db).rec.master;
    for (const p of [...pifs.filter((x) => x.rec.host !== master), ...pifs.filter((x) => x.rec.host === master)]) managementReconfigure(ctx, p.ref);
  },
  'pool.sync_database': () => undefined,
  // deprecated: the address becomes the pool's one SDN controller (ssl, port 6632), replacing any other
  'pool.set_vswitch_controller': (ctx, a) => {
    const host = ctx.db.getOf('host', ctx.svc.thisHost())!;
    if (host.rec.software_version.network_backend !== 'openvswitch') throw new XapiError('OPERATION_NOT_ALLOWED', ['host not configured for vswitch operation']);
    const pool = thePool(ctx.db);
    if (pool.rec.vswitch_controller === a.address) return;
    ctx.tx.update(pool, { vswitch_controller: a.address });
    const existing = ctx.tx.all('SDN_controller')[0];
    if (existing) ctx.tx.delete(existing.ref);
    if (a.address !== '') void sdnControllerImpls['SDN_controller.introduce']!(ctx, { protocol: 'ssl', address: a.address, port: 6632 });
  },
};
