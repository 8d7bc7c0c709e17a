// Remove a network and what carries it on each host (VLANs, tunnels, bonds, SR-IOV), as XenCenter does.

import { NETWORK_KINDS } from '../../logic/networkKinds.ts';
import { NULL_REF, str, strs, type Ref } from '../../logic/store.ts';
import { networkKind, networkTitle, pifKind } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Progress, useAction, useApp } from '../common.tsx';
import { hostName } from './shared.ts';

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
    <Dialog title={`Remove network ${networkTitle(store, network)}`} onClose={close} testid="remove-network">
      <p>This removes the {NETWORK_KINDS[kind].label} network and what carries it on each host ({strs(n, 'PIFs').length} interface{strs(n, 'PIFs').length === 1 ? '' : 's'}). VIFs on it that are not in use are removed with it.</p>
      <ErrorBox failure={action.failure} />
      <Progress steps={action.progress} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy} onClick={submit} data-testid="confirm">Remove</button></div>
    </Dialog>
  );
}
