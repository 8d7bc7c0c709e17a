// Which host a status row belongs to, for pool.replica_write: a member reports about its own host
// only (the host named by its pool session, session.slave_login). A member that is confused (a
// stale replica, a bug) or compromised must not change what the master believes about another
// host: above all not another host's certificate fingerprint, which pins the channel the pool
// secret travels on.
//
// Pure: read from the master's database, whatever the member sent.

import type { Database, Obj } from '../db/database.ts';
import { NULL_REF } from '../model/index.ts';
import { migrationOrder } from '../domain/migration.ts';

const real = (h: unknown): h is string => typeof h === 'string' && h !== NULL_REF && h !== '';

/**
 * The hosts whose reports may write the row `o` (none for a row of a class no host reports
 * about). Made once per call: PIF_metrics are found from their PIF through an index built on
 * first use (PIF.metrics has no reverse field).
 */
export function rowOwners(db: Database): (o: Obj) => readonly string[] {
  let metricsHost: Map<string, string> | undefined;
  const pifHost = (ref: unknown): string[] => {
    const h = typeof ref === 'string' ? db.getOf('PIF', ref)?.rec.host : undefined;
    return real(h) ? [h] : [];
  };
  return (o) => {
    switch (o.cls) {
      case 'host': return [o.ref];
      case 'PIF': return pifHost(o.ref);
      case 'PIF_metrics': {
        metricsHost ??= new Map([...db.all('PIF')].filter((p) => real(p.rec.host)).map((p): [string, string] => [p.rec.metrics, p.rec.host]));
        const h = metricsHost.get(o.ref);
        return real(h) ? [h] : [];
      }
      case 'Bond': return pifHost(o.rec.master);
      case 'tunnel': return pifHost(o.rec.access_PIF);
      case 'VIF': {
        // the host the VM runs on, and a live migration's destination (it readies the VIF's ports)
        const vm = typeof o.rec.VM === 'string' ? db.getOf('VM', o.rec.VM) : undefined;
        if (!vm) return [];
        return [vm.rec.resident_on, migrationOrder(vm.rec.migration)?.destination].filter(real);
      }
      // a VM's only status field is the destination's answer to the master's migration order
      case 'VM': {
        const dest = migrationOrder(o.rec.migration)?.destination;
        return real(dest) ? [dest] : [];
      }
      default: return [];
    }
  };
}
