// The datamodel DSL: a declarative description of XenAPI classes, like xapi's IDL.
// Everything else (dispatch, generic messages, RBAC, marshalling, xe) reads these shapes.

import type { LeastRole, Role } from './roles.ts';
import type { ValueTypeName } from './valid.ts';
import type { ErrorCode } from './errors.ts';

export type FieldType =
  | { readonly k: 'string' }
  | { readonly k: 'int' }
  | { readonly k: 'float' }
  | { readonly k: 'bool' }
  | { readonly k: 'datetime' }
  | { readonly k: 'enum'; readonly name: string; readonly values: readonly string[] }
  | { readonly k: 'ref'; readonly cls: string }
  | { readonly k: 'set'; readonly of: FieldType }
  | { readonly k: 'map'; readonly key: FieldType; readonly value: FieldType }
  | { readonly k: 'record'; readonly cls: string }
  | { readonly k: 'any' } // free-form struct (event.from result, event records)
  | { readonly k: 'void' };

// The helpers keep their arguments' literal types (class names, enum values, element types), so
// that index.ts can derive each class's record type and each message's argument types from the
// very data the runtime reads.
export const t = {
  string: { k: 'string' } as const,
  int: { k: 'int' } as const,
  float: { k: 'float' } as const,
  bool: { k: 'bool' } as const,
  datetime: { k: 'datetime' } as const,
  void: { k: 'void' } as const,
  any: { k: 'any' } as const,
  enumOf: <const N extends string, const V extends readonly string[]>(name: N, values: V): { readonly k: 'enum'; readonly name: N; readonly values: V } => ({ k: 'enum', name, values }),
  ref: <const C extends string>(cls: C): { readonly k: 'ref'; readonly cls: C } => ({ k: 'ref', cls }),
  set: <const O extends FieldType>(of: O): { readonly k: 'set'; readonly of: O } => ({ k: 'set', of }),
  map: <const K extends FieldType, const V extends FieldType>(key: K, value: V): { readonly k: 'map'; readonly key: K; readonly value: V } => ({ k: 'map', key, value }),
  smap: { k: 'map', key: { k: 'string' }, value: { k: 'string' } } as const,
  record: <const C extends string>(cls: C): { readonly k: 'record'; readonly cls: C } => ({ k: 'record', cls }),
};

/**
 * The TypeScript type of a value of a datamodel type, as the database and the implementations hold
 * it (after unmarshalling): refs and datetimes are strings, sets arrays, maps objects.
 * A type known only as `FieldType` gives `unknown`.
 */
export type TsOf<T> = [FieldType] extends [T] ? unknown : TsOfKnown<T>;
type TsOfKnown<T> =
  T extends { readonly k: 'string' | 'datetime' } ? string
  : T extends { readonly k: 'int' | 'float' } ? number
  : T extends { readonly k: 'bool' } ? boolean
  : T extends { readonly k: 'enum'; readonly values: readonly (infer V)[] } ? V
  : T extends { readonly k: 'ref' } ? string
  : T extends { readonly k: 'set'; readonly of: infer O } ? TsOf<O>[]
  : T extends { readonly k: 'map'; readonly value: infer V } ? Record<string, TsOf<V>>
  : T extends { readonly k: 'record' } ? Record<string, unknown>
  : unknown;

/** RW: generic setter; StaticRO: fixed at creation; DynamicRO: maintained by the server. */
export type Qualifier = 'RW' | 'StaticRO' | 'DynamicRO';

/**
 * The syntax of a value beyond its wire type (src/model/valid.ts): the API refuses a value that
 * breaks it, with the catalogue's XenAPI error, before anything is stored.
 */
export interface ValueDecl {
  /** The value's syntax; for a set, each element's. */
  readonly valueType?: ValueTypeName;
  /** '' means "none" (a PIF without an address, a VIF MAC to generate) and passes. */
  readonly emptyOk?: boolean;
  /** At creation an int <= 0 means "the default" and passes (xapi's network.create: MTU <= 0 is 1500). */
  readonly createZeroOk?: boolean;
  /** For a map: the syntax of the values of these keys; a key ending in '*' names a prefix. Other keys are free text. */
  readonly mapKeys?: Readonly<Record<string, ValueTypeName>>;
  /** A parameter that writes a field of another name: the name its errors give (xapi: `ipv4_allowed`). */
  readonly writes?: string;
}

export interface FieldDef extends ValueDecl {
  readonly name: string; // wire name, e.g. name_label
  readonly type: FieldType;
  readonly qual: Qualifier;
  readonly default?: unknown;
  /** Not part of the public record (xapi's internal_only). */
  readonly internal?: boolean;
  /** This field is computed from the other side of a relation: objects of `cls` whose `field` points here. */
  readonly reverseOf?: { readonly cls: string; readonly field: string };
  /** Least role for the generated setter / map and set mutators. */
  readonly writeRole?: Role;
  /** Map keys that a lesser role may write (xapi's map_keys_roles). */
  readonly keyRoles?: readonly { readonly prefix: string; readonly role: Role }[];
  /** xe field name; false hides it from xe. Default: the wire name with `_` -> `-` (src/cli/xe/fields.ts). */
  readonly cli?: string | false;
  readonly doc?: string;
}

export interface ParamDef extends ValueDecl {
  readonly name: string;
  readonly type: FieldType;
  readonly doc?: string;
  /** Parameters with a default may be omitted from the tail of the call. */
  readonly default?: unknown;
}

export interface MessageDef {
  readonly name: string;
  readonly params: readonly ParamDef[];
  readonly result: FieldType;
  readonly errors: readonly ErrorCode[];
  readonly role: LeastRole;
  readonly doc?: string;
  /** Can be called as Async.<cls>.<name>. */
  readonly async?: boolean;
  /** Takes no session argument (session.login_with_password). */
  readonly sessionless?: boolean;
  /** Generated from the fields (getter, setter, ...). */
  readonly generic?: GenericKind;
  /** The field a generic accessor operates on. */
  readonly field?: string;
  readonly hidden?: boolean;
  /**
   * Declared but not implemented yet, on purpose: the dispatcher answers NOT_IMPLEMENTED. The
   * README lists each one ("Messages not implemented yet"); test/selfcheck-model.test.ts holds
   * the model, the implementations and that list to each other.
   */
  readonly unimplemented?: boolean;
}

export type GenericKind =
  | 'get_record' | 'get_by_uuid' | 'get_by_name_label' | 'get_all' | 'get_all_records'
  | 'get_all_where' | 'get_all_records_where'
  | 'create' | 'destroy' | 'get' | 'set' | 'add_to' | 'remove_from' | 'add' | 'remove';

export interface ClassSpec {
  readonly name: string; // wire spelling: network, PIF, VIF, SDN_controller ...
  readonly doc: string;
  readonly fields: readonly FieldDef[];
  readonly messages: readonly MessageDef[];
  /** Default least role for setters and custom messages. */
  readonly defaultRole: Role;
  /** get_all / get_all_records exposed. */
  readonly getAll: boolean;
  /** Generated constructor (create from a struct) and destructor. */
  readonly ctor?: boolean;
  readonly dtor?: boolean;
  /** Kept in the pool database (false: event has no rows). */
  readonly stored?: boolean;
  /** Produces events for event.from (session: no). */
  readonly events?: boolean;
  /** xe class prefix (network, pif, vif, network-sriov ...); absent: no xe commands. */
  readonly cliPrefix?: string;
  /** Default columns of xe <prefix>-list. */
  readonly cliListColumns?: readonly string[];
}

/** A field helper with the defaults of xapi's `field` (RW unless stated). */
export function f<const N extends string, const T extends FieldType, const Q extends Qualifier = 'RW', const X extends Partial<FieldDef> = Record<never, never>>(
  name: N, type: T, qual?: Q, extra?: X,
): FieldDef & { readonly name: N; readonly type: T; readonly qual: Q } & X {
  return { name, type, qual: qual ?? 'RW', ...extra } as FieldDef & { readonly name: N; readonly type: T; readonly qual: Q } & X;
}

export function p<const N extends string, const T extends FieldType, const X extends Partial<ParamDef> = Record<never, never>>(
  name: N, type: T, extra?: X,
): ParamDef & { readonly name: N; readonly type: T } & X {
  return { name, type, ...extra } as ParamDef & { readonly name: N; readonly type: T } & X;
}

export function m<const N extends string, const P extends readonly ParamDef[], const R extends FieldType>(
  name: N,
  params: P,
  result: R,
  role: LeastRole,
  errors: readonly ErrorCode[] = [],
  extra: Partial<MessageDef> = {},
): MessageDef & { readonly name: N; readonly params: P; readonly result: R } {
  return { name, params, result, role, errors, ...extra } as MessageDef & { readonly name: N; readonly params: P; readonly result: R };
}

/** The zero value of a type: what a field holds when nothing was given. */
export function zeroOf(type: FieldType): unknown {
  switch (type.k) {
    case 'string': return '';
    case 'int': return 0;
    case 'float': return 0;
    case 'bool': return false;
    case 'datetime': return '19700101T00:00:00Z';
    case 'enum': return type.values[0];
    case 'ref': return NULL_REF;
    case 'set': return [];
    case 'map': return {};
    case 'record': return {};
    case 'any': return {};
    case 'void': return '';
  }
}

export const NULL_REF = 'OpaqueRef:NULL';

export function typeToString(type: FieldType): string {
  switch (type.k) {
    case 'enum': return `enum ${type.name}`;
    case 'ref': return `${type.cls} ref`;
    case 'set': return `${typeToString(type.of)} set`;
    case 'map': return `(${typeToString(type.key)} -> ${typeToString(type.value)}) map`;
    case 'record': return `${type.cls} record`;
    default: return type.k;
  }
}
