// network: create/destroy and the default locking mode (xapi_network.ml).

import { XapiError } from '../model/index.ts';
import type { Ctx, ImplTable, Services } from '../api/context.ts';
import { now } from '../api/marshal.ts';
import { plug } from './pif.ts';

// nbd and insecure_nbd exclude each other pool-wide: a client must know which one the pool offers
const CONFLICTING_PURPOSE = { nbd: 'insecure_nbd', insecure_nbd: 'nbd' } as const;

const RESERVED_PREFIXES = ['xen', 'xapi', 'vif', 'tap', 'eth'];

/** The next free xapi<N> bridge name. */
export function nextBridgeName(used: ReadonlySet<string>): string {
  for (let n = 0; ; n++) if (!used.has(`xapi${n}`)) return `xapi${n}`;
}

/**
 * What a daemon adds to the services when it knows the bridges of a host's switch (its own, from
 * the kernel and Open vSwitch; a member's, as it reported them): src/daemon/serve.ts.
 * Undefined: not known (a host that has not reported), and then nothing is refused on that ground.
 */
export interface BridgeFacts {
  readonly hostBridges?: (host: string) => readonly string[] | undefined;
}

const hostBridges = (ctx: Ctx, host: string): readonly string[] | undefined => (ctx.svc as Services & BridgeFacts).hostBridges?.(host);

/**
 * Bring a network up on a host (xapi's attach_internal): its managed PIFs there are plugged
 * (all of them when forced, else only those not attached yet). The agent realises the bridge,
 * including an internal one, from the records. An unmanaged network's bridge is the admin's: the
 * host must have it, or BRIDGE_NOT_AVAILABLE [bridge], as xapi asks its network daemon.
 */
function attachOnHost(ctx: Ctx, network: string, host: string, force: boolean): void {
  const n = ctx.tx.must('network', network);
  if (!n.rec.managed) {
    const bridges = hostBridges(ctx, host);
    if (bridges && !bridges.includes(n.rec.bridge)) throw new XapiError('BRIDGE_NOT_AVAILABLE', [n.rec.bridge]);
    return;
  }
  for (const ref of ctx.db.referrers(n.ref, 'PIF', 'network')) {
    const pif = ctx.db.getOf('PIF', ref)!;
    if (pif.rec.host !== host || !pif.rec.managed) continue;
    if (force || !pif.rec.currently_attached) plug(ctx, pif);
  }
}

export const networkImpls: ImplTable = {
  'network.create': (ctx, a) => {
    const args = { ...(a.args) };
    const used = new Set(ctx.tx.all('network').map((n) => n.rec.bridge));
    const bridge = args.bridge ?? '';
    if (bridge === '') args.bridge = nextBridgeName(used);
    else {
      // intra-pool sessions (pool join) may use any name; users may not take the system's prefixes
      if (!ctx.session?.rec.pool && (bridge.length > 15 || RESERVED_PREFIXES.some((p) => bridge.startsWith(p)))) throw new XapiError('INVALID_VALUE', ['bridge', bridge]);
      if (used.has(bridge)) throw new XapiError('BRIDGE_NAME_EXISTS', [bridge]);
    }
    if (typeof args.MTU !== 'number' || args.MTU <= 0) args.MTU = 1500;
    return ctx.tx.create('network', { ...args, purpose: [], default_locking_mode: 'unlocked', assigned_ips: {}, blobs: {} });
  },
  'network.destroy': (ctx, a) => {
    const n = ctx.tx.must('network', a.self);
    const vifs = ctx.db.referrers(n.ref, 'VIF', 'network');
    const active = vifs.filter((v) => ctx.db.getOf('VIF', v)?.rec.currently_attached || ctx.db.getOf('VIF', v)?.rec.reserved);
    if (active.length) throw new XapiError('NETWORK_CONTAINS_VIF', active);
    const pifs = ctx.db.referrers(n.ref, 'PIF', 'network');
    if (pifs.length) throw new XapiError('NETWORK_CONTAINS_PIF', pifs);
    if (n.rec.other_config.is_host_internal_management_network === 'true') throw new XapiError('CANNOT_DESTROY_SYSTEM_NETWORK', [n.ref]);
    for (const v of vifs) ctx.tx.delete(v);
    ctx.tx.delete(n.ref);
  },
  'network.set_default_locking_mode': (ctx, a) => {
    const n = ctx.tx.must('network', a.network);
    const attached = ctx.db.referrers(n.ref, 'VIF', 'network').find((v) => ctx.db.getOf('VIF', v)?.rec.currently_attached);
    if (attached) throw new XapiError('VIF_IN_USE', [n.ref, attached]);
    ctx.tx.update(n, { default_locking_mode: a.value });
  },
  'network.add_purpose': (ctx, a) => {
    const n = ctx.tx.must('network', a.self);
    if (!n.rec.managed) throw new XapiError('NETWORK_UNMANAGED', [n.ref]);
    if (n.rec.purpose.includes(a.value)) return;
    const conflict = CONFLICTING_PURPOSE[a.value];
    if (ctx.tx.all('network').some((o) => o.rec.purpose.includes(conflict))) {
      throw new XapiError('NETWORK_INCOMPATIBLE_PURPOSES', [a.value, conflict]);
    }
    ctx.tx.update(n, { purpose: [a.value, ...n.rec.purpose] });
  },
  'network.remove_purpose': (ctx, a) => {
    const n = ctx.tx.must('network', a.self);
    if (n.rec.purpose.includes(a.value)) ctx.tx.update(n, { purpose: n.rec.purpose.filter((x) => x !== a.value) });
  },
  'network.pool_introduce': (ctx, a) => ctx.tx.create('network', {
    name_label: a.name_label, name_description: a.name_description, MTU: a.MTU, other_config: a.other_config,
    bridge: a.bridge, managed: a.managed, purpose: a.purpose, tags: [], default_locking_mode: 'unlocked', assigned_ips: {}, blobs: {},
  }),
  'network.attach': (ctx, a) => { attachOnHost(ctx, a.network, ctx.tx.must('host', a.host).ref, true); },
  'network.attach_for_vm': (ctx, a) => {
    const host = ctx.tx.must('host', a.host).ref;
    for (const vif of ctx.db.referrers(ctx.tx.must('VM', a.vm).ref, 'VIF', 'VM')) attachOnHost(ctx, ctx.db.getOf('VIF', vif)!.rec.network, host, false);
  },
  // xapi forgets the VIFs in its in-memory table and drops internal bridges left without ports;
  // here the agent drops such bridges from the records, so only the references are checked
  'network.detach_for_vm': (ctx, a) => { ctx.tx.must('host', a.host); ctx.tx.must('VM', a.vm); },
  'network.create_new_blob': (ctx, a) => {
    const n = ctx.tx.must('network', a.network);
    const ref = ctx.tx.create('blob', { name_label: '', name_description: '', size: 0, public: a.public, last_updated: now(), mime_type: a.mime_type });
    ctx.tx.update(n, { blobs: { ...n.rec.blobs, [a.name]: ref } });
    return ref;
  },
};
