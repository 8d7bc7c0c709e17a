// XML-RPC on the wire, byte for byte: envelopes, headers, value encodings, and the request
// forms real clients send (Python's xmlrpc.client, the npm xen-api client).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, login, post, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { parseMethodResponse, type WireValue } from '../src/api/xmlrpc.ts';

const HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const TAIL = '</param></params></methodResponse>';
const success = (valueXml: string) => `${HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${valueXml}</member></struct></value>${TAIL}`;
const failureXml = (...desc: string[]) => `${HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data>${desc.map((x) => `<value>${x}</value>`).join('')}</data></array></value></member></struct></value>${TAIL}`;

/** Literal XML for one <value>, for requests that need a particular spelling. */
class Raw { constructor(readonly xml: string) {} }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function xv(v: unknown): string {
  if (v instanceof Raw) return v.xml;
  if (typeof v === 'string') return `<value><string>${esc(v)}</string></value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (v === null) return '<value><nil/></value>';
  if (Array.isArray(v)) return `<value><array><data>${v.map(xv).join('')}</data></array></value>`;
  return `<value><struct>${Object.entries(v as object).map(([k, x]) => `<member><name>${esc(k)}</name>${xv(x)}</member>`).join('')}</struct></value>`;
}

const methodCall = (method: string, params: unknown[]) =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${xv(p)}</param>`).join('')}</params></methodCall>`;

let d: TestDaemon;
let s: string;

/** POST an XML-RPC call to `path`; the raw response. */
const raw = (method: string, params: unknown[], path = '/') => post(d.url, path, methodCall(method, params));

/** The Value of a successful call (fails the test otherwise). */
async function ok(method: string, params: unknown[]): Promise<WireValue> {
  const r = await raw(method, params);
  assert.equal(r.status, 200);
  const v = parseMethodResponse(r.body) as Record<string, WireValue>;
  assert.equal(v.Status, 'Success', `${method}: ${r.body}`);
  return v.Value;
}

/** The exact <value> of a successful call's Value, as printed. */
async function valueXml(method: string, params: unknown[]): Promise<string> {
  const r = await raw(method, params);
  const start = success('').indexOf('</member></struct>');
  const prefix = success('').slice(0, start);
  assert.ok(r.body.startsWith(prefix), r.body);
  assert.ok(r.body.endsWith(`</member></struct></value>${TAIL}`), r.body);
  return r.body.slice(prefix.length, r.body.length - `</member></struct></value>${TAIL}`.length);
}

let poolRef: string;
let net: string;

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  poolRef = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
  net = (await call(d.url, 'network.create', [s, { name_label: 'wire-xml', name_description: '', other_config: {} }])) as string;
});

after(async () => { await d.dispose(); });

describe('envelopes, byte for byte', () => {
  test('pool.get_all success', async () => {
    const r = await raw('pool.get_all', [s]);
    assert.equal(r.status, 200);
    assert.equal(r.body, success(`<value><array><data><value>${poolRef}</value></data></array></value>`));
  });

  test('session.logout success: void is an empty untyped value', async () => {
    const s2 = (await ok('session.login_with_password', ['root', ROOT_PASSWORD])) as string;
    const r = await raw('session.logout', [s2]);
    assert.equal(r.body, success('<value></value>'));
  });

  test('SESSION_INVALID failure', async () => {
    const bogus = 'OpaqueRef:00000000-0000-0000-0000-00000000dead';
    const r = await raw('pool.get_all', [bogus]);
    assert.equal(r.status, 200);
    assert.equal(r.body, failureXml('SESSION_INVALID', bogus));
  });

  test('a logged-out session is SESSION_INVALID with its ref', async () => {
    const s2 = (await ok('session.login_with_password', ['root', ROOT_PASSWORD])) as string;
    await ok('session.logout', [s2]);
    const r = await raw('pool.get_all', [s2]);
    assert.equal(r.body, failureXml('SESSION_INVALID', s2));
  });

  test('error parameters are untyped strings, numbers included', async () => {
    const r = await raw('network.get_record', [s]);
    assert.equal(r.body, failureXml('MESSAGE_PARAMETER_COUNT_MISMATCH', 'network.get_record', '1', '0'));
  });

  test('a network record: untyped strings and ints, empty maps and sets, booleans', async () => {
    const rec = (await call(d.url, 'network.get_record', [s, net])) as Record<string, unknown>;
    const x = await valueXml('network.get_record', [s, net]);
    assert.ok(x.startsWith(`<value><struct><member><name>uuid</name><value>${rec.uuid as string}</value></member><member><name>name_label</name><value>wire-xml</value></member><member><name>name_description</name><value></value></member>`), x);
    assert.ok(x.endsWith('</member></struct></value>'), x);
    for (const member of [
      '<member><name>allowed_operations</name><value><array><data></data></array></value></member>',
      '<member><name>current_operations</name><value><struct></struct></value></member>',
      '<member><name>VIFs</name><value><array><data></data></array></value></member>',
      '<member><name>PIFs</name><value><array><data></data></array></value></member>',
      '<member><name>MTU</name><value>1500</value></member>',
      '<member><name>other_config</name><value><struct></struct></value></member>',
      `<member><name>bridge</name><value>${rec.bridge as string}</value></member>`,
      '<member><name>managed</name><value><boolean>1</boolean></value></member>',
      '<member><name>tags</name><value><array><data></data></array></value></member>',
      '<member><name>default_locking_mode</name><value>unlocked</value></member>',
    ]) assert.ok(x.includes(member), member);
    // one member per published field, nothing else
    assert.equal(x.match(/<member><name>/g)?.length, Object.keys(rec).length);
  });
});

describe('HTTP', () => {
  test('Content-Type is exactly text/xml, with no CORS grant, on success and failure', async () => {
    for (const params of [[s], ['OpaqueRef:nope']]) {
      const r = await fetch(`${d.url}/`, { method: 'POST', body: methodCall('pool.get_all', params), headers: { 'Content-Type': 'text/xml' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'text/xml');
      assert.equal(r.headers.get('access-control-allow-origin'), null); // no page of another origin may read it
      const body = await r.text();
      assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(body));
    }
  });

  test('every path but /jsonrpc is XML-RPC: /, /RPC2, /xmlrpc (npm client), /json', async () => {
    for (const path of ['/', '/RPC2', '/xmlrpc', '/json', '/anything/else']) {
      const r = await raw('pool.get_all', [s], path);
      assert.equal(r.contentType, 'text/xml', path);
      assert.equal(r.body, success(`<value><array><data><value>${poolRef}</value></data></array></value>`), path);
    }
  });

  test('a CORS preflight is answered without a grant', async () => {
    const r = await fetch(`${d.url}/`, { method: 'OPTIONS' });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('an unparsable request is HTTP 500 with an HTML body naming the parse error', async () => {
    for (const body of ['<methodCall><methodName>pool.get_all</methodName></methodCall>', '<methodCall><methodName>x</methodName><params>', 'garbage']) {
      const r = await post(d.url, '/', body);
      assert.equal(r.status, 500, body);
      assert.match(r.contentType ?? '', /^text\/html/);
      assert.match(r.body, /Parse_error/);
    }
  });

  test('invalid UTF-8 in the body fails the call with INVALID_VALUE, not a crash', async () => {
    const bytes = Buffer.concat([Buffer.from(methodCall('pool.get_all', [s]).replace('</methodCall>', '')), Buffer.from([0xff, 0xfe]), Buffer.from('</methodCall>')]);
    const r = await fetch(`${d.url}/`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'text/xml' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/xml');
    const v = parseMethodResponse(await r.text()) as Record<string, WireValue>;
    assert.equal(v.Status, 'Failure');
    assert.equal((v.ErrorDescription as string[])[0], 'INVALID_VALUE');
    assert.equal((v.ErrorDescription as string[])[1], 'Invalid UTF-8 string in parameter');
  });
});

describe('value encodings', () => {
  test('int64 is untyped text', async () => {
    assert.equal(await valueXml('network.get_MTU', [s, net]), '<value>1500</value>');
    const host = ((await call(d.url, 'host.get_all', [s])) as string[])[0];
    assert.equal(await valueXml('host.get_API_version_major', [s, host]), '<value>2</value>');
    const pif = ((await call(d.url, 'PIF.get_all', [s])) as string[])[0];
    assert.equal(await valueXml('PIF.get_VLAN', [s, pif]), '<value>-1</value>');
  });

  test('booleans are <boolean>1</boolean> / <boolean>0</boolean>', async () => {
    const pif = ((await call(d.url, 'PIF.get_all', [s])) as string[])[0];
    assert.equal(await valueXml('PIF.get_physical', [s, pif]), '<value><boolean>1</boolean></value>');
    assert.equal(await valueXml('PIF.get_disallow_unplug', [s, pif]), '<value><boolean>0</boolean></value>');
  });

  test('doubles are printed %.16g; a float parameter takes double, int or numeric string', async () => {
    const task = (await ok('task.create', [s, 'wire-double', ''])) as string;
    assert.equal(await valueXml('task.get_progress', [s, task]), '<value><double>0</double></value>');
    await ok('task.set_progress', [s, task, new Raw('<value><double>0.25</double></value>')]);
    assert.equal(await valueXml('task.get_progress', [s, task]), '<value><double>0.25</double></value>');
    await ok('task.set_progress', [s, task, new Raw('<value><int>1</int></value>')]);
    assert.equal(await valueXml('task.get_progress', [s, task]), '<value><double>1</double></value>');
    await ok('task.set_progress', [s, task, new Raw('<value>0.1</value>')]);
    assert.equal(await valueXml('task.get_progress', [s, task]), '<value><double>0.1</double></value>');
    await ok('task.destroy', [s, task]);
  });

  test('datetimes are <dateTime.iso8601> in xapi form', async () => {
    const task = (await ok('task.create', [s, 'wire-date', ''])) as string;
    assert.match(await valueXml('task.get_created', [s, task]), /^<value><dateTime\.iso8601>\d{8}T\d\d:\d\d:\d\dZ<\/dateTime\.iso8601><\/value>$/);
    await ok('task.destroy', [s, task]);
  });

  test('the empty string is <value></value>, never <string></string>', async () => {
    assert.equal(await valueXml('network.get_name_description', [s, net]), '<value></value>');
    assert.equal(await valueXml('pool.get_name_label', [s, poolRef]), '<value></value>');
    const r = await raw('pool.get_all_records', [s]);
    assert.match(r.body, /<member><name>name_label<\/name><value><\/value><\/member>/);
    assert.doesNotMatch(r.body, /<string>/);
  });

  test('no whitespace between tags, in any response', async () => {
    for (const m of ['pool.get_all_records', 'host.get_all_records', 'network.get_all_records', 'PIF.get_all_records', 'VM.get_all_records', 'role.get_all_records']) {
      const r = await raw(m, [s]);
      assert.match(r.body, /^<\?xml version="1.0"\?><methodResponse><params><param><value><struct><member><name>Status<\/name><value>Success<\/value>/, m);
      assert.doesNotMatch(r.body, />\s+</, m);
      assert.doesNotMatch(r.body, /\n/, m);
    }
    const ev = await raw('event.from', [s, ['*'], '', 0.1]);
    assert.doesNotMatch(ev.body, />\s+</);
  });

  test('markup and non-ASCII text round-trip, escaped on the way out', async () => {
    await ok('network.set_name_label', [s, net, 'a<b&c>"d\'e']);
    assert.equal(await valueXml('network.get_name_label', [s, net]), '<value>a&lt;b&amp;c&gt;&quot;d\'e</value>');
    await ok('network.set_name_label', [s, net, 'café ✓ 网络']);
    const r = await fetch(`${d.url}/`, { method: 'POST', body: methodCall('network.get_name_label', [s, net]), headers: { 'Content-Type': 'text/xml' } });
    const body = await r.text();
    assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(body, 'utf8'));
    assert.equal((parseMethodResponse(body) as Record<string, WireValue>).Value, 'café ✓ 网络');
    assert.equal(await call(d.url, 'network.get_name_label', [s, net]), 'café ✓ 网络');
    await ok('network.set_name_label', [s, net, 'wire-xml']);
  });

  test('maps are structs keyed by the map key', async () => {
    await ok('network.add_to_other_config', [s, net, 'k1', 'v1']);
    assert.equal(await valueXml('network.get_other_config', [s, net]), '<value><struct><member><name>k1</name><value>v1</value></member></struct></value>');
    await ok('network.remove_from_other_config', [s, net, 'k1']);
  });
});

describe('system.listMethods', () => {
  test('is not wrapped in Status/Value and needs no session', async () => {
    const r = await raw('system.listMethods', []);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/xml');
    assert.ok(r.body.startsWith(`${HEAD}<value><array><data><value>`), r.body.slice(0, 200));
    assert.ok(r.body.endsWith(`</value></data></array></value>${TAIL}`));
    assert.doesNotMatch(r.body, /Status/);
    const names = parseMethodResponse(r.body) as string[];
    assert.ok(Array.isArray(names));
    for (const m of ['network.create', 'network.get_all_records', 'event.from', 'session.login_with_password', 'VIF.set_locking_mode', 'system.listMethods']) assert.ok(names.includes(m), m);
    assert.ok(!names.some((n) => n.startsWith('Async.')));
  });
});

describe('requests as real clients write them', () => {
  test('Python xmlrpc.client style: newlines between every tag', async () => {
    const body = `<?xml version='1.0'?>
<methodCall>
<methodName>session.login_with_password</methodName>
<params>
<param>
<value><string>root</string></value>
</param>
<param>
<value><string>${ROOT_PASSWORD}</string></value>
</param>
<param>
<value><string>2.23</string></value>
</param>
<param>
<value><string>python-test</string></value>
</param>
</params>
</methodCall>
`;
    const r = await post(d.url, '/', body);
    const v = parseMethodResponse(r.body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success', r.body);
    assert.match(v.Value as string, /^OpaqueRef:[0-9a-f-]{36}$/);
    await ok('session.logout', [v.Value]);
  });

  test('indented request with a struct and an array, as pretty printers write them', async () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<methodCall>
    <methodName>network.create</methodName>
    <params>
        <param>
            <value><string>${s}</string></value>
        </param>
        <param>
            <value>
                <struct>
                    <member>
                        <name>name_label</name>
                        <value><string>pretty</string></value>
                    </member>
                    <member>
                        <name>MTU</name>
                        <value><int>9000</int></value>
                    </member>
                    <member>
                        <name>tags</name>
                        <value>
                            <array>
                                <data>
                                    <value><string>t1</string></value>
                                    <value>t2</value>
                                </data>
                            </array>
                        </value>
                    </member>
                    <member>
                        <name>other_config</name>
                        <value><struct>
                        </struct></value>
                    </member>
                </struct>
            </value>
        </param>
    </params>
</methodCall>`;
    const r = await post(d.url, '/RPC2', body);
    const v = parseMethodResponse(r.body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success', r.body);
    const rec = (await call(d.url, 'network.get_record', [s, v.Value])) as Record<string, unknown>;
    assert.equal(rec.name_label, 'pretty');
    assert.equal(rec.MTU, 9000);
    assert.deepEqual(rec.tags, ['t1', 't2']);
    assert.deepEqual(rec.other_config, {});
    await call(d.url, 'network.destroy', [s, v.Value]);
  });

  test('untyped <value>text</value> params are strings; whitespace-only text is kept', async () => {
    await ok('network.set_name_description', [new Raw(`<value>${s}</value>`), new Raw(`<value>${net}</value>`), new Raw('<value>   </value>')]);
    assert.equal(await call(d.url, 'network.get_name_description', [s, net]), '   ');
    await ok('network.set_name_description', [s, net, new Raw('<value/>')]);
    assert.equal(await call(d.url, 'network.get_name_description', [s, net]), '');
  });

  test('int parameters accept <int>, <i4>, <i8>, untyped text and <string> (the npm client sends strings)', async () => {
    const forms: [string, number][] = [
      ['<value>9000</value>', 9000], ['<value><string>9001</string></value>', 9001], ['<value><int>9002</int></value>', 9002],
      ['<value><i4>9003</i4></value>', 9003], ['<value><i8>9004</i8></value>', 9004], ['<value> 1500 </value>', 1500],
    ];
    for (const [x, n] of forms) {
      await ok('network.set_MTU', [s, net, new Raw(x)]);
      assert.equal(await valueXml('network.get_MTU', [s, net]), `<value>${n}</value>`, x);
    }
  });

  test('the npm client form: bare strings, /xmlrpc, dropped undefined keys', async () => {
    const body = `<?xml version="1.0"?><methodCall><methodName>network.get_all_records_where</methodName><params><param><value>${s}</value></param><param><value>field "name_label"="wire-xml"</value></param></params></methodCall>`;
    const r = await post(d.url, '/xmlrpc', body);
    const v = parseMethodResponse(r.body) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success', r.body);
    assert.deepEqual(Object.keys(v.Value as object), [net]);
  });

  test('the class_message spelling is the same call', async () => {
    const a = await raw('pool.get_all', [s]);
    const b = await raw('pool_get_all', [s]);
    assert.equal(b.body, a.body);
  });

  test('a session from XML-RPC works over JSON-RPC and back', async () => {
    const sx = (await ok('session.login_with_password', ['root', ROOT_PASSWORD])) as string;
    assert.deepEqual(await call(d.url, 'pool.get_all', [sx]), [poolRef]);
    const sj = await login(d.url);
    assert.deepEqual(await ok('pool.get_all', [sj]), [poolRef]);
    await ok('session.logout', [sx]);
    await call(d.url, 'session.logout', [sj]);
  });
});
