// Type-directed conversion between wire values and the datamodel's values, both transports.
// Internal values are already JSON-shaped (strings, numbers, booleans, arrays, objects), so the
// JSON side is nearly free; XML-RPC needs the type to print int64 as untyped text, etc.

import type { Obj, Rec } from '../db/database.ts';
import { classDef, t, XapiError, type FieldType } from '../model/index.ts';
import { escapeXml, XBase64, XDate, XDouble, XInt, type WireValue } from './xmlrpc.ts';
import { formatXapiTime, xapiTimeMs } from '../model/datetime.ts';

/** A value whose type is known, inside a dynamically typed result (event.from). */
export class Typed {
  constructor(readonly type: FieldType, readonly value: unknown) {}
  // JSON.stringify calls toJSON once: a value that has its own (a StoredRecord) is asked here
  toJSON(): unknown { return this.value instanceof StoredRecord ? this.value.record : this.value; }
}

/** A 32-bit int: printed <i4> in XML-RPC (valid_ref_counts). */
export class I32 {
  constructor(readonly value: number) {}
  toJSON(): number { return this.value; }
}

// ---------------------------------------------------------------- stored records

/**
 * A stored object's published record as of one generation, and its XML-RPC encoding, made when
 * first asked. get_record, get_all_records(_where) and event snapshots answer with these, and
 * they are kept per object while it does not change (storedRecord): the 10,000 records of a
 * VIF.get_all_records are then copied, not built and encoded again. JSON sees the record.
 */
export class StoredRecord {
  /**
   * `<member><name>REF</name><value><struct>…</struct></value></member>` as UTF-8, once encoded:
   * the record as a member of get_all_records's map (keyed by its ref); `xml` is the value alone,
   * a view into the same bytes.
   */
  member: Buffer | undefined;
  xml: Buffer | undefined;
  /** The record as JSON text, once made (jsonText). */
  json: string | undefined;
  constructor(readonly ref: string, readonly cls: string, readonly record: Record<string, unknown>) {}
  toJSON(): Record<string, unknown> { return this.record; }
}

/**
 * POOLNET_API_CACHE=0 turns the cache off, and the sharing of event answers (events.ts):
 * bench/api.ts compares. An entry is valid while its
 * object has the same record (a change replaces `rec`) and the same generation (a commit bumps
 * `modified`; also when only a reverse field changed: the transaction touches the object).
 */
export const CACHE = process.env.POOLNET_API_CACHE !== '0';
/** Encoded records kept at most (bytes); past it the cache starts again empty. */
const CACHE_BYTES = 64 * 1024 * 1024;
let cache = new WeakMap<Obj, { readonly modified: number; readonly rec: Rec; readonly value: StoredRecord }>();
let cachedBytes = 0;

/** The object's record now, from the cache when it has not changed since it was last taken. */
export function storedRecord(db: { record(o: Obj): Record<string, unknown> }, o: Obj): StoredRecord {
  if (!CACHE) return new StoredRecord(o.ref, o.cls, db.record(o));
  const e = cache.get(o);
  if (e && e.modified === o.modified && e.rec === o.rec) return e.value;
  const value = new StoredRecord(o.ref, o.cls, db.record(o));
  cache.set(o, { modified: o.modified, rec: o.rec, value });
  return value;
}

/** Encode the record (as a member of its ref, and as a value), once per StoredRecord. */
function encode(v: StoredRecord, emit: Emit): StoredRecord & { member: Buffer; xml: Buffer } {
  if (v.member && v.xml) return v as StoredRecord & { member: Buffer; xml: Buffer };
  const head = `<member><name>${escapeXml(v.ref)}</name>`;
  const pieces: string[] = [head];
  emit(v.record, { add: (s) => { pieces.push(s); }, addBytes: (b) => { pieces.push(b.toString('utf8')); } });
  pieces.push('</member>');
  const member = utf8(pieces.join(''));
  const start = Buffer.byteLength(head);
  const enc = { member, xml: member.subarray(start, member.length - '</member>'.length) };
  if (!CACHE) return Object.assign(new StoredRecord(v.ref, v.cls, v.record), enc);
  if (cachedBytes + member.length > CACHE_BYTES) { cache = new WeakMap(); cachedBytes = 0; }
  cachedBytes += member.length;
  return Object.assign(v, enc);
}

/**
 * One answer that many calls return (event.from's, to every watcher woken by the same commit):
 * encoded once per transport. JSON-RPC takes it through jsonText.
 */
export class Shared {
  json: string | undefined;
  xml: Buffer | undefined;
  constructor(readonly value: unknown) {}
  toJSON(): unknown { return this.value; }
}

/** JSON text of a call's result: a Shared answer's is made once, a StoredRecord's once per generation. */
export function jsonText(v: unknown): string {
  if (v instanceof Shared) return (v.json ??= JSON.stringify(v.value));
  if (v instanceof StoredRecord) return recordJson(v);
  if (isRecordMap(v)) {
    // get_all_records: the records' kept texts, joined
    const parts: string[] = [];
    for (const k of Object.keys(v)) parts.push(`${JSON.stringify(k)}:${recordJson(v[k])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A plain object whose values are all StoredRecords (and at least one). */
function isRecordMap(v: unknown): v is Record<string, StoredRecord> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  let any = false;
  for (const k in v) {
    if (!((v as Record<string, unknown>)[k] instanceof StoredRecord)) return false;
    any = true;
  }
  return any;
}

function recordJson(r: StoredRecord): string {
  if (r.json !== undefined) return r.json;
  const json = JSON.stringify(r.record);
  if (!CACHE) return json;
  if (cachedBytes + json.length > CACHE_BYTES) { cache = new WeakMap(); cachedBytes = 0; }
  cachedBytes += json.length;
  return (r.json = json);
}

// ---------------------------------------------------------------- to XML

export function toXml(v: unknown, type: FieldType): string {
  const out = new Parts((s) => s, false);
  xmlEmitter(type)(v, out);
  return out.done().join('');
}

/**
 * toXml's text as UTF-8 buffers of about PART_SIZE bytes, for the HTTP response. A large result
 * (VIF.get_all_records: 20 MB) is then encoded piece by piece while each piece is young, where
 * one huge string would be a deep tree of concatenations to keep alive, flatten and copy.
 */
export function toXmlBuffers(v: unknown, type: FieldType): Buffer[] {
  const out = new Parts(utf8, true);
  xmlEmitter(type)(v, out);
  return out.done();
}

const PART_SIZE = 64 * 1024;

/** UTF-8 bytes of a string; ASCII (the usual case: as many bytes as characters) is copied, not encoded. */
const utf8 = (s: string): Buffer => Buffer.from(s, Buffer.byteLength(s, 'utf8') === s.length ? 'latin1' : 'utf8');

interface Sink {
  add(s: string): void;
  /** Text already encoded as UTF-8 (a StoredRecord's). */
  addBytes(b: Buffer): void;
}

/**
 * Collects printed pieces and joins them every PART_SIZE characters (only ever between two
 * pieces). Joining a small list is much cheaper than growing a string by concatenation, which
 * builds a tree of pieces that must be flattened later. Encoded pieces (addBytes) are copied in
 * as they are.
 */
class Parts<T extends string | Buffer> implements Sink {
  private readonly parts: T[] = [];
  private pieces: string[] = [];
  /** Sealed text and encoded pieces of the part being made, in order (buffers only). */
  private bytes: Buffer[] = [];
  private size = 0;
  constructor(private readonly seal: (s: string) => T, private readonly binary: boolean) {}
  add(s: string): void {
    this.pieces.push(s);
    this.size += s.length;
    if (this.size >= PART_SIZE) this.flush();
  }
  addBytes(b: Buffer): void {
    if (!this.binary) { this.add(b.toString('utf8')); return; }
    if (this.pieces.length > 0) { this.bytes.push(utf8(this.pieces.join(''))); this.pieces = []; }
    this.bytes.push(b);
    this.size += b.length;
    if (this.size >= PART_SIZE) this.flush();
  }
  done(): T[] {
    if (this.pieces.length > 0 || this.bytes.length > 0 || this.parts.length === 0) this.flush();
    return this.parts;
  }
  private flush(): void {
    if (this.bytes.length === 0) this.parts.push(this.seal(this.pieces.join('')));
    else {
      if (this.pieces.length > 0) this.bytes.push(utf8(this.pieces.join('')));
      this.parts.push(Buffer.concat(this.bytes) as T);
      this.bytes = [];
    }
    this.pieces = [];
    this.size = 0;
  }
}

// Each type gets its printer built once (records: once per class), so that marshalling a large
// result does no type dispatch and no model look-up per value.
type Emit = (v: unknown, out: Sink) => void;
const emitters = new WeakMap<FieldType, Emit>();
const recordEmitters = new Map<string, Emit>();

const emitString: Emit = (v, out) => { out.add(v === '' || v === undefined ? '<value></value>' : `<value>${escapeXml(String(v))}</value>`); };
const emitInt: Emit = (v, out) => { out.add(`<value>${typeof v === 'number' ? Math.trunc(v) : String(v)}</value>`); };
const emitFloat: Emit = (v, out) => { out.add(`<value><double>${formatDouble(Number(v))}</double></value>`); };
const emitBool: Emit = (v, out) => { out.add(v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>'); };
const emitDate: Emit = (v, out) => { out.add(`<value><dateTime.iso8601>${escapeXml(String(v))}</dateTime.iso8601></value>`); };

function xmlEmitter(type: FieldType): Emit {
  if (type.k === 'record') {
    let e = recordEmitters.get(type.cls);
    if (!e) recordEmitters.set(type.cls, (e = recordEmitter(type.cls)));
    return e;
  }
  let e = emitters.get(type);
  if (!e) emitters.set(type, (e = compileEmitter(type)));
  return e;
}

function compileEmitter(type: Exclude<FieldType, { k: 'record' }>): Emit {
  switch (type.k) {
    case 'string': case 'ref': case 'enum': case 'void': return emitString;
    case 'int': return emitInt;
    case 'float': return emitFloat;
    case 'bool': return emitBool;
    case 'datetime': return emitDate;
    case 'set': {
      const of = xmlEmitter(type.of);
      return (v, out) => {
        const a = v as unknown[];
        if (a.length === 0) { out.add('<value><array><data></data></array></value>'); return; }
        out.add('<value><array><data>');
        for (const x of a) of(x, out);
        out.add('</data></array></value>');
      };
    }
    case 'map': {
      const value = xmlEmitter(type.value);
      const member = type.value.k === 'record' ? recordMember(type.value.cls) : undefined;
      return (v, out) => {
        const m = v as Record<string, unknown>;
        out.add('<value><struct>');
        for (const k of Object.keys(m)) {
          const x = m[k];
          // get_all_records: each record is already encoded as a member under its ref
          if (member && x instanceof StoredRecord && x.ref === k) { out.addBytes(member(x)); continue; }
          out.add(`<member><name>${escapeXml(k)}</name>`);
          value(x, out);
          out.add('</member>');
        }
        out.add('</struct></value>');
      };
    }
    case 'any': return dynamicXml;
  }
}

/** A StoredRecord of class `cls` as its encoded member. */
function recordMember(cls: string): (v: StoredRecord) => Buffer {
  const plain = plainRecordEmitter(cls);
  return (v) => encode(v, plain).member;
}

const plainRecordEmitters = new Map<string, Emit>();

function plainRecordEmitter(cls: string): Emit {
  let e = plainRecordEmitters.get(cls);
  if (e) return e;
  const fields = classDef(cls).publicFields.map((fd) => ({ name: fd.name, head: `<member><name>${fd.name}</name>`, emit: xmlEmitter(fd.type) }));
  e = (v, out) => {
    const r = v as Record<string, unknown>;
    out.add('<value><struct>');
    for (const f of fields) {
      if (!(f.name in r)) continue;
      out.add(f.head);
      f.emit(r[f.name], out);
      out.add('</member>');
    }
    out.add('</struct></value>');
  };
  plainRecordEmitters.set(cls, e);
  return e;
}

/** A record, plain (built by an implementation) or stored (encoded once). */
function recordEmitter(cls: string): Emit {
  const plain = plainRecordEmitter(cls);
  return (v, out) => { if (v instanceof StoredRecord) out.addBytes(encode(v, plain).xml); else plain(v, out); };
}

function dynamicXml(v: unknown, out: Sink): void {
  if (v instanceof Typed) xmlEmitter(v.type)(v.value, out);
  else if (v instanceof Shared) {
    if (!v.xml) {
      const inner = new Parts(utf8, true);
      dynamicXml(v.value, inner);
      v.xml = Buffer.concat(inner.done());
    }
    out.addBytes(v.xml);
  }
  else if (v instanceof StoredRecord) xmlEmitter(t.record(v.cls))(v, out);
  else if (v instanceof I32) out.add(`<value><i4>${v.value}</i4></value>`);
  else if (typeof v === 'string') out.add(v === '' ? '<value></value>' : `<value>${escapeXml(v)}</value>`);
  else if (typeof v === 'number') out.add(Number.isInteger(v) ? `<value>${v}</value>` : `<value><double>${formatDouble(v)}</double></value>`);
  else if (typeof v === 'boolean') out.add(`<value><boolean>${v ? 1 : 0}</boolean></value>`);
  else if (v === null || v === undefined) out.add('<value><nil/></value>');
  else if (Array.isArray(v)) {
    out.add('<value><array><data>');
    for (const x of v) dynamicXml(x, out);
    out.add('</data></array></value>');
  } else {
    const m = v as Record<string, unknown>;
    out.add('<value><struct>');
    for (const k of Object.keys(m)) {
      out.add(`<member><name>${escapeXml(k)}</name>`);
      dynamicXml(m[k], out);
      out.add('</member>');
    }
    out.add('</struct></value>');
  }
}

/** printf "%.16g", as xapi prints floats: the exact binary value rounded to 16 digits, ties to even. */
export function formatDouble(d: number): string {
  if (!Number.isFinite(d)) return Number.isNaN(d) ? 'nan' : d > 0 ? 'inf' : '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const sign = d < 0 ? '-' : '';
  // JavaScript's toPrecision rounds ties up and switches to exponents at other thresholds than %g
  let { digits, exp } = exactDecimal(Math.abs(d));
  if (digits.length > 16) {
    const head = digits.slice(0, 16), rest = digits.slice(16);
    const up = rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(head[15]) % 2 === 1));
    digits = String(BigInt(head) + (up ? 1n : 0n));
    if (digits.length > 16) { digits = digits.slice(0, 16); exp++; }
  }
  digits = digits.replace(/0+$/, '');
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return sign + digits + '0'.repeat(exp + 1 - digits.length);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** The exact decimal value of a positive finite double: digits d0d1d2... meaning d0.d1d2... x 10^exp. */
function exactDecimal(x: number): { digits: string; exp: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0), lo = dv.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mant |= 1n << 52n;
  const k = biased === 0 ? -1074 : biased - 1075; // x = mant * 2^k
  const n = k >= 0 ? mant << BigInt(k) : mant * 5n ** BigInt(-k); // x = n * 10^min(k, 0)
  const digits = n.toString();
  return { digits, exp: digits.length - 1 + Math.min(k, 0) };
}

// ---------------------------------------------------------------- from the wire

/** Convert a wire value to the datamodel value of `type`; `where` names the parameter for errors. */
export function fromWire(w: WireValue, type: FieldType, where: string): unknown {
  const bad = (): never => { throw new XapiError('FIELD_TYPE_ERROR', [where]); };
  switch (type.k) {
    case 'string': case 'ref':
      return typeof w === 'string' ? w : bad();
    case 'void': return '';
    case 'enum': {
      if (typeof w !== 'string') return bad();
      const hit = type.values.find((x) => x.toLowerCase() === w.toLowerCase());
      if (hit === undefined) throw new XapiError('INVALID_VALUE', [where, w]);
      return hit;
    }
    case 'int': {
      const s = w instanceof XInt ? w.text : typeof w === 'string' ? w.trim() : typeof w === 'number' ? (Number.isInteger(w) ? String(w) : bad()) : bad();
      if (!/^[+-]?\d+$/.test(s)) return bad();
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : bad();
    }
    case 'float': {
      if (w instanceof XDouble) return w.value;
      if (w instanceof XInt) return Number(w.text);
      if (typeof w === 'number') return w;
      if (typeof w === 'string' && w.trim() !== '' && !Number.isNaN(Number(w))) return Number(w);
      return bad();
    }
    case 'bool': return typeof w === 'boolean' ? w : bad();
    case 'datetime': {
      const s = w instanceof XDate ? w.text : typeof w === 'string' ? w : bad();
      return normaliseDate(s) ?? bad();
    }
    case 'set': return Array.isArray(w) ? w.map((x, i) => fromWire(x, type.of, `${where}[${i}]`)) : bad();
    case 'map': {
      if (!isStruct(w)) return bad();
      // fromEntries defines every key as data: an assignment would drop the key "__proto__"
      return Object.fromEntries(Object.entries(w).map(([k, x]) => [String(fromWire(k, type.key, `${where} key`)), fromWire(x, type.value, `${where}.${k}`)]));
    }
    case 'record': return isStruct(w) ? w : bad();
    case 'any': return plain(w);
  }
}

export function isStruct(w: WireValue): w is { [k: string]: WireValue } {
  return typeof w === 'object' && w !== null && !Array.isArray(w) && !(w instanceof XInt) && !(w instanceof XDouble) && !(w instanceof XDate) && !(w instanceof XBase64);
}

function plain(w: WireValue): unknown {
  if (w instanceof XInt) return Number(w.text);
  if (w instanceof XDouble) return w.value;
  if (w instanceof XDate || w instanceof XBase64) return w.text;
  if (Array.isArray(w)) return w.map(plain);
  if (isStruct(w)) return Object.fromEntries(Object.entries(w).map(([k, x]) => [k, plain(x)]));
  return w;
}

/** Accept xapi's 20240102T03:04:05Z and ISO-8601 with dashes/milliseconds; emit the former. */
/** A client's date-time in xapi's form (UTC, compact), or undefined when it is not one. */
export function normaliseDate(s: string): string | undefined {
  const ms = xapiTimeMs(s);
  return ms === undefined ? undefined : formatXapiTime(new Date(ms));
}

export const formatDate = formatXapiTime;

export const now = (): string => formatDate(new Date());
