// The generic messages every class gets from the model: getters, setters, map and set
// mutators (with xapi's no-op rules), get_by_*, get_all_records_where, constructors and
// destructors, and session.get_this_host.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

let d: TestDaemon;
let s: string;
let net: string;

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  net = (await call(d.url, 'network.create', [s, { name_label: 'generic', name_description: 'for generic tests', other_config: { a: '1' } }])) as string;
});

after(async () => { await d.dispose(); });

describe('map mutators', () => {
  test('add_to_<map> then remove_from_<map>', async () => {
    await call(d.url, 'network.add_to_other_config', [s, net, 'b', '2']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1', b: '2' });
    await call(d.url, 'network.remove_from_other_config', [s, net, 'b']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
  });

  test('remove_from_<map> of a missing key is a no-op: no error, no change, no event', async () => {
    const gen = d.db.generation;
    assert.equal(await call(d.url, 'network.remove_from_other_config', [s, net, 'missing']), '');
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
    assert.equal(d.db.generation, gen);
  });

  test('the npm client setFieldEntry: remove_from then add_to replaces a value', async () => {
    await call(d.url, 'network.remove_from_other_config', [s, net, 'a']);
    await call(d.url, 'network.add_to_other_config', [s, net, 'a', '42']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '42' });
    await call(d.url, 'network.remove_from_other_config', [s, net, 'a']);
    await call(d.url, 'network.add_to_other_config', [s, net, 'a', '1']);
  });

  test('keys and values are kept verbatim, empty strings included', async () => {
    await call(d.url, 'network.add_to_other_config', [s, net, '', 'empty key']);
    await call(d.url, 'network.add_to_other_config', [s, net, 'spaces and = signs', '']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1', '': 'empty key', 'spaces and = signs': '' });
    await call(d.url, 'network.remove_from_other_config', [s, net, '']);
    await call(d.url, 'network.remove_from_other_config', [s, net, 'spaces and = signs']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
  });

  test('a map key spelled "__proto__" is stored like any other key', async () => {
    await call(d.url, 'network.set_other_config', [s, net, JSON.parse('{"__proto__":"p","a":"1"}')]);
    const m = (await call(d.url, 'network.get_other_config', [s, net])) as Record<string, string>;
    assert.deepEqual(Object.keys(m).sort(), ['__proto__', 'a']);
    assert.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, 'p');
    await call(d.url, 'network.remove_from_other_config', [s, net, '__proto__']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
  });

  test('set_<map> replaces the whole map', async () => {
    await call(d.url, 'network.set_other_config', [s, net, { x: 'y' }]);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { x: 'y' });
    await call(d.url, 'network.set_other_config', [s, net, { a: '1' }]);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
  });
});

describe('set mutators', () => {
  test('add_<set> of a present member is a no-op; remove_<set> of an absent one too', async () => {
    await call(d.url, 'network.add_tags', [s, net, 'red']);
    const gen = d.db.generation;
    await call(d.url, 'network.add_tags', [s, net, 'red']);
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), ['red']);
    assert.equal(d.db.generation, gen);
    await call(d.url, 'network.remove_tags', [s, net, 'blue']);
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), ['red']);
    assert.equal(d.db.generation, gen);
    await call(d.url, 'network.add_tags', [s, net, 'blue']);
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), ['red', 'blue']);
    await call(d.url, 'network.remove_tags', [s, net, 'red']);
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), ['blue']);
    await call(d.url, 'network.set_tags', [s, net, []]);
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), []);
  });

  test('read-only fields have no setters and one-to-many ref sets no mutators', async () => {
    for (const m of ['network.set_uuid', 'network.set_bridge', 'network.set_PIFs', 'network.add_PIFs', 'network.add_VIFs', 'PIF.set_MTU', 'network.set_default_locking_mode_x', 'task.set_name_label', 'network.add_to_current_operations']) {
      assert.deepEqual(await failure(call(d.url, m, [s, net, 'x'])), ['MESSAGE_METHOD_UNKNOWN', m], m);
    }
  });
});

describe('getters and setters', () => {
  test('set_<field> then get_<field>, and get_record agrees', async () => {
    await call(d.url, 'network.set_name_label', [s, net, 'renamed']);
    await call(d.url, 'network.set_MTU', [s, net, 9000]);
    assert.equal(await call(d.url, 'network.get_name_label', [s, net]), 'renamed');
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 9000);
    const rec = (await call(d.url, 'network.get_record', [s, net])) as Record<string, unknown>;
    assert.equal(rec.name_label, 'renamed');
    assert.equal(rec.MTU, 9000);
    assert.equal(rec.name_description, 'for generic tests');
    await call(d.url, 'network.set_name_label', [s, net, 'generic']);
    await call(d.url, 'network.set_MTU', [s, net, 1500]);
  });

  test('get_by_uuid and get_uuid are inverse', async () => {
    const uuid = (await call(d.url, 'network.get_uuid', [s, net])) as string;
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(await call(d.url, 'network.get_by_uuid', [s, uuid]), net);
  });

  test('reverse references are maintained: VM.VIFs and network.VIFs follow VIF.create/destroy', async () => {
    const vm = (await call(d.url, 'VM.create', [s, { name_label: 'gvm' }])) as string;
    assert.deepEqual(await call(d.url, 'VM.get_VIFs', [s, vm]), []);
    const vif = (await call(d.url, 'VIF.create', [s, { device: '0', network: net, VM: vm, MAC: '02:00:00:00:99:01', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])) as string;
    assert.deepEqual(await call(d.url, 'VM.get_VIFs', [s, vm]), [vif]);
    assert.deepEqual(await call(d.url, 'network.get_VIFs', [s, net]), [vif]);
    const rec = (await call(d.url, 'VIF.get_record', [s, vif])) as Record<string, unknown>;
    assert.equal(rec.network, net);
    assert.equal(rec.VM, vm);
    assert.equal(rec.locking_mode, 'network_default');
    assert.ok(!('reserved' in rec));
    await call(d.url, 'VIF.destroy', [s, vif]);
    assert.deepEqual(await call(d.url, 'VM.get_VIFs', [s, vm]), []);
    assert.deepEqual(await call(d.url, 'network.get_VIFs', [s, net]), []);
    await call(d.url, 'VM.destroy', [s, vm]);
    assert.deepEqual(await failure(call(d.url, 'VM.get_record', [s, vm])), ['HANDLE_INVALID', 'VM', vm]);
  });

  test('constructor fields left out take their defaults', async () => {
    const n = (await call(d.url, 'network.create', [s, { name_label: 'defaults' }])) as string;
    const rec = (await call(d.url, 'network.get_record', [s, n])) as Record<string, unknown>;
    assert.equal(rec.MTU, 1500);
    assert.equal(rec.name_description, '');
    assert.deepEqual(rec.other_config, {});
    assert.deepEqual(rec.tags, []);
    assert.equal(rec.managed, true);
    assert.match(rec.bridge as string, /^xapi\d+$/);
    await call(d.url, 'network.destroy', [s, n]);
  });

  test('records never carry internal fields (secrets, hashes, device names, session roles)', async () => {
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    const prec = (await call(d.url, 'pool.get_record', [s, pool])) as Record<string, unknown>;
    assert.ok(!('root_password_hash' in prec) && !('pool_secret' in prec));
    assert.deepEqual(await failure(call(d.url, 'pool.get_pool_secret', [s, pool])), ['MESSAGE_METHOD_UNKNOWN', 'pool.get_pool_secret']);
    const srec = (await call(d.url, 'session.get_record', [s, s])) as Record<string, unknown>;
    assert.ok(!('roles' in srec));
    assert.equal(srec.is_local_superuser, true);
    const subj = (await call(d.url, 'subject.create_local_user', [s, 'gen-user', 'pw-gen', ['read-only']])) as string;
    const subjRec = (await call(d.url, 'subject.get_record', [s, subj])) as Record<string, unknown>;
    assert.ok(!('password_hash' in subjRec));
    assert.equal(subjRec.subject_identifier, 'local:gen-user');
    assert.doesNotMatch(JSON.stringify(await call(d.url, 'subject.get_all_records', [s])), /scrypt|password_hash|\$/);
  });
});

describe('get_by_name_label', () => {
  test('returns every object with that label, or none', async () => {
    const dup1 = (await call(d.url, 'network.create', [s, { name_label: 'twin' }])) as string;
    const dup2 = (await call(d.url, 'network.create', [s, { name_label: 'twin' }])) as string;
    assert.deepEqual(((await call(d.url, 'network.get_by_name_label', [s, 'twin'])) as string[]).sort(), [dup1, dup2].sort());
    assert.deepEqual(await call(d.url, 'network.get_by_name_label', [s, 'generic']), [net]);
    assert.deepEqual(await call(d.url, 'network.get_by_name_label', [s, 'no such network']), []);
    // exact match: neither substring nor case-insensitive
    assert.deepEqual(await call(d.url, 'network.get_by_name_label', [s, 'Twin']), []);
    assert.deepEqual(await call(d.url, 'network.get_by_name_label', [s, 'twi']), []);
    assert.equal(((await call(d.url, 'network.get_by_name_label', [s, 'Pool-wide network associated with eth1'])) as string[]).length, 1);
    await call(d.url, 'network.destroy', [s, dup1]);
    assert.deepEqual(await call(d.url, 'network.get_by_name_label', [s, 'twin']), [dup2]);
    await call(d.url, 'network.destroy', [s, dup2]);
  });

  test('exists only for classes with a name_label', async () => {
    assert.deepEqual(await failure(call(d.url, 'PIF.get_by_name_label', [s, 'x'])), ['MESSAGE_METHOD_UNKNOWN', 'PIF.get_by_name_label']);
  });
});

describe('get_all_records_where / get_all_where', () => {
  test('field "name_label"="x" selects exactly the matching objects', async () => {
    const x = (await call(d.url, 'network.create', [s, { name_label: 'x' }])) as string;
    const recs = (await call(d.url, 'network.get_all_records_where', [s, 'field "name_label"="x"'])) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(recs), [x]);
    assert.deepEqual(recs[x], await call(d.url, 'network.get_record', [s, x]));
    assert.deepEqual(await call(d.url, 'network.get_all_where', [s, 'field "name_label"="x"']), [x]);
    await call(d.url, 'network.destroy', [s, x]);
    assert.deepEqual(await call(d.url, 'network.get_all_records_where', [s, 'field "name_label"="x"']), {});
  });

  test('other fields, connectives and true', async () => {
    const all = (await call(d.url, 'PIF.get_all', [s])) as string[];
    assert.deepEqual(Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, 'true'])) as object).sort(), [...all].sort());
    const eth1 = (await call(d.url, 'PIF.get_all_where', [s, 'field "device"="eth1"'])) as string[];
    assert.equal(eth1.length, 1);
    assert.equal(await call(d.url, 'PIF.get_device', [s, eth1[0]]), 'eth1');
    const mgmt = (await call(d.url, 'PIF.get_all_where', [s, 'field "management"="true"'])) as string[];
    assert.equal(mgmt.length, 1);
    assert.equal(await call(d.url, 'PIF.get_device', [s, mgmt[0]]), 'eth0');
    const two = (await call(d.url, 'PIF.get_all_where', [s, 'field "device"="eth1" or field "device"="eth2"'])) as string[];
    assert.equal(two.length, 2);
    assert.deepEqual(await call(d.url, 'PIF.get_all_where', [s, 'field "device"="eth1" and field "device"="eth2"']), []);
    assert.deepEqual(await call(d.url, 'PIF.get_all_where', [s, 'false']), []);
  });

  test('a malformed expression is INVALID_VALUE', async () => {
    const e = await failure(call(d.url, 'network.get_all_records_where', [s, 'field "name_label" "x"']));
    assert.equal(e[0], 'INVALID_VALUE');
  });
});

describe('session.get_this_host', () => {
  test('returns the host the session logged into, for the caller and for another session', async () => {
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    const master = (await call(d.url, 'pool.get_master', [s, pool])) as string;
    assert.equal(await call(d.url, 'session.get_this_host', [s, s]), master);
    const other = await login(d.url);
    assert.equal(await call(d.url, 'session.get_this_host', [s, other]), master);
    assert.equal(await call(d.url, 'session.get_this_host', [other, s]), master);
    assert.equal(await call(d.url, 'session.get_this_user', [s, s]), 'OpaqueRef:NULL');
    await call(d.url, 'session.logout', [other]);
  });

  test('a bad self is a clean XenAPI failure naming the ref, not an internal error', async () => {
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    for (const bad of ['OpaqueRef:00000000-0000-0000-0000-000000000001', '', pool]) {
      const e = await failure(call(d.url, 'session.get_this_host', [s, bad]));
      assert.ok(e[0] === 'HANDLE_INVALID' || e[0] === 'SESSION_INVALID', JSON.stringify(e));
      assert.ok(e.includes(bad), JSON.stringify(e));
    }
    assert.deepEqual(await failure(call(d.url, 'session.get_this_host', [s, 42])), ['FIELD_TYPE_ERROR', 'self']);
    assert.deepEqual(await failure(call(d.url, 'session.get_this_host', [s])), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.get_this_host', '1', '0']);
    // the daemon is still there
    assert.equal(((await call(d.url, 'pool.get_all', [s])) as string[]).length, 1);
  });

  test('session has no get_all / get_all_records', async () => {
    assert.deepEqual(await failure(call(d.url, 'session.get_all', [s])), ['MESSAGE_METHOD_UNKNOWN', 'session.get_all']);
    assert.deepEqual(await failure(call(d.url, 'session.get_all_records', [s])), ['MESSAGE_METHOD_UNKNOWN', 'session.get_all_records']);
  });
});

describe('a refused operation changes nothing', () => {
  test('a failing constructor or destructor leaves the database as it was', async () => {
    const gen = d.db.generation;
    const count = ((await call(d.url, 'network.get_all', [s])) as string[]).length;
    const e1 = await failure(call(d.url, 'network.create', [s, { name_label: 'clash', bridge: 'xenbr0' }]));
    assert.equal(e1[0], 'INVALID_VALUE');
    const pifNet = ((await call(d.url, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    const e2 = await failure(call(d.url, 'network.destroy', [s, pifNet]));
    assert.equal(e2[0], 'NETWORK_CONTAINS_PIF');
    assert.equal(((await call(d.url, 'network.get_all', [s])) as string[]).length, count);
    assert.equal(d.db.generation, gen);
  });

  test('a type error in the middle of a setter changes nothing', async () => {
    const gen = d.db.generation;
    await failure(call(d.url, 'network.set_other_config', [s, net, { ok: 'x', bad: 5 }]));
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { a: '1' });
    assert.equal(d.db.generation, gen);
  });
});
