// poolnet's built-in controller for cross-server private networks, on the master. The mesh of
// tunnels itself is derived by every host's agent from its replica (compile.ts); the controller
// keeps tunnel.status as the reference's contract says: `active` and the network's `key`.

import type { Database } from '../db/database.ts';
import { tunnelKey } from '../agent/compile.ts';

export class TunnelController {
  private pending = false;
  private stopped = false;

  constructor(private readonly db: Database, private readonly isMaster: () => boolean) {}

  start(): () => void {
    const off = this.db.onCommit(() => this.schedule());
    this.schedule();
    return () => { this.stopped = true; off(); };
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => { this.pending = false; this.update(); });
  }

  /** The status every tunnel should show now. */
  desired(): Map<string, Record<string, string>> {
    const out = new Map<string, Record<string, string>>();
    for (const t of this.db.all('tunnel')) {
      const access = this.db.getOf('PIF', t.rec.access_PIF);
      const transport = this.db.getOf('PIF', t.rec.transport_PIF);
      const net = access ? this.db.getOf('network', access.rec.network) : undefined;
      if (!access || !net) continue;
      const active = !!access.rec.currently_attached && !!transport?.rec.IP;
      out.set(t.ref, { ...t.rec.status, active: String(active), key: String(tunnelKey(net.rec.uuid)) });
    }
    return out;
  }

  update(): void {
    if (this.stopped || !this.isMaster()) return;
    let want: Map<string, Record<string, string>>;
    try { want = this.desired(); } catch { return; } // the database closed under us
    const changes = [...want].filter(([ref, st]) => JSON.stringify(this.db.getOf('tunnel', ref)?.rec.status) !== JSON.stringify(st));
    if (changes.length === 0) return;
    this.db.transact((tx) => { for (const [ref, status] of changes) tx.update('tunnel', ref, { status }); });
  }
}
