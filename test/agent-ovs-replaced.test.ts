// A device replaced under the same name (a migration aborted after the destination took the NIC:
// the source pulls it back and a new veth with the same name appears): the userspace datapath
// keeps reading the old device and the port passes nothing. The backend sees the device's new
// index and re-adds the port (with the OpenFlow number it had, so its flows stay valid); traffic
// through it works again after a pass. Real ovs-vswitchd, real veths, real pings.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { OvsBackend } from '../src/agent/ovs.ts';
import { startSwitchNs, switchBackend, type SwitchNs, switchNsSkipReason } from './helpers/netns.ts';

const skip = switchNsSkipReason();
const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const uuid = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const mac = (i: number) => `02:00:00:00:00:0${i}`;
const ip = (i: number) => `10.77.0.${i}`;
const vif = (i: number): PortSpec => ({
  name: `vif${i}.0`, kind: 'vif', interfaces: [`vif${i}.0`], type: '', vifUuid: uuid(i),
  lock: { mode: 'locked', mac: mac(i), ipv4: [ip(i)], ipv6: [] },
});
const desired: DesiredHost = { hostname: 'h', bridges: [{ name: 'br0', ports: [vif(1), vif(2)], externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] };

describe('Open vSwitch backend: a device replaced under the same name', { skip }, () => {
  let sw: SwitchNs;
  let ovs: OvsBackend;
  const vms: string[] = [];
  /** A VM: a namespace whose eth0 is the peer of vif<i>.0 in the switch's namespace. */
  const wire = (i: number) => {
    const vm = vms[i - 1];
    sw.exec('ip', ['link', 'add', `vif${i}.0`, 'type', 'veth', 'peer', 'name', `vm${i}`]);
    sw.exec('ip', ['link', 'set', `vm${i}`, 'netns', vm]);
    sw.exec('ip', ['link', 'set', `vif${i}.0`, 'up']);
    sh('ip', '-n', vm, 'link', 'set', `vm${i}`, 'name', 'eth0');
    sh('ip', '-n', vm, 'link', 'set', 'eth0', 'address', mac(i));
    sh('ip', '-n', vm, 'addr', 'add', `${ip(i)}/24`, 'dev', 'eth0');
    sh('ip', '-n', vm, 'link', 'set', 'eth0', 'up');
  };
  const pings = (from: number, to: number) => { try { sh('ip', 'netns', 'exec', vms[from - 1], 'ping', '-c', '3', '-W', '2', '-i', '0.3', ip(to)); return true; } catch { return false; } };
  const ifindex = () => sw.vsctl('get', 'interface', 'vif1.0', 'ifindex').trim();

  before(async () => {
    sw = await startSwitchNs(0, 'repl');
    for (const i of [1, 2]) { const n = `pn-repl-vm${i}-${process.pid}`; sh('ip', 'netns', 'add', n); vms.push(n); }
    wire(1); wire(2);
    ovs = switchBackend(sw);
  });
  after(async () => {
    ovs?.close();
    for (const n of vms) { try { sh('ip', 'netns', 'del', n); } catch { /* gone */ } }
    await sw?.dispose();
  });

  it('traffic through the port works again after a pass', async () => {
    await ovs.apply(desired);
    assert.ok(pings(1, 2), 'vm1 reaches vm2 before');
    const ofport = sw.vsctl('get', 'interface', 'vif1.0', 'ofport').trim();
    const old = ifindex();
    // the device goes and a new one comes under the same name
    sh('ip', '-n', vms[0], 'link', 'del', 'eth0');
    wire(1);
    for (let i = 0; i < 200 && (ifindex() === old || ifindex() === '0'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.notEqual(ifindex(), old, 'ovs-vswitchd saw the new device');
    await ovs.apply(desired);
    assert.ok(pings(1, 2), 'vm1 reaches vm2 after a pass');
    assert.equal(sw.vsctl('get', 'interface', 'vif1.0', 'ofport').trim(), ofport, 'the port kept its OpenFlow number');
    // its lock still holds: a spoofed source address passes nothing
    sh('ip', '-n', vms[0], 'addr', 'flush', 'dev', 'eth0');
    sh('ip', '-n', vms[0], 'addr', 'add', `${ip(9)}/24`, 'dev', 'eth0');
    assert.ok(!pings(1, 2), 'a source address outside the lock is dropped');
    assert.equal((await ovs.apply(desired)).switchChanges, 0, 'nothing more to do');
  });
});
