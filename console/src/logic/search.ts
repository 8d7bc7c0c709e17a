// Finding any object by what an administrator has at hand: a name, a MAC, an address, a uuid.
// Each hit says which view shows it (a route) and what to select there. Pure; the index is built
// once per version of the cache.

import { routeOf } from './focus.ts';
import { pifName } from './net.ts';
import type { Route } from './route.ts';
import { natural, str, strs, type Rec, type Ref, type Store } from './store.ts';
import { isGuest, networkTitle } from './topology.ts';

const uuidCache = new WeakMap<Store, { version: number; map: Map<string, { cls: string; ref: Ref }> }>();
const INDEXED = ['host', 'network', 'vm', 'vif', 'pif'];

/** Every object of the cache by its uuid (lower case). */
export function uuidIndex(store: Store): ReadonlyMap<string, { cls: string; ref: Ref }> {
  const version = store.versionOf(...INDEXED);
  const hit = uuidCache.get(store);
  if (hit && hit.version === version) return hit.map;
  const map = new Map<string, { cls: string; ref: Ref }>();
  for (const cls of INDEXED) {
    for (const [ref, r] of store.table(cls)) {
      const u = str(r, 'uuid').toLowerCase();
      if (u) map.set(u, { cls, ref });
    }
  }
  uuidCache.set(store, { version, map });
  return map;
}

export type HitKind = 'host' | 'network' | 'vm' | 'vif' | 'pif';

export interface Hit {
  readonly kind: HitKind;
  readonly ref: Ref;
  /** What the list shows: "VM web", "VIF 0 of web". */
  readonly title: string;
  /** The key that matched ("02:16:00:01:00:01", "10.77.0.101"...). */
  readonly matched: string;
  /** Where it is shown. */
  readonly route: Route;
}

interface Entry { readonly kind: HitKind; readonly ref: Ref; readonly title: string; readonly keys: readonly string[]; readonly route: Route }

const indexCache = new WeakMap<Store, { version: number; entries: Entry[] }>();

function entries(store: Store): Entry[] {
  const hit = indexCache.get(store);
  if (hit && hit.version === store.version) return hit.entries;
  const out: Entry[] = [];
  const add = (kind: HitKind, ref: Ref, title: string, keys: string[]) => {
    const route = routeOf(store, kind, ref);
    if (route) out.push({ kind, ref, title, keys, route });
  };
  const uuid = (r: Rec) => str(r, 'uuid');
  for (const [ref, h] of store.table('host')) add('host', ref, `host ${str(h, 'name_label')}`, [str(h, 'name_label'), str(h, 'hostname'), str(h, 'address'), uuid(h)]);
  for (const [ref, n] of store.table('network')) add('network', ref, `network ${networkTitle(store, ref)}`, [str(n, 'name_label'), str(n, 'bridge'), uuid(n)]);
  for (const [ref, v] of store.table('vm')) {
    if (isGuest(v)) add('vm', ref, `VM ${str(v, 'name_label')}`, [str(v, 'name_label'), uuid(v)]);
  }
  for (const [ref, f] of store.table('vif')) {
    const vm = store.get('vm', f.VM);
    if (!isGuest(vm)) continue;
    add('vif', ref, `VIF ${str(f, 'device')} of ${str(vm, 'name_label')}`,
      [str(f, 'MAC'), ...strs(f, 'ipv4_allowed'), ...strs(f, 'ipv6_allowed'), ...strs(f, 'ipv4_addresses'), ...strs(f, 'ipv6_addresses'), uuid(f)]);
  }
  for (const [ref, p] of store.table('pif')) {
    const h = store.get('host', p.host);
    if (h) add('pif', ref, `interface ${pifName(store, p)} on ${str(h, 'name_label')}`, [str(p, 'MAC'), str(p, 'IP'), ...strs(p, 'IPv6'), uuid(p)]);
  }
  indexCache.set(store, { version: store.version, entries: out });
  return out;
}

const RANK: Record<HitKind, number> = { host: 0, network: 1, vm: 2, vif: 3, pif: 4 };

/**
 * The objects matching `query` (case-insensitive; a MAC may be typed with '-' or without
 * separators): exact matches first, then prefixes, then anywhere; at most `limit`.
 */
export function search(store: Store, query: string, limit = 20): Hit[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hex = q.replace(/[-:.]/g, '');
  const macLike = /^[0-9a-f]{4,12}$/.test(hex) && /[-:.]|^[0-9a-f]{12}$/.test(q);
  const scored: { e: Entry; key: string; score: number }[] = [];
  for (const e of entries(store)) {
    let best = -1, bestKey = '';
    for (const k of e.keys) {
      if (!k) continue;
      const kl = k.toLowerCase();
      let s = kl === q ? 3 : kl.startsWith(q) ? 2 : kl.includes(q) ? 1 : -1;
      if (s < 0 && macLike && /^[0-9a-f:]{17}$/.test(kl)) {
        const kh = kl.replace(/:/g, '');
        s = kh === hex ? 3 : kh.startsWith(hex) ? 2 : kh.includes(hex) ? 1 : -1;
      }
      if (s > best) { best = s; bestKey = k; }
    }
    if (best >= 0) scored.push({ e, key: bestKey, score: best });
  }
  scored.sort((a, b) => b.score - a.score || RANK[a.e.kind] - RANK[b.e.kind] || natural(a.e.title, b.e.title));
  return scored.slice(0, limit).map(({ e, key }) => ({ kind: e.kind, ref: e.ref, title: e.title, matched: key, route: e.route }));
}
