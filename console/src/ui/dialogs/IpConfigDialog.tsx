// A PIF's IPv4 and IPv6 configuration (PIF.reconfigure_ip, PIF.reconfigure_ipv6), with the
// warnings about shared subnets and the management address.

import { useState } from 'preact/hooks';
import { paramEnum } from '../../logic/model.ts';
import { isIpv4, looksIpv6, pifName, sharedSubnets } from '../../logic/net.ts';
import { str, strs, type Ref } from '../../logic/store.ts';
import { ipSummary } from '../../logic/topology.ts';
import { Dialog, ErrorBox, Field, Warning, checked, inputValue, useAction, useApp } from '../common.tsx';
import { hostName, poolMaster } from './shared.ts';

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
          <b>Two interfaces would share a subnet.</b> {shared.map((s) => `The ${s.otherRole} interface ${s.otherDevice} (${s.otherIp}) is on ${s.subnet}.`).join(' ')} The XenServer documentation: "If any management or secondary interfaces are on the same subnet, traffic will be routed incorrectly." Put each interface on a subnet of its own.
          <label class="check"><input type="checkbox" checked={ack} onChange={(e) => setAck(checked(e))} data-testid="ack" /> Apply anyway</label>
        </Warning>
      )}
      {p.management && v4Changed && (
        <Warning testid="mgmt-ip-warning">
          The XenServer documentation: "Caution should be used when changing the IP address of a server, and other networking parameters. Depending upon the network topology and the change being made, connections to network storage may be lost." This console may lose its connection if it reaches the pool through this address.
          {isMaster && store.all('host').length > 1 && ' This host is the pool coordinator: when its IP address changes, all member hosts enter emergency mode; run pool-recover-slaves (pool.recover_slaves) afterwards.'}
        </Warning>
      )}
      <p class="muted">{role}: {ipSummary(p) || 'no address'}</p>
      <ErrorBox failure={action.failure} />
      <div class="buttons"><button onClick={close}>Cancel</button><button class="primary" disabled={action.busy || (shared.length > 0 && !ack) || (!v4Changed && !v6Changed)} onClick={submit} data-testid="apply">Apply</button></div>
    </Dialog>
  );
}
