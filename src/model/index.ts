// The datamodel registry: every class, with its generic messages derived from its fields.
// This is the single source the dispatcher, RBAC, marshalling, xe and the console read.

import { m, p, t, type ClassSpec, type FieldDef, type MessageDef, type TsOf } from './types.ts';
import type { ErrorCode } from './errors.ts';
import { network } from './classes/network.ts';
import { PIF } from './classes/pif.ts';
import { PIF_metrics } from './classes/pif_metrics.ts';
import { Bond } from './classes/bond.ts';
import { VLAN } from './classes/vlan.ts';
import { tunnel } from './classes/tunnel.ts';
import { network_sriov } from './classes/network_sriov.ts';
import { VIF, VIF_metrics } from './classes/vif.ts';
import { VM } from './classes/vm.ts';
import { host } from './classes/host.ts';
import { pool } from './classes/pool.ts';
import { session } from './classes/session.ts';
import { task } from './classes/task.ts';
import { event } from './classes/event.ts';
import { role, subject } from './classes/rbac.ts';
import { message } from './classes/message.ts';
import { SDN_controller } from './classes/sdn_controller.ts';
import { blob } from './classes/blob.ts';

export * from './types.ts';
export { XapiError, fail, ERRORS, isKnownError, type ErrorCode } from './errors.ts';
export { ROLES, type Role, type LeastRole, rolesAtLeast, roleAllows, rbacDenied, isRole } from './roles.ts';

export interface ClassDef extends ClassSpec {
  readonly stored: boolean;
  readonly events: boolean;
  readonly fieldMap: ReadonlyMap<string, FieldDef>;
  /** Published fields (the record), in declaration order. */
  readonly publicFields: readonly FieldDef[];
  /** Every message: custom ones and the derived generic ones. */
  readonly allMessages: ReadonlyMap<string, MessageDef>;
  /** Lower-case class name as used in event records and valid_ref_counts. */
  readonly lname: string;
}

const SPECS = [
  session, pool, host, network, PIF, PIF_metrics, Bond, VLAN, tunnel, network_sriov,
  VIF, VIF_metrics, VM, task, event, role, subject, message, SDN_controller, blob,
] as const satisfies readonly ClassSpec[];

// ---- types derived from the class specs (the same data the runtime reads) ----

type Spec = (typeof SPECS)[number];
/** The wire name of every class: 'network', 'PIF', 'VIF', 'SDN_controller' ... */
export type ClassName = Spec['name'];
export type SpecOf<C extends ClassName> = Extract<Spec, { readonly name: C }>;
type FieldsOf<C extends ClassName> = SpecOf<C>['fields'][number];

/**
 * The record a class's objects hold in the database (`Obj.rec`): every field but the reverse
 * ones (those are derived from the other side by the database), each with its value's type.
 */
export type RecordOf<C extends ClassName> = {
  readonly [F in FieldsOf<C> as F extends { readonly reverseOf: object } ? never : F['name']]: TsOf<F['type']>;
};
/** A stored field's name. */
export type FieldOf<C extends ClassName> = keyof RecordOf<C> & string;

/** The generic messages a field gives (genericMessages below, as types). */
type FieldMessages<F> = F extends { readonly name: infer N extends string; readonly type: infer T }
  ? F extends { readonly internal: true } ? never
    : | `get_${N}`
      | (F extends { readonly qual: 'RW' }
        ? | `set_${N}`
          | (T extends { readonly k: 'map' } ? `add_to_${N}` | `remove_from_${N}` : never)
          | (T extends { readonly k: 'set' } ? (F extends { readonly reverseOf: object } ? never : `add_${N}` | `remove_${N}`) : never)
        : never)
  : never;

type GenericMessages<S> = S extends { readonly stored: false } ? never
  : S extends { readonly fields: readonly (infer F)[] }
    ? | 'get_record' | 'get_by_uuid'
      | (F extends { readonly name: 'name_label' } ? 'get_by_name_label' : never)
      | (S extends { readonly getAll: true } ? 'get_all' | 'get_all_records' | 'get_all_where' | 'get_all_records_where' : never)
      | (S extends { readonly ctor: true } ? 'create' : never)
      | (S extends { readonly dtor: true } ? 'destroy' : never)
      | FieldMessages<F>
    : never;

type CustomMessages<C extends ClassName> = SpecOf<C>['messages'][number];

/** Every message of a class, custom and generic, by its name within the class. */
export type MessageOf<C extends ClassName> = CustomMessages<C>['name'] | GenericMessages<SpecOf<C>>;

/** Every message of the model as the dispatcher names it: 'PIF.plug', 'VIF.set_locking_mode' ... */
export type MessageName = { [C in ClassName]: `${C}.${MessageOf<C>}` }[ClassName];

type ParamsToArgs<P> = P extends readonly (infer Q)[]
  ? { readonly [X in Q as X extends { readonly name: infer N extends string } ? N : never]: X extends { readonly type: infer T } ? TsOf<T> : never }
  : never;

/** The arguments of a generic message, where an implementation overrides it. */
type GenericArgs<C extends ClassName, M> =
  M extends 'create' ? { readonly args: Partial<RecordOf<C>> }
  : M extends 'destroy' | 'get_record' ? { readonly self: string }
  : M extends `set_${infer F}` ? RecordOf<C> extends { readonly [K in F]: infer V } ? { readonly self: string; readonly value: V } : Record<string, unknown>
  : M extends `add_to_${infer F}` ? RecordOf<C> extends { readonly [K in F]: Record<string, infer V> } ? { readonly self: string; readonly key: string; readonly value: V } : Record<string, unknown>
  : M extends `remove_from_${string}` ? { readonly self: string; readonly key: string }
  : M extends `add_${infer F}` | `remove_${infer F}` ? RecordOf<C> extends { readonly [K in F]: readonly (infer V)[] } ? { readonly self: string; readonly value: V } : Record<string, unknown>
  : Record<string, unknown>;

/** What an implementation of a message answers, before marshalling (a void message's answer is dropped). */
export type ResultOf<K extends MessageName> = K extends `${infer C extends ClassName}.${infer M}`
  ? [Extract<CustomMessages<C>, { readonly name: M }>] extends [never]
    ? unknown
    : ResultType<Extract<CustomMessages<C>, { readonly name: M }>['result']>
  : never;
type ResultType<T> = T extends { readonly k: 'void' } ? unknown : TsOf<T>;

/**
 * The named arguments an implementation of a message receives, after unmarshalling (the
 * dispatcher fills an omitted parameter's default): a custom message's from its parameters.
 */
export type ArgsOf<K extends MessageName> = K extends `${infer C extends ClassName}.${infer M}`
  ? [Extract<CustomMessages<C>, { readonly name: M }>] extends [never]
    ? GenericArgs<C, M>
    : ParamsToArgs<Extract<CustomMessages<C>, { readonly name: M }>['params']>
  : never;

const NO_ASYNC_CLASSES = new Set(['session', 'event', 'task', 'role', 'subject']);

const selfOf = (cls: string) => p('self', t.ref(cls));

/** Generic messages of a class, as xapi's datamodel_utils derives them. */
function genericMessages(c: ClassSpec): MessageDef[] {
  if (c.stored === false) return [];
  const out: MessageDef[] = [];
  const ref = t.ref(c.name);
  const g = (name: string, params: MessageDef['params'], result: MessageDef['result'], role: MessageDef['role'], generic: MessageDef['generic'], field?: string, errors: ErrorCode[] = []) =>
    out.push(m(name, params, result, role, errors, { generic, field }));
  g('get_record', [selfOf(c.name)], t.record(c.name), 'read-only', 'get_record', undefined, ['HANDLE_INVALID']);
  g('get_by_uuid', [p('uuid', t.string)], ref, 'read-only', 'get_by_uuid', undefined, ['UUID_INVALID']);
  if (c.fields.some((x) => x.name === 'name_label')) g('get_by_name_label', [p('label', t.string)], t.set(ref), 'read-only', 'get_by_name_label');
  if (c.getAll) {
    g('get_all', [], t.set(ref), 'read-only', 'get_all');
    g('get_all_records', [], t.map(ref, t.record(c.name)), 'read-only', 'get_all_records');
    g('get_all_where', [p('expr', t.string)], t.set(ref), 'read-only', 'get_all_where');
    g('get_all_records_where', [p('expr', t.string)], t.map(ref, t.record(c.name)), 'read-only', 'get_all_records_where');
  }
  if (c.ctor) {
    out.push(m('create', [p('args', t.record(c.name))], ref, c.defaultRole, [], { generic: 'create', async: true }));
  }
  if (c.dtor) out.push(m('destroy', [selfOf(c.name)], t.void, c.defaultRole, [], { generic: 'destroy', async: true }));
  for (const fd of c.fields) {
    if (fd.internal) continue;
    g(`get_${fd.name}`, [selfOf(c.name)], fd.type, 'read-only', 'get', fd.name, ['HANDLE_INVALID']);
    if (fd.qual !== 'RW') continue;
    const role = fd.writeRole ?? c.defaultRole;
    g(`set_${fd.name}`, [selfOf(c.name), p('value', fd.type)], t.void, role, 'set', fd.name);
    if (fd.type.k === 'map') {
      g(`add_to_${fd.name}`, [selfOf(c.name), p('key', fd.type.key), p('value', fd.type.value)], t.void, role, 'add_to', fd.name, ['MAP_DUPLICATE_KEY']);
      g(`remove_from_${fd.name}`, [selfOf(c.name), p('key', fd.type.key)], t.void, role, 'remove_from', fd.name);
    } else if (fd.type.k === 'set' && !fd.reverseOf) {
      g(`add_${fd.name}`, [selfOf(c.name), p('value', fd.type.of)], t.void, role, 'add', fd.name);
      g(`remove_${fd.name}`, [selfOf(c.name), p('value', fd.type.of)], t.void, role, 'remove', fd.name);
    }
  }
  return out;
}

function build(c: ClassSpec): ClassDef {
  const all = new Map<string, MessageDef>();
  for (const g of genericMessages(c)) all.set(g.name, g);
  // Custom messages override generic ones of the same name (e.g. Bond.create, task.create).
  // As in xapi, custom messages can be called Async unless their class forbids it.
  const noAsync = NO_ASYNC_CLASSES.has(c.name);
  for (const cm of c.messages) all.set(cm.name, { ...cm, async: noAsync ? false : cm.async ?? true });
  return {
    ...c,
    stored: c.stored !== false,
    events: c.events !== false && c.stored !== false,
    fieldMap: new Map(c.fields.map((x) => [x.name, x])),
    publicFields: c.fields.filter((x) => !x.internal),
    allMessages: all,
    lname: c.name.toLowerCase(),
  };
}

export const CLASSES: ReadonlyMap<string, ClassDef> = new Map(SPECS.map((c) => [c.name, build(c)]));
const BY_LOWER = new Map([...CLASSES.values()].map((c) => [c.lname, c]));

export function classDef(name: string): ClassDef {
  const c = CLASSES.get(name);
  if (!c) throw new Error(`unknown class ${name}`);
  return c;
}

/** Class lookup by the case-insensitive spelling used by event subscriptions. */
export function classByLowerName(name: string): ClassDef | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

export function storedClasses(): ClassDef[] {
  return [...CLASSES.values()].filter((c) => c.stored);
}

/** Every callable wire name, as system.listMethods reports them. */
export function allWireNames(): string[] {
  const out: string[] = [];
  for (const c of CLASSES.values()) for (const name of c.allMessages.keys()) out.push(`${c.name}.${name}`);
  out.push('system.listMethods');
  return out.sort();
}

/** Resolve a wire method name ("VIF.get_record", "VIF_get_record") to its class and message. */
export function lookupMethod(wire: string): { cls: ClassDef; msg: MessageDef } | undefined {
  const dot = wire.indexOf('.');
  if (dot > 0) {
    const cls = CLASSES.get(wire.slice(0, dot));
    const msg = cls?.allMessages.get(wire.slice(dot + 1));
    return cls && msg ? { cls, msg } : undefined;
  }
  // Alternative spelling class_message: try the longest class name that prefixes it.
  for (const cls of [...CLASSES.values()].sort((a, b) => b.name.length - a.name.length)) {
    if (wire.startsWith(`${cls.name}_`)) {
      const msg = cls.allMessages.get(wire.slice(cls.name.length + 1));
      if (msg) return { cls, msg };
    }
  }
  return undefined;
}

/** Fields a constructor accepts: every StaticRO and RW published field (xapi's ctor params). */
export function ctorFields(c: ClassDef): FieldDef[] {
  return c.publicFields.filter((x) => (x.qual === 'RW' || x.qual === 'StaticRO') && x.name !== 'uuid');
}

