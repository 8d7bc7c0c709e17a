// Port-locking flows (pure): golden text, one cookie per VIF, and accepted by ovs-ofctl. The
// table is an allow-list (a VIF without its flows passes nothing) and every VIF's allowed frames
// are untagged (or VLAN 0) or of its trunks, with stacked VLAN headers dropped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { switchFit } from '../src/agent/checked.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeFlows, cookieOf, flowText, meterKbits, ovsTables, UNTAGGED, vifFlows, type VifLock } from '../src/agent/ovsflows.ts';

const LOCKED: VifLock = { port: 'vif1.0', vifUuid: '11111111-1111-1111-1111-111111111111', mac: '02:AA:00:00:00:01', mode: 'locked', ipv4: ['10.0.0.5', '10.1.0.0/24'], ipv6: ['fd00::5'], meter: 3 };
const DISABLED: VifLock = { port: 'vif2.0', vifUuid: '22222222-2222-2222-2222-222222222222', mac: '02:aa:00:00:00:02', mode: 'disabled', ipv4: [], ipv6: [] };
const UNLOCKED: VifLock = { port: 'vif3.0', vifUuid: '33333333-3333-3333-3333-333333333333', mac: '02:aa:00:00:00:03', mode: 'unlocked', ipv4: [], ipv6: [] };

/** The bridge's own ports (an uplink, a bond of two, a VLAN network's port) and the VIFs' ports. */
const PORTS: PortSpec[] = [
  { name: 'eth0', kind: 'uplink', interfaces: ['eth0'], type: '' },
  { name: 'bond0', kind: 'bond', interfaces: ['eth2', 'eth1'], type: '' },
  { name: 'xapi1', kind: 'vlan', interfaces: ['xapi1'], type: 'internal', tag: 100 },
  ...['vif1.0', 'vif2.0', 'vif3.0'].map((n): PortSpec => ({ name: n, kind: 'vif', interfaces: [n], type: '' })),
];

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');

describe('port-locking flows', () => {
  it('match the golden table for a locked, a disabled and an unlocked VIF', () => {
    const text = bridgeFlows([UNLOCKED, DISABLED, LOCKED], PORTS).map(flowText).join('\n') + '\n';
    if (process.env.UPDATE_GOLDEN) writeFileSync(new URL('./golden/flows-bridge.txt', import.meta.url), text);
    assert.equal(text, golden('flows-bridge.txt'));
  });

  it('give every VIF its own non-zero cookie, stable across calls', () => {
    const a = new Set(vifFlows(LOCKED).map((f) => f.cookie));
    assert.equal(a.size, 1);
    assert.equal([...a][0], cookieOf(LOCKED.vifUuid));
    assert.notEqual(cookieOf(LOCKED.vifUuid), cookieOf(DISABLED.vifUuid));
    assert.notEqual(cookieOf(LOCKED.vifUuid), '0x0');
  });

  it('let a locked VIF with no addresses send only DHCP and ARP probes', () => {
    const flows = vifFlows({ ...LOCKED, ipv4: [], ipv6: [], meter: undefined });
    const allowed = flows.filter((f) => f.actions !== 'drop').map((f) => f.match);
    assert.deepEqual(allowed, [`in_port=vif1.0,${UNTAGGED},udp,dl_src=02:aa:00:00:00:01,tp_dst=67`, `in_port=vif1.0,${UNTAGGED},arp,dl_src=02:aa:00:00:00:01,arp_sha=02:aa:00:00:00:01,arp_spa=0.0.0.0`]);
    assert.equal(flows.at(-1)?.actions, 'drop');
  });

  it('admit only untagged or VLAN 0 frames from a VIF, and nothing with a second VLAN header', () => {
    for (const v of [LOCKED, UNLOCKED]) {
      const flows = vifFlows(v);
      const allowed = flows.filter((f) => f.actions !== 'drop');
      assert.ok(allowed.length > 0);
      assert.deepEqual(allowed.filter((f) => !f.match.startsWith(`in_port=${v.port},${UNTAGGED},`) && f.match !== `in_port=${v.port},${UNTAGGED}`), [], `${v.mode}: every allow flow matches ${UNTAGGED}`);
      // above every allow flow: a VLAN header behind the first (802.1Q or 802.1ad) is dropped
      const top = Math.max(...allowed.map((f) => f.priority));
      for (const t of ['0x8100', '0x88a8']) assert.ok(flows.some((f) => f.match === `in_port=${v.port},dl_type=${t}` && f.actions === 'drop' && f.priority > top), `${v.mode}: stacked ${t} dropped`);
      assert.equal(flows.at(-1)?.match, `in_port=${v.port}`);
      assert.equal(flows.at(-1)?.actions, 'drop');
    }
  });

  it("admit a trunk VIF's VLANs, each allow flow once per VLAN", () => {
    const trunked = vifFlows({ ...LOCKED, trunks: [300, 200] });
    const untagged = vifFlows(LOCKED).filter((f) => f.actions !== 'drop');
    for (const vl of [UNTAGGED, 'dl_vlan=200', 'dl_vlan=300']) {
      assert.equal(trunked.filter((f) => f.actions !== 'drop' && f.match.startsWith(`in_port=vif1.0,${vl},`)).length, untagged.length, vl);
    }
    // trunks come from the VIF's port when the lock does not carry them
    const table = bridgeFlows([UNLOCKED], [{ name: 'vif3.0', kind: 'vif', interfaces: ['vif3.0'], type: '', trunks: [42] }]);
    assert.ok(table.some((f) => f.match === 'in_port=vif3.0,dl_vlan=42' && f.actions === 'NORMAL'));
  });

  it("switch the bridge's own ports normally (bond members by interface) and drop what comes from any other port", () => {
    const base = bridgeFlows([], PORTS).map(flowText);
    assert.deepEqual(base, [
      'cookie=0x0,priority=0,actions=drop',
      'cookie=0x0,priority=1,in_port=LOCAL,actions=NORMAL',
      ...['eth0', 'eth1', 'eth2', 'xapi1'].map((i) => `cookie=0x0,priority=1,in_port=${i},actions=NORMAL`),
    ]);
  });

  it('let an unlocked VIF pass untagged frames, through its meter when it has one', () => {
    const pass = (v: VifLock) => vifFlows(v).filter((f) => f.actions !== 'drop');
    assert.deepEqual(pass(UNLOCKED).map((f) => [f.match, f.actions]), [[`in_port=vif3.0,${UNTAGGED}`, 'NORMAL']]);
    assert.deepEqual(pass({ ...UNLOCKED, meter: 7 }).map((f) => f.actions), ['meter:7,NORMAL']);
  });

  it('convert kilobytes (1024 bytes, as xapi) per second to the kilobits (1000 bits) a meter counts', () => {
    assert.equal(meterKbits(100), 819);
    assert.equal(meterKbits(125), 1024);
  });

  it('are accepted by ovs-ofctl', { skip: spawnSync('ovs-ofctl', ['--version']).status === 0 ? false : 'ovs-ofctl is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolnet-flows-'));
    try {
      // parse-flows has no switch to resolve port names: number them
      const numbers: Record<string, number> = { 'vif1.0': 1, 'vif2.0': 2, 'vif3.0': 3, eth0: 4, eth1: 5, eth2: 6, xapi1: 7 };
      const text = bridgeFlows([UNLOCKED, DISABLED, LOCKED], PORTS).map(flowText).join('\n').replace(/in_port=([a-z][\w.]*)/g, (_m, n: string) => `in_port=${numbers[n]}`);
      writeFileSync(join(dir, 'f.txt'), text + '\n');
      const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flows', join(dir, 'f.txt')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((r.stdout.match(/OFPT_FLOW_MOD/g) ?? []).length, text.split('\n').length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Open vSwitch backend\'s tables from the neutral desired state', () => {
  const vifPort = (v: VifLock, extra: Partial<PortSpec> = {}): PortSpec => ({
    name: v.port, kind: 'vif', interfaces: [v.port], type: '', vifUuid: v.vifUuid, lock: { mode: v.mode, mac: v.mac, ipv4: v.ipv4, ipv6: v.ipv6 }, ...extra,
  });
  const host = (ports: PortSpec[]): DesiredHost => ({ hostname: '', bridges: [{ name: 'br0', ports, externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] });

  it('a VIF port\'s lock and rate become its flows and a meter the flows pass through', () => {
    const t = ovsTables(host([PORTS[0], vifPort(LOCKED, { rateKbps: 100 }), vifPort(UNLOCKED)]));
    const meter = t.meters.br0?.[0];
    assert.deepEqual(meter && { kbits: meter.kbits, vif: meter.vif }, { kbits: meterKbits(100), vif: LOCKED.vifUuid });
    assert.deepEqual(t.flows.br0, bridgeFlows([{ ...LOCKED, meter: meter!.id }, { ...UNLOCKED, meter: undefined }], [PORTS[0], vifPort(LOCKED), vifPort(UNLOCKED)]));
  });

  it('leaves out a VIF port with a malformed uuid, and a bond setting compile() never writes: the VIF gets no flows and no port', () => {
    const badUuid = vifPort(LOCKED, { vifUuid: '10.0.0.5\nnetns exec x sh -c id' });
    const t = ovsTables(host([PORTS[0], badUuid]));
    assert.ok(!t.flows.br0.some((f) => f.match.includes('vif1.0')), 'no flow lets it through');
    const bond: PortSpec = { name: 'bond0', kind: 'bond', interfaces: ['eth1', 'eth2'], type: '', bond: { mode: 'balance-slb', lacp: 'off', otherConfig: { 'bond-detect-mode': 'carrier' }, memberOtherConfig: {}, updelay: 31000, downdelay: 200 } };
    const badBond = { ...bond, bond: { ...bond.bond!, otherConfig: { 'bond-detect-mode': '02:aa:00:00:00:01,actions=output:INJECTED' } } };
    const unknownKey = { ...bond, bond: { ...bond.bond!, otherConfig: { 'other-setting': 'x' } } };
    const fit = switchFit(host([PORTS[0], badUuid, bond, badBond, unknownKey]));
    assert.deepEqual(fit.bridges[0].ports.map((p) => p.name), ['eth0', 'bond0']);
    assert.equal(fit.bridges[0].ports[1], bond);
  });
});
