// The OVSDB client against a real ovsdb-server: transact, monitor, the framer.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JsonFramer, OvsdbClient, OvsdbError, mapOf, ovsMap, setMembers } from '../src/agent/ovsdb.ts';
import { haveOvs, startOvsdb, type OvsDb } from './helpers/ovs.ts';

describe('JsonFramer', () => {
  it('splits concatenated JSON texts, across chunk boundaries and inside strings', () => {
    const f = new JsonFramer();
    assert.deepEqual(f.push('{"a":"}{"}{"b":[1,'), ['{"a":"}{"}']);
    assert.deepEqual(f.push('2]}  {"c":"\\"}"}'), ['{"b":[1,2]}', '{"c":"\\"}"}']);
    assert.deepEqual(f.push('{"d":'), []);
    assert.deepEqual(f.push('1}'), ['{"d":1}']);
  });
});

describe('OvsdbClient against ovsdb-server', { skip: haveOvs() ? false : 'ovsdb-server is not installed (Debian openvswitch-switch)' }, () => {
  let ovs: OvsDb;
  let c: OvsdbClient;
  before(async () => { ovs = await startOvsdb(); c = await OvsdbClient.connect(ovs.socket); });
  after(async () => { c?.close(); await ovs?.stop(); });

  it('lists the Open_vSwitch database', async () => {
    assert.ok((await c.listDbs()).includes('Open_vSwitch'));
  });

  it('inserts a bridge with a port atomically and reads it back', async () => {
    const [, , , root] = await c.transact('Open_vSwitch', [
      { op: 'insert', table: 'Interface', row: { name: 'xenbr9', type: 'internal' }, 'uuid-name': 'i' },
      { op: 'insert', table: 'Port', row: { name: 'xenbr9', interfaces: ['named-uuid', 'i'] }, 'uuid-name': 'p' },
      { op: 'insert', table: 'Bridge', row: { name: 'xenbr9', ports: ['named-uuid', 'p'], other_config: ovsMap({ 'hwaddr': '02:00:00:00:00:09' }) }, 'uuid-name': 'b' },
      { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
    ]);
    assert.ok(root.uuid);
    const [sel] = await c.transact('Open_vSwitch', [{ op: 'select', table: 'Bridge', where: [['name', '==', 'xenbr9']], columns: ['name', 'ports', 'other_config'] }]);
    assert.equal(sel.rows?.length, 1);
    assert.equal(setMembers(sel.rows![0].ports).length, 1);
    assert.deepEqual(mapOf(sel.rows![0].other_config), { hwaddr: '02:00:00:00:00:09' });
  });

  it('fails a whole transaction when one operation fails, changing nothing', async () => {
    await assert.rejects(c.transact('Open_vSwitch', [
      { op: 'insert', table: 'Interface', row: { name: 'never' } },
      { op: 'insert', table: 'NoSuchTable', row: {} },
    ]), OvsdbError);
    const [sel] = await c.transact('Open_vSwitch', [{ op: 'select', table: 'Interface', where: [['name', '==', 'never']] }]);
    assert.equal(sel.rows?.length, 0);
  });

  it('monitors a table: initial rows, then updates as they happen', async () => {
    const seen: string[] = [];
    let wake: () => void = () => undefined;
    const initial = await c.monitor('Open_vSwitch', 'm1', { Bridge: { columns: ['name'] } }, (u) => {
      for (const row of Object.values(u.Bridge ?? {})) if (row.new) seen.push(String(row.new.name));
      wake();
    });
    assert.deepEqual(Object.values(initial.Bridge ?? {}).map((r) => r.new?.name), ['xenbr9']);
    const got = new Promise<void>((r) => { wake = r; });
    const [root] = await c.transact('Open_vSwitch', [{ op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] }]);
    await c.transact('Open_vSwitch', [
      { op: 'insert', table: 'Bridge', row: { name: 'xapi0' }, 'uuid-name': 'b' },
      { op: 'mutate', table: 'Open_vSwitch', where: [['_uuid', '==', root.rows![0]._uuid]], mutations: [['bridges', 'insert', ['named-uuid', 'b']]] },
    ]);
    await got;
    assert.deepEqual(seen, ['xapi0']);
  });
});
