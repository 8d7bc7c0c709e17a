// The API's caches: records kept encoded per object generation (marshal.ts storedRecord), event
// answers shared by the watchers one commit wakes (events.ts), passwords that matched lately
// (passwords.ts). Each must answer exactly what the uncached path answers, and a change must show
// in the very next answer.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, login, post, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { jsonText, StoredRecord, storedRecord, toXml, toXmlBuffers, Typed } from '../src/api/marshal.ts';
import { hashPassword, verifyPassword } from '../src/api/passwords.ts';
import { parseMethodResponse, type WireValue } from '../src/api/xmlrpc.ts';
import { Database } from '../src/db/database.ts';
import { initialise } from '../src/db/init.ts';
import { t } from '../src/model/index.ts';
import { FACTS } from './helpers/daemon.ts';

let d: TestDaemon;
let s: string;

const xmlCall = (method: string, params: string[]) =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${p}</value></param>`).join('')}</params></methodCall>`;

/** A call over XML-RPC: its Value (the test fails on a Failure). */
async function xml(method: string, ...params: string[]): Promise<WireValue> {
  const r = await post(d.url, '/', xmlCall(method, [s, ...params]));
  const v = parseMethodResponse(r.body) as Record<string, WireValue>;
  assert.equal(v.Status, 'Success', r.body);
  return v.Value;
}
const json = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);

type Recs = Record<string, Record<string, WireValue>>;

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
});
after(async () => { await d.dispose(); });

describe('records kept encoded per generation', () => {
  test('a changed field shows in the next get_all_records and get_record, over XML-RPC and JSON-RPC', async () => {
    const net = (await json('network.create', { name_label: 'cache-a', name_description: 'before' })) as string;
    // taken twice: the second answer comes from the cache
    for (let i = 0; i < 2; i++) {
      assert.equal(((await xml('network.get_all_records')) as Recs)[net].name_description, 'before');
      assert.equal(((await json('network.get_all_records')) as Recs)[net].name_description, 'before');
    }
    await json('network.set_name_description', net, 'after');
    assert.equal(((await xml('network.get_all_records')) as Recs)[net].name_description, 'after');
    assert.equal(((await json('network.get_all_records')) as Recs)[net].name_description, 'after');
    assert.equal(((await xml('network.get_record', net)) as Record<string, WireValue>).name_description, 'after');
    await json('network.add_to_other_config', net, 'k', 'v<&>');
    // (the XML-RPC parser makes structs without a prototype)
    assert.deepEqual({ ...(((await xml('network.get_record', net)) as Record<string, WireValue>).other_config as object) }, { k: 'v<&>' });
    assert.deepEqual(((await json('network.get_all_records_where', 'field "name_label"="cache-a"')) as Recs)[net].other_config, { k: 'v<&>' });
  });

  test('a reverse field changes with the object that refers to it (a VIF on a network, a VM)', async () => {
    const net = (await json('network.create', { name_label: 'cache-b' })) as string;
    const vm = (await json('VM.create', { name_label: 'cache-vm' })) as string;
    assert.deepEqual(((await xml('network.get_all_records')) as Recs)[net].VIFs, []);
    assert.deepEqual(((await xml('VM.get_record', vm)) as Record<string, WireValue>).VIFs, []);
    const vif = (await json('VIF.create', { device: '0', network: net, VM: vm, MAC: '02:00:00:00:aa:01', MTU: 1500, other_config: {} })) as string;
    assert.deepEqual(((await xml('network.get_all_records')) as Recs)[net].VIFs, [vif]);
    assert.deepEqual(((await json('network.get_all_records')) as Recs)[net].VIFs, [vif]);
    assert.deepEqual(((await xml('VM.get_record', vm)) as Record<string, WireValue>).VIFs, [vif]);
    await json('VIF.destroy', vif);
    assert.deepEqual(((await xml('network.get_all_records')) as Recs)[net].VIFs, []);
    assert.deepEqual(((await json('VM.get_record', vm)) as Record<string, unknown>).VIFs, []);
  });

  test('the encoded form is byte for byte what the record encodes to (escaping, non-ASCII, the map of records)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolnet-cache-'));
    const db = new Database(join(dir, 'pool.db'));
    try {
      initialise(db, FACTS, { backend: 'openvswitch' });
      db.transact((tx) => {
        tx.create('network', { name_label: 'café <&> "q"', name_description: 'ü\u0001x', other_config: { 'a&b': 'ßñ', e: '' }, tags: ['x<y', 'ǅ'] });
        tx.create('network', { name_label: '' });
      });
      for (const cls of ['network', 'host', 'PIF', 'pool']) {
        for (const o of db.all(cls)) {
          const plain = db.record(o);
          const stored = storedRecord(db, o);
          assert.ok(stored instanceof StoredRecord);
          assert.equal(storedRecord(db, o), stored, 'an unchanged object answers the kept record');
          for (let i = 0; i < 2; i++) {
            assert.equal(toXml(stored, t.record(cls)), toXml(plain, t.record(cls)));
            assert.equal(toXml(new Typed(t.record(cls), stored), t.any), toXml(plain, t.record(cls)));
          }
          assert.equal(JSON.stringify(stored), JSON.stringify(plain));
          for (let i = 0; i < 2; i++) assert.equal(jsonText(stored), JSON.stringify(plain));
          assert.equal(JSON.stringify(new Typed(t.record(cls), stored)), JSON.stringify(plain));
        }
        const plainMap = Object.fromEntries([...db.all(cls)].map((o) => [o.ref, db.record(o)]));
        const storedMap = Object.fromEntries([...db.all(cls)].map((o) => [o.ref, storedRecord(db, o)]));
        const type = t.map(t.ref(cls), t.record(cls));
        assert.equal(Buffer.concat(toXmlBuffers(storedMap, type)).toString('utf8'), toXml(plainMap, type));
        assert.equal(toXml(storedMap, type), toXml(plainMap, type));
        for (let i = 0; i < 2; i++) assert.equal(jsonText(storedMap), JSON.stringify(plainMap));
        assert.equal(jsonText({}), '{}');
      }
      const net = [...db.all('network')].find((o) => o.rec.name_label === '')!;
      const before = storedRecord(db, net);
      db.transact((tx) => tx.update(net.ref, { name_label: 'renamed' }));
      const after = storedRecord(db, net);
      assert.notEqual(after, before);
      assert.match(toXml(after, t.record('network')), /<name>name_label<\/name><value>renamed<\/value>/);
      assert.equal(JSON.parse(jsonText(after)).name_label, 'renamed');
      assert.equal(JSON.parse(jsonText({ [net.ref]: after })) [net.ref].name_label, 'renamed');
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('event.from answers shared by watchers', () => {
  interface From { events: { operation: string; ref: string; snapshot?: { name_label: string } }[]; token: string }
  const from = async (session: string, classes: string[], token: string, timeout: number) => (await call(d.url, 'event.from', [session, classes, token, timeout])) as From;

  test('watchers woken by one commit each get its event; a watcher further behind gets all it missed', async () => {
    const w = await Promise.all([0, 1, 2].map(() => login(d.url)));
    const t0 = (await from(w[0], ['network'], '', 0)).token;
    const parked = w.slice(0, 2).map((ws) => from(ws, ['network'], t0, 10));
    await new Promise((r) => setTimeout(r, 100));
    const n1 = (await json('network.create', { name_label: 'shared-1' })) as string;
    const [a, b] = await Promise.all(parked);
    for (const r of [a, b]) {
      assert.deepEqual(r.events.map((e) => [e.operation, e.ref, e.snapshot?.name_label]), [['add', n1, 'shared-1']]);
      assert.equal(r.token, a.token);
    }
    // the same question again, over XML-RPC, from a third session: the same answer
    const x = parseMethodResponse((await post(d.url, '/', xmlCall('event.from', [w[2], '<array><data><value>network</value></data></array>', t0, '<double>0</double>']))).body) as unknown as { Value: From };
    assert.deepEqual(x.Value.events.map((e) => [e.operation, e.ref, e.snapshot?.name_label]), [['add', n1, 'shared-1']]);
    assert.equal(x.Value.token, a.token);
    const n2 = (await json('network.create', { name_label: 'shared-2' })) as string;
    await json('network.set_name_label', n1, 'shared-1b');
    // from the first token: both networks, each once, as they are now
    const late = await from(w[2], ['network'], t0, 0);
    assert.deepEqual(late.events.map((e) => [e.operation, e.ref, e.snapshot?.name_label]).sort(), [['add', n1, 'shared-1b'], ['add', n2, 'shared-2']].sort());
    const next = await from(w[0], ['network'], a.token, 0);
    assert.deepEqual(next.events.map((e) => [e.operation, e.ref, e.snapshot?.name_label]), [['add', n2, 'shared-2'], ['mod', n1, 'shared-1b']]);
    // another subscription at the same token is answered for itself
    assert.deepEqual((await from(w[1], ['vm'], a.token, 0)).events, []);
  });
});

describe('passwords that matched lately', () => {
  test('a match is remembered for that hash only; a wrong password never matches', async () => {
    const h1 = await hashPassword('first');
    assert.equal(await verifyPassword('first', h1), true);
    assert.equal(await verifyPassword('first', h1), true);
    assert.equal(await verifyPassword('firsT', h1), false);
    assert.equal(await verifyPassword('', h1), false);
    // the password changed: a new hash; the old password, remembered against the old hash, fails
    const h2 = await hashPassword('second');
    assert.equal(await verifyPassword('first', h2), false);
    assert.equal(await verifyPassword('second', h2), true);
    // the same password hashed again (a new salt) is checked against its own hash
    const h3 = await hashPassword('first');
    assert.equal(await verifyPassword('first', h3), true);
    assert.equal(await verifyPassword('first', undefined), false);
    assert.equal(await verifyPassword('first', ''), false);
  });

  test('after session.change_password, the old password is refused at once', async () => {
    const s2 = await login(d.url);
    const s3 = await login(d.url); // the old password, just remembered
    await call(d.url, 'session.change_password', [s2, 'test-root-pw', 'new-root-pw']);
    await assert.rejects(login(d.url), /SESSION_AUTHENTICATION_FAILED/);
    const s4 = await login(d.url, 'root', 'new-root-pw');
    await call(d.url, 'session.change_password', [s4, 'new-root-pw', 'test-root-pw']);
    await assert.rejects(login(d.url, 'root', 'new-root-pw'), /SESSION_AUTHENTICATION_FAILED/);
    assert.ok(await login(d.url));
    await Promise.all([s2, s3, s4].map((x) => call(d.url, 'session.logout', [x]).catch(() => undefined)));
  });
});
