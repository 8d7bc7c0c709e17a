// A network's default locking mode, with the refusal the server gives while VIFs on it are active.

import { useState } from 'preact/hooks';
import { paramEnum } from '../../logic/model.ts';
import { str, strs, type Ref } from '../../logic/store.ts';
import { networkTitle } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Warning, inputValue, useAction, useApp } from '../common.tsx';

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
    <Dialog title={`Default locking mode of ${networkTitle(store, network)}`} onClose={close} testid="network-locking">
      <p>VIFs whose locking mode is <code>network_default</code> follow this setting: <b>unlocked</b> lets all their traffic through; <b>disabled</b> drops all of it. VIFs with a mode of their own are not affected. ({followers.length} of {strs(n, 'VIFs').length} VIFs follow it.)</p>
      <Field label="Default locking mode">
        <select value={mode} onChange={(e) => setMode(inputValue(e))} data-testid="default-locking-mode">{modes.map((m) => <option key={m}>{m}</option>)}</select>
      </Field>
      {active.length > 0 && (
        <Warning testid="vif-in-use-warning">
          The XenServer documentation: "You cannot change the default-locking-mode of a network that has active VIFs attached to it." {active.length} VIF{active.length > 1 ? 's are' : ' is'} active here, so the server will refuse with VIF_IN_USE; shut down or unplug them first, or set the locking mode on each VIF instead.
        </Warning>
      )}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || mode === str(n, 'default_locking_mode')} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}
