// Create Bond: a new network and the bond on it (on every host with the same NICs if asked).

import { useState } from 'preact/hooks';
import { type Ref } from '../../logic/store.ts';
import { Dialog, ErrorBox, Progress, useAction, useApp } from '../common.tsx';
import { BondFields, createBonds, defaultBond, type BondChoice } from './BondFields.tsx';
import { defaultName } from './NewNetworkWizard.tsx';

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
