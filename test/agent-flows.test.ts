// Port-locking flows (pure): golden text, one cookie per VIF, and accepted by ovs-ofctl.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bridgeFlows, cookieOf, flowText, meterKbits, vifFlows, type VifLock } from '../src/agent/flows.ts';

const LOCKED: VifLock = { port: 'vif1.0', vifUuid: '11111111-1111-1111-1111-111111111111', mac: '02:AA:00:00:00:01', mode: 'locked', ipv4: ['10.0.0.5', '10.1.0.0/24'], ipv6: ['fd00::5'], meter: 3 };
const DISABLED: VifLock = { port: 'vif2.0', vifUuid: '22222222-2222-2222-2222-222222222222', mac: '02:aa:00:00:00:02', mode: 'disabled', ipv4: [], ipv6: [] };
const UNLOCKED: VifLock = { port: 'vif3.0', vifUuid: '33333333-3333-3333-3333-333333333333', mac: '02:aa:00:00:00:03', mode: 'unlocked', ipv4: [], ipv6: [] };

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');

describe('port-locking flows', () => {
  it('match the golden table for a locked, a disabled and an unlocked VIF', () => {
    const text = bridgeFlows([UNLOCKED, DISABLED, LOCKED]).map(flowText).join('\n') + '\n';
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
    assert.deepEqual(allowed, ['in_port=vif1.0,udp,dl_src=02:aa:00:00:00:01,tp_dst=67', 'in_port=vif1.0,arp,dl_src=02:aa:00:00:00:01,arp_sha=02:aa:00:00:00:01,arp_spa=0.0.0.0']);
    assert.equal(flows.at(-1)?.actions, 'drop');
  });

  it('need no flow for an unlocked VIF without a rate limit', () => {
    assert.deepEqual(vifFlows(UNLOCKED), []);
    assert.equal(vifFlows({ ...UNLOCKED, meter: 7 })[0].actions, 'meter:7,NORMAL');
  });

  it('convert kilobytes (1024 bytes, as xapi) per second to the kilobits (1000 bits) a meter counts', () => {
    assert.equal(meterKbits(100), 819);
    assert.equal(meterKbits(125), 1024);
  });

  it('are accepted by ovs-ofctl', { skip: spawnSync('ovs-ofctl', ['--version']).status === 0 ? false : 'ovs-ofctl is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolnet-flows-'));
    try {
      // parse-flows has no switch to resolve port names: number them
      const text = bridgeFlows([UNLOCKED, DISABLED, LOCKED]).map(flowText).join('\n').replace(/in_port=vif(\d)\.0/g, 'in_port=$1');
      writeFileSync(join(dir, 'f.txt'), text + '\n');
      const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flows', join(dir, 'f.txt')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((r.stdout.match(/OFPT_FLOW_MOD/g) ?? []).length, text.split('\n').length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
