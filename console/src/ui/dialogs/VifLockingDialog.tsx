// A VIF's locking mode and allowed addresses, with the effective mode previewed before it applies.

import { useState } from 'preact/hooks';
import { paramEnum } from '../../logic/model.ts';
import { isIpv4, looksIpv6, splitList } from '../../logic/net.ts';
import { str, strs, type Ref } from '../../logic/store.ts';
import { effectiveLocking, isSriovVif, lockingMeaning } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Progress, Warning, inputValue, useAction, useApp } from '../common.tsx';

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
      <Field label="Allowed IPv6 addresses" hint="the Linux bridge stack cannot filter IPv6: there, any IPv6 address lets all IPv6 through (the XenServer documentation)">
        <textarea rows={2} value={v6} onInput={(e) => setV6(inputValue(e))} data-testid="ipv6-allowed" />
      </Field>
      {bad.length > 0 && <Warning>Not an address: {bad.join(', ')}</Warning>}
      {eff.mode === 'locked' && list4.length + list6.length === 0 && <Warning>The XenServer documentation: "In this mode, if no IP addresses are specified, then the VM cannot send any traffic through that VIF (on that network)."</Warning>}
      {isSriovVif(store, v) && <Warning>This VIF is on an SR-IOV network: its traffic bypasses the switch, so locking rules do not apply to it.</Warning>}
      <ErrorBox failure={action.failure} />
      <Progress steps={action.progress} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}
