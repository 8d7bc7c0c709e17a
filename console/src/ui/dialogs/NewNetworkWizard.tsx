// The New Network wizard: one kind of network from the kinds table, made with the calls the table
// names; a half-made network is removed again, as XenCenter does.

import { useState } from 'preact/hooks';
import { paramEnum } from '../../logic/model.ts';
import { CREATABLE_KINDS, NETWORK_KINDS, type NetworkKind } from '../../logic/networkKinds.ts';
import { num, str, strs, type Store } from '../../logic/store.ts';
import { interfaceRole, networkTitle, pifKind } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Progress, Warning, inputValue, useAction, useApp, useCan } from '../common.tsx';
import { BondFields, createBonds, defaultBond, type BondChoice } from './BondFields.tsx';
import { byDevice, hostName, poolMaster, untaggedPifs } from './shared.ts';

export function NewNetworkWizard({ close }: { close: () => void }) {
  const { session, store } = useApp();
  const can = useCan();
  const kinds = CREATABLE_KINDS.filter((k) => can(...NETWORK_KINDS[k].create!.calls));
  const [kind, setKind] = useState<NetworkKind>(kinds[0] ?? 'internal');
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
              <b>{NETWORK_KINDS[k].create!.title}</b>
              <span class="hint">{NETWORK_KINDS[k].create!.help}</span>
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
                  {nics.map(([r, p]) => <option key={r} value={r}>{str(p, 'device')} — {networkTitle(store, p.network)}</option>)}
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
              <Field label="Network for the tunnels" hint="The XenServer documentation: cross-server private networks run over the management interface or a secondary interface (an IP-enabled NIC); a secondary interface must be on a separate subnet.">
                <select value={transportNet} onChange={(e) => setTransportNet(inputValue(e))} data-testid="transport-network">
                  {transports.map(([r]) => <option key={r} value={r}>{networkTitle(store, r)}</option>)}
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

/** The name a new network gets when none is typed: the kind's, with the VLAN tag or the bonded NICs. */
export function defaultName(kind: NetworkKind, tag: string, bond: BondChoice, store: Store): string {
  const base = NETWORK_KINDS[kind].create?.defaultName ?? 'Network';
  if (kind === 'vlan') return `${base} ${tag || '?'}`;
  if (kind === 'bonded') return `${base} ${bond.members.map((r) => str(store.get('pif', r), 'device').replace(/^eth/, '')).sort().join('+') || '?'}`;
  return base;
}
