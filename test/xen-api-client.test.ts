// API conformance with Xen Orchestra's own client: the npm `xen-api` package, unmodified,
// over JSON-RPC and over XML-RPC. It logs in, loads every object into its cache, follows
// the event stream, and runs Async calls through tasks, exactly as XO does against xapi.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, login, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

// ---- the slice of the (untyped) xen-api package this test uses

interface XoRecord {
  readonly $id: string;
  readonly $ref: string;
  readonly $type: string;
  readonly [field: string]: unknown;
}

interface XoCollection {
  readonly all: Record<string, XoRecord>;
  on(event: 'add' | 'update' | 'remove', fn: (items: Record<string, XoRecord>) => void): void;
  removeListener(event: 'add' | 'update' | 'remove', fn: (items: Record<string, XoRecord>) => void): void;
}

interface XoClient {
  readonly pool: XoRecord;
  readonly objects: XoCollection;
  readonly objectsFetched: Promise<void>;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  call(method: string, ...args: unknown[]): Promise<unknown>;
  callAsync(method: string, ...args: unknown[]): Promise<unknown>;
  getObjectByRef(ref: string): XoRecord;
}

type Transport = 'json-rpc' | 'xml-rpc';

interface XenApiModule {
  createClient(opts: { url: string; auth: { user: string; password: string }; transport: Transport; watchEvents?: boolean }): XoClient;
}

// A non-literal specifier: the package ships no type declarations, this file types what it uses.
const XEN_API = 'xen-api';
const { createClient } = (await import(XEN_API)) as XenApiModule;

const ROLES = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin', 'vm-operator', 'read-only'];

/** The cached objects of one type, by ref. */
function cached(x: XoClient, type: string): Map<string, XoRecord> {
  const out = new Map<string, XoRecord>();
  for (const o of Object.values(x.objects.all)) if (o.$type === type) out.set(o.$ref, o);
  return out;
}

/** An own-field copy of a cached record (the client's $-helpers live on the prototype). */
const fieldsOf = (o: XoRecord): Record<string, unknown> => ({ ...o });

/** Resolves with the first cached object added that satisfies `pred`. */
function nextAdd(x: XoClient, pred: (o: XoRecord) => boolean): { promise: Promise<XoRecord>; cancel: () => void } {
  let listener: ((items: Record<string, XoRecord>) => void) | undefined;
  const promise = new Promise<XoRecord>((resolve) => {
    listener = (items) => {
      const hit = Object.values(items).find(pred);
      if (hit) resolve(hit);
    };
    x.objects.on('add', listener);
  });
  const cancel = () => { if (listener) x.objects.removeListener('add', listener); };
  void promise.then(cancel);
  return { promise, cancel };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

let d: TestDaemon;

before(async () => { d = await startTestDaemon(); });
after(async () => { await d?.dispose(); });

for (const transport of ['json-rpc', 'xml-rpc'] as const) {
  describe(`xen-api client over ${transport}`, () => {
    let x: XoClient;
    // int64 fields: JSON numbers over JSON-RPC, untyped text (strings) over XML-RPC
    const int = (n: number): number | string => (transport === 'json-rpc' ? n : String(n));

    before(async () => {
      x = createClient({ url: d.url, auth: { user: 'root', password: ROOT_PASSWORD }, transport });
      await x.connect();
      await withTimeout(x.objectsFetched, 10_000, 'objectsFetched');
    });
    after(async () => { await x?.disconnect(); });

    test('loads every object, with the values get_all_records reports', async () => {
      const expectedCounts: Record<string, number> = { pool: 1, host: 1, PIF: 3, PIF_metrics: 3, network: 3, VM: 1, role: 6 };
      // every class the client learns from system.listMethods, as it does itself
      const methods = (await x.call('system.listMethods')) as string[];
      const types = methods.filter((m) => m.endsWith('.get_all_records')).map((m) => m.slice(0, m.indexOf('.')));
      for (const type of Object.keys(expectedCounts)) assert.ok(types.includes(type), `${type}.get_all_records is listed`);
      let total = 0;
      for (const type of types) {
        const objs = cached(x, type);
        total += objs.size;
        if (type in expectedCounts) assert.equal(objs.size, expectedCounts[type], `number of cached ${type} objects`);
        // the same transport, so the same value representation
        const records = (await x.call(`${type}.get_all_records`)) as Record<string, Record<string, unknown>>;
        assert.deepEqual([...objs.keys()].sort(), Object.keys(records).sort(), `${type} refs`);
        for (const [ref, o] of objs) {
          assert.deepEqual(fieldsOf(o), records[ref], `${type} ${ref}`);
          assert.equal(o.$id, records[ref].uuid, `${type} $id is the uuid`);
        }
      }
      assert.equal(Object.keys(x.objects.all).length, total, 'the cache holds these objects and nothing else');
    });

    test('field values and references resolve', () => {
      const networks = [...cached(x, 'network').values()].sort((a, b) => String(a.bridge).localeCompare(String(b.bridge)));
      assert.deepEqual(networks.map((n) => n.bridge), ['xenbr0', 'xenbr1', 'xenbr2']);
      for (const n of networks) {
        assert.strictEqual(n.MTU, int(1500));
        assert.equal(n.name_label, `Pool-wide network associated with eth${String(n.bridge).slice(-1)}`);
        assert.equal((n.PIFs as string[]).length, 1);
      }

      const [host] = cached(x, 'host').values();
      const pool = x.pool;
      assert.equal(pool.$type, 'pool');
      const master = pool.$master as XoRecord;
      assert.equal(master, host, 'pool.$master resolves to the cached host');
      assert.equal(master.name_label, 'host1');
      assert.equal(master.address, '10.0.0.11');
      assert.strictEqual(master.API_version_major, int(2));
      const dom0 = master.$control_domain as XoRecord;
      assert.equal(dom0.$type, 'VM');
      assert.equal(dom0.is_control_domain, true);
      assert.equal(dom0.power_state, 'Running');
      assert.equal(dom0.$resident_on, host);

      const pifs = [...cached(x, 'PIF').values()].sort((a, b) => String(a.device).localeCompare(String(b.device)));
      assert.deepEqual(pifs.map((p) => p.device), ['eth0', 'eth1', 'eth2']);
      assert.deepEqual(pifs.map((p) => p.MAC), ['02:00:00:00:01:00', '02:00:00:00:01:01', '02:00:00:00:01:02']);
      pifs.forEach((p, i) => {
        assert.strictEqual(p.MTU, int(1500));
        assert.strictEqual(p.VLAN, int(-1));
        assert.equal(p.physical, true);
        assert.equal(p.$host, host);
        assert.equal((p.$network as XoRecord).bridge, `xenbr${i}`);
        const metrics = p.$metrics as XoRecord;
        assert.equal(metrics.$type, 'PIF_metrics');
        assert.equal(metrics.carrier, i < 2);
      });
      assert.equal(pifs[0].management, true);
      assert.equal(pifs[0].IP, '10.0.0.11');
      assert.equal(pifs[0].netmask, '255.255.255.0');
      assert.equal(pifs[0].ip_configuration_mode, 'Static');
      assert.deepEqual((host.$PIFs as XoRecord[]).map((p) => p.$ref).sort(), pifs.map((p) => p.$ref).sort());

      assert.deepEqual([...cached(x, 'role').values()].map((r) => r.name_label).sort(), [...ROLES].sort());
    });

    test('sees a network that another session creates, within a second', async () => {
      const other = await login(d.url); // an independent session, over raw JSON-RPC
      const label = `from another session over ${transport}`;
      const seen = nextAdd(x, (o) => o.$type === 'network' && o.name_label === label);
      try {
        const t0 = Date.now();
        const ref = (await call(d.url, 'network.create', [other, { name_label: label, name_description: '', MTU: 9000, other_config: { k: 'v' } }])) as string;
        const n = await withTimeout(seen.promise, 5_000, 'the network add event');
        const elapsed = Date.now() - t0;
        assert.ok(elapsed < 1000, `event seen after ${elapsed} ms`);
        assert.equal(n.$ref, ref);
        assert.strictEqual(n.MTU, int(9000));
        assert.deepEqual(n.other_config, { k: 'v' });
        assert.match(String(n.bridge), /^xapi\d+$/);
        assert.equal(x.getObjectByRef(ref), n);
        // the snapshot in the event is the whole record, as get_record reports it
        assert.deepEqual(fieldsOf(n), await x.call('network.get_record', ref));
        await call(d.url, 'network.destroy', [other, ref]);
      } finally {
        seen.cancel();
        await call(d.url, 'session.logout', [other]);
      }
    });

    test('callAsync: a method returning a ref, and a void method', async () => {
      const ref = await x.callAsync('network.create', { name_label: `async ${transport}`, name_description: '', MTU: 1500, other_config: {} });
      assert.equal(typeof ref, 'string');
      assert.match(ref as string, /^OpaqueRef:[0-9a-f-]{36}$/);
      assert.equal(await x.call('network.get_name_label', ref), `async ${transport}`);

      const v = await x.callAsync('network.destroy', ref);
      assert.ok(v === '' || v === undefined, `void result ${JSON.stringify(v)}`);
      await assert.rejects(x.call('network.get_record', ref), (e: { code?: string }) => e.code === 'HANDLE_INVALID');

      // a failing Async call rejects with the task's error
      await assert.rejects(x.callAsync('network.destroy', 'OpaqueRef:00000000-0000-0000-0000-000000000000'), (e: { code?: string }) => e.code === 'HANDLE_INVALID');
    });
  });
}
