// pool: the pool-wide flags networking acts on.

import type { ImplTable } from '../api/context.ts';

export const poolImpls: ImplTable = {
  // HA itself is outside networking; the flag gates bonds and management changes as in xapi.
  'pool.set_ha_enabled': (ctx, a) => { ctx.tx.update(ctx.tx.must('pool', a.self as string).ref, { ha_enabled: a.value }); },
};
