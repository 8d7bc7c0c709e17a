// The agent's reads of the pool database: objects whose fields are named by the model and whose
// values are unknown, because every value is checked again before it reaches a switch, the kernel
// or a file (checked.ts): an older database or a hostile replica may hold anything there.

import type { Database, Obj } from '../db/database.ts';
import type { ClassName, RecordOf } from '../model/index.ts';

export type Reader = Pick<Database, 'get' | 'all' | 'referrers'>;

/**
 * An object read where a `C` is expected: its fields named as the model names C's (a misspelt
 * field does not compile), its values unknown; a reference of a hostile replica may even point
 * at an object of another class, whose fields then read as absent. Any `Obj` is one.
 */
export interface Raw<C extends ClassName> extends Obj { readonly rec: { readonly [F in keyof RecordOf<C>]?: unknown } }

/** A field as a string ('' when it is not one). */
export const str = <R extends object>(o: { readonly rec: R }, f: keyof R & string): string => {
  const v: unknown = o.rec[f];
  return typeof v === 'string' ? v : '';
};

/** A map field ({} when it is not an object). */
export const map = <R extends object>(o: { readonly rec: R }, f: keyof R & string): Record<string, string> => {
  const v: unknown = o.rec[f];
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, string> : {};
};

/** The object a reference names, read as a `C` (of whatever class it is: see Raw). */
export const read = <C extends ClassName>(db: Reader, _cls: C, ref: string): Raw<C> | undefined => db.get(ref);

/** The objects of class `cls` whose `field` refers to `ref` (the reverse index holds only such objects). */
export function referrers<C extends ClassName>(db: Reader, ref: string, cls: C, field: string): Raw<C>[] {
  return db.referrers(ref, cls, field).map((r) => db.get(r)).filter((o): o is Obj => !!o);
}

/** The first of them. */
export function firstReferrer<C extends ClassName>(db: Reader, ref: string, cls: C, field: string): Raw<C> | undefined {
  const r = db.referrers(ref, cls, field)[0];
  return r ? db.get(r) : undefined;
}
