// The shared rules (src/domain): each decided once, and the API (ops), the host agent and the
// console give the same answer from it.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { compile } from '../src/agent/compile.ts';
import { Database } from '../src/db/database.ts';
import { initialise } from '../src/db/init.ts';
import {
  effectiveLockingMode, isBackendName, isSriovNetwork, networkKind, pifKind, prefixOfNetmask, subnetOf, subnetsOverlap, vifRate,
  type PifFacts,
} from '../src/domain/index.ts';
import { effectiveLockingMode as opsLockingMode } from '../src/ops/vif.ts';
import { effectiveLocking } from '../console/src/logic/topology.ts';
import { FACTS } from './helpers/daemon.ts';
import { makeVif, makeVm } from './helpers/fixtures.ts';

describe('effective locking mode', () => {
  it('is the VIF\'s own mode, else its network\'s default (unlocked or disabled)', () => {
    for (const m of ['locked', 'unlocked', 'disabled'] as const) assert.equal(effectiveLockingMode(m, { default_locking_mode: 'disabled' }), m);
    assert.equal(effectiveLockingMode('network_default', { default_locking_mode: 'unlocked' }), 'unlocked');
    assert.equal(effectiveLockingMode('network_default', { default_locking_mode: 'disabled' }), 'disabled');
    assert.equal(effectiveLockingMode('network_default', undefined), 'unlocked', 'no network record: xapi\'s default');
    assert.equal(effectiveLockingMode('sideways', { default_locking_mode: 'unlocked' }), undefined);
  });

  it('fails closed on a network default that is neither unlocked nor disabled', () => {
    for (const d of ['locked', 'network_default', '', undefined, 7]) assert.equal(effectiveLockingMode('network_default', { default_locking_mode: d }), 'disabled', String(d));
  });

  describe('ops, the agent and the console agree on a stored network default xapi does not have', () => {
    let db: Database;
    beforeEach(() => { db = new Database(':memory:'); initialise(db, FACTS, { backend: 'openvswitch' }); });
    afterEach(() => { db.close(); });

    it('the VIF is disabled: ops says so, the console shows it, and the agent leaves it off the switch', () => {
      const host = [...db.all('host')][0].ref;
      const net = [...db.all('network')].find((n) => n.rec.bridge === 'xenbr0')!.ref;
      let vif = '';
      db.transact((tx) => {
        const vm = makeVm(tx, { power_state: 'Running', resident_on: host, domid: 3 });
        vif = makeVif(tx, { VM: vm, network: net, currently_attached: true, locking_mode: 'network_default' });
      });
      const agentOnBridge = () => compile(db, host).bridges.flatMap((b) => b.ports).some((p) => p.name === 'vif3.0');
      assert.equal(opsLockingMode(db, db.get(vif)! as Parameters<typeof opsLockingMode>[1]), 'unlocked');
      assert.ok(agentOnBridge(), 'an unlocked VIF is on the bridge');
      // past the API (which refuses it): a replica or an older database
      db.transact((tx) => tx.update(net, { default_locking_mode: 'locked' }));
      assert.equal(opsLockingMode(db, db.get(vif)! as Parameters<typeof opsLockingMode>[1]), 'disabled', 'ops (before: unlocked, the disagreement)');
      const desired = compile(db, host);
      assert.ok(!agentOnBridge(), 'the agent: off the switch');
      assert.deepEqual(desired.detachedVifs, ['vif3.0']);
      assert.ok(desired.rejected?.some((r) => r.cls === 'network' && r.field === 'default_locking_mode'));
      const store = { get: (cls: string, ref: unknown) => (cls === 'network' && ref === net ? db.get(net)!.rec : undefined) };
      const eff = effectiveLocking(store as never, { ...db.get(vif)!.rec } as never);
      assert.equal(eff.mode, 'disabled', 'the console');
    });
  });
});

describe('VIF rate', () => {
  it('reads kbps of a ratelimit VIF, refusing what no switch can carry', () => {
    assert.deepEqual(vifRate('ratelimit', { kbps: '100' }), { kind: 'limit', kbps: 100 });
    assert.deepEqual(vifRate('', { kbps: '100' }), { kind: 'none' });
    assert.deepEqual(vifRate('ratelimit', {}), { kind: 'none' });
    for (const bad of ['0', '-5', 'x', '1.5', '99999999999999', 100]) assert.equal(vifRate('ratelimit', { kbps: bad }).kind, 'invalid', String(bad));
  });
});

describe('PIF kind and network kind', () => {
  const f = (o: Partial<PifFacts>): PifFacts => ({ tunnelAccess: false, vlan: false, sriovLogical: false, bondMaster: false, physical: false, ...o });
  it('tests in xapi\'s order: tunnel, VLAN, SR-IOV, bond, physical', () => {
    assert.equal(pifKind(f({ tunnelAccess: true, vlan: true, physical: true })), 'tunnel_access');
    assert.equal(pifKind(f({ vlan: true, sriovLogical: true })), 'vlan');
    assert.equal(pifKind(f({ sriovLogical: true, bondMaster: true })), 'sriov_logical');
    assert.equal(pifKind(f({ bondMaster: true, physical: true })), 'bond_master');
    assert.equal(pifKind(f({ physical: true })), 'physical');
    assert.equal(pifKind(f({})), undefined);
  });
  it('an SR-IOV network: a logical PIF, or a VLAN on one', () => {
    assert.ok(isSriovNetwork([{ kind: 'physical' }, { kind: 'sriov_logical' }]));
    assert.ok(isSriovNetwork([{ kind: 'vlan', taggedKind: 'sriov_logical' }]));
    assert.ok(!isSriovNetwork([{ kind: 'vlan', taggedKind: 'physical' }, { kind: 'bond_master' }]));
    assert.equal(networkKind([]), 'internal');
    assert.equal(networkKind([{ kind: 'vlan', taggedKind: 'sriov_logical' }]), 'sriov');
    assert.equal(networkKind([{ kind: 'tunnel_access' }]), 'private');
    assert.equal(networkKind([{ kind: 'vlan', taggedKind: 'bond_master' }]), 'vlan');
    assert.equal(networkKind([{ kind: 'bond_master' }]), 'bonded');
    assert.equal(networkKind([{ kind: 'physical' }]), 'external');
  });
});

describe('IPv4 arithmetic and backend names', () => {
  it('prefixes, subnets, overlaps', () => {
    assert.equal(prefixOfNetmask('255.255.255.0'), 24);
    assert.equal(prefixOfNetmask('0.0.0.0'), 0);
    assert.equal(prefixOfNetmask('255.0.255.0'), undefined);
    assert.equal(subnetOf('10.1.2.3', '255.255.0.0'), '10.1.0.0/16');
    assert.equal(subnetOf('10.1.2.300', '255.255.0.0'), undefined);
    assert.ok(subnetsOverlap('10.0.0.0/8', '10.5.0.0/16'));
    assert.ok(!subnetsOverlap('10.0.0.0/24', '10.0.1.0/24'));
  });
  it('knows the two backends', () => {
    assert.ok(isBackendName('openvswitch') && isBackendName('bridge') && !isBackendName('none'));
  });
});

describe('the domain module', () => {
  it('is pure and self-contained: no Node module, no import from outside src/domain (the console bundles it)', () => {
    const dir = new URL('../src/domain/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      for (const m of readFileSync(new URL(f, dir), 'utf8').matchAll(/from '([^']+)'/g)) assert.match(m[1], /^\.\/[a-z0-9]+\.ts$/, `${f} imports ${m[1]}`);
    }
  });
});
