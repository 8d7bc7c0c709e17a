// Hostile request bodies for the XenAPI server, as fast-check generators: well-formed calls
// bound to fail, truncated, mutated, misnested, deeply nested, invalid UTF-8, random bytes.
// Shared by the fuzz test (test/fuzz.test.ts, a short run over HTTP) and the fuzz benchmark
// (bench/fuzz.ts, a million inputs).

import fc from 'fast-check';
import { allWireNames } from '../src/model/index.ts';

// ---------------------------------------------------------------- generators, shared

/** Every method but the two that succeed without a session. */
export const METHODS = allWireNames().filter((m) => m !== 'system.listMethods' && m !== 'session.local_logout');

export const bogusRef = fc.uuid().map((u) => `OpaqueRef:${u}`);
export const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', 'OpaqueRef:NULL', 'OpaqueRef:', 'Ref:x', '\u0000', '\uffff', '\ud800', '1e400', '-0', 'true', 'null', '[]', '{}'),
);
const hugeInt = fc.oneof(
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom('9007199254740993', '-9223372036854775809', '18446744073709551616', '1e400', '0x10', '+-1', ''),
);
const weirdDouble = fc.oneof(fc.double().map(String), fc.constantFrom('1e400', '-1e400', '1e-400', 'nan', 'NaN', 'inf', '-Infinity', '0x1p3', '.', ''));
export const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((m) => m.toUpperCase()) },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((m) => `Async.${m}`) },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((m) => m.replace('.', '_')) },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((m) => `${m}_x`) },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom('', '.', 'Async.', 'Async.Async.VIF.get_MTU', 'VIF.', '.get_MTU', '__proto__', 'constructor', 'toString', 'VIF.__proto__', 'VIF.constructor', 'system.listmethods', 'system.multicall', 'event.from ') },
);

const INVALID_UTF8: readonly number[][] = [[0xff], [0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xc3], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]];
export const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Insert invalid UTF-8 sequences into a body. */
function withInvalidUtf8(template: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(template, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8)), { minLength: 1, maxLength: 3 })).map(([t, inserts]) => {
    let b = Buffer.from(t, 'utf8');
    for (const [at, seq] of inserts) {
      const i = b.length === 0 ? 0 : at % (b.length + 1);
      b = Buffer.concat([b.subarray(0, i), Buffer.from(seq), b.subarray(i)]);
    }
    return b;
  });
}

/** Cut a body short (never to its full length). */
const truncated = (template: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(template, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })).map(([t, f]) => t.slice(0, Math.floor(t.length * f)));

/** Random edits: replace, insert, delete or duplicate characters. */
function mutated(template: fc.Arbitrary<string>, alphabet: string): fc.Arbitrary<string> {
  const ch = fc.oneof(fc.constantFrom(...alphabet), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
  const edit = fc.tuple(fc.constantFrom('replace', 'insert', 'delete', 'dup'), fc.nat(), fc.nat({ max: 20 }), ch);
  return fc.tuple(template, fc.array(edit, { minLength: 1, maxLength: 8 })).map(([t, edits]) => {
    let s = t;
    for (const [op, at, len, c] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 'replace') s = s.slice(0, i) + c + s.slice(i + 1);
      else if (op === 'insert') s = s.slice(0, i) + c + s.slice(i);
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1 + len);
      else s = s.slice(0, i + len) + s.slice(i);
    }
    return s;
  });
}

// ---------------------------------------------------------------- XML-RPC bodies

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const xmlScalar: fc.Arbitrary<string> = fc.oneof(
  anyText.map((s) => `<value>${esc(s)}</value>`),
  anyText.map((s) => `<value><string>${esc(s)}</string></value>`),
  hugeInt.map((n) => `<value><int>${n}</int></value>`),
  hugeInt.map((n) => `<value><i4>${n}</i4></value>`),
  hugeInt.map((n) => `<value><i8>${n}</i8></value>`),
  fc.constantFrom('0', '1', 'true', '2', '').map((b) => `<value><boolean>${b}</boolean></value>`),
  weirdDouble.map((x) => `<value><double>${x}</double></value>`),
  anyText.map((s) => `<value><dateTime.iso8601>${esc(s)}</dateTime.iso8601></value>`),
  fc.constantFrom('<value><dateTime.iso8601>20240102T03:04:05Z</dateTime.iso8601></value>', '<value><base64>aGVsbG8=</base64></value>', '<value><nil/></value>', '<value/>', '<value></value>', '<value><nil>x</nil></value>', '<value><bogus/></value>'),
);

export const xmlValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    xmlScalar,
    fc.array(tie('value'), { maxLength: 4 }).map((vs) => `<value><array><data>${vs.join('')}</data></array></value>`),
    fc.array(fc.tuple(anyText, tie('value')), { maxLength: 4 }).map((ms) => `<value><struct>${ms.map(([k, v]) => `<member><name>${esc(k)}</name>${v}</member>`).join('')}</struct></value>`),
  ),
})).value;

export const xmlCall = (m: string, params: readonly string[]): string =>
  `<?xml version="1.0"?><methodCall><methodName>${esc(m)}</methodName><params>${params.map((p) => `<param>${p}</param>`).join('')}</params></methodCall>`;

/** Well-formed calls bound to fail: a session that does not exist, a wrong password, or no such method. */
const xmlTemplate: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(method, bogusRef, fc.array(xmlValue, { maxLength: 5 })).map(([m, s, ps]) => xmlCall(m, [`<value>${s}</value>`, ...ps])),
  fc.tuple(method, fc.array(xmlValue, { maxLength: 5 })).map(([m, ps]) => xmlCall(m, ps)),
  fc.tuple(fc.constantFrom('fuzz', 'nobody', ''), anyText, fc.array(xmlValue, { maxLength: 2 })).map(([u, p, rest]) => xmlCall('session.login_with_password', [`<value>${esc(u)}</value>`, `<value>${esc(p)}</value>`, ...rest])),
  fc.tuple(bogusRef, hugeInt).map(([s, n]) => xmlCall('VIF.add_trunks', [`<value>${s}</value>`, `<value>${s}</value>`, `<value><int>${n}</int></value>`])),
  fc.tuple(bogusRef, hugeInt).map(([s, n]) => xmlCall('network.set_MTU', [`<value>${s}</value>`, `<value>${s}</value>`, `<value><int>${n}</int></value>`])),
  fc.tuple(bogusRef, weirdDouble).map(([s, x]) => xmlCall('event.from', [`<value>${s}</value>`, '<value><array><data><value>*</value></data></array></value>', '<value></value>', `<value><double>${x}</double></value>`])),
);

const TAGS = ['methodCall', 'methodName', 'params', 'param', 'value', 'array', 'data', 'struct', 'member', 'name', 'string', 'int', 'i4', 'boolean', 'double', 'nil', 'base64', 'dateTime.iso8601', 'fault', 'methodResponse', 'x:y', 'a'];

/** Tag soup from the XML-RPC vocabulary: nesting the grammar does not allow. */
const xmlSoup: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyText.map(esc),
    fc.constantFrom(...TAGS).map((t) => `<${t}/>`),
    fc.tuple(fc.constantFrom(...TAGS), fc.array(tie('node'), { maxLength: 4 }), fc.constantFrom(...TAGS), fc.boolean()).map(([open, kids, close, same]) => `<${open}>${kids.join('')}</${same ? open : close}>`),
  ),
})).node.map((n) => (n.startsWith('<methodCall') ? n : `<methodCall>${n}</methodCall>`));

/** Swap one closing tag of a well-formed call for another. */
const xmlMisnested: fc.Arbitrary<string> = fc.tuple(xmlTemplate, fc.nat(), fc.constantFrom(...TAGS)).map(([t, at, tag]) => {
  const closes = [...t.matchAll(/<\/[^>]+>/g)];
  if (closes.length === 0) return `${t}</${tag}>`;
  const c = closes[at % closes.length];
  const i = c.index ?? 0;
  return `${t.slice(0, i)}</${tag}>${t.slice(i + c[0].length)}`;
});

const xmlDeep: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 100, max: 5_000 }), fc.constantFrom('array', 'struct', 'plain'), fc.boolean(), bogusRef).map(([n, kind, closed, s]) => {
  const open = kind === 'array' ? '<value><array><data>' : kind === 'struct' ? '<value><struct><member><name>k</name>' : '<a>';
  const close = kind === 'array' ? '</data></array></value>' : kind === 'struct' ? '</member></struct></value>' : '</a>';
  const inner = kind === 'plain' ? 'x' : '<value>x</value>';
  return xmlCall('VIF.get_record', [`<value>${s}</value>`, open.repeat(n) + inner + (closed ? close.repeat(n) : '')]);
});

const xmlEmpty = fc.constantFrom(
  '', ' ', '\n', '\r\n\t', '<?xml version="1.0"?>', '<methodCall/>', '<methodCall></methodCall>', '<methodCall><methodName/></methodCall>',
  '<methodCall><params/></methodCall>', '<methodCall><methodName>VIF.get_all</methodName></methodCall>', '<methodResponse/>', '<!-- -->', '<![CDATA[x]]>',
  '<!DOCTYPE lolz [<!ENTITY lol "lol">]><methodCall><methodName>&lol;</methodName><params/></methodCall>',
  '<methodCall><methodName>VIF.get_all</methodName><params><param><value>&#x110000;</value></param></params></methodCall>',
  '<methodCall><methodName>VIF.get_all</methodName><params><param><value>&bogus;</value></param></params></methodCall>',
  '<methodCall><methodName>VIF.get_all</methodName><params><param><value>OpaqueRef:x</value><value>y</value></param></params></methodCall>',
  '<methodCall><methodName>VIF.get_all</methodName><params><param></param></params></methodCall>',
  '<methodCall a="1" b=2><methodName>VIF.get_all</methodName><params/></methodCall>',
  '<methodCall><methodName>VIF.get_all</methodName><params/></methodCall><methodCall/>',
  'text<methodCall><methodName>VIF.get_all</methodName><params/></methodCall>',
);

export const xmlBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  xmlTemplate.map(utf8),
  truncated(xmlTemplate).map(utf8),
  mutated(xmlTemplate, '<>/&;"\'= \n?!abc0').map(utf8),
  xmlSoup.map(utf8),
  xmlMisnested.map(utf8),
  fc.uint8Array({ maxLength: 2_000 }),
  withInvalidUtf8(xmlTemplate),
  xmlDeep.map(utf8),
  fc.string({ unit: 'binary', maxLength: 500 }).map(utf8),
  fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }), bogusRef).map(([m, s]) => utf8(xmlCall(m, [`<value>${s}</value>`]))),
  xmlEmpty.map(utf8),
);

// ---------------------------------------------------------------- JSON-RPC bodies

/** JSON values with the awkward numbers JSON.stringify cannot spell, as text. */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyText.map((s) => JSON.stringify(s)),
    hugeInt.filter((n) => /^-?\d+$/.test(n)),
    fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0.5', '1.0', '12345678901234567890', 'true', 'false', 'null'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
    fc.array(tie('v'), { maxLength: 4 }).map((vs) => `[${vs.join(',')}]`),
    fc.array(fc.tuple(fc.oneof(anyText, fc.constantFrom('__proto__', 'constructor', 'name_label', 'other_config')), tie('v')), { maxLength: 4 }).map((ms) => `{${ms.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).v;

const jsonId = fc.oneof(fc.nat().map(String), fc.constantFrom('"x"', '0', '-1', '1.5', '1e400', 'null', '[]', '{}', 'true'));

export const jsonCall = (version: 1 | 2, m: string, params: string, id: string): string =>
  version === 2 ? `{"jsonrpc":"2.0","method":${JSON.stringify(m)},"params":${params},"id":${id}}` : `{"method":${JSON.stringify(m)},"params":${params},"id":${id}}`;

/** Well-formed JSON-RPC calls bound to fail. */
const jsonTemplate: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(1, 2) as fc.Arbitrary<1 | 2>, method, bogusRef, fc.array(jsonText, { maxLength: 5 }), jsonId).map(([v, m, s, ps, id]) => jsonCall(v, m, `[${[JSON.stringify(s), ...ps].join(',')}]`, id)),
  fc.tuple(fc.constantFrom(1, 2) as fc.Arbitrary<1 | 2>, method, jsonText, jsonId).map(([v, m, ps, id]) => jsonCall(v, m, ps, id)),
  fc.tuple(fc.constantFrom('fuzz', 'nobody', ''), anyText, jsonId).map(([u, p, id]) => jsonCall(2, 'session.login_with_password', JSON.stringify([u, p]), id)),
  fc.tuple(bogusRef, hugeInt.filter((n) => /^-?\d+$/.test(n))).map(([s, n]) => jsonCall(2, 'network.set_MTU', `[${JSON.stringify(s)},${JSON.stringify(s)},${n}]`, '1')),
  fc.tuple(bogusRef, fc.constantFrom('1e400', '-1', '0', '1e-400', '"60.1"', '"x"', 'null')).map(([s, x]) => jsonCall(2, 'event.from', `[${JSON.stringify(s)},["*"],"",${x}]`, '1')),
);

/** Objects that look like requests but have the wrong members. */
const jsonWrongShape: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({
    jsonrpc: fc.oneof(fc.constantFrom('"2.0"', '"1.0"', '2', '2.0', 'null', '""'), jsonText),
    method: fc.oneof(method.map((m) => JSON.stringify(m)), jsonText),
    params: jsonText,
    id: jsonId,
  }, { requiredKeys: [] }).map((o) => `{${Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  fc.array(jsonTemplate, { maxLength: 3 }).map((calls) => `[${calls.join(',')}]`), // batches are not supported
);

const jsonDeep: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 100, max: 100_000 }), fc.constantFrom('array', 'object', 'whole'), fc.boolean(), bogusRef).map(([n, kind, closed, s]) => {
  const open = kind === 'object' ? '{"a":' : '[';
  const close = kind === 'object' ? '}' : ']';
  const deep = open.repeat(n) + '1' + (closed ? close.repeat(n) : '');
  return kind === 'whole' ? deep : jsonCall(2, 'VIF.get_record', `[${JSON.stringify(s)},${deep}]`, '1');
});

const jsonEmpty = fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '0', '""', '{"method":"VIF.get_all"}', '{"method":"VIF.get_all","params":[],"id":null}',
  '{"jsonrpc":"2.0","method":"VIF.get_all","id":1}', '{"jsonrpc":"2.0","method":"VIF.get_all","params":{},"id":1}', '{"method":"session.local_logout","id":1}',
  '{"jsonrpc":"3.0","method":"system.listMethods","params":[],"id":1}', '{"method":"system.listMethods","params":{},"id":1}', '{"method":"system.listMethods","params":[],"id":1.5}',
  '{"jsonrpc":"2.0","method":"system.listMethods","params":[]}', '{"__proto__":{"method":"system.listMethods","params":[],"id":1}}', '\ufeff{}');

export const jsonBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  jsonTemplate.map(utf8),
  truncated(jsonTemplate).map(utf8),
  mutated(jsonTemplate, '{}[]",:\\ 0-e.tn').map(utf8),
  jsonWrongShape.map(utf8),
  fc.uint8Array({ maxLength: 2_000 }),
  withInvalidUtf8(jsonTemplate),
  jsonDeep.map(utf8),
  fc.string({ unit: 'binary', maxLength: 500 }).map(utf8),
  fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }), bogusRef).map(([m, s]) => utf8(jsonCall(2, m, JSON.stringify([s]), '1'))),
  jsonEmpty.map(utf8),
);

