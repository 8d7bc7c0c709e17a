// Remove a bond: its NICs become separate again; the warning the XenServer documentation gives.

import { str, strs, type Ref } from '../../logic/store.ts';
import { interfaceRole } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Warning, useAction, useApp } from '../common.tsx';

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
      {interfaceRole(p ?? {}) && <Warning>The XenServer documentation: bond-destroy automatically configures the primary slave ({primary}) as the interface used for the {interfaceRole(p ?? {})} interface{p?.management ? '; the management connection moves with it' : ''}.</Warning>}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="danger" disabled={action.busy} onClick={submit} data-testid="confirm">Remove bond</button></div>
    </Dialog>
  );
}
