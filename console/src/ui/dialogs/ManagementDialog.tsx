// Move a host's management interface (host.management_reconfigure), after the warning is acknowledged.

import { useState } from 'preact/hooks';
import { pifName } from '../../logic/net.ts';
import { isRef, num, type Ref } from '../../logic/store.ts';
import { interfaceRole, ipSummary, networkTitle, pifKind } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Warning, checked, inputValue, useAction, useApp } from '../common.tsx';
import { byDevice, hostName, poolMaster } from './shared.ts';

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
          {candidates.map(([r, p]) => <option key={r} value={r}>{pifName(store, p)} — {networkTitle(store, p.network)} — {ipSummary(p) || 'no IP configuration'}</option>)}
        </select>
      </Field>
      {t && !interfaceRole(t) && <Warning>{pifName(store, t)} has no IP configuration: configure one first (the server refuses with PIF_HAS_NO_NETWORK_CONFIGURATION).</Warning>}
      {t && num(t, 'VLAN') >= 0 && <Warning>The XenServer documentation: "Putting the management interface on a VLAN network is not supported."</Warning>}
      <Warning testid="mgmt-warning">
        The XenServer documentation: "The management interface is used for XenCenter connections to the host and for host-to-host communication." "Caution should be used when changing the IP address of a server, and other networking parameters. Depending upon the network topology and the change being made, connections to network storage may be lost. If this happens the storage must be replugged using the Repair Storage function in XenCenter, or the pbd-plug command using the CLI. For this reason, it may be advisable to migrate VMs away from the server before changing its IP configuration."
        {isMaster && store.all('host').length > 1 && ' This host is the pool coordinator: if its management address changes, the members enter emergency mode until pool-recover-slaves tells them the new address.'}
        {' '}This console may lose its connection if it reaches the pool through the current management address.
        <label class="check"><input type="checkbox" checked={ack} onChange={(e) => setAck(checked(e))} data-testid="ack" /> I understand</label>
      </Warning>
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy || !ack || !target} onClick={submit} data-testid="apply">Move management interface</button></div>
    </Dialog>
  );
}
