// The overview: every network (rows) by every host (columns), readable at XenServer's limits
// (64 hosts, thousands of VIFs). A cell is shaded when the host reaches the network through an
// interface and holds the number of VIFs of the VMs running there; red marks spoofing alarms.
// Rows, columns and cells lead to the focus views.

import { memo } from 'preact/compat';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { NETWORK_KINDS } from '../logic/networkKinds.ts';
import { overview, type OverviewHost, type OverviewNetwork } from '../logic/overview.ts';
import { formatRoute, type Route } from '../logic/route.ts';
import type { Ref } from '../logic/store.ts';
import { stats } from '../stats.ts';
import { AlarmPanel } from './AlarmPanel.tsx';
import { useApp } from './common.tsx';

function cellTitle(h: OverviewHost, n: OverviewNetwork, i: number): string {
  const c = n.cells[i];
  const parts = [`${n.title} on ${h.name}`, c.reached ? 'reached through an interface of the host' : 'not reached through an interface of the host'];
  if (c.vifs) parts.push(`${c.vifs} VIF${c.vifs === 1 ? '' : 's'} of VMs running there`);
  if (c.alarms) parts.push(`${c.alarms} in a spoofing alarm`);
  return parts.join(' · ');
}

const NAME_W = 220, CELL_W = 18, TOTAL_W = 56;

/** What the overview reads: it is computed again only when one of these changed. */
const OVERVIEW_CLASSES = ['host', 'network', 'pif', 'vm', 'vif', 'vlan', 'bond', 'tunnel', 'network_sriov'];

/** One network's row; drawn again only when what it shows changed (a pool's events touch few rows). */
function RowImpl({ n, hosts, go }: { n: OverviewNetwork; hosts: readonly OverviewHost[]; go: (r: Route) => void }) {
  const link = (e: Event) => { e.preventDefault(); go({ view: 'network', uuid: n.uuid }); };
  return (
    <tr data-network={n.title} data-uuid={n.uuid} data-alarms={n.alarms} class={n.alarms ? 'alarm' : ''}>
      <th class="net-row" title={`${n.title}: ${NETWORK_KINDS[n.kind].label}${n.vlan !== undefined ? `, VLAN ${n.vlan}` : ''}`}>
        <a href={formatRoute({ view: 'network', uuid: n.uuid })} onClick={link}>{n.title}</a>
        <span class={`kind net-${n.kind}`}>{NETWORK_KINDS[n.kind].label}</span>
      </th>
      {n.cells.map((c, i) => (
        <td key={i} class={`${c.reached ? 'reached' : ''}${c.alarms ? ' alarm' : ''}`} title={cellTitle(hosts[i], n, i)} onClick={link}>{c.vifs || ''}</td>
      ))}
      <td class="total" data-testid="net-hosts">{n.hosts}</td>
      <td class="total" data-testid="net-vifs">{n.vifs}{n.alarms ? <span class="alarm-text"> ⚠{n.alarms}</span> : null}</td>
    </tr>
  );
}
const sameRow = (a: OverviewNetwork, b: OverviewNetwork) => a.ref === b.ref && a.uuid === b.uuid && a.title === b.title && a.kind === b.kind && a.vlan === b.vlan
  && a.hosts === b.hosts && a.vifs === b.vifs && a.alarms === b.alarms && a.cells.length === b.cells.length
  && a.cells.every((c, i) => c.reached === b.cells[i].reached && c.vifs === b.cells[i].vifs && c.alarms === b.cells[i].alarms);
const sameHosts = (a: readonly OverviewHost[], b: readonly OverviewHost[]) => a === b || (a.length === b.length && a.every((h, i) => h.ref === b[i].ref && h.name === b[i].name));
const Row = memo(RowImpl, (a, b) => sameRow(a.n, b.n) && sameHosts(a.hosts, b.hosts));

export function Overview({ alarms, go }: { alarms: ReadonlyMap<Ref, unknown>; go: (r: Route) => void }) {
  const { store } = useApp();
  const ov = useMemo(() => overview(store, alarms), [store.versionOf(...OVERVIEW_CLASSES), alarms]);
  useEffect(() => {
    requestAnimationFrame(() => {
      const at = performance.now();
      stats.firstViewAt ??= at;
      stats.viewReady = { route: '#/', at };
    });
  });
  const link = (r: Route) => (e: Event) => { e.preventDefault(); go(r); };
  // one function for every row, so that a row's memo is not defeated by a new closure
  const goLatest = useRef(go);
  goLatest.current = go;
  const goRef = useMemo(() => (r: Route) => goLatest.current(r), []);
  return (
    <div class="overview" data-testid="overview" data-hosts={ov.hosts.length} data-networks={ov.networks.length} data-vifs={ov.vifs}>
      <p class="summary">
        <b>{ov.hosts.length}</b> hosts · <b>{ov.networks.length}</b> networks · <b>{ov.vms}</b> VMs · <b>{ov.vifs}</b> VIFs
        {ov.idleVifs > 0 && <span class="muted"> ({ov.idleVifs} on VMs that are not running)</span>}
        {' · '}<span class={ov.alarms ? 'alarm-text' : 'muted'} data-testid="alarm-total">{ov.alarms} VIF{ov.alarms === 1 ? '' : 's'} in a spoofing alarm</span>
        <span class="muted"> — a shaded cell: the host reaches the network; its number: VIFs of the VMs running there. Click a network, a host or a cell to see it in detail.</span>
      </p>
      <AlarmPanel alarms={alarms} go={go} />
      <div class="matrix-wrap">
        {/* fixed widths: a change redraws one row without measuring the whole table again */}
        <table class="matrix" data-testid="overview-matrix" style={{ width: `${NAME_W + ov.hosts.length * CELL_W + 2 * TOTAL_W}px` }}>
          <colgroup>
            <col style={{ width: `${NAME_W}px` }} />
            {ov.hosts.map((h) => <col key={h.ref} style={{ width: `${CELL_W}px` }} />)}
            <col style={{ width: `${TOTAL_W}px` }} />
            <col style={{ width: `${TOTAL_W}px` }} />
          </colgroup>
          <thead>
            <tr>
              <th class="corner">network \ host</th>
              {ov.hosts.map((h) => (
                <th key={h.ref} class={`host-col${h.alarms ? ' alarm' : ''}`} data-host={h.name} data-uuid={h.uuid} data-alarms={h.alarms} title={`${h.name}: ${h.vms} VMs, ${h.vifs} VIFs${h.alarms ? `, ${h.alarms} in alarm` : ''}`}>
                  <a href={formatRoute({ view: 'host', uuid: h.uuid })} onClick={link({ view: 'host', uuid: h.uuid })}><span>{h.name}</span></a>
                </th>
              ))}
              <th class="total">hosts</th>
              <th class="total">VIFs</th>
            </tr>
          </thead>
          <tbody>
            {ov.networks.map((n) => <Row key={n.ref} n={n} hosts={ov.hosts} go={goRef} />)}
          </tbody>
          <tfoot>
            <tr>
              <th class="corner">VIFs per host</th>
              {ov.hosts.map((h) => <td key={h.ref} class={`total${h.alarms ? ' alarm' : ''}`} data-host={h.name}>{h.vifs}</td>)}
              <td class="total" />
              <td class="total">{ov.vifs}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </div>
  );
}
