// The fixture builders (test/helpers/fixtures.ts) against the model, on a fresh in-memory pool
// database per test: what they make passes the model's own value checks and points only at
// objects of the declared classes; a field not given takes the model's default; a field the
// model does not have is refused and nothing is stored.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import { Database } from '../src/db/database.ts';
import { initialise } from '../src/db/init.ts';
import { checkRecordValues } from '../src/model/checks.ts';
import { NULL_REF, classDef, type FieldType } from '../src/model/index.ts';
import { FACTS } from './helpers/daemon.ts';
import {
  makeBond, makeHost, makeNetwork, makePif, makeSriov, makeTunnel, makeVif, makeVlanPif, makeVm,
} from './helpers/fixtures.ts';

let db: Database;
beforeEach(() => {
  db = new Database(':memory:');
  initialise(db, FACTS, { backend: 'openvswitch' });
});
afterEach(() => { db.close(); });

/** Refs in a value of a field type, with the class each must be. */
function refsOf(v: unknown, t: FieldType): [string, string][] {
  if (t.k === 'ref') return typeof v === 'string' && v !== NULL_REF ? [[v, t.cls]] : [];
  if (t.k === 'set') return (v as unknown[]).flatMap((x) => refsOf(x, t.of));
  if (t.k === 'map') return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [...refsOf(k, t.key), ...refsOf(x, t.value)]);
  return [];
}

/** Each builder once, on a second host as a test would use them. */
function everyBuilder() {
  return db.transact((tx) => {
    const host = makeHost(tx, { name_label: 'host2', hostname: 'host2' });
    const network = makeNetwork(tx, { bridge: 'xenbr7' });
    const eth0 = makePif(tx, { network, host });
    const eth1 = makePif(tx, { device: 'eth1', network: makeNetwork(tx, { bridge: 'xenbr8' }), host, MAC: '02:00:00:00:02:01' });
    const vlan = makeVlanPif(tx, { tagged: eth0, network: makeNetwork(tx, { bridge: 'xapi5' }), tag: 5 });
    const bond = makeBond(tx, { master: makePif(tx, { device: 'bond0', network: makeNetwork(tx, { bridge: 'xapi6' }), host, physical: false }) });
    const access = makePif(tx, { device: 'tunnel0', network: makeNetwork(tx, { bridge: 'xapi7' }), host, physical: false, MTU: -1 });
    const tunnel = makeTunnel(tx, { access_PIF: access, transport_PIF: eth1 });
    const sriov = makeSriov(tx, eth1, makeNetwork(tx, { bridge: 'xapi8' }));
    const vm = makeVm(tx);
    const vif = makeVif(tx, { VM: vm, network });
    return { host, network, eth0, eth1, vlan, bond, tunnel, sriov, vm, vif };
  });
}

it('what the builders make passes the model\'s value checks and refers only to objects of the declared classes', () => {
  const made = everyBuilder();
  const refs = [made.host, made.network, made.eth0, made.eth1, made.vlan.vlan, made.vlan.untagged, made.bond, made.tunnel, made.sriov.sriov, made.sriov.logical, made.vm, made.vif];
  for (const ref of refs) {
    const o = db.get(ref)!;
    const cls = classDef(o.cls);
    assert.doesNotThrow(() => checkRecordValues(cls, o.rec), `${o.cls} ${ref}`);
    for (const fd of cls.fields) {
      for (const [target, want] of refsOf(db.fieldValue(o, fd), fd.type)) {
        assert.equal(db.get(target)?.cls, want, `${o.cls}.${fd.name} -> ${target}`);
      }
    }
  }
  // the reverse fields see them
  assert.deepEqual(db.record(db.get(made.eth0)!).VLAN_slave_of, [made.vlan.vlan]);
  assert.deepEqual(db.record(db.get(made.network)!).PIFs, [made.eth0]);
  assert.deepEqual(db.record(db.get(made.eth1)!).sriov_physical_PIF_of, [made.sriov.sriov]);
  assert.deepEqual(db.record(db.get(made.vm)!).VIFs, [made.vif]);
});

it('a field not given takes the model\'s default; a given one wins', () => {
  const made = everyBuilder();
  const rec = (ref: string) => db.get(ref)!.rec;
  assert.equal(rec(made.eth0).VLAN, -1, 'PIF.VLAN: the model\'s -1');
  assert.equal(rec(made.eth0).managed, true);
  assert.equal(rec(made.eth0).igmp_snooping_status, 'unknown');
  assert.equal(rec(made.network).MTU, 1500);
  assert.equal(rec(made.network).default_locking_mode, 'unlocked');
  assert.equal(rec(made.vm).power_state, 'Halted');
  assert.equal(rec(made.vm).domid, -1);
  assert.equal(rec(made.vif).locking_mode, 'network_default');
  assert.equal(rec(made.bond).auto_update_mac, true);
  assert.equal(rec(made.vlan.untagged).VLAN, 5);
  assert.equal(rec(made.eth1).device_name, 'eth1', 'device_name follows device');
});

it('a field the model does not have, or a reverse one, is refused, and nothing is stored', () => {
  const pifs = db.count('PIF'), networks = db.count('network');
  const network = () => [...db.all('network')][0].ref;
  const host = [...db.all('host')][0].ref;
  assert.throws(() => db.transact((tx) => makePif(tx, { network: network(), host, vlan: 5 })), /PIF has no stored field vlan/);
  assert.throws(() => db.transact((tx) => { makeNetwork(tx, { bridge: 'xapi9' }); return makeNetwork(tx, { PIFs: [] }); }), /network has no stored field PIFs/);
  assert.equal(db.count('PIF'), pifs);
  assert.equal(db.count('network'), networks, 'the first network went with the refused transaction');
});
