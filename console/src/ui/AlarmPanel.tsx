// Recent spoofing alarms: the pool's VIF_LOCKING_DROPS messages, newest first, and the VIFs whose
// drop counts are rising now; each leads to its VM's view with the VIF selected.

import { useMemo } from 'preact/hooks';
import { alarmMessages, reasonText, vifDrops, type VifAlarm } from '../logic/alarms.ts';
import { routeOf } from '../logic/focus.ts';
import type { Route } from '../logic/route.ts';
import { str, type Ref, type Store } from '../logic/store.ts';
import { readableAt } from '../logic/time.ts';
import { networkTitle } from '../logic/topology.ts';
import { useApp } from './common.tsx';

const MAX_ROWS = 50;

function where(store: Store, vif: Ref | undefined): { vm: string; vifUuid: string; device: string; network: string; host: string } | undefined {
  const v = store.get('vif', vif);
  if (!v) return undefined;
  const vm = store.get('vm', v.VM);
  return {
    vm: str(vm, 'name_label'), vifUuid: str(v, 'uuid'), device: str(v, 'device'),
    network: networkTitle(store, v.network), host: str(store.get('host', vm?.resident_on), 'name_label'),
  };
}

export const dropsText = (store: Store, vif: Ref | undefined): string =>
  (vifDrops(store.get('vif', vif))?.byReason ?? []).filter((r) => r.count > 0).map((r) => `${reasonText(r.reason)}: ${r.count}`).join(', ');

export function AlarmPanel({ alarms, go }: { alarms: ReadonlyMap<Ref, unknown>; go: (r: Route) => void }) {
  const { store } = useApp();
  const msgs = useMemo(() => alarmMessages(store), [store.versionOf('message', 'vif', 'vm', 'network', 'host')]);
  // VIFs in alarm that no message names yet (their counts rose while the page watched)
  const silent = useMemo(() => [...alarms.keys()].filter((r) => !msgs.some((m) => m.vif === r)), [alarms, msgs]);
  const now = Date.now();
  const open = (vif: Ref | undefined) => (e: Event) => { e.preventDefault(); const r = vif ? routeOf(store, 'vif', vif) : undefined; if (r) go(r); };
  if (!msgs.length && !silent.length) return <p class="muted alarm-panel none" data-testid="alarm-panel" data-count="0">No spoofing alarms: no VIF's locking rules are dropping frames.</p>;
  return (
    <section class="alarm-panel" data-testid="alarm-panel" data-count={msgs.length + silent.length}>
      <h3>Spoofing alarms</h3>
      <table class="grid">
        <thead><tr><th>When</th><th>VM</th><th>VIF</th><th>Network</th><th>Host</th><th>Dropped frames</th><th>Message</th></tr></thead>
        <tbody>
          {silent.map((r) => {
            const w = where(store, r);
            const a = alarms.get(r) as VifAlarm | undefined;
            return (
              <tr key={r} class="clickable" data-vif={w?.vifUuid} data-kind="rising" onClick={open(r)}>
                <td>{a?.changedAt ? readableAt(a.changedAt, now) : 'now'}</td>
                <td>{w?.vm}</td><td>{w?.device}</td><td>{w?.network}</td><td>{w?.host}</td>
                <td data-testid="drops">{dropsText(store, r)}</td>
                <td class="muted">rising (no message yet)</td>
              </tr>
            );
          })}
          {msgs.slice(0, MAX_ROWS).map((m) => {
            const w = where(store, m.vif);
            return (
              <tr key={m.ref} class="clickable" data-ref={m.ref} data-vif={w?.vifUuid ?? m.uuid} data-kind="message" onClick={open(m.vif)}>
                <td title={m.at ? new Date(m.at).toISOString() : ''}>{m.at ? readableAt(m.at, now) : ''}</td>
                <td>{w?.vm ?? <span class="muted">VIF {m.uuid} (gone)</span>}</td><td>{w?.device}</td><td>{w?.network}</td><td>{w?.host}</td>
                <td data-testid="drops">{w ? dropsText(store, m.vif) : ''}</td>
                <td>{m.body}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {msgs.length > MAX_ROWS && <p class="muted">{msgs.length - MAX_ROWS} older alarms in the Alerts table.</p>}
    </section>
  );
}
