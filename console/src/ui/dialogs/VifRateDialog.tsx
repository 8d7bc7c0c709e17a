// A VIF's rate limit (qos_algorithm_type ratelimit, qos_algorithm_params:kbps).

import { useState } from 'preact/hooks';
import { vifRateKBs } from '../../logic/net.ts';
import { str, type Ref } from '../../logic/store.ts';
import { isSriovVif } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Warning, inputValue, useAction, useApp } from '../common.tsx';

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
      <Field label="Rate limit (kB/s)" hint="kilobytes per second the VM may send through this VIF; empty for no limit. The XenServer documentation: the QoS setting does not limit what the VM receives.">
        <span class="with-unit"><input type="number" min={1} value={rate} onInput={(e) => setRate(inputValue(e))} data-testid="rate" /> kB/s</span>
      </Field>
      {invalid && <Warning>Enter a whole number of kB/s greater than 0, or leave it empty.</Warning>}
      {isSriovVif(store, v) && <Warning>The XenServer documentation: VM traffic sent via an SR-IOV VF bypasses the vSwitch, so QoS cannot apply.</Warning>}
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || invalid} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}
