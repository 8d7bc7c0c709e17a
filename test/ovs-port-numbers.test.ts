// A port numbered in advance (a live migration's destination) takes the number it asked for only
// while no other interface holds that number: else its flows would match the other VM's frames.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portNumbersOf } from '../src/agent/ovs.ts';

describe('OpenFlow numbers of the ports a table names', () => {
  it('takes the switch\'s numbers, and a requested one for a port not numbered yet', () => {
    const got = portNumbersOf(new Set(['vif5.0', 'eth1']), new Map([['eth1', 1], ['vif5.0', 0]]), new Map([['vif5.0', 32848]]));
    assert.deepEqual([...got].sort(), [['eth1', 1], ['vif5.0', 32848]]);
  });
  it('gives no number to a requested port whose number another interface holds', () => {
    const got = portNumbersOf(new Set(['vif5.0', 'vif9.0']), new Map([['vif9.0', 32848], ['vif5.0', 0]]), new Map([['vif5.0', 32848]]));
    assert.equal(got.has('vif5.0'), false);
    assert.equal(got.get('vif9.0'), 32848);
  });
  it('the switch\'s own number wins over the one asked for', () => {
    const got = portNumbersOf(new Set(['vif5.0']), new Map([['vif5.0', 7]]), new Map([['vif5.0', 32848]]));
    assert.equal(got.get('vif5.0'), 7);
  });
  it('a requested port the table does not name is left out', () => {
    const got = portNumbersOf(new Set(['eth1']), new Map([['eth1', 1]]), new Map([['vif5.0', 32848]]));
    assert.equal(got.has('vif5.0'), false);
  });
});
