// The overview of a pool of any size: networks (rows) by hosts (columns). A cell says whether the
// host reaches the network through one of its interfaces, how many VIFs of the VMs running there
// are on it, and whether any of them is in a spoofing alarm. One pass over the cache. Pure.

import type { NetworkKind } from '../../../src/domain/index.ts';
import { cmp, isRef, natural, str, strs, type Ref, type Store } from './store.ts';
import { isGuest, networkHosts, networkKind, networkTitles, networkVlan } from './topology.ts';

export interface OverviewHost {
  readonly ref: Ref;
  readonly uuid: string;
  readonly name: string;
  readonly vms: number;
  readonly vifs: number;
  readonly alarms: number;
}

export interface Cell {
  readonly reached: boolean;
  readonly vifs: number;
  readonly alarms: number;
}

export interface OverviewNetwork {
  readonly ref: Ref;
  readonly uuid: string;
  readonly title: string;
  readonly kind: NetworkKind;
  readonly vlan?: number;
  readonly hosts: number;
  readonly vifs: number;
  readonly alarms: number;
  /** One per host, in `Overview.hosts` order. */
  readonly cells: readonly Cell[];
}

export interface Overview {
  readonly hosts: readonly OverviewHost[];
  readonly networks: readonly OverviewNetwork[];
  readonly vms: number;
  readonly vifs: number;
  /** VIFs of VMs that run nowhere (halted): counted in their network's total only. */
  readonly idleVifs: number;
  readonly alarms: number;
}

const KIND_ORDER: readonly NetworkKind[] = ['external', 'bonded', 'vlan', 'private', 'sriov', 'internal'];

export function overview(store: Store, alarms: ReadonlySet<Ref> | ReadonlyMap<Ref, unknown>): Overview {
  const hostRows = store.all('host').sort((a, b) => natural(str(a[1], 'name_label'), str(b[1], 'name_label')) || cmp(a[0], b[0]));
  const col = new Map(hostRows.map(([r], i) => [r, i]));
  const hostVms = new Array<number>(hostRows.length).fill(0);
  const hostVifs = new Array<number>(hostRows.length).fill(0);
  const hostAlarms = new Array<number>(hostRows.length).fill(0);

  const titles = networkTitles(store);
  const nets = store.all('network').map(([ref, n]) => ({ ref, n, kind: networkKind(store, n) }));
  nets.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || natural(titles.get(a.ref) ?? '', titles.get(b.ref) ?? '') || cmp(a.ref, b.ref));
  const row = new Map(nets.map((x, i) => [x.ref, i]));
  const cells = nets.map(() => hostRows.map(() => ({ reached: false, vifs: 0, alarms: 0 })));
  const netVifs = new Array<number>(nets.length).fill(0);
  const netAlarms = new Array<number>(nets.length).fill(0);
  nets.forEach(({ n }, i) => { for (const h of networkHosts(store, n)) { const c = col.get(h); if (c !== undefined) cells[i][c].reached = true; } });

  let vms = 0, vifs = 0, idle = 0, alarmCount = 0;
  for (const [vr, vm] of store.table('vm')) {
    if (!isGuest(vm)) continue;
    vms++;
    const c = isRef(vm.resident_on) ? col.get(vm.resident_on) : undefined;
    if (c !== undefined) hostVms[c]++;
    for (const f of strs(vm, 'VIFs')) {
      const v = store.get('vif', f);
      if (!v || v.VM !== vr) continue;
      vifs++;
      const r = row.get(str(v, 'network'));
      const alarm = alarms.has(f);
      if (alarm) alarmCount++;
      if (r !== undefined) { netVifs[r]++; if (alarm) netAlarms[r]++; }
      if (c === undefined) { idle++; continue; }
      hostVifs[c]++;
      if (alarm) hostAlarms[c]++;
      if (r !== undefined) { cells[r][c].vifs++; if (alarm) cells[r][c].alarms++; }
    }
  }
  return {
    hosts: hostRows.map(([ref, h], i) => ({ ref, uuid: str(h, 'uuid'), name: str(h, 'name_label') || str(h, 'hostname'), vms: hostVms[i], vifs: hostVifs[i], alarms: hostAlarms[i] })),
    networks: nets.map(({ ref, n, kind }, i) => ({
      ref, uuid: str(n, 'uuid'), title: titles.get(ref) ?? str(n, 'name_label'), kind, vlan: networkVlan(store, n),
      hosts: cells[i].filter((c) => c.reached).length, vifs: netVifs[i], alarms: netAlarms[i], cells: cells[i],
    })),
    vms, vifs, idleVifs: idle, alarms: alarmCount,
  };
}
