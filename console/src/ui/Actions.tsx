// The console's actions, each one XenAPI call or a short sequence of them: the New Network
// wizard, bonds, IP configuration, the management interface, port locking, the network default
// locking mode and the VIF rate limit. Choices come from the model (enum values), refusals are
// explained (ErrorBox), and the warnings are the seed's.

import { useState } from 'preact/hooks';
import { paramEnum } from '../logic/model.ts';
import { isIpv4, looksIpv6, pifName, sharedSubnets, splitList, vifRateKBs } from '../logic/net.ts';
import { natural, NULL_REF, isRef, num, str, strs, type Rec, type Ref, type Store } from '../logic/store.ts';
import { NETWORK_KIND_LABEL, effectiveLocking, interfaceRole, ipSummary, isSriovVif, linkText, lockingMeaning, networkKind, pifKind, type NetworkKind } from '../logic/topology.ts';
import { Dialog, ErrorBox, Field, Progress, Warning, checked, inputValue, useAction, useApp, useCan } from './common.tsx';

const byDevice = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'device'), str(b[1], 'device')) || num(a[1], 'VLAN') - num(b[1], 'VLAN');

function poolMaster(store: Store): Ref | undefined {
  const p = store.all('pool')[0]?.[1];
  return isRef(p?.master) ? (p!.master as string) : store.all('host')[0]?.[0];
}

const hostName = (store: Store, h: unknown) => str(store.get('host', h), 'name_label');

/** Interfaces a VLAN, bond member or IP can go on: physical NICs not in a bond, and bonds. */
function untaggedPifs(store: Store, host?: Ref): [Ref, Rec][] {
  return store.all('pif').filter(([, p]) => (!host || p.host === host) && (pifKind(p) === 'bond_master' || (pifKind(p) === 'physical' && !isRef(p.bond_slave_of)))).sort(byDevice);
}

// ---------------------------------------------------------------- New Network wizard

const KIND_HELP: Record<Exclude<NetworkKind, 'external'>, string> = {
  vlan: 'An external network on a VLAN: frames leave the chosen NIC (or bond) tagged, on every host that has it.',
  internal: 'A network with no NIC: VMs on the same host can reach each other, nothing else.',
  private: 'A network spanning the pool over GRE tunnels between the hosts\' management or secondary interfaces; needs the vSwitch controller.',
  bonded: 'Two or more NICs joined as one, for throughput and failover.',
  sriov: 'VMs get a virtual function of an SR-IOV NIC directly: fastest, but no switch rules (no port locking, no QoS) and no live migration.',
};

const KIND_CALLS: Record<Exclude<NetworkKind, 'external'>, string[]> = {
  vlan: ['network.create', 'pool.create_VLAN_from_PIF'],
  internal: ['network.create'],
  private: ['network.create', 'tunnel.create'],
  bonded: ['network.create', 'Bond.create'],
  sriov: ['network.create', 'network_sriov.create'],
};

export function NewNetworkWizard({ close }: { close: () => void }) {
  const { session, store } = useApp();
  const can = useCan();
  const kinds = (Object.keys(KIND_HELP) as (keyof typeof KIND_HELP)[]).filter((k) => can(...KIND_CALLS[k]));
  const [kind, setKind] = useState<keyof typeof KIND_HELP>(kinds[0] ?? 'internal');
  const [step, setStep] = useState(1);
  const [name, setName] = useState('');
  const [desc, setDesc] = useState('');
  const [mtu, setMtu] = useState('1500');
  // VLAN
  const master = poolMaster(store);
  const nics = untaggedPifs(store, master);
  const [vlanPif, setVlanPif] = useState(nics[0]?.[0] ?? '');
  const [tag, setTag] = useState('');
  // cross-server private
  const transports = store.all('network').filter(([, n]) => strs(n, 'PIFs').some((r) => { const p = store.get('pif', r); return !!p && interfaceRole(p) !== undefined; }));
  const [transportNet, setTransportNet] = useState(transports[0]?.[0] ?? '');
  const protocols = paramEnum('tunnel.create', 'protocol');
  const [protocol, setProtocol] = useState(protocols[0] ?? 'gre');
  // SR-IOV
  const physical = store.all('pif').filter(([, p]) => pifKind(p) === 'physical').sort(byDevice);
  const [sriovPif, setSriovPif] = useState((physical.find(([, p]) => strs(p, 'capabilities').includes('sriov')) ?? physical[0])?.[0] ?? '');
  // bond
  const [bond, setBond] = useState<BondChoice>(defaultBond(store));
  const action = useAction();

  const usedTags = vlanPif ? strs(store.get('pif', vlanPif), 'VLAN_slave_of').map((v) => num(store.get('vlan', v), 'tag')) : [];
  const tagN = Number(tag);
  const tagProblem = kind !== 'vlan' ? '' : tag === '' ? 'Enter a VLAN tag.' : !Number.isInteger(tagN) || tagN < 0 || tagN > 4094 ? 'A VLAN tag is a number from 0 to 4094.' : usedTags.includes(tagN) ? `VLAN ${tagN} is already in use on this NIC.` : '';

  const submit = async () => {
    const ok = await action.run(async (step) => {
      const rec = { name_label: name || defaultName(kind, tag, bond, store), name_description: desc, MTU: Number(mtu) || 1500, other_config: {}, tags: [] };
      const net = (await session.call('network.create', rec)) as string;
      step(`network.create → ${rec.name_label}`);
      try {
        if (kind === 'vlan') {
          await session.call('pool.create_VLAN_from_PIF', vlanPif, net, tagN);
          step(`pool.create_VLAN_from_PIF: VLAN ${tagN} on ${str(store.get('pif', vlanPif), 'device')} of every host`);
        } else if (kind === 'private') {
          const pifs = strs(store.get('network', transportNet), 'PIFs').filter((r) => { const p = store.get('pif', r); return !!p && interfaceRole(p) !== undefined; });
          for (const p of pifs) {
            await session.call('tunnel.create', p, net, protocol);
            step(`tunnel.create on ${hostName(store, store.get('pif', p)?.host)}`);
          }
        } else if (kind === 'bonded') {
          await createBonds(session, store, bond, net, step);
        } else if (kind === 'sriov') {
          await session.call('network_sriov.create', sriovPif, net);
          step(`network_sriov.create on ${str(store.get('pif', sriovPif), 'device')}`);
        }
      } catch (e) {
        // like XenCenter: do not leave a half-made network behind
        try { await session.call('network.destroy', net); step('network.destroy: the half-made network was removed again'); } catch { /* keep the first failure */ }
        throw e;
      }
    });
    if (ok) close();
  };

  return (
    <Dialog title="New Network" onClose={close} testid="new-network">
      {step === 1 && (
        <div>
          <p>Choose the type of network to create:</p>
          {kinds.map((k) => (
            <label class="choice" key={k}>
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} data-kind={k} />
              <b>{k === 'vlan' ? 'External network (VLAN)' : k === 'internal' ? 'Single-server private network' : k === 'private' ? 'Cross-server private network' : k === 'bonded' ? 'Bonded network' : 'SR-IOV network'}</b>
              <span class="hint">{KIND_HELP[k]}</span>
            </label>
          ))}
          <div class="buttons"><button class="primary" onClick={() => setStep(2)} data-testid="next">Next</button></div>
        </div>
      )}
      {step === 2 && (
        <div>
          <Field label="Name"><input value={name} onInput={(e) => setName(inputValue(e))} placeholder={defaultName(kind, tag, bond, store)} data-testid="net-name" /></Field>
          <Field label="Description"><input value={desc} onInput={(e) => setDesc(inputValue(e))} /></Field>
          {kind !== 'bonded' && <Field label="MTU" hint="bytes; 1500 unless the switches carry jumbo frames"><input type="number" value={mtu} onInput={(e) => setMtu(inputValue(e))} data-testid="mtu" /></Field>}
          {kind === 'vlan' && (
            <>
              <Field label="NIC" hint="The VLAN is created on this NIC (or bond) of every host that has it.">
                <select value={vlanPif} onChange={(e) => setVlanPif(inputValue(e))} data-testid="vlan-nic">
                  {nics.map(([r, p]) => <option key={r} value={r}>{str(p, 'device')} — {str(store.get('network', p.network), 'name_label')}</option>)}
                </select>
              </Field>
              <Field label="VLAN" hint={usedTags.length ? `In use on this NIC: ${usedTags.sort((a, b) => a - b).join(', ')}` : '0–4094'}>
                <input type="number" min={0} max={4094} value={tag} onInput={(e) => setTag(inputValue(e))} data-testid="vlan-tag" />
              </Field>
              {tagProblem && tag !== '' && <Warning testid="vlan-warning">{tagProblem}</Warning>}
            </>
          )}
          {kind === 'private' && (
            <>
              <Field label="Network for the tunnels" hint="The seed: cross-server private networks run over the management interface or a secondary interface (an IP-enabled NIC); a secondary interface must be on a separate subnet.">
                <select value={transportNet} onChange={(e) => setTransportNet(inputValue(e))} data-testid="transport-network">
                  {transports.map(([r, n]) => <option key={r} value={r}>{str(n, 'name_label')}</option>)}
                </select>
              </Field>
              <Field label="Encapsulation"><select value={protocol} onChange={(e) => setProtocol(inputValue(e))}>{protocols.map((p) => <option key={p}>{p}</option>)}</select></Field>
              {!store.all('sdn_controller').length && <Warning>No vSwitch controller is configured in this pool; the server will refuse cross-server private networks until one is (SDN_controller.introduce).</Warning>}
            </>
          )}
          {kind === 'sriov' && (
            <Field label="NIC" hint="SR-IOV is enabled on this NIC.">
              <select value={sriovPif} onChange={(e) => setSriovPif(inputValue(e))} data-testid="sriov-nic">
                {physical.map(([r, p]) => <option key={r} value={r}>{str(p, 'device')} on {hostName(store, p.host)}{strs(p, 'capabilities').includes('sriov') ? '' : ' (not SR-IOV capable)'}</option>)}
              </select>
            </Field>
          )}
          {kind === 'bonded' && <BondFields value={bond} onChange={setBond} />}
          <ErrorBox failure={action.failure} />
          <Progress steps={action.progress} />
          <div class="buttons">
            <button onClick={() => setStep(1)}>Back</button>
            <button class="primary" disabled={action.busy || !!tagProblem} onClick={submit} data-testid="create">Create</button>
          </div>
        </div>
      )}
    </Dialog>
  );
}

function defaultName(kind: string, tag: string, bond: BondChoice, store: Store): string {
  switch (kind) {
    case 'vlan': return `VLAN ${tag || '?'}`;
    case 'bonded': return `Bond ${bond.members.map((r) => str(store.get('pif', r), 'device').replace(/^eth/, '')).sort().join('+') || '?'}`;
    case 'private': return 'Cross-server private network';
    case 'sriov': return 'SR-IOV network';
    default: return 'Private network';
  }
}

// ---------------------------------------------------------------- bonds

export interface BondChoice {
  host: Ref;
  /** Every host that has NICs of the same names gets the same bond (as XenCenter does pool-wide). */
  allHosts: boolean;
  members: Ref[];
  mode: string;
  props: Record<string, string>;
  mac: string;
}

function defaultBond(store: Store): BondChoice {
  return { host: poolMaster(store) ?? '', allHosts: true, members: [], mode: 'active-backup', props: {}, mac: '' };
}

const LACP_PROPS: { key: string; label: string; values?: string[]; hint: string }[] = [
  { key: 'hashing_algorithm', label: 'Load balancing (hashing_algorithm)', values: ['tcpudp_ports', 'src_mac'], hint: 'tcpudp_ports spreads flows by port; src_mac by source MAC' },
  { key: 'lacp-time', label: 'LACP rate (lacp-time)', values: ['slow', 'fast'], hint: 'how often LACP packets are exchanged' },
  { key: 'lacp-fallback-ab', label: 'Fall back to active-backup (lacp-fallback-ab)', values: ['true', 'false'], hint: 'when the switch does not answer LACP' },
  { key: 'lacp-aggregation-key', label: 'Aggregation key (lacp-aggregation-key)', hint: 'optional integer' },
];

function BondFields({ value, onChange }: { value: BondChoice; onChange: (b: BondChoice) => void }) {
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
      {withIp.length > 0 && <Warning>The seed: when you bond a NIC, the bond absorbs the PIF/NIC currently in use as the {withIp.some((r) => store.get('pif', r)?.management) ? 'management interface' : 'secondary interface'}; its IP configuration moves to the bond.</Warning>}
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
      <Field label="MAC address" hint="Empty: the management interface's MAC if it is a member, else the first NIC's (the seed's rule).">
        <input value={value.mac} onInput={(e) => set({ mac: inputValue(e) })} placeholder="automatic" data-testid="bond-mac" />
      </Field>
    </div>
  );
}

/** Bond.create on the chosen host, and on every other host with NICs of the same names if asked. */
async function createBonds(session: ReturnType<typeof useApp>['session'], store: Store, b: BondChoice, net: Ref, step: (s: string) => void): Promise<void> {
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

export function NewBondDialog({ close, host }: { close: () => void; host?: Ref }) {
  const { session, store } = useApp();
  const [bond, setBond] = useState<BondChoice>({ ...defaultBond(store), ...(host ? { host } : {}) });
  const action = useAction();
  const submit = async () => {
    const ok = await action.run(async (step) => {
      const name = defaultName('bonded', '', bond, store);
      const net = (await session.call('network.create', { name_label: name, name_description: '', MTU: 1500, other_config: {}, tags: [] })) as string;
      step(`network.create → ${name}`);
      try { await createBonds(session, store, bond, net, step); } catch (e) {
        try { await session.call('network.destroy', net); step('network.destroy: the half-made network was removed again'); } catch { /* keep the first failure */ }
        throw e;
      }
    });
    if (ok) close();
  };
  return (
    <Dialog title="Create Bond" onClose={close} testid="new-bond">
      <BondFields value={bond} onChange={setBond} />
      <ErrorBox failure={action.failure} />
      <Progress steps={action.progress} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy} onClick={submit} data-testid="create">Create</button></div>
    </Dialog>
  );
}

export function DestroyBondDialog({ close, pif }: { close: () => void; pif: Ref }) {
  const { session, store } = useApp();
  const p = store.get('pif', pif);
  const bondRef = strs(p, 'bond_master_of')[0];
  const b = store.get('bond', bondRef);
  const primary = str(store.get('pif', b?.primary_slave), 'device');
  const action = useAction();
  const submit = async () => { if (await action.run(async () => { await session.call('Bond.destroy', bondRef); })) close(); };
  return (
    <Dialog title={`Remove bond ${str(p, 'device')}`} onClose={close} testid="destroy-bond">
      <p>The bond's NICs ({strs(b, 'slaves').map((r) => str(store.get('pif', r), 'device')).sort().join(', ')}) become separate again; the bond's network stays, without an interface on this host.</p>
      {interfaceRole(p ?? {}) && <Warning>The seed: bond-destroy automatically configures the primary slave ({primary}) as the interface used for the {interfaceRole(p ?? {})} interface{p?.management ? '; the management connection moves with it' : ''}.</Warning>}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy} onClick={submit} data-testid="confirm">Remove bond</button></div>
    </Dialog>
  );
}

// ---------------------------------------------------------------- IP configuration

export function IpConfigDialog({ close, pif }: { close: () => void; pif: Ref }) {
  const { session, store } = useApp();
  const p = store.get('pif', pif) ?? {};
  const modes = paramEnum('PIF.reconfigure_ip', 'mode');
  const modes6 = paramEnum('PIF.reconfigure_ipv6', 'mode');
  const [mode, setMode] = useState(str(p, 'ip_configuration_mode') || 'None');
  const [ip, setIp] = useState(str(p, 'IP'));
  const [mask, setMask] = useState(str(p, 'netmask') || '255.255.255.0');
  const [gw, setGw] = useState(str(p, 'gateway'));
  const [dns, setDns] = useState(str(p, 'DNS'));
  const [mode6, setMode6] = useState(str(p, 'ipv6_configuration_mode') || 'None');
  const [ip6, setIp6] = useState(strs(p, 'IPv6')[0] ?? '');
  const [gw6, setGw6] = useState(str(p, 'ipv6_gateway'));
  const [ack, setAck] = useState(false);
  const action = useAction();
  const shared = mode === 'Static' ? sharedSubnets(store, pif, ip, mask) : [];
  const isMaster = poolMaster(store) === p.host;
  const v4Changed = mode !== str(p, 'ip_configuration_mode') || ip !== str(p, 'IP') || mask !== str(p, 'netmask') || gw !== str(p, 'gateway') || dns !== str(p, 'DNS');
  const v6Changed = mode6 !== (str(p, 'ipv6_configuration_mode') || 'None') || ip6 !== (strs(p, 'IPv6')[0] ?? '') || gw6 !== str(p, 'ipv6_gateway');
  const submit = async () => {
    const ok = await action.run(async (step) => {
      if (v4Changed) { await session.call('PIF.reconfigure_ip', pif, mode, mode === 'Static' ? ip : '', mode === 'Static' ? mask : '', mode === 'Static' ? gw : '', dns); step('PIF.reconfigure_ip'); }
      if (v6Changed) { await session.call('PIF.reconfigure_ipv6', pif, mode6, mode6 === 'Static' ? ip6 : '', mode6 === 'Static' ? gw6 : '', ''); step('PIF.reconfigure_ipv6'); }
    });
    if (ok) close();
  };
  const role = p.management ? 'management interface' : 'secondary interface';
  return (
    <Dialog title={`IP configuration of ${pifName(store, p)} on ${hostName(store, p.host)}`} onClose={close} testid="ip-config">
      <p class="muted">{p.management ? 'This is the management interface.' : 'Giving this interface an address makes it a secondary interface (for storage or other traffic).'}</p>
      <fieldset><legend>IPv4</legend>
        <Field label="Mode"><select value={mode} onChange={(e) => setMode(inputValue(e))} data-testid="ip-mode">{modes.map((m) => <option key={m}>{m}</option>)}</select></Field>
        {mode === 'Static' && (
          <>
            <Field label="IP address"><input value={ip} onInput={(e) => setIp(inputValue(e))} data-testid="ip" class={ip && !isIpv4(ip) ? 'invalid' : ''} /></Field>
            <Field label="Netmask"><input value={mask} onInput={(e) => setMask(inputValue(e))} data-testid="netmask" /></Field>
            <Field label="Gateway"><input value={gw} onInput={(e) => setGw(inputValue(e))} data-testid="gateway" /></Field>
          </>
        )}
        {mode !== 'None' && <Field label="DNS servers" hint="comma-separated"><input value={dns} onInput={(e) => setDns(inputValue(e))} /></Field>}
      </fieldset>
      <fieldset><legend>IPv6</legend>
        <Field label="Mode"><select value={mode6} onChange={(e) => setMode6(inputValue(e))}>{modes6.map((m) => <option key={m}>{m}</option>)}</select></Field>
        {mode6 === 'Static' && (
          <>
            <Field label="Address/prefix"><input value={ip6} onInput={(e) => setIp6(inputValue(e))} placeholder="2001:db8::5/64" class={ip6 && !looksIpv6(ip6) ? 'invalid' : ''} /></Field>
            <Field label="Gateway"><input value={gw6} onInput={(e) => setGw6(inputValue(e))} /></Field>
          </>
        )}
      </fieldset>
      {shared.length > 0 && (
        <Warning testid="subnet-warning">
          <b>Two interfaces would share a subnet.</b> {shared.map((s) => `The ${s.otherRole} interface ${s.otherDevice} (${s.otherIp}) is on ${s.subnet}.`).join(' ')} The seed: "If any management or secondary interfaces are on the same subnet, traffic will be routed incorrectly." Put each interface on a subnet of its own.
          <label class="check"><input type="checkbox" checked={ack} onChange={(e) => setAck(checked(e))} data-testid="ack" /> Apply anyway</label>
        </Warning>
      )}
      {p.management && v4Changed && (
        <Warning testid="mgmt-ip-warning">
          The seed: "Caution should be used when changing the IP address of a server, and other networking parameters. Depending upon the network topology and the change being made, connections to network storage may be lost." This console may lose its connection if it reaches the pool through this address.
          {isMaster && store.all('host').length > 1 && ' This host is the pool coordinator: when its IP address changes, all member hosts enter emergency mode; run pool-recover-slaves (pool.recover_slaves) afterwards.'}
        </Warning>
      )}
      <p class="muted">{role}: {ipSummary(p) || 'no address'}</p>
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || (shared.length > 0 && !ack) || (!v4Changed && !v6Changed)} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}

// ---------------------------------------------------------------- management interface

export function ManagementDialog({ close, host, pif: initial }: { close: () => void; host: Ref; pif?: Ref }) {
  const { session, store } = useApp();
  const current = store.all('pif').find(([, p]) => p.host === host && p.management)?.[0];
  const candidates = store.all('pif').filter(([r, p]) => p.host === host && r !== current && !isRef(p.bond_slave_of) && pifKind(p) !== 'tunnel_access').sort(byDevice);
  const [target, setTarget] = useState(initial ?? candidates.find(([, p]) => interfaceRole(p))?.[0] ?? candidates[0]?.[0] ?? '');
  const [ack, setAck] = useState(false);
  const action = useAction();
  const t = store.get('pif', target);
  const isMaster = poolMaster(store) === host;
  const submit = async () => { if (await action.run(async () => { await session.call('host.management_reconfigure', target); })) close(); };
  return (
    <Dialog title={`Management interface of ${hostName(store, host)}`} onClose={close} testid="management">
      <p>Now: <b>{current ? `${pifName(store, store.get('pif', current)!)} — ${ipSummary(store.get('pif', current)!)}` : 'none'}</b></p>
      <Field label="Move it to">
        <select value={target} onChange={(e) => setTarget(inputValue(e))} data-testid="mgmt-target">
          {candidates.map(([r, p]) => <option key={r} value={r}>{pifName(store, p)} — {str(store.get('network', p.network), 'name_label')} — {ipSummary(p) || 'no IP configuration'}</option>)}
        </select>
      </Field>
      {t && !interfaceRole(t) && <Warning>{pifName(store, t)} has no IP configuration: configure one first (the server refuses with PIF_HAS_NO_NETWORK_CONFIGURATION).</Warning>}
      {t && num(t, 'VLAN') >= 0 && <Warning>The seed: "Putting the management interface on a VLAN network is not supported."</Warning>}
      <Warning testid="mgmt-warning">
        The seed: "The management interface is used for XenCenter connections to the host and for host-to-host communication." "Caution should be used when changing the IP address of a server, and other networking parameters. Depending upon the network topology and the change being made, connections to network storage may be lost. If this happens the storage must be replugged using the Repair Storage function in XenCenter, or the pbd-plug command using the CLI. For this reason, it may be advisable to migrate VMs away from the server before changing its IP configuration."
        {isMaster && store.all('host').length > 1 && ' This host is the pool coordinator: if its management address changes, the members enter emergency mode until pool-recover-slaves tells them the new address.'}
        {' '}This console may lose its connection if it reaches the pool through the current management address.
        <label class="check"><input type="checkbox" checked={ack} onChange={(e) => setAck(checked(e))} data-testid="ack" /> I understand</label>
      </Warning>
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy || !ack || !target} onClick={submit} data-testid="apply">Move management interface</button></div>
    </Dialog>
  );
}

// ---------------------------------------------------------------- port locking, QoS

export function VifLockingDialog({ close, vif }: { close: () => void; vif: Ref }) {
  const { session, store } = useApp();
  const v = store.get('vif', vif) ?? {};
  const modes = paramEnum('VIF.set_locking_mode', 'value');
  const [mode, setMode] = useState(str(v, 'locking_mode'));
  const [v4, setV4] = useState(strs(v, 'ipv4_allowed').join('\n'));
  const [v6, setV6] = useState(strs(v, 'ipv6_allowed').join('\n'));
  const action = useAction();
  const eff = effectiveLocking(store, v, mode);
  const list4 = splitList(v4), list6 = splitList(v6);
  const bad = [...list4.filter((a) => !isIpv4(a)), ...list6.filter((a) => !looksIpv6(a))];
  const preview = { ...v, ipv4_allowed: list4, ipv6_allowed: list6 };
  const submit = async () => {
    const ok = await action.run(async (step) => {
      // addresses first, then the mode: a VIF is never locked with a half-written list
      if (list4.join() !== strs(v, 'ipv4_allowed').join()) { await session.call('VIF.set_ipv4_allowed', vif, list4); step('VIF.set_ipv4_allowed'); }
      if (list6.join() !== strs(v, 'ipv6_allowed').join()) { await session.call('VIF.set_ipv6_allowed', vif, list6); step('VIF.set_ipv6_allowed'); }
      if (mode !== str(v, 'locking_mode')) { await session.call('VIF.set_locking_mode', vif, mode); step(`VIF.set_locking_mode ${mode}`); }
    });
    if (ok) close();
  };
  const vm = store.get('vm', v.VM);
  return (
    <Dialog title={`Port locking: VIF ${str(v, 'device')} of ${str(vm, 'name_label')}`} onClose={close} testid="vif-locking">
      <Field label="Locking mode">
        <select value={mode} onChange={(e) => setMode(inputValue(e))} data-testid="locking-mode">{modes.map((m) => <option key={m}>{m}</option>)}</select>
      </Field>
      <div class={`effective lock-${eff.mode}`} data-testid="effective" data-effective-mode={eff.mode} data-source={eff.source}>
        Effective mode: <b>{eff.mode}</b>
        <p>{eff.why}</p>
        <p>{lockingMeaning(preview, eff.mode)}</p>
      </div>
      <Field label="Allowed IPv4 addresses" hint="one per line or comma-separated; used when the VIF is locked">
        <textarea rows={3} value={v4} onInput={(e) => setV4(inputValue(e))} data-testid="ipv4-allowed" />
      </Field>
      <Field label="Allowed IPv6 addresses" hint="the Linux bridge stack cannot filter IPv6: there, any IPv6 address lets all IPv6 through (the seed)">
        <textarea rows={2} value={v6} onInput={(e) => setV6(inputValue(e))} data-testid="ipv6-allowed" />
      </Field>
      {bad.length > 0 && <Warning>Not an address: {bad.join(', ')}</Warning>}
      {eff.mode === 'locked' && list4.length + list6.length === 0 && <Warning>The seed: "In this mode, if no IP addresses are specified, then the VM cannot send any traffic through that VIF (on that network)."</Warning>}
      {isSriovVif(store, v) && <Warning>This VIF is on an SR-IOV network: its traffic bypasses the switch, so locking rules do not apply to it.</Warning>}
      <ErrorBox failure={action.failure} />
      <Progress steps={action.progress} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}

export function VifRateDialog({ close, vif }: { close: () => void; vif: Ref }) {
  const { session, store } = useApp();
  const v = store.get('vif', vif) ?? {};
  const [rate, setRate] = useState(String(vifRateKBs(v) ?? ''));
  const action = useAction();
  const n = Number(rate);
  const invalid = rate !== '' && !(Number.isInteger(n) && n > 0);
  const submit = async () => {
    const ok = await action.run(async () => {
      if (rate === '') {
        await session.call('VIF.set_qos_algorithm_type', vif, '');
        await session.call('VIF.set_qos_algorithm_params', vif, {});
      } else {
        await session.call('VIF.set_qos_algorithm_type', vif, 'ratelimit');
        await session.call('VIF.set_qos_algorithm_params', vif, { ...(v.qos_algorithm_params as Record<string, string>), kbps: String(n) });
      }
    });
    if (ok) close();
  };
  return (
    <Dialog title={`Rate limit: VIF ${str(v, 'device')} of ${str(store.get('vm', v.VM), 'name_label')}`} onClose={close} testid="vif-rate">
      <Field label="Rate limit (kB/s)" hint="kilobytes per second the VM may send through this VIF; empty for no limit. The seed: the QoS setting does not limit what the VM receives.">
        <span class="with-unit"><input type="number" min={1} value={rate} onInput={(e) => setRate(inputValue(e))} data-testid="rate" /> kB/s</span>
      </Field>
      {invalid && <Warning>Enter a whole number of kB/s greater than 0, or leave it empty.</Warning>}
      {isSriovVif(store, v) && <Warning>The seed: VM traffic sent via an SR-IOV VF bypasses the vSwitch, so QoS cannot apply.</Warning>}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || invalid} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}

export function NetworkLockingDialog({ close, network }: { close: () => void; network: Ref }) {
  const { session, store } = useApp();
  const n = store.get('network', network) ?? {};
  const modes = paramEnum('network.set_default_locking_mode', 'value');
  const [mode, setMode] = useState(str(n, 'default_locking_mode'));
  const action = useAction();
  const active = strs(n, 'VIFs').filter((r) => store.get('vif', r)?.currently_attached === true);
  const followers = strs(n, 'VIFs').filter((r) => str(store.get('vif', r), 'locking_mode') === 'network_default');
  const submit = async () => { if (await action.run(async () => { await session.call('network.set_default_locking_mode', network, mode); })) close(); };
  return (
    <Dialog title={`Default locking mode of ${str(n, 'name_label')}`} onClose={close} testid="network-locking">
      <p>VIFs whose locking mode is <code>network_default</code> follow this setting: <b>unlocked</b> lets all their traffic through; <b>disabled</b> drops all of it. VIFs with a mode of their own are not affected. ({followers.length} of {strs(n, 'VIFs').length} VIFs follow it.)</p>
      <Field label="Default locking mode">
        <select value={mode} onChange={(e) => setMode(inputValue(e))} data-testid="default-locking-mode">{modes.map((m) => <option key={m}>{m}</option>)}</select>
      </Field>
      {active.length > 0 && (
        <Warning testid="vif-in-use-warning">
          The seed: "You cannot change the default-locking-mode of a network that has active VIFs attached to it." {active.length} VIF{active.length > 1 ? 's are' : ' is'} active here, so the server will refuse with VIF_IN_USE; shut down or unplug them first, or set the locking mode on each VIF instead.
        </Warning>
      )}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || mode === str(n, 'default_locking_mode')} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}

export function RemoveNetworkDialog({ close, network }: { close: () => void; network: Ref }) {
  const { session, store } = useApp();
  const n = store.get('network', network) ?? {};
  const action = useAction();
  const kind = networkKind(store, n);
  const submit = async () => {
    const ok = await action.run(async (step) => {
      // Take down what carries it on each host first (as XenCenter does), then the network.
      const done = new Set<string>();
      for (const r of strs(n, 'PIFs')) {
        const p = store.get('pif', r);
        if (!p) continue;
        const k = pifKind(p);
        const obj = k === 'vlan' ? str(p, 'VLAN_master_of') : k === 'tunnel_access' ? strs(p, 'tunnel_access_PIF_of')[0] : k === 'bond_master' ? strs(p, 'bond_master_of')[0] : k === 'sriov_logical' ? strs(p, 'sriov_logical_PIF_of')[0] : undefined;
        const method = k === 'vlan' ? 'VLAN.destroy' : k === 'tunnel_access' ? 'tunnel.destroy' : k === 'bond_master' ? 'Bond.destroy' : k === 'sriov_logical' ? 'network_sriov.destroy' : undefined;
        if (!obj || !method || obj === NULL_REF || done.has(obj)) continue;
        done.add(obj);
        await session.call(method, obj);
        step(`${method} on ${hostName(store, p.host)}`);
      }
      await session.call('network.destroy', network);
      step('network.destroy');
    });
    if (ok) close();
  };
  return (
    <Dialog title={`Remove network ${str(n, 'name_label')}`} onClose={close} testid="remove-network">
      <p>This removes the {NETWORK_KIND_LABEL[kind]} network and what carries it on each host ({strs(n, 'PIFs').length} interface{strs(n, 'PIFs').length === 1 ? '' : 's'}). VIFs on it that are not in use are removed with it.</p>
      <ErrorBox failure={action.failure} />
      <Progress steps={action.progress} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy} onClick={submit} data-testid="confirm">Remove</button></div>
    </Dialog>
  );
}
