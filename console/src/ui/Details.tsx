// The side panel: what is selected (in the picture or a table), the actions the session's role
// allows on it, and every field of its record, listed from the datamodel.

import type { ComponentChildren } from 'preact';
import { publicFields, type FieldType } from '../logic/model.ts';
import { pifName } from '../logic/net.ts';
import { isRef, str, strs, type Rec, type Ref, type Store } from '../logic/store.ts';
import { reasonText, vifDrops } from '../logic/alarms.ts';
import { routeOf } from '../logic/focus.ts';
import { formatRoute } from '../logic/route.ts';
import { describeRef, effectiveLocking, interfaceRole, ipSummary, lockingMeaning, networkKind, networkTitle } from '../logic/topology.ts';
import { readableAt, readableTime } from '../logic/time.ts';
import { NETWORK_KINDS } from '../logic/networkKinds.ts';
import { DestroyBondDialog } from './dialogs/DestroyBondDialog.tsx';
import { IpConfigDialog } from './dialogs/IpConfigDialog.tsx';
import { ManagementDialog } from './dialogs/ManagementDialog.tsx';
import { NetworkLockingDialog } from './dialogs/NetworkLockingDialog.tsx';
import { NewBondDialog } from './dialogs/NewBondDialog.tsx';
import { RemoveNetworkDialog } from './dialogs/RemoveNetworkDialog.tsx';
import { VifLockingDialog } from './dialogs/VifLockingDialog.tsx';
import { VifRateDialog } from './dialogs/VifRateDialog.tsx';
import { useApp, useCan, type Selection } from './common.tsx';
import { membership } from './Tables.tsx';

const CLASS_OF: Record<string, string> = { host: 'host', nic: 'PIF', bond: 'PIF', pif: 'PIF', network: 'network', vif: 'VIF', vm: 'VM' };

function format(store: Store, t: FieldType, v: unknown): string {
  if (v === undefined) return '';
  if (t.k === 'ref') return isRef(v) ? describeRef(store, v) ?? String(v) : '—';
  if (t.k === 'datetime') return readableTime(v);
  if (t.k === 'set') return (v as unknown[]).map((x) => format(store, t.of, x)).join(', ');
  if (t.k === 'map') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${format(store, t.key, k)}: ${format(store, t.value, x)}`).join('; ');
  return String(v);
}

function Fields({ cls, rec }: { cls: string; rec: Rec }) {
  const { store } = useApp();
  return (
    <details class="fields">
      <summary>All fields ({cls})</summary>
      <table>
        <tbody>{publicFields(cls).map((f) => <tr key={f.name}><th title={f.doc}>{f.name}</th><td>{format(store, f.type, rec[f.name])}</td></tr>)}</tbody>
      </table>
    </details>
  );
}

function ActionButton({ methods, action, children, onClick }: { methods: string[]; action: string; children: ComponentChildren; onClick: () => void }) {
  const can = useCan();
  if (!can(...methods)) return null;
  return <button data-action={action} title={methods.join(', ')} onClick={onClick}>{children}</button>;
}

/** What the VIF's locking rules dropped, per reason (a poolnet extension: absent on other servers). */
function DropsTable({ vif, rec }: { vif: Ref; rec: Rec }) {
  const { alarms } = useApp();
  const d = vifDrops(rec);
  const a = alarms.get(vif);
  if (!d) return <p class="muted" data-testid="drops" data-total="">The server does not report frames dropped by this VIF's locking rules.</p>;
  return (
    <div class={`drops${a ? ' alarm' : ''}`} data-testid="drops" data-total={d.total} data-alarm={String(!!a)}>
      <p>
        {a ? <b class="alarm-text">Spoofing alarm: </b> : null}
        Frames dropped by its locking rules: <b data-testid="drops-total">{d.total}</b>
        {a && a.rose > 0 ? <span> ({a.rose} since this page opened)</span> : null}
        {d.changedAt ? <span class="muted"> · last rise {readableAt(d.changedAt)}</span> : null}
      </p>
      {d.byReason.length > 0 && (
        <table class="grid compact">
          <tbody>{d.byReason.map((r) => <tr key={r.reason} data-reason={r.reason}><th>{reasonText(r.reason)}</th><td data-testid="count">{r.count}</td></tr>)}</tbody>
        </table>
      )}
    </div>
  );
}

/** A link to the focus view of an object (a VIF: its VM's, with the VIF selected; an interface: its host's). */
function FocusLink({ cls, ref }: { cls: string; ref: Ref }) {
  const { store, go } = useApp();
  const r = routeOf(store, cls, ref);
  if (!r) return null;
  return <a class="focus-link" data-focus={r.view} href={formatRoute(r)} onClick={(e) => { e.preventDefault(); go(r); }}>Open the {r.view === 'vm' ? 'VM' : r.view}'s view</a>;
}

export function Details({ sel }: { sel: Selection }) {
  const { store, open, select } = useApp();
  const cls = CLASS_OF[sel.kind] ?? sel.kind;
  const rec = store.get(cls, sel.ref);
  if (!rec) return <aside class="details"><p class="muted">The selected object is gone.</p><button onClick={() => select(undefined)}>Close</button></aside>;
  let title = '';
  let body: ComponentChildren = null;
  let actions: ComponentChildren = null;
  switch (cls) {
    case 'host': {
      title = `Host ${str(rec, 'name_label')}`;
      const mgmt = store.all('pif').find(([, p]) => p.host === sel.ref && p.management);
      body = <p>Management interface: <b>{mgmt ? `${pifName(store, mgmt[1])} ${ipSummary(mgmt[1])}` : 'none'}</b></p>;
      actions = (
        <>
          <ActionButton action="management" methods={['host.management_reconfigure']} onClick={() => open((close) => <ManagementDialog close={close} host={sel.ref} />)}>Management interface…</ActionButton>
          <ActionButton action="new-bond" methods={['network.create', 'Bond.create']} onClick={() => open((close) => <NewBondDialog close={close} host={sel.ref} />)}>Create bond…</ActionButton>
        </>
      );
      break;
    }
    case 'PIF': {
      const role = interfaceRole(rec);
      title = `Interface ${pifName(store, rec)} on ${str(store.get('host', rec.host), 'name_label')}`;
      body = (
        <>
          <p>{membership(store, rec)}</p>
          <p>Network: {networkTitle(store, rec.network)}</p>
          <p>IP configuration: {role ? <span class={`tag ${role}`}>{role}</span> : null} {ipSummary(rec) || 'none'}</p>
        </>
      );
      actions = (
        <>
          <ActionButton action="ip-config" methods={['PIF.reconfigure_ip']} onClick={() => open((close) => <IpConfigDialog close={close} pif={sel.ref} />)}>IP configuration…</ActionButton>
          {!rec.management && !isRef(rec.bond_slave_of) && <ActionButton action="make-management" methods={['host.management_reconfigure']} onClick={() => open((close) => <ManagementDialog close={close} host={str(rec, 'host')} pif={sel.ref} />)}>Make management interface…</ActionButton>}
          {strs(rec, 'bond_master_of').length > 0 && <ActionButton action="destroy-bond" methods={['Bond.destroy']} onClick={() => open((close) => <DestroyBondDialog close={close} pif={sel.ref} />)}>Remove bond…</ActionButton>}
        </>
      );
      break;
    }
    case 'network': {
      title = `Network ${networkTitle(store, sel.ref)}`;
      body = <p>{NETWORK_KINDS[networkKind(store, rec)].label} · bridge <code>{str(rec, 'bridge')}</code> · default locking mode <b>{str(rec, 'default_locking_mode')}</b></p>;
      actions = (
        <>
          <ActionButton action="network-locking" methods={['network.set_default_locking_mode']} onClick={() => open((close) => <NetworkLockingDialog close={close} network={sel.ref} />)}>Default locking mode…</ActionButton>
          <ActionButton action="remove-network" methods={['network.destroy']} onClick={() => open((close) => <RemoveNetworkDialog close={close} network={sel.ref} />)}>Remove network…</ActionButton>
        </>
      );
      break;
    }
    case 'VIF': {
      const eff = effectiveLocking(store, rec);
      title = `VIF ${str(rec, 'device')} of ${str(store.get('vm', rec.VM), 'name_label')}`;
      body = (
        <div data-testid="vif-details" data-effective-mode={eff.mode}>
          <p>Effective locking mode: <span class={`tag lock-${eff.mode}`}>{eff.mode}</span></p>
          <p class="muted">{eff.why} {lockingMeaning(rec, eff.mode)}</p>
          <DropsTable vif={sel.ref} rec={rec} />
        </div>
      );
      actions = (
        <>
          <ActionButton action="vif-locking" methods={['VIF.set_locking_mode', 'VIF.set_ipv4_allowed', 'VIF.set_ipv6_allowed']} onClick={() => open((close) => <VifLockingDialog close={close} vif={sel.ref} />)}>Port locking…</ActionButton>
          <ActionButton action="vif-rate" methods={['VIF.set_qos_algorithm_type', 'VIF.set_qos_algorithm_params']} onClick={() => open((close) => <VifRateDialog close={close} vif={sel.ref} />)}>Rate limit…</ActionButton>
        </>
      );
      break;
    }
    case 'VM': {
      title = `VM ${str(rec, 'name_label')}`;
      body = <ul>{strs(rec, 'VIFs').map((r) => <li key={r}><a href="#" onClick={(e) => { e.preventDefault(); select({ kind: 'vif', ref: r }); }}>{describeRef(store, r)}</a></li>)}</ul>;
      break;
    }
  }
  return (
    <aside class="details" data-testid="details" data-kind={cls}>
      <header><h2>{title}</h2><button class="icon" aria-label="Close details" onClick={() => select(undefined)}>×</button></header>
      <FocusLink cls={cls} ref={sel.ref} />
      {body}
      <div class="actions">{actions}</div>
      <Fields cls={cls} rec={rec} />
    </aside>
  );
}
