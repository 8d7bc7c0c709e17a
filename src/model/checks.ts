// The one place the API enforces the value syntax the datamodel declares (ValueDecl in types.ts):
// every message that writes a declared field or takes a declared parameter is checked here, on
// the decoded arguments, before its implementation runs, so a refused call stores nothing.

import { XapiError } from './errors.ts';
import type { ClassDef } from './index.ts';
import type { FieldType, MessageDef, ValueDecl } from './types.ts';
import { VALUE_TYPES, type ValueTypeName } from './valid.ts';

/** The declared type of map key `key` ('*'-suffixed entries match by prefix; the exact key wins). */
export function mapKeyType(decl: ValueDecl, key: string): ValueTypeName | undefined {
  const keys = decl.mapKeys;
  if (!keys) return undefined;
  if (Object.hasOwn(keys, key)) return keys[key];
  for (const [k, t] of Object.entries(keys)) if (k.endsWith('*') && key.startsWith(k.slice(0, -1))) return t;
  return undefined;
}

function checkOne(type: ValueTypeName, name: string, v: unknown): void {
  const vt = VALUE_TYPES[type];
  if (!vt.check(v)) throw vt.error(name, v);
}

/** One map entry: a bad value is reported as xapi reports bad map entries, `<key> = <value>`. */
function checkEntry(decl: ValueDecl, name: string, key: string, v: unknown): void {
  const type = mapKeyType(decl, key);
  if (!type || v === '') return; // '' is "unset" for every key the agent reads
  try {
    checkOne(type, name, v);
  } catch (e) {
    if (e instanceof XapiError && e.code === 'INVALID_VALUE') throw new XapiError('INVALID_VALUE', [name, `${key} = ${String(v)}`]);
    throw e;
  }
}

/** Check a whole value of a declared field or parameter of wire type `type`. */
export function checkDeclared(decl: ValueDecl, type: FieldType, name: string, value: unknown, creating = false): void {
  if (value === undefined || value === null) return;
  if (type.k === 'map') {
    if (decl.mapKeys && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkEntry(decl, name, k, v);
    return;
  }
  const t = decl.valueType;
  if (!t) return;
  const one = (v: unknown): void => {
    if (decl.emptyOk && v === '') return;
    if (creating && decl.createZeroOk && typeof v === 'number' && v <= 0) return;
    checkOne(t, name, v);
  };
  if (type.k === 'set') { if (Array.isArray(value)) value.forEach(one); return; }
  one(value);
}

/** Whether a field or parameter declares any value syntax. */
export const isDeclared = (d: ValueDecl): boolean => d.valueType !== undefined || d.mapKeys !== undefined;

/** Check a record (constructor arguments, or a patch) against the field declarations of `cls`. */
export function checkRecordValues(cls: ClassDef, rec: Record<string, unknown>, creating = true): void {
  for (const [k, v] of Object.entries(rec)) {
    const fd = cls.fieldMap.get(k);
    if (fd && isDeclared(fd)) checkDeclared(fd, fd.type, fd.name, v, creating);
  }
}

/**
 * Check the decoded arguments of a call to `cls.msg`: generic constructors and mutators by the
 * field they write, every other message by its own parameter declarations.
 */
export function checkMessageValues(cls: ClassDef, msg: MessageDef, args: Record<string, unknown>): void {
  const fd = msg.field ? cls.fieldMap.get(msg.field) : undefined;
  switch (msg.generic) {
    case 'create':
      checkRecordValues(cls, (args.args ?? {}) as Record<string, unknown>, true);
      return;
    case 'set':
      if (fd && isDeclared(fd)) checkDeclared(fd, fd.type, fd.name, args.value);
      return;
    case 'add_to':
      if (fd && isDeclared(fd)) checkEntry(fd, fd.name, String(args.key), args.value);
      return;
    case 'add':
      if (fd && isDeclared(fd) && fd.type.k === 'set') checkDeclared(fd, fd.type, fd.name, [args.value]);
      return;
    case undefined:
      for (const p of msg.params) if (isDeclared(p)) checkDeclared(p, p.type, p.writes ?? p.name, args[p.name], true);
      return;
    default:
      return;
  }
}
