// Unit tests of the codecs: the XML-RPC parser and printer (src/api/xmlrpc.ts), the typed
// conversions of src/api/marshal.ts, and the filter language of src/api/where.ts.
// Pure functions only: no daemon is needed here.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XapiError, t } from '../src/model/index.ts';
import { fromWire, formatDouble, I32, normaliseDate, toXml, Typed } from '../src/api/marshal.ts';
import { compileWhere } from '../src/api/where.ts';
import {
  escapeXml, ParseError, parseMethodCall, parseMethodResponse, parseXmlTree, XBase64, XDate, XDouble, XInt,
  xmlBare, xmlFailure, xmlSuccess, type WireValue,
} from '../src/api/xmlrpc.ts';

const HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const TAIL = '</param></params></methodResponse>';

/** A methodCall with one param holding `valueXml` (a whole <value>...</value>). */
const call1 = (valueXml: string): WireValue => parseMethodCall(`<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param>${valueXml}</param></params></methodCall>`).params[0];

/** The [CODE, ...params] that `f` throws as a XapiError. */
function xapiFailure(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof XapiError) return e.description;
    throw e;
  }
  throw new Error('expected a XapiError');
}

/** A XenAPI error with this code (the parser refuses what a client must be told about). */
const refusedAs = (code: string) => (e: unknown) => e instanceof XapiError && e.code === code;

describe('XML-RPC parser', () => {
  test('a compact request: method name and positional params', () => {
    const c = parseMethodCall('<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value><string>root</string></value></param><param><value>pw</value></param></params></methodCall>');
    assert.equal(c.method, 'session.login_with_password');
    assert.deepEqual(c.params, ['root', 'pw']);
  });

  test('a Python-style request with newlines and indentation between tags', () => {
    const xml = `<?xml version='1.0'?>
<methodCall>
  <methodName>network.create</methodName>
  <params>
    <param>
      <value><string>OpaqueRef:abc</string></value>
    </param>
    <param>
      <value><struct>
        <member>
          <name>name_label</name>
          <value><string>net one</string></value>
        </member>
        <member>
          <name>MTU</name>
          <value><int>9000</int></value>
        </member>
        <member>
          <name>tags</name>
          <value><array><data>
            <value><string>a</string></value>
            <value>b</value>
          </data></array></value>
        </member>
      </struct></value>
    </param>
  </params>
</methodCall>
`;
    const c = parseMethodCall(xml);
    assert.equal(c.method, 'network.create');
    assert.equal(c.params.length, 2);
    assert.equal(c.params[0], 'OpaqueRef:abc');
    const s = c.params[1] as Record<string, WireValue>;
    assert.equal(s.name_label, 'net one');
    assert.ok(s.MTU instanceof XInt);
    assert.equal((s.MTU as XInt).text, '9000');
    assert.deepEqual(s.tags, ['a', 'b']);
  });

  test('bare text in <value> is a string; whitespace-only content is kept as a string', () => {
    assert.equal(call1('<value>hello world</value>'), 'hello world');
    assert.equal(call1('<value>   </value>'), '   ');
    assert.equal(call1('<value>\n</value>'), '\n');
  });

  test('empty forms are empty strings, arrays and structs', () => {
    assert.equal(call1('<value></value>'), '');
    assert.equal(call1('<value/>'), '');
    assert.equal(call1('<value><string></string></value>'), '');
    assert.equal(call1('<value><string/></value>'), '');
    assert.deepEqual(call1('<value><array><data></data></array></value>'), []);
    assert.deepEqual(call1('<value><array><data/></array></value>'), []);
    assert.deepEqual(call1('<value><array/></value>'), []);
    assert.deepEqual({ ...(call1('<value><struct></struct></value>') as object) }, {});
    assert.deepEqual({ ...(call1('<value><struct/></value>') as object) }, {});
  });

  test('scalars: int, i4, i8, boolean, double, dateTime, base64, nil', () => {
    for (const tag of ['int', 'i4', 'i8']) {
      const v = call1(`<value><${tag}>-42</${tag}></value>`);
      assert.ok(v instanceof XInt, tag);
      assert.equal(v.text, '-42');
    }
    assert.equal((call1('<value><i8>9223372036854775807</i8></value>') as XInt).text, '9223372036854775807');
    assert.equal(call1('<value><boolean>1</boolean></value>'), true);
    assert.equal(call1('<value><boolean>0</boolean></value>'), false);
    const d = call1('<value><double>60.1</double></value>');
    assert.ok(d instanceof XDouble);
    assert.equal(d.value, 60.1);
    const dt = call1('<value><dateTime.iso8601>20240102T03:04:05Z</dateTime.iso8601></value>');
    assert.ok(dt instanceof XDate);
    assert.equal(dt.text, '20240102T03:04:05Z');
    const b = call1('<value><base64>aGVsbG8=</base64></value>');
    assert.ok(b instanceof XBase64);
    assert.equal(b.text, 'aGVsbG8=');
    assert.equal(call1('<value><nil/></value>'), null);
  });

  test('bad scalars are parse errors', () => {
    assert.throws(() => call1('<value><int>12a</int></value>'), ParseError);
    assert.throws(() => call1('<value><int></int></value>'), ParseError);
    assert.throws(() => call1('<value><boolean>yes</boolean></value>'), ParseError);
    assert.throws(() => call1('<value><double>abc</double></value>'), ParseError);
    assert.throws(() => call1('<value><double></double></value>'), ParseError);
    assert.throws(() => call1('<value><nil>x</nil></value>'), ParseError);
    assert.throws(() => call1('<value><float>1</float></value>'), ParseError);
  });

  test('entities, character references and CDATA are decoded', () => {
    assert.equal(call1('<value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</value>'), 'a & b <c> "d" \'e\'');
    assert.equal(call1('<value>&#65;&#x42;&#x1F600;</value>'), 'AB\u{1F600}');
    assert.equal(call1('<value><string><![CDATA[<not a tag> & raw]]></string></value>'), '<not a tag> & raw');
    assert.throws(() => call1('<value>&nbsp;</value>'), ParseError);
    assert.throws(() => call1('<value>&#x110000;</value>'), ParseError);
  });

  test('comments and processing instructions are skipped; a DTD is refused', () => {
    const c = parseMethodCall('<?xml version="1.0"?><!-- hi --><methodCall><methodName>x.y</methodName><!-- between --><params></params></methodCall>');
    assert.equal(c.method, 'x.y');
    assert.deepEqual(c.params, []);
    // a XenAPI error, not a parse failure: the client gets a Failure it can read (see xmlrpc.ts refused)
    assert.throws(() => parseMethodCall('<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY a "b">]><methodCall><methodName>x</methodName><params/></methodCall>'), refusedAs('INVALID_VALUE'));
  });

  test('struct members: any order of name/value, duplicate-free shape required', () => {
    const s = call1('<value><struct><member><value>v</value><name>k</name></member></struct></value>') as Record<string, WireValue>;
    assert.equal(s.k, 'v');
    assert.throws(() => call1('<value><struct><member><name>k</name></member></struct></value>'), ParseError);
    assert.throws(() => call1('<value><struct><member><name>k</name><value>1</value><value>2</value></member></struct></value>'), ParseError);
    assert.throws(() => call1('<value><struct><item/></struct></value>'), ParseError);
  });

  test('a struct may have a member called __proto__ without touching prototypes', () => {
    const s = call1('<value><struct><member><name>__proto__</name><value>x</value></member></struct></value>') as Record<string, WireValue>;
    assert.equal(Object.keys(s).length, 1);
    assert.equal(s['__proto__'], 'x');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('malformed documents are parse errors', () => {
    const bad = [
      '',
      'not xml at all',
      '<methodCall><methodName>x</methodName></methodCall>', // no <params>
      '<methodCall><params></params></methodCall>', // no <methodName>
      '<methodCall><methodName>x</methodName><params></methodCall>', // unclosed
      '<methodCall><methodName>x</methodName><params></params></methodcall>', // mismatched case
      '<methodCall><methodName>x</methodName><params></params></methodCall><methodCall/>', // two roots
      '<methodResponse><params></params></methodResponse>', // wrong root
      '<methodCall><methodName>x</methodName><params><param>text</param></params></methodCall>',
      '<methodCall><methodName>x</methodName><params><value>1</value></params></methodCall>',
      '<methodCall><methodName>x</methodName><params><param><value><int>1</int><int>2</int></value></param></params></methodCall>',
      '<methodCall><methodName>x</methodName><params><param><value><array><value>1</value></array></value></param></params></methodCall>',
      '<methodCall><methodName>x</methodName><params></params><extra/></methodCall>',
      '<methodCall><methodName>x</methodName><params></params></methodCall> trailing',
      '<methodCall a=b><methodName>x</methodName><params></params></methodCall>',
      '<methodCall><methodName>x</methodName><params><!-- unterminated </params></methodCall>',
    ];
    for (const xml of bad) assert.throws(() => parseMethodCall(xml), ParseError, JSON.stringify(xml));
  });

  test('attributes with quoted values are accepted on elements', () => {
    const c = parseMethodCall('<methodCall xmlns:x="urn:x" a=\'1\'><methodName>m.n</methodName><params/></methodCall>');
    assert.equal(c.method, 'm.n');
  });

  test('deep nesting is refused rather than overflowing the stack', () => {
    const depth = 1000;
    const xml = `<methodCall><methodName>x</methodName><params><param>${'<value><array><data>'.repeat(depth)}${'</data></array></value>'.repeat(depth)}</param></params></methodCall>`;
    assert.throws(() => parseMethodCall(xml), refusedAs('INVALID_VALUE'));
  });

  test('parseXmlTree keeps whitespace text nodes for the value parser to judge', () => {
    const tree = parseXmlTree('<a>\n <b>x</b>\n</a>');
    assert.equal(tree.name, 'a');
    assert.equal(tree.children.length, 3);
  });

  test('parseMethodResponse reads back what the printer writes', () => {
    const v = parseMethodResponse(xmlSuccess('<value><array><data><value>a</value><value><boolean>1</boolean></value></data></array></value>')) as Record<string, WireValue>;
    assert.equal(v.Status, 'Success');
    assert.deepEqual(v.Value, ['a', true]);
    const f = parseMethodResponse(xmlFailure(['SESSION_INVALID', 'OpaqueRef:x'])) as Record<string, WireValue>;
    assert.equal(f.Status, 'Failure');
    assert.deepEqual(f.ErrorDescription, ['SESSION_INVALID', 'OpaqueRef:x']);
  });
});

describe('XML-RPC printer', () => {
  test('escapeXml escapes markup characters and drops disallowed control characters', () => {
    assert.equal(escapeXml('a&b<c>d"e\'f'), 'a&amp;b&lt;c&gt;d&quot;e\'f');
    assert.equal(escapeXml('x\u0000y\u0007z\u001f\ufffe'), 'xyz');
    assert.equal(escapeXml('tab\there\nnl\rcr'), 'tab\there\nnl\rcr');
    assert.equal(escapeXml('plain'), 'plain');
    // the regex must not keep state between calls
    assert.equal(escapeXml('\u0001a'), 'a');
    assert.equal(escapeXml('\u0001b'), 'b');
  });

  test('success, failure and bare envelopes are byte-exact', () => {
    assert.equal(xmlSuccess('<value>OpaqueRef:1</value>'),
      `${HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>OpaqueRef:1</value></member></struct></value>${TAIL}`);
    assert.equal(xmlFailure(['SESSION_INVALID', 'OpaqueRef:9<&>']),
      `${HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:9&lt;&amp;&gt;</value></data></array></value></member></struct></value>${TAIL}`);
    assert.equal(xmlBare('<value><array><data></data></array></value>'), `${HEAD}<value><array><data></data></array></value>${TAIL}`);
  });

  test('typed values print as xapi prints them', () => {
    assert.equal(toXml('', t.string), '<value></value>');
    assert.equal(toXml('a<b', t.string), '<value>a&lt;b</value>');
    assert.equal(toXml('OpaqueRef:NULL', t.ref('host')), '<value>OpaqueRef:NULL</value>');
    assert.equal(toXml('DHCP', t.enumOf('m', ['None', 'DHCP'])), '<value>DHCP</value>');
    assert.equal(toXml(undefined, t.void), '<value></value>');
    assert.equal(toXml(1500, t.int), '<value>1500</value>');
    assert.equal(toXml(-1, t.int), '<value>-1</value>');
    assert.equal(toXml(1, t.float), '<value><double>1</double></value>');
    assert.equal(toXml(0.25, t.float), '<value><double>0.25</double></value>');
    assert.equal(toXml(true, t.bool), '<value><boolean>1</boolean></value>');
    assert.equal(toXml(false, t.bool), '<value><boolean>0</boolean></value>');
    assert.equal(toXml('20240102T03:04:05Z', t.datetime), '<value><dateTime.iso8601>20240102T03:04:05Z</dateTime.iso8601></value>');
    assert.equal(toXml([], t.set(t.string)), '<value><array><data></data></array></value>');
    assert.equal(toXml([1, 2], t.set(t.int)), '<value><array><data><value>1</value><value>2</value></data></array></value>');
    assert.equal(toXml({}, t.smap), '<value><struct></struct></value>');
    assert.equal(toXml({ k: '', 'a&b': 'v' }, t.smap), '<value><struct><member><name>k</name><value></value></member><member><name>a&amp;b</name><value>v</value></member></struct></value>');
  });

  test('records print their public fields only, in model order', () => {
    const x = toXml({ uuid: 'u', device: 'eth0', device_name: 'secret', MTU: 1500, physical: true }, t.record('PIF'));
    assert.equal(x, '<value><struct><member><name>uuid</name><value>u</value></member><member><name>device</name><value>eth0</value></member><member><name>MTU</name><value>1500</value></member><member><name>physical</name><value><boolean>1</boolean></value></member></struct></value>');
    assert.doesNotMatch(x, /device_name/);
  });

  test('dynamic values: I32 as <i4>, Typed by its type, null as <nil/>, no whitespace', () => {
    const v = { events: [], valid_ref_counts: { task: new I32(3) }, token: '0,0', snap: new Typed(t.int, 7), n: null, f: 0.5, b: false };
    assert.equal(toXml(v, t.any),
      '<value><struct><member><name>events</name><value><array><data></data></array></value></member>'
      + '<member><name>valid_ref_counts</name><value><struct><member><name>task</name><value><i4>3</i4></value></member></struct></value></member>'
      + '<member><name>token</name><value>0,0</value></member><member><name>snap</name><value>7</value></member>'
      + '<member><name>n</name><value><nil/></value></member><member><name>f</name><value><double>0.5</double></value></member>'
      + '<member><name>b</name><value><boolean>0</boolean></value></member></struct></value>');
    assert.equal(JSON.stringify({ a: new I32(3), b: new Typed(t.string, 'x') }), '{"a":3,"b":"x"}');
  });
});

describe('formatDouble (printf "%.16g")', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [-3, '-3'],
    [0.1, '0.1'],
    [0.25, '0.25'],
    [60.1, '60.1'],
    [1 / 3, '0.3333333333333333'],
    [2 / 3, '0.6666666666666666'],
    [123.456, '123.456'],
    [1e15, '1000000000000000'],
    [1e16, '1e+16'],
    [1.5e16, '1.5e+16'],
    [1e20, '1e+20'],
    [123456789012345680000, '1.234567890123457e+20'],
    [1e100, '1e+100'],
    [0.0001, '0.0001'],
    [0.00012345, '0.00012345'],
    [0.00001, '1e-05'],
    [0.000015, '1.5e-05'],
    [1e-7, '1e-07'],
    [1.5e-7, '1.5e-07'],
    [5e-324, '4.940656458412465e-324'],
    [Number.MAX_VALUE, '1.797693134862316e+308'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [-0, '-0'],
    [0.1 + 0.2, '0.3'],
    // exact ties at the 17th digit round to even, as glibc's printf does
    [3244099538594132.5, '3244099538594132'],
    [3244099538594133.5, '3244099538594134'],
    [447888890915647.25, '447888890915647.2'],
    [-447888890915647.75, '-447888890915647.8'],
  ];
  for (const [d, s] of cases) test(`${String(d)} -> ${s}`, () => assert.equal(formatDouble(d), s));
});

describe('normaliseDate', () => {
  test('xapi form and ISO-8601 variants give xapi form', () => {
    assert.equal(normaliseDate('20240102T03:04:05Z'), '20240102T03:04:05Z');
    assert.equal(normaliseDate('20240102T03:04:05'), '20240102T03:04:05Z');
    assert.equal(normaliseDate('2024-01-02T03:04:05Z'), '20240102T03:04:05Z');
    assert.equal(normaliseDate('2024-01-02T03:04:05.123Z'), '20240102T03:04:05Z');
    assert.equal(normaliseDate(' 2024-01-02T03:04:05Z '), '20240102T03:04:05Z');
    assert.equal(normaliseDate('19700101T00:00:00Z'), '19700101T00:00:00Z');
  });

  test('time zone offsets are converted to UTC', () => {
    assert.equal(normaliseDate('2024-01-02T05:04:05+02:00'), '20240102T03:04:05Z');
    assert.equal(normaliseDate('2024-01-01T22:34:05-04:30'), '20240102T03:04:05Z');
    assert.equal(normaliseDate('20240102T05:04:05+0200'), '20240102T03:04:05Z');
  });

  test('garbage and impossible dates are refused', () => {
    for (const s of ['', 'yesterday', '2024-01-02', '2024/01/02T03:04:05Z', '20240102T3:04:05Z', '2024-13-02T03:04:05Z', '2024-02-30T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02T03:60:00Z', '2024-01-02T03:04:61Z']) {
      assert.equal(normaliseDate(s), undefined, s);
    }
  });
});

describe('fromWire', () => {
  test('int: XML-RPC int, decimal string (npm client) and JSON integer are accepted', () => {
    assert.equal(fromWire(new XInt('1500'), t.int, 'v'), 1500);
    assert.equal(fromWire('9000', t.int, 'v'), 9000);
    assert.equal(fromWire(' -1 ', t.int, 'v'), -1);
    assert.equal(fromWire(42, t.int, 'v'), 42);
    assert.equal(fromWire('+7', t.int, 'v'), 7);
  });

  test('int: anything else is FIELD_TYPE_ERROR naming the parameter', () => {
    for (const w of ['abc', '1.5', '', '0x10', '1e3', 4.5, true, null, [], new XDouble(1)] as WireValue[]) {
      assert.deepEqual(xapiFailure(() => fromWire(w, t.int, 'MTU')), ['FIELD_TYPE_ERROR', 'MTU'], JSON.stringify(w));
    }
    // beyond what a JavaScript number holds exactly
    assert.deepEqual(xapiFailure(() => fromWire('99999999999999999999', t.int, 'n')), ['FIELD_TYPE_ERROR', 'n']);
  });

  test('float: double, int, number and numeric string', () => {
    assert.equal(fromWire(new XDouble(60.1), t.float, 'v'), 60.1);
    assert.equal(fromWire(new XInt('3'), t.float, 'v'), 3);
    assert.equal(fromWire(0.5, t.float, 'v'), 0.5);
    assert.equal(fromWire('2.5', t.float, 'v'), 2.5);
    for (const w of ['', 'abc', ' ', true, [], null] as WireValue[]) {
      assert.deepEqual(xapiFailure(() => fromWire(w, t.float, 'timeout')), ['FIELD_TYPE_ERROR', 'timeout'], JSON.stringify(w));
    }
  });

  test('bool: only a real boolean', () => {
    assert.equal(fromWire(true, t.bool, 'v'), true);
    assert.equal(fromWire(false, t.bool, 'v'), false);
    for (const w of ['yes', 'true', '1', 1, new XInt('1'), null] as WireValue[]) {
      assert.deepEqual(xapiFailure(() => fromWire(w, t.bool, 'value')), ['FIELD_TYPE_ERROR', 'value'], JSON.stringify(w));
    }
  });

  test('string and ref: only strings', () => {
    assert.equal(fromWire('x', t.string, 'v'), 'x');
    assert.equal(fromWire('OpaqueRef:1', t.ref('network'), 'v'), 'OpaqueRef:1');
    assert.deepEqual(xapiFailure(() => fromWire(new XInt('1'), t.string, 'label')), ['FIELD_TYPE_ERROR', 'label']);
    assert.deepEqual(xapiFailure(() => fromWire(['a'], t.ref('VIF'), 'self')), ['FIELD_TYPE_ERROR', 'self']);
  });

  test('enum: case-insensitive in, canonical spelling out; unknown is INVALID_VALUE', () => {
    const mode = t.enumOf('ip_configuration_mode', ['None', 'DHCP', 'Static']);
    assert.equal(fromWire('dhcp', mode, 'mode'), 'DHCP');
    assert.equal(fromWire('STATIC', mode, 'mode'), 'Static');
    assert.deepEqual(xapiFailure(() => fromWire('bootp', mode, 'mode')), ['INVALID_VALUE', 'mode', 'bootp']);
    assert.deepEqual(xapiFailure(() => fromWire(true, mode, 'mode')), ['FIELD_TYPE_ERROR', 'mode']);
  });

  test('datetime: dateTime.iso8601 or string, normalised', () => {
    assert.equal(fromWire(new XDate('2024-01-02T03:04:05Z'), t.datetime, 'since'), '20240102T03:04:05Z');
    assert.equal(fromWire('20240102T03:04:05Z', t.datetime, 'since'), '20240102T03:04:05Z');
    assert.deepEqual(xapiFailure(() => fromWire('soon', t.datetime, 'since')), ['FIELD_TYPE_ERROR', 'since']);
  });

  test('set and map: elements converted, the failing element named', () => {
    assert.deepEqual(fromWire(['1', new XInt('2'), 3], t.set(t.int), 'trunks'), [1, 2, 3]);
    assert.deepEqual(xapiFailure(() => fromWire(['1', 'x'], t.set(t.int), 'trunks')), ['FIELD_TYPE_ERROR', 'trunks[1]']);
    assert.deepEqual(xapiFailure(() => fromWire('1', t.set(t.int), 'trunks')), ['FIELD_TYPE_ERROR', 'trunks']);
    assert.deepEqual(fromWire({ a: 'b' }, t.smap, 'other_config'), { a: 'b' });
    assert.deepEqual(xapiFailure(() => fromWire({ a: new XInt('1') }, t.smap, 'other_config')), ['FIELD_TYPE_ERROR', 'other_config.a']);
    assert.deepEqual(xapiFailure(() => fromWire(['a'], t.smap, 'other_config')), ['FIELD_TYPE_ERROR', 'other_config']);
    assert.deepEqual(xapiFailure(() => fromWire(new XInt('1'), t.smap, 'other_config')), ['FIELD_TYPE_ERROR', 'other_config']);
  });

  test('a map key "__proto__" is kept as an ordinary key', () => {
    const w = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, WireValue>;
    const m = fromWire(w, t.smap, 'other_config') as Record<string, unknown>;
    assert.deepEqual(Object.keys(m), ['__proto__', 'a']);
    assert.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
  });

  test('void is always the empty string; any becomes plain JSON-like data', () => {
    assert.equal(fromWire('whatever', t.void, 'v'), '');
    assert.deepEqual(fromWire({ a: new XInt('5'), b: [new XDouble(0.5), new XDate('20240102T03:04:05Z')], c: new XBase64('aGk=') }, t.any, 'v'),
      { a: 5, b: [0.5, '20240102T03:04:05Z'], c: 'aGk=' });
  });
});

describe('where: the get_all_records_where filter language', () => {
  const recs: Record<string, unknown>[] = [
    { name_label: 'x', bridge: 'xenbr0', MTU: 1500, managed: true },
    { name_label: 'y', bridge: 'xapi0', MTU: 9000, managed: false },
    { name_label: 'x', bridge: 'xapi1', MTU: 9000, managed: true },
  ];
  const sel = (expr: string) => recs.map((r, i) => (compileWhere(expr)(r) ? i : -1)).filter((i) => i >= 0);

  test('constants and field comparisons', () => {
    assert.deepEqual(sel('true'), [0, 1, 2]);
    assert.deepEqual(sel('false'), []);
    assert.deepEqual(sel('field "name_label"="x"'), [0, 2]);
    assert.deepEqual(sel('field "name_label"<>"x"'), [1]);
    assert.deepEqual(sel('field "name_label" = "nothing"'), []);
    assert.deepEqual(sel('field "missing"="x"'), []);
  });

  test('numbers and booleans compare by their printed form', () => {
    assert.deepEqual(sel('field "MTU"="9000"'), [1, 2]);
    assert.deepEqual(sel('field "managed"="true"'), [0, 2]);
  });

  test('and, or, not and parentheses; and binds tighter than or; keywords in any case', () => {
    assert.deepEqual(sel('field "name_label"="x" and field "MTU"="9000"'), [2]);
    assert.deepEqual(sel('field "bridge"="xenbr0" or field "bridge"="xapi0"'), [0, 1]);
    assert.deepEqual(sel('not field "name_label"="x"'), [1]);
    assert.deepEqual(sel('field "bridge"="xapi0" or field "name_label"="x" and field "MTU"="1500"'), [0, 1]);
    assert.deepEqual(sel('(field "bridge"="xapi0" or field "name_label"="x") and field "MTU"="9000"'), [1, 2]);
    assert.deepEqual(sel('FIELD "name_label"="y" OR False'), [1]);
  });

  test('values may contain spaces, = and parentheses inside their quotes', () => {
    const p = compileWhere('field "name_label"="a (b) = c"');
    assert.equal(p({ name_label: 'a (b) = c' }), true);
    assert.equal(p({ name_label: 'a' }), false);
  });

  test('malformed expressions are INVALID_VALUE ["expr", expr]', () => {
    for (const e of ['', 'field', 'field "a"', 'field "a"=', 'field a="b"', 'field "a"=="b"', '(true', 'true)', 'true and', 'true false', 'field "a"<"b"', 'maybe', 'true $']) {
      assert.deepEqual(xapiFailure(() => compileWhere(e)), ['INVALID_VALUE', 'expr', e], JSON.stringify(e));
    }
  });
});
