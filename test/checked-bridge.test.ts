// A bridge's networks (external_ids xs-network-uuids, xapi's, one uuid per network joined by ';')
// as the switch check takes them: any number of networks (a NIC with XenServer's 800 VLANs puts
// 801 on its bridge; a bound of 256 characters left out, so deleted, any bridge with more than
// six), each a uuid, nothing else (or none).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { switchFit, switchProblems } from '../src/agent/checked.ts';
import type { BridgeSpec, DesiredHost } from '../src/agent/desired.ts';

const host = (uuids: string): DesiredHost => {
  const b: BridgeSpec = { name: 'xenbr1', ports: [{ name: 'eth1', kind: 'uplink', interfaces: ['eth1'], type: '' }], externalIds: { 'xs-network-uuids': uuids }, mcastSnooping: false };
  return { bridges: [b], interfaces: [], devices: [] } as unknown as DesiredHost;
};

describe('a bridge\'s network uuids', () => {
  it('800 VLANs on one NIC: the bridge is kept', () => {
    const d = host(Array.from({ length: 801 }, () => randomUUID()).join(';'));
    assert.deepEqual(switchProblems(d), []);
    assert.deepEqual(switchFit(d).bridges.map((b) => b.name), ['xenbr1']);
  });
  it('no network: kept', () => {
    assert.deepEqual(switchFit(host('')).bridges.map((b) => b.name), ['xenbr1']);
  });
  for (const bad of ['x', ';', `${randomUUID()};`, `${randomUUID()} ${randomUUID()}`, `${randomUUID()};${randomUUID()}\n`, `${randomUUID()},${randomUUID()}`]) {
    it(`not a list of uuids (${JSON.stringify(bad.slice(0, 12))}…): the bridge is left out`, () => {
      assert.equal(switchFit(host(bad)).bridges.length, 0);
      assert.equal(switchProblems(host(bad)).length, 1);
    });
  }
});
