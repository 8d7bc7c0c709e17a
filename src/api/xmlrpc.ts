// XML-RPC as xapi speaks it: a small strict parser for requests, and a compact printer
// (no whitespace between tags, untyped strings, int64 as untyped text) for responses.

/** Parsed XML-RPC scalars that JSON has no spelling for. */
export class XInt { constructor(readonly text: string) {} }
export class XDouble { constructor(readonly value: number) {} }
export class XDate { constructor(readonly text: string) {} }
export class XBase64 { constructor(readonly text: string) {} }

/** A parsed wire value: string, boolean, null, array, struct (plain object), or one of the classes above. JSON adds number. */
export type WireValue = string | boolean | null | number | XInt | XDouble | XDate | XBase64 | WireValue[] | { [k: string]: WireValue };

import { XapiError } from '../model/errors.ts';

export class ParseError extends Error {}

/** What a well-meaning client never sends is refused with a XenAPI error rather than xapi's HTML page. */
const refused = (why: string): XapiError => new XapiError('INVALID_VALUE', ['XML-RPC request', why]);

// ---------------------------------------------------------------- parser

interface Node { name: string; children: (Node | string)[] }

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff) throw new ParseError(`bad character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new ParseError(`unknown entity ${whole}`);
    return v;
  });
}

const MAX_DEPTH = 256;

/** A minimal XML tree parser: elements and text; skips the declaration, comments and PIs; handles CDATA. */
export function parseXmlTree(xml: string): Node {
  let i = 0;
  const n = xml.length;
  const stack: Node[] = [];
  let root: Node | undefined;
  const text = (s: string) => { if (stack.length) stack[stack.length - 1].children.push(s); else if (s.trim()) throw new ParseError('text outside the root element'); };
  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) { text(decodeEntities(xml.slice(i))); break; }
    if (lt > i) text(decodeEntities(xml.slice(i, lt)));
    if (xml.startsWith('<?', lt)) {
      const e = xml.indexOf('?>', lt + 2); if (e < 0) throw new ParseError('unterminated processing instruction'); i = e + 2; continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const e = xml.indexOf('-->', lt + 4); if (e < 0) throw new ParseError('unterminated comment'); i = e + 3; continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const e = xml.indexOf(']]>', lt + 9); if (e < 0) throw new ParseError('unterminated CDATA'); text(xml.slice(lt + 9, e)); i = e + 3; continue;
    }
    if (xml.startsWith('<!', lt)) throw refused('DTDs are not accepted');
    const gt = xml.indexOf('>', lt + 1);
    if (gt < 0) throw new ParseError('unterminated tag');
    let tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== name) throw new ParseError(`mismatched closing tag </${name}>`);
      if (stack.length === 0) root = top;
      continue;
    }
    const selfClosing = tag.endsWith('/');
    if (selfClosing) tag = tag.slice(0, -1);
    const m = /^([A-Za-z_][\w.:-]*)(\s[^]*)?$/.exec(tag);
    if (!m) throw new ParseError(`bad tag <${tag}>`);
    if (m[2] && !/^(\s+[\w.:-]+\s*=\s*("[^"<]*"|'[^'<]*'))*\s*$/.test(m[2])) throw new ParseError(`bad attributes in <${m[1]}>`);
    const node: Node = { name: m[1], children: [] };
    if (stack.length) stack[stack.length - 1].children.push(node);
    else if (root) throw new ParseError('more than one root element');
    if (selfClosing) { if (!stack.length) root = node; continue; }
    if (stack.length >= MAX_DEPTH) throw refused(`elements nested deeper than ${MAX_DEPTH}`);
    stack.push(node);
  }
  if (stack.length) throw new ParseError(`unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) throw new ParseError('no root element');
  return root;
}

function elements(node: Node): Node[] {
  const out: Node[] = [];
  for (const c of node.children) {
    if (typeof c === 'string') { if (c.trim()) throw new ParseError(`unexpected text in <${node.name}>`); } else out.push(c);
  }
  return out;
}

function textOf(node: Node): string {
  let s = '';
  for (const c of node.children) {
    if (typeof c !== 'string') throw new ParseError(`unexpected element <${c.name}> in <${node.name}>`);
    s += c;
  }
  return s;
}

function one(node: Node, name: string): Node {
  const els = elements(node);
  if (els.length !== 1 || els[0].name !== name) throw new ParseError(`<${node.name}> must contain exactly one <${name}>`);
  return els[0];
}

export function parseValue(v: Node): WireValue {
  if (v.name !== 'value') throw new ParseError(`expected <value>, got <${v.name}>`);
  const els = v.children.filter((c): c is Node => typeof c !== 'string');
  if (els.length === 0) return textOf(v); // bare text, including whitespace-only, is a string
  const e = one(v, els[0].name);
  switch (e.name) {
    case 'string': return textOf(e);
    case 'int': case 'i4': case 'i8': {
      const s = textOf(e).trim();
      if (!/^[+-]?\d+$/.test(s)) throw new ParseError(`bad integer ${JSON.stringify(s)}`);
      return new XInt(s);
    }
    case 'boolean': {
      const s = textOf(e).trim();
      if (s !== '0' && s !== '1') throw new ParseError(`bad boolean ${JSON.stringify(s)}`);
      return s === '1';
    }
    case 'double': {
      const s = textOf(e).trim();
      const d = Number(s);
      if (s === '' || Number.isNaN(d) && s !== 'nan') throw new ParseError(`bad double ${JSON.stringify(s)}`);
      return new XDouble(d);
    }
    case 'dateTime.iso8601': return new XDate(textOf(e).trim());
    case 'base64': return new XBase64(textOf(e).trim());
    case 'nil': if (e.children.length) throw new ParseError('<nil> must be empty'); return null;
    case 'array': {
      const data = elements(e);
      if (data.length === 0) return [];
      if (data.length !== 1 || data[0].name !== 'data') throw new ParseError('<array> must contain <data>');
      return elements(data[0]).map(parseValue);
    }
    case 'struct': {
      const out: Record<string, WireValue> = Object.create(null) as Record<string, WireValue>;
      for (const mem of elements(e)) {
        if (mem.name !== 'member') throw new ParseError(`unexpected <${mem.name}> in <struct>`);
        const kids = elements(mem);
        const nameNode = kids.find((k) => k.name === 'name');
        const valueNode = kids.find((k) => k.name === 'value');
        if (!nameNode || !valueNode || kids.length !== 2) throw new ParseError('<member> needs one <name> and one <value>');
        out[textOf(nameNode)] = parseValue(valueNode);
      }
      return out;
    }
    default: throw new ParseError(`unknown value type <${e.name}>`);
  }
}

export interface XmlRpcCall { method: string; params: WireValue[] }

export function parseMethodCall(xml: string): XmlRpcCall {
  const root = parseXmlTree(xml);
  if (root.name !== 'methodCall') throw new ParseError(`expected <methodCall>, got <${root.name}>`);
  const els = elements(root);
  const nameNode = els.find((e) => e.name === 'methodName');
  if (!nameNode) throw new ParseError('missing <methodName>');
  const paramsNode = els.find((e) => e.name === 'params');
  if (!paramsNode) throw new ParseError('missing <params>');
  if (els.some((e) => e.name !== 'methodName' && e.name !== 'params')) throw new ParseError('unexpected element in <methodCall>');
  const method = textOf(nameNode).trim();
  const params = elements(paramsNode).map((pn) => {
    if (pn.name !== 'param') throw new ParseError(`unexpected <${pn.name}> in <params>`);
    return parseValue(one(pn, 'value'));
  });
  return { method, params };
}

/** Parse a methodResponse (used by tests and clients of other hosts). */
export function parseMethodResponse(xml: string): WireValue {
  const root = parseXmlTree(xml);
  if (root.name !== 'methodResponse') throw new ParseError('expected <methodResponse>');
  const params = one(root, 'params');
  return parseValue(one(one(params, 'param'), 'value'));
}

// ---------------------------------------------------------------- printer

// Control characters other than TAB, LF, CR are not allowed in XML 1.0: dropped, as xapi does.
// eslint-disable-next-line no-control-regex
const CTRL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

// One test for the common case of a string that needs neither escaping nor dropping.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>"\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = s;
  if (/[&<>"]/.test(out)) out = out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  if (CTRL.test(out)) { CTRL.lastIndex = 0; out = out.replace(CTRL, ''); }
  CTRL.lastIndex = 0;
  return out;
}

export const XML_HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
export const XML_TAIL = '</param></params></methodResponse>';

const SUCCESS_HEAD = `${XML_HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>`;
const SUCCESS_TAIL = `</member></struct></value>${XML_TAIL}`;

export function xmlSuccess(valueXml: string): string {
  return SUCCESS_HEAD + valueXml + SUCCESS_TAIL;
}

/** xmlSuccess for a value printed as UTF-8 buffers (toXmlBuffers); bare: not wrapped (xmlBare). */
export function xmlSuccessBuffers(value: readonly Buffer[], bare = false): Buffer[] {
  return [Buffer.from(bare ? XML_HEAD : SUCCESS_HEAD), ...value, Buffer.from(bare ? XML_TAIL : SUCCESS_TAIL)];
}

export function xmlFailure(description: readonly string[]): string {
  const items = description.map((d) => `<value>${escapeXml(d)}</value>`).join('');
  return `${XML_HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data>${items}</data></array></value></member></struct></value>${XML_TAIL}`;
}

/** A bare value in the response (system.listMethods is not wrapped). */
export function xmlBare(valueXml: string): string {
  return `${XML_HEAD}${valueXml}${XML_TAIL}`;
}
