// A port's ofport_request (a migrating VIF's OpenFlow number, domain/migration.ts) as the switch
// check takes it where the OVSDB row is built: a whole number in 1..65279, else the VIF's port
// is left off the switch (it passes nothing).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPort, switchFit } from '../src/agent/checked.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { migrationOfport } from '../src/domain/migration.ts';

const vif = (ofportRequest: number): PortSpec => ({ name: 'vif7.0', kind: 'vif', interfaces: ['vif7.0'], type: '', ofportRequest });
const host = (p: PortSpec): DesiredHost =>
  ({ bridges: [{ name: 'xenbr0', ports: [p], externalIds: {}, mcastSnooping: false }], interfaces: [], devices: [] }) as unknown as DesiredHost;

describe('a port\'s ofport_request', () => {
  it('a migrating VIF\'s number passes', () => {
    const n = migrationOfport(7, '0');
    assert.equal(typeof n, 'number');
    assert.doesNotThrow(() => checkPort(vif(n!)));
    assert.deepEqual(switchFit(host(vif(n!))).bridges[0].ports.map((p) => p.name), ['vif7.0']);
  });
  for (const bad of [0, -1, 0xff00, 0xfffffffe, 1.5, Number.NaN, '33000' as unknown as number]) {
    it(`${String(bad)}: refused, the VIF's port left out`, () => {
      assert.throws(() => checkPort(vif(bad)));
      assert.deepEqual(switchFit(host(vif(bad))).bridges[0].ports, []);
    });
  }
});
