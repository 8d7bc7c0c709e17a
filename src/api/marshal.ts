// Type-directed conversion between wire values and the datamodel's values, both transports.
// Internal values are already JSON-shaped (strings, numbers, booleans, arrays, objects), so the
// JSON side is nearly free; XML-RPC needs the type to print int64 as untyped text, etc.

import { classDef, XapiError, type FieldType } from '../model/index.ts';
import { escapeXml, XBase64, XDate, XDouble, XInt, type WireValue } from './xmlrpc.ts';

/** A value whose type is known, inside a dynamically typed result (event.from). */
export class Typed {
  constructor(readonly type: FieldType, readonly value: unknown) {}
  toJSON(): unknown { return this.value; }
}

/** A 32-bit int: printed <i4> in XML-RPC (valid_ref_counts). */
export class I32 {
  constructor(readonly value: number) {}
  toJSON(): number { return this.value; }
}

// ---------------------------------------------------------------- to XML

export function toXml(v: unknown, type: FieldType): string {
  switch (type.k) {
    case 'string': case 'ref': case 'enum': case 'void':
      return v === '' || v === undefined ? '<value></value>' : `<value>${escapeXml(String(v))}</value>`;
    case 'int': return `<value>${typeof v === 'number' ? Math.trunc(v) : String(v)}</value>`;
    case 'float': return `<value><double>${formatDouble(Number(v))}</double></value>`;
    case 'bool': return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    case 'datetime': return `<value><dateTime.iso8601>${escapeXml(String(v))}</dateTime.iso8601></value>`;
    case 'set': {
      const a = v as unknown[];
      if (a.length === 0) return '<value><array><data></data></array></value>';
      let s = '<value><array><data>';
      for (const x of a) s += toXml(x, type.of);
      return `${s}</data></array></value>`;
    }
    case 'map': {
      let s = '<value><struct>';
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) s += `<member><name>${escapeXml(k)}</name>${toXml(x, type.value)}</member>`;
      return `${s}</struct></value>`;
    }
    case 'record': {
      const c = classDef(type.cls);
      const r = v as Record<string, unknown>;
      let s = '<value><struct>';
      for (const fd of c.publicFields) if (fd.name in r) s += `<member><name>${fd.name}</name>${toXml(r[fd.name], fd.type)}</member>`;
      return `${s}</struct></value>`;
    }
    case 'any': return dynamicXml(v);
  }
}

function dynamicXml(v: unknown): string {
  if (v instanceof Typed) return toXml(v.value, v.type);
  if (v instanceof I32) return `<value><i4>${v.value}</i4></value>`;
  if (typeof v === 'string') return v === '' ? '<value></value>' : `<value>${escapeXml(v)}</value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value>${v}</value>` : `<value><double>${formatDouble(v)}</double></value>`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (v === null || v === undefined) return '<value><nil/></value>';
  if (Array.isArray(v)) return `<value><array><data>${v.map(dynamicXml).join('')}</data></array></value>`;
  let s = '<value><struct>';
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) s += `<member><name>${escapeXml(k)}</name>${dynamicXml(x)}</member>`;
  return `${s}</struct></value>`;
}

/** printf "%.16g", as xapi prints floats. */
export function formatDouble(d: number): string {
  if (!Number.isFinite(d)) return Number.isNaN(d) ? 'nan' : d > 0 ? 'inf' : '-inf';
  if (Number.isInteger(d) && Math.abs(d) < 1e16) return String(d);
  let s = d.toPrecision(16);
  if (s.includes('e')) {
    const [mant, exp] = s.split('e');
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
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
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(w)) {
        const key = fromWire(k, type.key, `${where} key`);
        out[String(key)] = fromWire(x, type.value, `${where}.${k}`);
      }
      return out;
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
export function normaliseDate(s: string): string | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(ms)) return undefined;
  if (m[7] && m[7] !== 'Z') {
    const sign = m[7][0] === '-' ? -1 : 1;
    const hh = Number(m[7].slice(1, 3)), mm = Number(m[7].slice(-2));
    ms -= sign * (hh * 60 + mm) * 60_000;
  }
  return formatDate(new Date(ms));
}

export function formatDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
}

export const now = (): string => formatDate(new Date());
