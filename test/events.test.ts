// The event engine (event.from, event.inject, event.register/next) and tasks (Async.*), as
// clients such as the npm xen-api library drive them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, failure, login, post, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { parseMethodResponse, type WireValue } from '../src/api/xmlrpc.ts';

interface Ev { id: string; timestamp: string; class: string; operation: 'add' | 'mod' | 'del'; ref: string; snapshot?: Record<string, unknown> }
interface From { events: Ev[]; valid_ref_counts: Record<string, number>; token: string }

const TOKEN = /^\d{20},\d{20}$/;

let d: TestDaemon;
let s: string;
let poolRef: string;

const from = async (session: string, classes: string[], token: string, timeout: number) => (await call(d.url, 'event.from', [session, classes, token, timeout])) as From;

/** The token of "now": nothing that happened before it will be reported after it. */
const tokenNow = async () => (await from(s, ['sdn_controller'], '', 0)).token;

const createNet = async (label: string, session = s) => (await call(d.url, 'network.create', [session, { name_label: label }])) as string;

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  poolRef = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
});

after(async () => { await d.dispose(); });

describe('event.from', () => {
  test('token "" returns every object of every class as add, with its snapshot', async () => {
    await createNet('initial-dump');
    const r = await from(s, ['*'], '', 1);
    assert.match(r.token, TOKEN);
    assert.ok(r.events.length > 0);
    const perClass = new Map<string, number>();
    for (const e of r.events) {
      assert.equal(e.operation, 'add');
      assert.ok(e.snapshot && typeof e.snapshot === 'object', `${e.class} ${e.ref} has a snapshot`);
      assert.match(e.ref, /^OpaqueRef:/);
      assert.match(e.id, /^\d+$/);
      assert.equal(e.timestamp, '0.0');
      assert.equal(e.class, e.class.toLowerCase());
      perClass.set(e.class, (perClass.get(e.class) ?? 0) + 1);
    }
    // exactly the objects that exist: every class's count agrees with valid_ref_counts
    for (const [cls, n] of Object.entries(r.valid_ref_counts)) assert.equal(perClass.get(cls) ?? 0, n, cls);
    for (const cls of perClass.keys()) assert.ok(cls in r.valid_ref_counts, cls);
    assert.ok(!('session' in r.valid_ref_counts));
    assert.equal(r.valid_ref_counts.pool, 1);
    assert.ok(r.valid_ref_counts.network >= 4);
    // snapshots are complete records, exactly what get_record returns
    const pool = r.events.find((e) => e.ref === poolRef)!;
    assert.deepEqual(pool.snapshot, await call(d.url, 'pool.get_record', [s, poolRef]));
    const nets = r.events.filter((e) => e.class === 'network');
    assert.deepEqual(nets.map((e) => e.ref).sort(), ((await call(d.url, 'network.get_all', [s])) as string[]).sort());
    for (const n of nets) assert.deepEqual(n.snapshot, await call(d.url, 'network.get_record', [s, n.ref]));
  });

  test('token "" with one class returns only that class', async () => {
    const r = await from(s, ['PIF'], '', 1);
    assert.equal(r.events.length, 3);
    assert.ok(r.events.every((e) => e.class === 'pif' && e.operation === 'add'));
    assert.ok(!('device_name' in r.events[0].snapshot!));
  });

  test('valid_ref_counts has a numeric task count that follows the task table', async () => {
    const a = await from(s, ['sdn_controller'], '', 0);
    assert.equal(typeof a.valid_ref_counts.task, 'number');
    const n = a.valid_ref_counts.task;
    const task = (await call(d.url, 'task.create', [s, 'count-me', ''])) as string;
    const b = await from(s, ['sdn_controller'], '', 0);
    assert.equal(b.valid_ref_counts.task, n + 1);
    await call(d.url, 'task.destroy', [s, task]);
    assert.equal((await from(s, ['sdn_controller'], '', 0)).valid_ref_counts.task, n);
  });

  test('a new object is one add with its snapshot', async () => {
    const t0 = await tokenNow();
    const n = await createNet('added');
    const r = await from(s, ['network'], t0, 1);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].operation, 'add');
    assert.equal(r.events[0].ref, n);
    assert.equal(r.events[0].class, 'network');
    assert.equal(r.events[0].snapshot!.name_label, 'added');
    assert.match(r.token, TOKEN);
    assert.ok(r.token > t0);
  });

  test('several changes to one object in the window coalesce into one mod with the last state', async () => {
    const n = await createNet('coalesce');
    const t0 = await tokenNow();
    await call(d.url, 'network.set_name_label', [s, n, 'c1']);
    await call(d.url, 'network.set_name_label', [s, n, 'c2']);
    await call(d.url, 'network.add_to_other_config', [s, n, 'k', 'v']);
    await call(d.url, 'network.set_MTU', [s, n, 9000]);
    const r = await from(s, ['network'], t0, 1);
    assert.equal(r.events.length, 1, JSON.stringify(r.events.map((e) => [e.operation, e.ref])));
    const e = r.events[0];
    assert.equal(e.operation, 'mod');
    assert.equal(e.ref, n);
    assert.equal(e.snapshot!.name_label, 'c2');
    assert.deepEqual(e.snapshot!.other_config, { k: 'v' });
    assert.equal(e.snapshot!.MTU, 9000);
    // and nothing more after the returned token
    const again = await from(s, ['network'], r.token, 0.3);
    assert.deepEqual(again.events, []);
  });

  test('an object created and deleted inside the window produces nothing', async () => {
    const other = await createNet('witness');
    const t0 = await tokenNow();
    const n = await createNet('ephemeral');
    await call(d.url, 'network.set_name_label', [s, n, 'ephemeral2']);
    await call(d.url, 'network.destroy', [s, n]);
    await call(d.url, 'network.set_name_label', [s, other, 'witness2']);
    const r = await from(s, ['network'], t0, 1);
    assert.deepEqual(r.events.map((e) => [e.operation, e.ref]), [['mod', other]]);
    // with nothing else changed, the call simply times out empty
    const t1 = await tokenNow();
    const n2 = await createNet('ephemeral3');
    await call(d.url, 'network.destroy', [s, n2]);
    assert.deepEqual((await from(s, ['network'], t1, 0.3)).events, []);
  });

  test('a deleted object is one del without a snapshot key', async () => {
    const n = await createNet('doomed');
    const t0 = await tokenNow();
    await call(d.url, 'network.set_name_label', [s, n, 'doomed2']);
    await call(d.url, 'network.destroy', [s, n]);
    const r = await from(s, ['network'], t0, 1);
    assert.equal(r.events.length, 1);
    const e = r.events[0];
    assert.equal(e.operation, 'del');
    assert.equal(e.ref, n);
    assert.equal(e.class, 'network');
    assert.ok(!('snapshot' in e), JSON.stringify(e));
  });

  test('the same del over XML-RPC has no snapshot member; counts are <i4>', async () => {
    const n = await createNet('doomed-xml');
    const t0 = await tokenNow();
    await call(d.url, 'network.destroy', [s, n]);
    const body = `<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params><param><value>${s}</value></param><param><value><array><data><value>network</value></data></array></value></param><param><value>${t0}</value></param><param><value><double>1.0</double></value></param></params></methodCall>`;
    const r = await post(d.url, '/', body);
    assert.doesNotMatch(r.body, />\s+</);
    assert.match(r.body, /<member><name>task<\/name><value><i4>\d+<\/i4><\/value><\/member>/);
    assert.match(r.body, /<member><name>token<\/name><value>\d{20},\d{20}<\/value><\/member>/);
    assert.match(r.body, new RegExp(`<member><name>operation</name><value>del</value></member><member><name>ref</name><value>${n}</value></member></struct>`));
    assert.doesNotMatch(r.body, /snapshot/);
    const v = parseMethodResponse(r.body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success');
    const events = (v.Value as Record<string, WireValue>).events as Record<string, WireValue>[];
    assert.equal(events.length, 1);
    assert.equal(events[0].class, 'network');
  });

  test('snapshots over XML-RPC type their fields (MTU untyped, managed boolean)', async () => {
    const n = await createNet('typed-snapshot');
    const t0 = await tokenNow();
    await call(d.url, 'network.set_MTU', [s, n, 1400]);
    const body = `<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params><param><value>${s}</value></param><param><value><array><data><value>network/${n}</value></data></array></value></param><param><value>${t0}</value></param><param><value><double>1</double></value></param></params></methodCall>`;
    const r = await post(d.url, '/', body);
    assert.match(r.body, /<member><name>MTU<\/name><value>1400<\/value><\/member>/);
    assert.match(r.body, /<member><name>managed<\/name><value><boolean>1<\/boolean><\/value><\/member>/);
    assert.match(r.body, /<member><name>operation<\/name><value>mod<\/value><\/member>/);
  });

  test('the call blocks until a change, then returns soon after it', async () => {
    const t0 = await tokenNow();
    const other = await login(d.url);
    const started = Date.now();
    const pending = from(s, ['network'], t0, 5);
    let created = '';
    setTimeout(() => { void createNet('wake-up', other).then((n) => { created = n; }); }, 300);
    const r = await pending;
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250, `returned after ${elapsed} ms, before the change`);
    assert.ok(elapsed < 4000, `returned after ${elapsed} ms: it waited for the timeout`);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].operation, 'add');
    assert.equal(r.events[0].snapshot!.name_label, 'wake-up');
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(r.events[0].ref, created);
    await call(d.url, 'session.logout', [other]);
  });

  test('with nothing changing it returns empty events after the timeout, with a token', async () => {
    const t0 = await tokenNow();
    const started = Date.now();
    const r = await from(s, ['network'], t0, 0.3);
    const elapsed = Date.now() - started;
    assert.deepEqual(r.events, []);
    assert.ok(elapsed >= 250, `returned after ${elapsed} ms, before the timeout`);
    assert.match(r.token, TOKEN);
    assert.ok(r.token >= t0);
    assert.equal(typeof r.valid_ref_counts.task, 'number');
  });

  test('a NaN timeout (XML-RPC <double>nan</double>) does not wait', async () => {
    const s2 = await login(d.url);
    const t0 = await tokenNow();
    const body = `<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params><param><value>${s2}</value></param><param><value><array><data><value>network</value></data></array></value></param><param><value>${t0}</value></param><param><value><double>nan</double></value></param></params></methodCall>`;
    const r = await Promise.race([post(d.url, '/', body), new Promise<undefined>((res) => setTimeout(() => res(undefined), 3000))]);
    // on failure, logging out ends a call that would otherwise never return
    await call(d.url, 'session.logout', [s2]);
    assert.ok(r, 'event.from with a NaN timeout did not return');
    const v = parseMethodResponse(r.body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success');
    assert.deepEqual((v.Value as Record<string, WireValue>).events, []);
  });

  test('changes to classes outside the subscription do not wake it', async () => {
    const t0 = await tokenNow();
    const change = new Promise((res) => setTimeout(() => res(call(d.url, 'pool.add_to_other_config', [s, poolRef, 'not-a-network', 'x'])), 50));
    const r = await from(s, ['network'], t0, 0.4);
    await change;
    assert.deepEqual(r.events, []);
    assert.deepEqual((await from(s, ['pool'], t0, 1)).events.map((e) => e.ref), [poolRef]);
    await call(d.url, 'pool.remove_from_other_config', [s, poolRef, 'not-a-network']);
  });

  test('a class/ref subscription sees only that object', async () => {
    const a = await createNet('sub-a');
    const b = await createNet('sub-b');
    const t0 = await tokenNow();
    await call(d.url, 'network.set_name_label', [s, b, 'sub-b2']);
    await call(d.url, 'network.set_name_label', [s, a, 'sub-a2']);
    await call(d.url, 'network.set_name_label', [s, b, 'sub-b3']);
    const r = await from(s, [`network/${a}`], t0, 1);
    assert.deepEqual(r.events.map((e) => [e.operation, e.ref]), [['mod', a]]);
    assert.equal(r.events[0].snapshot!.name_label, 'sub-a2');
    // the class part of the subscription must match too
    assert.deepEqual((await from(s, [`pif/${a}`], t0, 0.3)).events, []);
    assert.deepEqual((await from(s, [`NETWORK/${a}`], t0, 1)).events.map((e) => e.ref), [a]);
  });

  test('class names are case-insensitive; unknown ones are ignored', async () => {
    const n = await createNet('case');
    const t0 = await tokenNow();
    await call(d.url, 'network.set_name_label', [s, n, 'case2']);
    for (const c of ['NETWORK', 'Network', 'nEtWoRk']) {
      const r = await from(s, [c], t0, 1);
      assert.deepEqual(r.events.map((e) => [e.class, e.operation, e.ref]), [['network', 'mod', n]], c);
    }
    const r = await from(s, ['no_such_class', 'network'], t0, 1);
    assert.deepEqual(r.events.map((e) => e.ref), [n]);
  });

  test('an unparsable token is EVENT_FROM_TOKEN_PARSE_FAILURE [token]', async () => {
    for (const tok of ['garbage', '12,abc', ',', '1,2,3', '-1,0']) {
      assert.deepEqual(await failure(call(d.url, 'event.from', [s, ['network'], tok, 0.1])), ['EVENT_FROM_TOKEN_PARSE_FAILURE', tok], tok);
    }
  });

  test('a logout while blocked ends the call with SESSION_INVALID', async () => {
    const s2 = await login(d.url);
    const t0 = await tokenNow();
    const started = Date.now();
    const pending = failure(call(d.url, 'event.from', [s2, ['sdn_controller'], t0, 5]));
    await new Promise((res) => setTimeout(res, 200));
    await call(d.url, 'session.logout', [s2]);
    assert.deepEqual(await pending, ['SESSION_INVALID', s2]);
    assert.ok(Date.now() - started < 4000, 'it waited for the timeout');
  });

  test('tokens compare as strings in the order of changes', async () => {
    const t1 = await tokenNow();
    await createNet('order');
    const t2 = await tokenNow();
    assert.ok(t2 > t1);
    assert.equal(t1.length, 41);
    assert.ok(t1.endsWith(',00000000000000000000'));
  });
});

describe('event.inject', () => {
  test('returns a token after which the object shows as mod', async () => {
    const n = await createNet('inject');
    const tok = (await call(d.url, 'event.inject', [s, 'network', n])) as string;
    assert.match(tok, TOKEN);
    const r = await from(s, ['network'], tok, 1);
    assert.deepEqual(r.events.map((e) => [e.operation, e.ref]), [['mod', n]]);
    assert.equal(r.events[0].snapshot!.name_label, 'inject');
    // nothing changed in the record itself
    assert.equal(await call(d.url, 'network.get_name_label', [s, n]), 'inject');
  });

  test('the npm client start: inject on the pool, then event.from over its types', async () => {
    const tok = (await call(d.url, 'event.inject', [s, 'pool', poolRef])) as string;
    const r = await from(s, ['pool', 'host', 'network', 'PIF', 'VIF', 'task'], tok, 1);
    assert.deepEqual(r.events.map((e) => [e.class, e.operation, e.ref]), [['pool', 'mod', poolRef]]);
  });

  test('the class is matched case-insensitively; a bad ref is HANDLE_INVALID', async () => {
    const tok = (await call(d.url, 'event.inject', [s, 'Pool', poolRef])) as string;
    assert.match(tok, TOKEN);
    assert.deepEqual(await failure(call(d.url, 'event.inject', [s, 'network', poolRef])), ['HANDLE_INVALID', 'network', poolRef]);
  });
});

describe('legacy event.register / event.next', () => {
  test('event.next before event.register is SESSION_NOT_REGISTERED [session]', async () => {
    const s3 = await login(d.url);
    assert.deepEqual(await failure(call(d.url, 'event.next', [s3])), ['SESSION_NOT_REGISTERED', s3]);
    await call(d.url, 'session.logout', [s3]);
  });

  test('register, then next returns the changes since registration', async () => {
    const s3 = await login(d.url);
    await call(d.url, 'event.register', [s3, ['network']]);
    const n = await createNet('legacy');
    await call(d.url, 'pool.add_to_other_config', [s, poolRef, 'legacy', 'x']);
    const evs = (await call(d.url, 'event.next', [s3])) as Ev[];
    assert.deepEqual(evs.map((e) => [e.class, e.operation, e.ref]), [['network', 'add', n]]);
    assert.equal(evs[0].snapshot!.name_label, 'legacy');
    assert.match(evs[0].timestamp, /^\d+\.\d*$/);
    // the next call blocks until the next relevant change
    const pending = call(d.url, 'event.next', [s3]) as Promise<Ev[]>;
    setTimeout(() => { void call(d.url, 'network.set_name_label', [s, n, 'legacy2']); }, 100);
    const evs2 = await pending;
    assert.deepEqual(evs2.map((e) => [e.operation, e.ref]), [['mod', n]]);
    assert.equal(evs2[0].snapshot!.name_label, 'legacy2');
    await call(d.url, 'event.unregister', [s3, ['network']]);
    await call(d.url, 'pool.remove_from_other_config', [s, poolRef, 'legacy']);
    await call(d.url, 'session.logout', [s3]);
  });

  test('event.get_current_id is a number that grows', async () => {
    const a = (await call(d.url, 'event.get_current_id', [s])) as number;
    assert.equal(typeof a, 'number');
    await createNet('grow');
    assert.ok(((await call(d.url, 'event.get_current_id', [s])) as number) > a);
  });
});

describe('tasks (Async.*)', () => {
  /** Wait for a task to leave `pending`, through task events; its record. */
  async function settle(task: string): Promise<Record<string, unknown>> {
    let token = '';
    for (let i = 0; i < 20; i++) {
      const r = await from(s, [`task/${task}`], token, 2);
      token = r.token;
      const snap = r.events.find((e) => e.ref === task)?.snapshot;
      if (snap && snap.status !== 'pending') return snap;
    }
    throw new Error(`task ${task} did not finish`);
  }

  test('Async.network.create returns a task that succeeds with the ref as an XML-RPC value', async () => {
    const task = (await call(d.url, 'Async.network.create', [s, { name_label: 'async-made' }])) as string;
    assert.match(task, /^OpaqueRef:[0-9a-f-]{36}$/);
    assert.equal(await call(d.url, 'task.get_name_label', [s, task]), 'Async.network.create');
    const rec = await settle(task);
    assert.equal(rec.status, 'success');
    assert.equal(rec.progress, 1);
    assert.deepEqual(rec.error_info, []);
    assert.match(rec.finished as string, /^\d{8}T\d\d:\d\d:\d\dZ$/);
    const m = /^<value>(OpaqueRef:[0-9a-f-]{36})<\/value>$/.exec(rec.result as string);
    assert.ok(m, `result ${String(rec.result)}`);
    assert.equal(await call(d.url, 'network.get_name_label', [s, m[1]]), 'async-made');
    assert.deepEqual(await call(d.url, 'task.get_record', [s, task]), rec);
    await call(d.url, 'task.destroy', [s, task]);
    assert.deepEqual(await failure(call(d.url, 'task.get_record', [s, task])), ['HANDLE_INVALID', 'task', task]);
  });

  test('Async over XML-RPC: the task ref is the Value', async () => {
    const body = `<?xml version="1.0"?><methodCall><methodName>Async.network.create</methodName><params><param><value>${s}</value></param><param><value><struct><member><name>name_label</name><value>async-xml</value></member></struct></value></param></params></methodCall>`;
    const v = parseMethodResponse((await post(d.url, '/', body)).body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success');
    const rec = await settle(v.Value as string);
    assert.equal(rec.status, 'success');
    assert.match(rec.result as string, /^<value>OpaqueRef:/);
  });

  test('a void Async call succeeds with an empty result', async () => {
    const n = await createNet('async-destroyed');
    const task = (await call(d.url, 'Async.network.destroy', [s, n])) as string;
    const rec = await settle(task);
    assert.equal(rec.status, 'success');
    assert.equal(rec.result, '');
    assert.deepEqual(await failure(call(d.url, 'network.get_record', [s, n])), ['HANDLE_INVALID', 'network', n]);
  });

  test('an Async call that fails gives status failure with error_info [CODE, ...]', async () => {
    const bogus = 'OpaqueRef:00000000-0000-0000-0000-0000000000aa';
    const t1 = (await call(d.url, 'Async.network.destroy', [s, bogus])) as string;
    const r1 = await settle(t1);
    assert.equal(r1.status, 'failure');
    assert.deepEqual(r1.error_info, ['HANDLE_INVALID', 'network', bogus]);
    assert.equal(r1.result, '');
    const t2 = (await call(d.url, 'Async.network.create', [s, { name_label: 'bad-bridge', bridge: 'xenbr0' }])) as string;
    const r2 = await settle(t2);
    assert.equal(r2.status, 'failure');
    assert.equal((r2.error_info as string[])[0], 'INVALID_VALUE');
    assert.deepEqual(r2.error_info, ['INVALID_VALUE', 'bridge', 'xenbr0']);
  });

  test('Async on a generic getter fails at once, creating no task', async () => {
    const before = ((await call(d.url, 'task.get_all', [s])) as string[]).length;
    const e = await failure(call(d.url, 'Async.pool.get_name_label', [s, poolRef]));
    assert.equal(e[0], 'Fault');
    assert.match(e[1], /No async mode for this operation/);
    assert.equal(((await call(d.url, 'task.get_all', [s])) as string[]).length, before);
  });

  test('an Async call refused by RBAC fails at once, creating no task', async () => {
    await call(d.url, 'subject.create_local_user', [s, 'tro', 'tro-pw', ['read-only']]);
    const ro = await login(d.url, 'tro', 'tro-pw');
    const before = ((await call(d.url, 'task.get_all', [s])) as string[]).length;
    const e = await failure(call(d.url, 'Async.network.create', [ro, { name_label: 'nope' }]));
    assert.equal(e[0], 'RBAC_PERMISSION_DENIED');
    assert.equal(e[1], 'network.create');
    assert.equal(((await call(d.url, 'task.get_all', [s])) as string[]).length, before);
  });
});
