// The tables administrators know: interfaces per host, networks, VIFs, and the pool's alerts.

import { useMemo, useState } from 'preact/hooks';
import { vifRateKBs } from '../logic/net.ts';
import { vifDrops } from '../logic/alarms.ts';
import { cmp, natural, num, str, strs, type Rec, type Ref } from '../logic/store.ts';
import { effectiveLocking, interfaceRole, ipSummary, linkText, networkHosts, networkKind, networkTitle, networkVlan, pifKind } from '../logic/topology.ts';
import { allowed } from '../logic/model.ts';
import { readableTime } from '../logic/time.ts';
import { NETWORK_KINDS } from '../logic/networkKinds.ts';
import { ErrorBox, inputValue, useAction, useApp } from './common.tsx';

const byDevice = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'device'), str(b[1], 'device')) || num(a[1], 'VLAN') - num(b[1], 'VLAN');
const byName = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'name_label'), str(b[1], 'name_label'));

/** What a PIF is a part of: "member of bond0", "bond of eth1+eth2", "VLAN 5 on eth1"... */
export function membership(store: ReturnType<typeof useApp>['store'], p: Rec): string {
  const k = pifKind(p);
  const dev = (r: unknown) => str(store.get('pif', r), 'device');
  switch (k) {
    case 'physical': {
      const b = store.get('bond', p.bond_slave_of);
      const parts = [b ? `member of ${dev(b.master)}` : ''];
      const vlans = strs(p, 'VLAN_slave_of').map((v) => num(store.get('vlan', v), 'tag')).sort((x, y) => x - y);
      if (vlans.length) parts.push(`VLANs ${vlans.join(', ')}`);
      if (strs(p, 'sriov_physical_PIF_of').length) parts.push('SR-IOV enabled');
      return parts.filter(Boolean).join(' · ') || '—';
    }
    case 'bond_master': {
      const b = store.get('bond', strs(p, 'bond_master_of')[0]);
      const vlans = strs(p, 'VLAN_slave_of').map((v) => num(store.get('vlan', v), 'tag'));
      return [`bond of ${strs(b, 'slaves').map(dev).sort().join(' + ')} (${str(b, 'mode')})`, vlans.length ? `VLANs ${vlans.join(', ')}` : ''].filter(Boolean).join(' · ');
    }
    case 'vlan': {
      const v = store.get('vlan', p.VLAN_master_of);
      return `VLAN ${num(p, 'VLAN')} on ${dev(v?.tagged_PIF)}`;
    }
    case 'tunnel_access': {
      const t = store.get('tunnel', strs(p, 'tunnel_access_PIF_of')[0]);
      return `${str(t, 'protocol') || 'gre'} tunnel over ${dev(t?.transport_PIF)}`;
    }
    case 'sriov_logical': {
      const s = store.get('network_sriov', strs(p, 'sriov_logical_PIF_of')[0]);
      return `SR-IOV on ${dev(s?.physical_PIF)}`;
    }
    default: return '—';
  }
}

export function NicTables() {
  const { store, version, select } = useApp();
  const hosts = useMemo(() => store.all('host').sort(byName), [version]);
  const pifs = useMemo(() => store.all('pif').sort(byDevice), [version]);
  return (
    <div class="tables" data-testid="nic-tables">
      {hosts.map(([href, h]) => (
        <section key={href}>
          <h3>{str(h, 'name_label')} <span class="muted">{str(h, 'address')}</span></h3>
          <table class="grid" data-testid="nic-table" data-host={str(h, 'name_label')}>
            <thead><tr><th>Device</th><th>MAC</th><th>Link</th><th>Speed</th><th>Network</th><th>Bond / VLAN</th><th>IP configuration</th></tr></thead>
            <tbody>
              {pifs.filter(([, p]) => p.host === href).map(([ref, p]) => {
                const m = store.get('pif_metrics', p.metrics);
                const k = pifKind(p);
                const link = linkText(m);
                const speed = num(m, 'speed');
                const role = interfaceRole(p);
                return (
                  <tr key={ref} data-ref={ref} data-device={str(p, 'device')} data-vlan={num(p, 'VLAN')} onClick={() => select({ kind: 'pif', ref })} class="clickable">
                    <td>{str(p, 'device')}{num(p, 'VLAN') >= 0 ? `.${num(p, 'VLAN')}` : ''}</td>
                    <td><code>{str(p, 'MAC')}</code></td>
                    <td>{k === 'physical' ? (link.up ? 'connected' : 'disconnected') : (p.currently_attached ? 'attached' : 'detached')}</td>
                    <td>{k === 'physical' && speed > 0 ? `${speed} Mbit/s` : '—'}</td>
                    <td>{networkTitle(store, p.network)}</td>
                    <td>{membership(store, p)}</td>
                    <td>{role ? <span class={`tag ${role}`}>{role}</span> : null} {ipSummary(p) || (str(p, 'ip_configuration_mode') === 'None' ? 'none' : '')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}

export function NetworkTable() {
  const { store, version, select } = useApp();
  const rows = useMemo(() => store.all('network').sort(byName), [version]);
  return (
    <table class="grid" data-testid="network-table">
      <thead><tr><th>Name</th><th>Kind</th><th>Bridge</th><th>VLAN</th><th>MTU</th><th>Default locking mode</th><th>Hosts that reach it</th><th>VIFs</th></tr></thead>
      <tbody>
        {rows.map(([ref, n]) => {
          const vlan = networkVlan(store, n);
          const hosts = networkHosts(store, n).map((h) => str(store.get('host', h), 'name_label')).sort();
          return (
            <tr key={ref} data-ref={ref} data-name={str(n, 'name_label')} class="clickable" onClick={() => select({ kind: 'network', ref })}>
              <td>{networkTitle(store, ref)}</td>
              <td>{NETWORK_KINDS[networkKind(store, n)].label}</td>
              <td><code>{str(n, 'bridge')}</code></td>
              <td>{vlan ?? '—'}</td>
              <td>{num(n, 'MTU')}</td>
              <td>{str(n, 'default_locking_mode')}</td>
              <td data-testid="hosts">{hosts.length ? hosts.join(', ') : strs(n, 'PIFs').length ? 'none (its interfaces are bond members)' : 'none (internal to each host)'}</td>
              <td>{strs(n, 'VIFs').length}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function VifTable() {
  const { store, version, select, alarms } = useApp();
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => store.all('vif').map(([ref, v]) => {
    const vm = store.get('vm', v.VM);
    const eff = effectiveLocking(store, v);
    return { ref, v, vm: str(vm, 'name_label'), net: networkTitle(store, v.network), eff, addrs: [...strs(v, 'ipv4_allowed'), ...strs(v, 'ipv6_allowed')], rate: vifRateKBs(v) };
  }).sort((a, b) => natural(a.vm, b.vm) || natural(str(a.v, 'device'), str(b.v, 'device'))), [version]);
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.filter((r) => [r.vm, r.net, str(r.v, 'MAC'), r.eff.mode, ...r.addrs].some((x) => x.toLowerCase().includes(f))) : rows;
  return (
    <div>
      <input class="filter" placeholder="Filter by VM, network, MAC, mode or address" value={filter} onInput={(e) => setFilter(inputValue(e))} aria-label="Filter VIFs" />
      <span class="muted"> {shown.length} of {rows.length} VIFs</span>
      <table class="grid" data-testid="vif-table">
        <thead><tr><th>VM</th><th>Device</th><th>Network</th><th>MAC</th><th>Effective locking mode</th><th>Allowed addresses</th><th>Rate limit (kB/s)</th><th title="Frames its locking rules dropped (a poolnet extension)">Dropped</th></tr></thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.ref} data-ref={r.ref} data-vm={r.vm} class="clickable" onClick={() => select({ kind: 'vif', ref: r.ref })}>
              <td>{r.vm}</td>
              <td>{str(r.v, 'device')}</td>
              <td>{r.net}</td>
              <td><code>{str(r.v, 'MAC')}</code></td>
              <td data-testid="effective-mode"><span class={`tag lock-${r.eff.mode}`}>{r.eff.mode}</span> <span class="muted">{r.eff.source === 'network' ? '(network default)' : '(VIF setting)'}</span></td>
              <td data-testid="allowed">{r.addrs.join(', ') || '—'}</td>
              <td>{r.rate !== undefined ? `${r.rate} kB/s` : 'no limit'}</td>
              <td data-testid="dropped" class={alarms.has(r.ref) ? 'alarm-text' : ''}>{vifDrops(r.v)?.total ?? '—'}{alarms.has(r.ref) ? ' ⚠' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The pool's alerts, newest first; a role that may (message.destroy) can dismiss one. */
export function Alerts() {
  const { store, version, session } = useApp();
  const rows = useMemo(() => store.all('message').sort((a, b) => cmp(str(b[1], 'timestamp'), str(a[1], 'timestamp'))), [version]);
  const canDismiss = allowed(session.who, 'message.destroy');
  const action = useAction();
  if (!rows.length) return <p class="muted">No alerts.</p>;
  const now = Date.now();
  return (
    <div>
      <ErrorBox failure={action.failure} />
      <table class="grid" data-testid="alerts">
        <thead><tr><th>When</th><th>Alert</th><th>Details</th>{canDismiss && <th />}</tr></thead>
        <tbody>{rows.map(([ref, m]) => (
          <tr key={ref} data-ref={ref} data-name={str(m, 'name')}>
            <td data-testid="when" title={str(m, 'timestamp')}>{readableTime(m.timestamp, now)}</td>
            <td><code>{str(m, 'name')}</code></td>
            <td>{str(m, 'body')}</td>
            {canDismiss && <td><button data-action="dismiss-alert" disabled={action.busy} onClick={() => { void action.run(async () => { await session.call('message.destroy', ref); }); }}>Dismiss</button></td>}
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}
