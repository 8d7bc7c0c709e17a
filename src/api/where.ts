// xapi's filter language for get_all_records_where (as `xe` and some SDKs send it):
//   true | false | field "name"="value" | field "name"<>"value" | (e) | not e | e and e | e or e

import { XapiError } from '../model/index.ts';

type Pred = (r: Record<string, unknown>) => boolean;

export function compileWhere(expr: string): Pred {
  const toks = tokenize(expr);
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const expect = (t: string) => { if (next() !== t) bad(); };
  const bad = (): never => { throw new XapiError('INVALID_VALUE', ['expr', expr]); };

  const primary = (): Pred => {
    const t = next();
    if (t === undefined) return bad();
    const lower = t.toLowerCase();
    if (lower === 'true') return () => true;
    if (lower === 'false') return () => false;
    if (lower === 'not') { const e = primary(); return (r) => !e(r); }
    if (t === '(') { const e = or(); expect(')'); return e; }
    if (lower === 'field') {
      const name = str(next());
      const op = next();
      const value = str(next());
      if (op !== '=' && op !== '<>') bad();
      return op === '=' ? (r) => render(r[name]) === value : (r) => render(r[name]) !== value;
    }
    return bad();
  };
  const and = (): Pred => {
    let e = primary();
    while (peek()?.toLowerCase() === 'and') { next(); const a = e, b = primary(); e = (r) => a(r) && b(r); }
    return e;
  };
  const or = (): Pred => {
    let e = and();
    while (peek()?.toLowerCase() === 'or') { next(); const a = e, b = and(); e = (r) => a(r) || b(r); }
    return e;
  };
  const str = (t: string | undefined): string => (t !== undefined && t.startsWith('"') ? t.slice(1, -1) : bad());
  const e = or();
  if (i !== toks.length) bad();
  return e;
}

function render(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|<>|=|\(|\)|[A-Za-z_]+)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(s))) { out.push(m[1]); last = re.lastIndex; }
  if (s.slice(last).trim() !== '') throw new XapiError('INVALID_VALUE', ['expr', s]);
  return out;
}
