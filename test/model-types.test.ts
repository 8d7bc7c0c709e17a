// The types derived from the model (src/model/index.ts, errors.ts) and the typed database
// (src/db/database.ts). Two kinds of check: the `@ts-expect-error` lines below are compile-time
// assertions (`npx tsc --noEmit -p .` fails when a line stops being an error, i.e. when the
// types stop catching the mistake it shows); the tests run the same refusals on a real
// in-memory database, where the check must hold at run time too.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ImplTable } from '../src/api/context.ts';
import { Database, type ObjOf } from '../src/db/database.ts';
import { initialise } from '../src/db/init.ts';
import { XapiError, fail, type ArgsOf, type MessageName, type RecordOf } from '../src/model/index.ts';
import { FACTS } from './helpers/daemon.ts';

// ---- compile-time assertions (never run: a function nobody calls) ----

export function typeAssertions(pif: RecordOf<'PIF'>, tx: Parameters<Parameters<Database['transact']>[0]>[0], obj: ObjOf<'PIF'>): void {
  const vlan: number = pif.VLAN;
  const ips: string[] = pif.IPv6;
  const mode: 'None' | 'DHCP' | 'Static' = pif.ip_configuration_mode;
  const other: Record<string, string> = pif.other_config;
  // @ts-expect-error a reverse field is not stored in the record (the database derives it)
  void pif.VLAN_master_of;
  // @ts-expect-error a field PIF does not have
  void pif.VLAN_tag;
  // @ts-expect-error an enum holds only its values
  const bad: RecordOf<'PIF'>['ip_configuration_mode'] = 'Dynamic';

  const names: MessageName[] = ['PIF.plug', 'VIF.set_locking_mode', 'network.add_to_other_config', 'VLAN.get_all_records_where'];
  // @ts-expect-error a message the model lacks
  const typo: MessageName = 'PIF.plugg';
  const args: ArgsOf<'PIF.reconfigure_ip'> = { self: 'r', mode: 'Static', IP: '', netmask: '', gateway: '', DNS: '' };
  // @ts-expect-error a parameter of the wrong type
  const badArgs: ArgsOf<'VLAN.create'> = { tagged_PIF: 'r', tag: '5', network: 'n' };
  const impls: ImplTable = {
    'PIF.plug': (_ctx, a) => a.self.length,
    // @ts-expect-error an implementation key the model lacks
    'PIF.plugg': () => undefined,
  };
  const answers: ImplTable = {
    // @ts-expect-error VLAN.create answers a VLAN ref (a string), not a number
    'VLAN.create': () => 5,
    'VLAN.destroy': async () => { await Promise.resolve(); },
  };

  tx.create('PIF', { device: 'eth9', VLAN: 5 });
  // @ts-expect-error create refuses a field the class does not have
  tx.create('PIF', { device: 'eth9', vlan: 5 });
  tx.update(obj, { currently_attached: true });
  // @ts-expect-error update of a typed object takes the class's field types
  tx.update(obj, { currently_attached: 'yes' });
  tx.update('PIF', obj.ref, { MTU: 9000 });
  // @ts-expect-error the same, naming the class
  tx.update('PIF', obj.ref, { MTU: '9000' });

  void new XapiError('PIF_IS_VLAN', [obj.ref]);
  void new XapiError('NETWORK_ALREADY_CONNECTED', ['network', 'pif']);
  // @ts-expect-error a code outside the catalogue
  void new XapiError('PIF_IS_VLANN', [obj.ref]);
  // @ts-expect-error one parameter too few (the catalogue names [network, connected PIF])
  void new XapiError('NETWORK_ALREADY_CONNECTED', ['network']);
  // @ts-expect-error the same for fail()
  fail('PIF_IS_VLAN');
  void [vlan, ips, mode, other, bad, names, typo, args, badArgs, impls, answers];
}

// ---- run-time checks ----

describe('typed model', () => {
  let db: Database;
  beforeEach(() => { db = new Database(':memory:'); initialise(db, FACTS, { backend: 'openvswitch' }); });
  afterEach(() => { db.close(); });

  it('Txn.create refuses a field the class does not have (as update does), with the same error, and stores nothing', () => {
    const before = db.count('network');
    const gen = db.generation;
    const refused = (f: () => void): string[] => {
      try { f(); } catch (e) { assert.ok(e instanceof XapiError); return e.description; }
      assert.fail('not refused');
    };
    const onCreate = refused(() => db.transact((tx) => tx.create('network', { name_label: 'n', nonsense: 1 } as never)));
    assert.deepEqual(onCreate, ['INTERNAL_ERROR', 'network.nonsense is not a stored field']);
    assert.equal(db.count('network'), before, 'nothing stored');
    assert.equal(db.generation, gen, 'nothing committed');
    // a reverse field is refused too: the database derives it
    assert.deepEqual(refused(() => db.transact((tx) => tx.create('network', { PIFs: [] } as never))), ['INTERNAL_ERROR', 'network.PIFs is not a stored field']);
    const net = db.transact((tx) => tx.create('network', { name_label: 'n' }));
    const onUpdate = refused(() => db.transact((tx) => tx.update(net, { nonsense: 1 })));
    assert.deepEqual(onUpdate, ['INTERNAL_ERROR', 'network.nonsense is not a stored field']);
    assert.equal(db.must('network', net).rec.name_label, 'n');
  });

  it('a typed update by object or by class writes the field, as the loose one does', () => {
    const net = db.transact((tx) => tx.create('network', { name_label: 'a', MTU: 1500 }));
    db.transact((tx) => tx.update(tx.must('network', net), { name_label: 'b' }));
    db.transact((tx) => tx.update('network', net, { MTU: 9000 }));
    const rec = db.must('network', net).rec;
    assert.equal(rec.name_label, 'b');
    assert.equal(rec.MTU, 9000);
    // naming the wrong class is refused before anything changes
    assert.throws(() => db.transact((tx) => tx.update('VLAN', net, { tag: 5 })),
      (e: unknown) => e instanceof XapiError && e.code === 'INTERNAL_ERROR' && e.params[0] === `${net} is a network, not a VLAN`);
    assert.equal(db.must('network', net).rec.MTU, 9000);
  });

  it('XapiError made by code keeps its wire form; relayed carries a code from elsewhere', () => {
    const e = new XapiError('NETWORK_ALREADY_CONNECTED', ['OpaqueRef:n', 7]);
    assert.deepEqual(e.description, ['NETWORK_ALREADY_CONNECTED', 'OpaqueRef:n', '7']);
    assert.ok(e instanceof Error);
    const r = XapiError.relayed('SOME_PEER_CODE', ['x']);
    assert.ok(r instanceof XapiError);
    assert.deepEqual(r.description, ['SOME_PEER_CODE', 'x']);
  });

});
