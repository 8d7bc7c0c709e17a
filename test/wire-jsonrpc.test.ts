// JSON-RPC (POST /jsonrpc) on the wire, byte for byte: v1 and v2 envelopes, ids, headers,
// value types, and the malformed requests xapi refuses with HTTP 500.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, login, post, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

let d: TestDaemon;
let s: string;
let poolRef: string;
let net: string;

/** POST a JSON-RPC body (object or literal text); the raw response. */
const rpc = (body: unknown) => post(d.url, '/jsonrpc', typeof body === 'string' ? body : JSON.stringify(body), 'application/json');

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  poolRef = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
  net = (await call(d.url, 'network.create', [s, { name_label: 'wire-json', name_description: '', other_config: {} }])) as string;
});

after(async () => { await d.dispose(); });

const BOGUS = 'OpaqueRef:00000000-0000-0000-0000-00000000beef';

describe('JSON-RPC 1.0', () => {
  test('success: {"result":..,"error":null,"id":..}', async () => {
    const r = await rpc({ method: 'pool.get_all', params: [s], id: 'xyz' });
    assert.equal(r.status, 200);
    assert.equal(r.body, `{"result":["${poolRef}"],"error":null,"id":"xyz"}`);
  });

  test('failure: {"result":null,"error":[CODE,...],"id":..}', async () => {
    const r = await rpc({ method: 'pool.get_all', params: [BOGUS], id: 'xyz' });
    assert.equal(r.status, 200);
    assert.equal(r.body, `{"result":null,"error":["SESSION_INVALID","${BOGUS}"],"id":"xyz"}`);
  });

  test('session.logout: void is ""', async () => {
    const s2 = await login(d.url);
    const r = await rpc({ method: 'session.logout', params: [s2], id: 5 });
    assert.equal(r.body, '{"result":"","error":null,"id":5}');
  });

  test('an error with several parameters keeps them in order, numbers as strings', async () => {
    const r = await rpc({ method: 'network.get_record', params: [s, net, 'extra'], id: 1 });
    assert.equal(r.body, '{"result":null,"error":["MESSAGE_PARAMETER_COUNT_MISMATCH","network.get_record","1","2"],"id":1}');
  });
});

describe('JSON-RPC 2.0', () => {
  test('success: {"jsonrpc":"2.0","result":..,"id":..}', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'pool.get_all', params: [s], id: 3 });
    assert.equal(r.body, `{"jsonrpc":"2.0","result":["${poolRef}"],"id":3}`);
  });

  test('failure: error is {"code":1,"message":CODE,"data":[params]}', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'pool.get_all', params: [BOGUS], id: 3 });
    assert.equal(r.status, 200);
    assert.equal(r.body, `{"jsonrpc":"2.0","error":{"code":1,"message":"SESSION_INVALID","data":["${BOGUS}"]},"id":3}`);
  });

  test('session.logout success', async () => {
    const s2 = await login(d.url);
    const r = await rpc({ jsonrpc: '2.0', method: 'session.logout', params: [s2], id: 9 });
    assert.equal(r.body, '{"jsonrpc":"2.0","result":"","id":9}');
  });

  test('SESSION_AUTHENTICATION_FAILED as a v2 error: data carries [uname, reason]', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['nobody', 'x'], id: 1 });
    const v = JSON.parse(r.body) as { error: { code: number; message: string; data: string[] } };
    assert.equal(v.error.code, 1);
    assert.equal(v.error.message, 'SESSION_AUTHENTICATION_FAILED');
    assert.ok(Array.isArray(v.error.data));
    assert.equal(v.error.data[0], 'nobody');
  });

  test('the npm xen-api client request shape (id 0, Accept header)', async () => {
    const r = await fetch(`${d.url}/jsonrpc`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 0, jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', ROOT_PASSWORD] }),
    });
    assert.equal(r.headers.get('content-type'), 'application/json');
    const text = await r.text();
    assert.match(text, /^\{"jsonrpc":"2\.0","result":"OpaqueRef:[0-9a-f-]{36}","id":0\}$/);
    await call(d.url, 'session.logout', [(JSON.parse(text) as { result: string }).result]);
  });

  test('params may be absent or null in v2', async () => {
    for (const body of [{ jsonrpc: '2.0', method: 'system.listMethods', id: 1 }, { jsonrpc: '2.0', method: 'system.listMethods', params: null, id: 1 }]) {
      const r = await rpc(body);
      assert.equal(r.status, 200);
      assert.ok(Array.isArray((JSON.parse(r.body) as { result: unknown }).result));
    }
  });

  test('a params object is a single struct parameter', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'session.login_with_password', params: { uname: 'root', pwd: ROOT_PASSWORD }, id: 2 });
    assert.equal(r.body, '{"jsonrpc":"2.0","error":{"code":1,"message":"MESSAGE_PARAMETER_COUNT_MISMATCH","data":["session.login_with_password","4","1"]},"id":2}');
  });
});

describe('ids', () => {
  test('echoed with their JSON type: number, string, zero, numeric string', async () => {
    for (const id of [7, '7', 0, 'abc', -1, 2 ** 40]) {
      for (const v2 of [false, true]) {
        const r = await rpc({ ...(v2 ? { jsonrpc: '2.0' } : {}), method: 'pool.get_all', params: [s], id });
        const parsed = JSON.parse(r.body) as { id: unknown };
        assert.deepEqual(parsed.id, id);
        assert.equal(typeof parsed.id, typeof id);
        assert.ok(r.body.endsWith(`,"id":${JSON.stringify(id)}}`), r.body);
      }
    }
  });

  test('the id is echoed on failures too', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'no.such_method', params: [], id: 'q1' });
    assert.equal(r.body, '{"jsonrpc":"2.0","error":{"code":1,"message":"MESSAGE_METHOD_UNKNOWN","data":["no.such_method"]},"id":"q1"}');
  });
});

describe('HTTP', () => {
  test('Content-Type is exactly application/json, with no CORS grant, on success and failure', async () => {
    for (const params of [[s], [BOGUS]]) {
      const r = await fetch(`${d.url}/jsonrpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params, id: 1 }), headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.equal(r.headers.get('access-control-allow-origin'), null); // no page of another origin may read it
      const body = await r.text();
      assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(body));
    }
  });

  test('a CORS preflight on /jsonrpc is answered without a grant', async () => {
    const r = await fetch(`${d.url}/jsonrpc`, { method: 'OPTIONS', headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('malformed requests are HTTP 500', async () => {
    const bad = [
      'not json',
      JSON.stringify('pool.get_all'),
      JSON.stringify({ params: [s], id: 1 }), // no method
      JSON.stringify({ method: 42, params: [s], id: 1 }),
      JSON.stringify({ jsonrpc: '1.0', method: 'pool.get_all', params: [s], id: 1 }),
      JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [s] }), // a notification
      JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [s], id: null }),
      JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [s], id: 1.5 }),
      JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [s], id: {} }),
      JSON.stringify({ method: 'pool.get_all', id: 1 }), // v1 needs params
      JSON.stringify({ method: 'pool.get_all', params: s, id: 1 }),
      JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: 'x', id: 1 }),
    ];
    for (const body of bad) {
      const r = await rpc(body);
      assert.equal(r.status, 500, body);
      assert.match(r.body, /Parse_error/, body);
    }
  });

  test('invalid UTF-8 fails as a v2 call with id 0', async () => {
    const bytes = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"pool.get_all","params":["'), Buffer.from([0xc3, 0x28]), Buffer.from('"],"id":4}')]);
    const r = await fetch(`${d.url}/jsonrpc`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const v = JSON.parse(await r.text()) as { jsonrpc: string; error: { code: number; message: string; data: string[] }; id: unknown };
    assert.equal(v.jsonrpc, '2.0');
    assert.equal(v.id, 0);
    assert.equal(v.error.message, 'INVALID_VALUE');
    assert.equal(v.error.data[0], 'Invalid UTF-8 string in parameter');
  });
});

describe('value types', () => {
  test('int is a JSON integer, bool a JSON boolean, float a number, datetime an xapi-form string', async () => {
    const r = await rpc({ jsonrpc: '2.0', method: 'network.get_MTU', params: [s, net], id: 1 });
    assert.equal(r.body, '{"jsonrpc":"2.0","result":1500,"id":1}');
    const pif = ((await call(d.url, 'PIF.get_all', [s])) as string[])[0];
    assert.equal((await rpc({ jsonrpc: '2.0', method: 'PIF.get_physical', params: [s, pif], id: 1 })).body, '{"jsonrpc":"2.0","result":true,"id":1}');
    assert.equal((await rpc({ jsonrpc: '2.0', method: 'PIF.get_VLAN', params: [s, pif], id: 1 })).body, '{"jsonrpc":"2.0","result":-1,"id":1}');
    const task = (await call(d.url, 'task.create', [s, 'json-types', ''])) as string;
    await call(d.url, 'task.set_progress', [s, task, 0.5]);
    assert.equal((await rpc({ jsonrpc: '2.0', method: 'task.get_progress', params: [s, task], id: 1 })).body, '{"jsonrpc":"2.0","result":0.5,"id":1}');
    assert.match(await call(d.url, 'task.get_created', [s, task]) as string, /^\d{8}T\d\d:\d\d:\d\dZ$/);
    await call(d.url, 'task.destroy', [s, task]);
  });

  test('records: maps as objects, sets as arrays, no internal fields', async () => {
    const rec = (await call(d.url, 'network.get_record', [s, net])) as Record<string, unknown>;
    assert.equal(rec.MTU, 1500);
    assert.deepEqual(rec.other_config, {});
    assert.deepEqual(rec.PIFs, []);
    assert.equal(rec.managed, true);
    const pif = ((await call(d.url, 'PIF.get_all', [s])) as string[])[0];
    const prec = (await call(d.url, 'PIF.get_record', [s, pif])) as Record<string, unknown>;
    assert.equal(typeof prec.MTU, 'number');
    assert.ok(!('device_name' in prec));
    const pools = (await call(d.url, 'pool.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    assert.ok(!('root_password_hash' in pools[poolRef]));
    assert.ok(!('pool_secret' in pools[poolRef]));
  });

  test('an int parameter accepts a JSON integer or a digit string, and refuses a fraction', async () => {
    await call(d.url, 'network.set_MTU', [s, net, 9000]);
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 9000);
    await call(d.url, 'network.set_MTU', [s, net, '9001']);
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 9001);
    const r = await rpc({ jsonrpc: '2.0', method: 'network.set_MTU', params: [s, net, 1.5], id: 1 });
    assert.equal(r.body, '{"jsonrpc":"2.0","error":{"code":1,"message":"FIELD_TYPE_ERROR","data":["value"]},"id":1}');
    assert.equal(await call(d.url, 'network.get_MTU', [s, net]), 9001);
    await call(d.url, 'network.set_MTU', [s, net, 1500]);
  });

  test('non-ASCII and escapes round-trip', async () => {
    const label = 'café "quoted" \\ ✓ \u0001 网络';
    await call(d.url, 'network.set_name_label', [s, net, label]);
    const r = await rpc({ method: 'network.get_name_label', params: [s, net], id: 1 });
    assert.equal((JSON.parse(r.body) as { result: string }).result, label);
    await call(d.url, 'network.set_name_label', [s, net, 'wire-json']);
  });
});

describe('system.listMethods', () => {
  test('is an ordinary result in both versions', async () => {
    const v1 = await rpc({ method: 'system.listMethods', params: [], id: 1 });
    assert.match(v1.body, /^\{"result":\["[^"]+"(,"[^"]+")*\],"error":null,"id":1\}$/);
    const v2 = await rpc({ jsonrpc: '2.0', method: 'system.listMethods', params: [], id: 2 });
    assert.match(v2.body, /^\{"jsonrpc":"2\.0","result":\["[^"]+"(,"[^"]+")*\],"id":2\}$/);
    const names = (JSON.parse(v2.body) as { result: string[] }).result;
    for (const m of ['network.create', 'network.get_all_records', 'event.from', 'system.listMethods']) assert.ok(names.includes(m), m);
    assert.deepEqual(names, (JSON.parse(v1.body) as { result: string[] }).result);
  });
});
