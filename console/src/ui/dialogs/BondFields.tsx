// A bond's choices (host, NICs, mode, LACP properties, MAC), shared by the New Network wizard and
// the Create Bond dialog, and Bond.create on every host that has the same NICs.

import { paramEnum } from '../../logic/model.ts';
import { isRef, str, type Ref, type Store } from '../../logic/store.ts';
import { interfaceRole, ipSummary, linkText, pifKind } from '../../logic/topology.ts';
import { Field, Warning, checked, inputValue, useApp } from '../common.tsx';
import { byDevice, hostName, poolMaster } from './shared.ts';

export interface BondChoice {
  host: Ref;
  /** Every host that has NICs of the same names gets the same bond (as XenCenter does pool-wide). */
  allHosts: boolean;
  members: Ref[];
  mode: string;
  props: Record<string, string>;
  mac: string;
}

export function defaultBond(store: Store): BondChoice {
  return { host: poolMaster(store) ?? '', allHosts: true, members: [], mode: 'active-backup', props: {}, mac: '' };
}

const LACP_PROPS: { key: string; label: string; values?: string[]; hint: string }[] = [
  { key: 'hashing_algorithm', label: 'Load balancing (hashing_algorithm)', values: ['tcpudp_ports', 'src_mac'], hint: 'tcpudp_ports spreads flows by port; src_mac by source MAC' },
  { key: 'lacp-time', label: 'LACP rate (lacp-time)', values: ['slow', 'fast'], hint: 'how often LACP packets are exchanged' },
  { key: 'lacp-fallback-ab', label: 'Fall back to active-backup (lacp-fallback-ab)', values: ['true', 'false'], hint: 'when the switch does not answer LACP' },
  { key: 'lacp-aggregation-key', label: 'Aggregation key (lacp-aggregation-key)', hint: 'optional integer' },
];

export function BondFields({ value, onChange }: { value: BondChoice; onChange: (b: BondChoice) => void }) {
  const { store } = useApp();
  const hosts = store.all('host');
  const nics = store.all('pif').filter(([, p]) => p.host === value.host && pifKind(p) === 'physical').sort(byDevice);
  const modes = paramEnum('Bond.create', 'mode');
  const set = (patch: Partial<BondChoice>) => onChange({ ...value, ...patch });
  const withIp = value.members.filter((r) => interfaceRole(store.get('pif', r) ?? {}));
  return (
    <div class="bond-fields">
      <Field label="Host">
        <select value={value.host} onChange={(e) => set({ host: inputValue(e), members: [] })} data-testid="bond-host">
          {hosts.map(([r, h]) => <option key={r} value={r}>{str(h, 'name_label')}</option>)}
        </select>
      </Field>
      {hosts.length > 1 && <label class="check"><input type="checkbox" checked={value.allHosts} onChange={(e) => set({ allHosts: checked(e) })} /> The same bond on every host that has these NICs</label>}
      <fieldset>
        <legend>NICs</legend>
        {nics.map(([r, p]) => {
          const taken = isRef(p.bond_slave_of);
          return (
            <label class="check" key={r}>
              <input type="checkbox" data-device={str(p, 'device')} disabled={taken} checked={value.members.includes(r)} onChange={(e) => set({ members: checked(e) ? [...value.members, r] : value.members.filter((x) => x !== r) })} />
              {str(p, 'device')} <span class="muted">{str(p, 'MAC')} · {linkText(store.get('pif_metrics', p.metrics)).text}{taken ? ' · already bonded' : ''}{interfaceRole(p) ? ` · ${interfaceRole(p)} ${ipSummary(p)}` : ''}</span>
            </label>
          );
        })}
      </fieldset>
      {withIp.length > 0 && <Warning>The XenServer documentation: when you bond a NIC, the bond absorbs the PIF/NIC currently in use as the {withIp.some((r) => store.get('pif', r)?.management) ? 'management interface' : 'secondary interface'}; its IP configuration moves to the bond.</Warning>}
      <Field label="Bond mode">
        <select value={value.mode} onChange={(e) => set({ mode: inputValue(e), props: {} })} data-testid="bond-mode">
          {modes.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </Field>
      {value.mode === 'lacp' && LACP_PROPS.map((pr) => (
        <Field key={pr.key} label={pr.label} hint={pr.hint}>
          {pr.values ? (
            <select value={value.props[pr.key] ?? ''} onChange={(e) => set({ props: { ...value.props, [pr.key]: inputValue(e) } })} data-prop={pr.key}>
              <option value="">(default)</option>
              {pr.values.map((v) => <option key={v}>{v}</option>)}
            </select>
          ) : <input value={value.props[pr.key] ?? ''} onInput={(e) => set({ props: { ...value.props, [pr.key]: inputValue(e) } })} data-prop={pr.key} />}
        </Field>
      ))}
      <Field label="MAC address" hint="Empty: the management interface's MAC if it is a member, else the first NIC's (the rule of the XenServer documentation).">
        <input value={value.mac} onInput={(e) => set({ mac: inputValue(e) })} placeholder="automatic" data-testid="bond-mac" />
      </Field>
    </div>
  );
}

/** Bond.create on the chosen host, and on every other host with NICs of the same names if asked. */
export async function createBonds(session: ReturnType<typeof useApp>['session'], store: Store, b: BondChoice, net: Ref, step: (s: string) => void): Promise<void> {
  const props = Object.fromEntries(Object.entries(b.props).filter(([, v]) => v !== ''));
  const devices = b.members.map((r) => str(store.get('pif', r), 'device'));
  const hosts = b.allHosts ? [b.host, ...store.all('host').map(([r]) => r).filter((h) => h !== b.host)] : [b.host];
  for (const h of hosts) {
    const members = h === b.host ? b.members : devices.map((d) => store.all('pif').find(([, p]) => p.host === h && pifKind(p) === 'physical' && str(p, 'device') === d)?.[0]).filter((r): r is string => !!r);
    if (h !== b.host && members.length !== devices.length) continue;
    await session.call('Bond.create', net, members, h === b.host ? b.mac : '', b.mode, props);
    step(`Bond.create on ${hostName(store, h)}: ${devices.join(' + ')} (${b.mode})`);
  }
}
