// The XenAPI error codes and their parameters, each provoked over JSON-RPC and XML-RPC,
// RBAC denials for local users, and the promise that a refused call changes nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, failure, login, post, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { parseMethodResponse, type WireValue } from '../src/api/xmlrpc.ts';

const esc = (x: string) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function xv(v: unknown): string {
  if (typeof v === 'string') return `<value><string>${esc(v)}</string></value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(xv).join('')}</data></array></value>`;
  return `<value><struct>${Object.entries(v as object).map(([k, x]) => `<member><name>${esc(k)}</name>${xv(x)}</member>`).join('')}</struct></value>`;
}

let d: TestDaemon;

/** An XML-RPC call: the Value, or throws with `description` like the JSON helper. */
async function xcall(method: string, params: unknown[]): Promise<unknown> {
  const r = await post(d.url, '/', `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${xv(p)}</param>`).join('')}</params></methodCall>`);
  assert.equal(r.status, 200, r.body);
  const v = parseMethodResponse(r.body) as Record<string, WireValue>;
  if (v.Status === 'Success') return v.Value;
  const desc = v.ErrorDescription as string[];
  throw Object.assign(new Error(desc.join(' ')), { description: desc });
}

/** The failure of `method(params)` over both transports; they must agree. */
async function both(method: string, params: unknown[]): Promise<string[]> {
  const j = await failure(call(d.url, method, params));
  const x = await failure(xcall(method, params));
  assert.deepEqual(x, j, `XML-RPC and JSON-RPC disagree on ${method}`);
  return j;
}

const denied = (permission: string, roles: string) => ['RBAC_PERMISSION_DENIED', permission, `No permission in user session. (Roles with this permission: ${roles})`];

const BOGUS = 'OpaqueRef:00000000-0000-0000-0000-000000000bad';

let s: string;
let net: string;
let netUuid: string;
let pif: string;
let pifUuid: string;
let vm: string;
let vif: string;
const sessions: Record<string, string> = {};

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  net = (await call(d.url, 'network.create', [s, { name_label: 'errors', name_description: '', other_config: {} }])) as string;
  netUuid = (await call(d.url, 'network.get_uuid', [s, net])) as string;
  pif = ((await call(d.url, 'PIF.get_all', [s])) as string[])[0];
  pifUuid = (await call(d.url, 'PIF.get_uuid', [s, pif])) as string;
  vm = (await call(d.url, 'VM.create', [s, { name_label: 'vm1', name_description: '', is_a_template: false, affinity: 'OpaqueRef:NULL', other_config: {}, tags: [] }])) as string;
  vif = (await call(d.url, 'VIF.create', [s, {
    device: '0', network: net, VM: vm, MAC: '02:00:00:aa:bb:01', MTU: 1500, other_config: {}, currently_attached: false,
    qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [],
  }])) as string;
  for (const [user, role] of [['ro', 'read-only'], ['vmop', 'vm-operator'], ['vmadmin', 'vm-admin'], ['poolop', 'pool-operator']]) {
    await call(d.url, 'subject.create_local_user', [s, user, `${user}-pw`, [role]]);
    sessions[role] = await login(d.url, user, `${user}-pw`);
  }
});

after(async () => { await d.dispose(); });

describe('MESSAGE_METHOD_UNKNOWN [method]', () => {
  test('unknown messages and classes echo the name as sent', async () => {
    for (const m of ['network.frobnicate', 'nosuch.get_all', 'Network.get_all', 'vif.get_all', 'network', 'network_frobnicate', 'Async.network.frobnicate']) {
      assert.deepEqual(await both(m, [s]), ['MESSAGE_METHOD_UNKNOWN', m]);
    }
  });
});

describe('SESSION_AUTHENTICATION_FAILED', () => {
  test('wrong password, unknown user: [uname, reason]', async () => {
    for (const [u, p] of [['root', 'wrong'], ['nobody', 'x'], ['ro', 'not-ro-pw']]) {
      const e = await both('session.login_with_password', [u, p]);
      assert.equal(e[0], 'SESSION_AUTHENTICATION_FAILED');
      assert.equal(e[1], u);
      assert.equal(e.length, 3);
    }
  });

  test('a local user without any role may not log in', async () => {
    await call(d.url, 'subject.create_local_user', [s, 'norole', 'norole-pw', []]);
    const e = await both('session.login_with_password', ['norole', 'norole-pw']);
    assert.equal(e[0], 'SESSION_AUTHENTICATION_FAILED');
  });

  test('the version and originator arguments are optional', async () => {
    for (const params of [['root', ROOT_PASSWORD], ['root', ROOT_PASSWORD, '2.23'], ['root', ROOT_PASSWORD, '2.23', 'tests']]) {
      const sj = (await call(d.url, 'session.login_with_password', params)) as string;
      const sx = (await xcall('session.login_with_password', params)) as string;
      for (const x of [sj, sx]) {
        assert.match(x, /^OpaqueRef:[0-9a-f-]{36}$/);
        await call(d.url, 'session.logout', [x]);
      }
      assert.notEqual(sj, sx);
    }
  });
});

describe('SESSION_INVALID [ref]', () => {
  test('unknown refs, garbage and refs of other classes', async () => {
    const poolRef = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    for (const bad of [BOGUS, 'garbage', '', 'OpaqueRef:NULL', poolRef, net]) {
      assert.deepEqual(await both('network.get_all', [bad]), ['SESSION_INVALID', bad]);
    }
  });

  test('after logout, on every kind of call', async () => {
    const s2 = await login(d.url);
    await call(d.url, 'session.logout', [s2]);
    for (const [m, ps] of [['network.get_all', []], ['network.get_record', [net]], ['network.set_name_label', [net, 'x']], ['event.from', [['*'], '', 0.1]], ['session.logout', []]] as [string, unknown[]][]) {
      assert.deepEqual(await both(m, [s2, ...ps]), ['SESSION_INVALID', s2], m);
    }
    assert.equal(await call(d.url, 'network.get_name_label', [s, net]), 'errors');
  });
});

describe('MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, received]', () => {
  test('too few and too many, counts without the session', async () => {
    assert.deepEqual(await both('network.get_record', [s]), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.get_record', '1', '0']);
    assert.deepEqual(await both('network.get_record', [s, net, 'x']), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.get_record', '1', '2']);
    assert.deepEqual(await both('network.add_to_other_config', [s, net, 'k']), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.add_to_other_config', '3', '2']);
    assert.deepEqual(await both('pool.get_all', [s, 'extra']), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'pool.get_all', '0', '1']);
  });

  test('sessionless login counts every argument; defaults may be left out, no more', async () => {
    assert.deepEqual(await both('session.login_with_password', ['root']), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.login_with_password', '4', '1']);
    assert.deepEqual(await both('session.login_with_password', ['root', ROOT_PASSWORD, '2.23', 'x', 'y']), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.login_with_password', '4', '5']);
  });

  test('Async calls report the method without the Async. prefix', async () => {
    assert.deepEqual(await both('Async.network.create', [s]), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.create', '1', '0']);
  });

  test('the count is checked before the session', async () => {
    assert.deepEqual(await both('network.get_record', [BOGUS]), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.get_record', '1', '0']);
  });
});

describe('HANDLE_INVALID [class, ref]', () => {
  test('getters, setters, destructors and custom messages on a missing object', async () => {
    assert.deepEqual(await both('network.get_record', [s, BOGUS]), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('network.get_MTU', [s, BOGUS]), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('network.set_name_label', [s, BOGUS, 'x']), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('network.add_to_other_config', [s, BOGUS, 'k', 'v']), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('network.destroy', [s, BOGUS]), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('VIF.get_record', [s, BOGUS]), ['HANDLE_INVALID', 'VIF', BOGUS]);
    assert.deepEqual(await both('PIF.get_device', [s, 'OpaqueRef:NULL']), ['HANDLE_INVALID', 'PIF', 'OpaqueRef:NULL']);
  });

  test('a ref of another class is invalid for this one', async () => {
    assert.deepEqual(await both('network.get_record', [s, pif]), ['HANDLE_INVALID', 'network', pif]);
    assert.deepEqual(await both('PIF.get_record', [s, net]), ['HANDLE_INVALID', 'PIF', net]);
  });

  test('event.inject of an unknown object', async () => {
    assert.deepEqual(await both('event.inject', [s, 'network', BOGUS]), ['HANDLE_INVALID', 'network', BOGUS]);
    assert.deepEqual(await both('event.inject', [s, 'nosuchclass', net]), ['HANDLE_INVALID', 'nosuchclass', net]);
  });
});

describe('UUID_INVALID [class, uuid]', () => {
  test('get_by_uuid of garbage, of an unknown uuid, and of another class\'s uuid', async () => {
    assert.deepEqual(await both('network.get_by_uuid', [s, 'not-a-uuid']), ['UUID_INVALID', 'network', 'not-a-uuid']);
    const u = '3f2a0000-0000-4000-8000-000000000000';
    assert.deepEqual(await both('PIF.get_by_uuid', [s, u]), ['UUID_INVALID', 'PIF', u]);
    assert.deepEqual(await both('network.get_by_uuid', [s, pifUuid]), ['UUID_INVALID', 'network', pifUuid]);
    assert.equal(await call(d.url, 'network.get_by_uuid', [s, netUuid]), net);
    assert.equal(await xcall('network.get_by_uuid', [s, netUuid]), net);
  });
});

describe('FIELD_TYPE_ERROR [param]', () => {
  test('network.set_MTU with a string that is not an integer', async () => {
    const gen = d.db.generation;
    for (const v of ['abc', '15oo', '', '1.5']) assert.deepEqual(await both('network.set_MTU', [s, net, v]), ['FIELD_TYPE_ERROR', 'value'], v);
    assert.deepEqual(await both('network.set_MTU', [s, net, true]), ['FIELD_TYPE_ERROR', 'value']);
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 1500);
    assert.equal(d.db.generation, gen);
  });

  test('PIF.set_disallow_unplug with "yes" (a bool takes only a boolean)', async () => {
    for (const v of ['yes', 'true', 1]) assert.deepEqual(await both('PIF.set_disallow_unplug', [s, pif, v]), ['FIELD_TYPE_ERROR', 'value'], String(v));
    assert.equal(await call(d.url, 'PIF.get_disallow_unplug', [s, pif]), false);
  });

  test('a constructor struct with a badly typed field names the field', async () => {
    const before = ((await call(d.url, 'network.get_all', [s])) as string[]).length;
    assert.deepEqual(await both('network.create', [s, { name_label: 'bad', MTU: 'big' }]), ['FIELD_TYPE_ERROR', 'MTU']);
    assert.deepEqual(await both('network.create', [s, { name_label: 'bad', managed: 'yes' }]), ['FIELD_TYPE_ERROR', 'managed']);
    assert.deepEqual(await both('network.create', [s, 'not a struct']), ['FIELD_TYPE_ERROR', 'args']);
    assert.equal(((await call(d.url, 'network.get_all', [s])) as string[]).length, before);
  });

  test('sets, maps and floats', async () => {
    assert.deepEqual(await both('event.from', [s, 'network', '', 0.1]), ['FIELD_TYPE_ERROR', 'classes']);
    assert.deepEqual(await both('event.from', [s, ['network'], '', 'soon']), ['FIELD_TYPE_ERROR', 'timeout']);
    assert.deepEqual(await both('network.set_other_config', [s, net, ['a']]), ['FIELD_TYPE_ERROR', 'value']);
    assert.deepEqual(await both('network.set_tags', [s, net, 'a']), ['FIELD_TYPE_ERROR', 'value']);
  });

  test('a bad enum value is INVALID_VALUE [param, value]', async () => {
    assert.deepEqual(await both('VIF.set_locking_mode', [s, vif, 'sideways']), ['INVALID_VALUE', 'value', 'sideways']);
    assert.equal(await call(d.url, 'VIF.get_locking_mode', [s, vif]), 'network_default');
  });
});

describe('MAP_DUPLICATE_KEY [class, field, uuid, key]', () => {
  test('adding a present key fails and leaves the map and the generation unchanged', async () => {
    await call(d.url, 'network.add_to_other_config', [s, net, 'dup', 'v1']);
    const gen = d.db.generation;
    assert.deepEqual(await both('network.add_to_other_config', [s, net, 'dup', 'v2']), ['MAP_DUPLICATE_KEY', 'network', 'other_config', netUuid, 'dup']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { dup: 'v1' });
    assert.equal(d.db.generation, gen);
    await call(d.url, 'network.remove_from_other_config', [s, net, 'dup']);
  });

  test('on another class: VIF qos_algorithm_params', async () => {
    const uuid = (await call(d.url, 'VIF.get_uuid', [s, vif])) as string;
    await call(d.url, 'VIF.add_to_qos_algorithm_params', [s, vif, 'kbps', '100']);
    assert.deepEqual(await both('VIF.add_to_qos_algorithm_params', [s, vif, 'kbps', '200']), ['MAP_DUPLICATE_KEY', 'VIF', 'qos_algorithm_params', uuid, 'kbps']);
    assert.deepEqual(await call(d.url, 'VIF.get_qos_algorithm_params', [s, vif]), { kbps: '100' });
  });
});

describe('Async on a message without an async mode', () => {
  test('a generic getter cannot be called Async', async () => {
    const e = await both('Async.network.get_MTU', [s, net]);
    assert.equal(e[0], 'Fault');
    assert.match(e[1], /No async mode for this operation/);
    assert.match(e[1], /network\.get_MTU/);
    const tasks = (await call(d.url, 'task.get_all', [s])) as string[];
    assert.equal(tasks.length, 0);
  });

  test('nor a message of a class without Async (session, event)', async () => {
    assert.equal((await both('Async.event.from', [s, ['*'], '', 0.1]))[0], 'Fault');
    assert.equal((await both('Async.session.logout', [s]))[0], 'Fault');
    assert.deepEqual(await call(d.url, 'pool.get_all', [s]), await xcall('pool.get_all', [s]));
  });
});

describe('RBAC', () => {
  test('a read-only user cannot network.create; the denial names the permission and the roles', async () => {
    const gen = d.db.generation;
    const count = ((await call(d.url, 'network.get_all', [s])) as string[]).length;
    assert.deepEqual(await both('network.create', [sessions['read-only'], { name_label: 'nope' }]),
      denied('network.create', 'pool-admin, pool-operator, vm-power-admin, vm-admin'));
    assert.equal(((await call(d.url, 'network.get_all', [s])) as string[]).length, count);
    assert.equal(d.db.generation, gen);
  });

  test('a read-only user can read', async () => {
    const ro = sessions['read-only'];
    const all = (await call(d.url, 'network.get_all_records', [ro])) as Record<string, Record<string, unknown>>;
    assert.equal(all[net].name_label, 'errors');
    const xall = (await xcall('network.get_all_records', [ro])) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(xall).sort(), Object.keys(all).sort());
    assert.equal(((await call(d.url, 'pool.get_all_records', [ro])) as object) !== null, true);
    assert.equal(await call(d.url, 'network.get_name_label', [ro, net]), 'errors');
    const ev = (await call(d.url, 'event.from', [ro, ['network'], '', 0.1])) as { events: unknown[] };
    assert.ok(ev.events.length >= 1);
  });

  test('a read-only user is denied every write, setters included', async () => {
    const ro = sessions['read-only'];
    assert.deepEqual(await both('network.set_MTU', [ro, net, 9000]), denied('network.set_mtu', 'pool-admin, pool-operator, vm-power-admin, vm-admin'));
    assert.deepEqual(await both('network.destroy', [ro, net]), denied('network.destroy', 'pool-admin, pool-operator, vm-power-admin, vm-admin'));
    assert.deepEqual(await both('network.set_name_label', [ro, net, 'x']), denied('network.set_name_label', 'pool-admin, pool-operator'));
    assert.deepEqual(await both('subject.create_local_user', [ro, 'eve', 'pw', ['pool-admin']]), denied('subject.create_local_user', 'pool-admin'));
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 1500);
    assert.equal(await call(d.url, 'network.get_name_label', [s, net]), 'errors');
  });

  test('arguments are unmarshalled, and the session checked, before RBAC', async () => {
    assert.deepEqual(await both('network.set_MTU', [sessions['read-only'], net, 'abc']), ['FIELD_TYPE_ERROR', 'value']);
  });

  test('a vm-admin can network.create and VIF.create', async () => {
    const va = sessions['vm-admin'];
    const n = (await call(d.url, 'network.create', [va, { name_label: 'by-vm-admin' }])) as string;
    assert.match(n, /^OpaqueRef:/);
    assert.equal(await call(d.url, 'network.get_name_label', [s, n]), 'by-vm-admin');
    const nx = (await xcall('network.create', [va, { name_label: 'by-vm-admin-xml' }])) as string;
    assert.equal(await call(d.url, 'network.get_name_label', [s, nx]), 'by-vm-admin-xml');
    const v = (await call(d.url, 'VIF.create', [va, { device: '1', network: n, VM: vm, MAC: '02:00:00:aa:bb:02', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] }])) as string;
    assert.ok(((await call(d.url, 'VM.get_VIFs', [s, vm])) as string[]).includes(v));
  });

  test('port locking is above vm-admin: VIF.set_locking_mode is pool-admin, pool-operator', async () => {
    const gen = d.db.generation;
    assert.deepEqual(await both('VIF.set_locking_mode', [sessions['vm-admin'], vif, 'locked']), denied('vif.set_locking_mode', 'pool-admin, pool-operator'));
    assert.deepEqual(await both('VIF.set_ipv4_allowed', [sessions['vm-admin'], vif, ['10.0.0.5']]), denied('vif.set_ipv4_allowed', 'pool-admin, pool-operator'));
    assert.equal(await call(d.url, 'VIF.get_locking_mode', [s, vif]), 'network_default');
    assert.equal(d.db.generation, gen);
    // a pool-operator passes the RBAC check (what the call then does is the VIF semantics' business)
    const e = await failure(call(d.url, 'VIF.set_locking_mode', [sessions['pool-operator'], vif, 'locked'])).catch(() => ['(succeeded)']);
    assert.notEqual(e[0], 'RBAC_PERMISSION_DENIED');
  });

  test('PIF writes are pool-operator', async () => {
    assert.deepEqual(await both('PIF.set_disallow_unplug', [sessions['vm-admin'], pif, true]), denied('pif.set_disallow_unplug', 'pool-admin, pool-operator'));
    assert.equal(await call(d.url, 'PIF.get_disallow_unplug', [s, pif]), false);
  });

  test('guarded map keys: a vm-operator may write folder and XenCenter.CustomFields.*, nothing else', async () => {
    const op = sessions['vm-operator'];
    await call(d.url, 'network.add_to_other_config', [op, net, 'folder', '/lab']);
    await call(d.url, 'network.add_to_other_config', [op, net, 'XenCenter.CustomFields.owner', 'me']);
    assert.deepEqual(await both('network.add_to_other_config', [op, net, 'other', 'x']), denied('network.add_to_other_config', 'pool-admin, pool-operator'));
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), { folder: '/lab', 'XenCenter.CustomFields.owner': 'me' });
    await call(d.url, 'network.remove_from_other_config', [op, net, 'folder']);
    await call(d.url, 'network.remove_from_other_config', [op, net, 'XenCenter.CustomFields.owner']);
    assert.deepEqual(await call(d.url, 'network.get_other_config', [s, net]), {});
  });

  test('tags are vm-operator', async () => {
    await call(d.url, 'network.add_tags', [sessions['vm-operator'], net, 't']);
    assert.deepEqual(await both('network.add_tags', [sessions['read-only'], net, 'u']), denied('network.add_tags', 'pool-admin, pool-operator, vm-power-admin, vm-admin, vm-operator'));
    assert.deepEqual(await call(d.url, 'network.get_tags', [s, net]), ['t']);
    await call(d.url, 'network.remove_tags', [s, net, 't']);
  });

  test('local users are not superusers; root is', async () => {
    assert.equal(await call(d.url, 'session.get_is_local_superuser', [s, s]), true);
    const ro = sessions['read-only'];
    assert.equal(await call(d.url, 'session.get_is_local_superuser', [ro, ro]), false);
    assert.equal(await call(d.url, 'session.get_auth_user_name', [ro, ro]), 'ro');
  });
});
