// What the console takes from poolnet's datamodel (src/model), bundled into the page: the least
// role of each message (which actions to offer), enum values (form choices), error parameter
// names and doc sentences, field lists. Nothing here repeats the model; it only reads it.

import { CLASSES, ERRORS, ROLES, isKnownError, isRole, lookupMethod, roleAllows, rolesAtLeast, type ClassDef, type FieldDef, type FieldType, type LeastRole, type Role } from '../../../src/model/index.ts';

export { ROLES, isRole, type Role };

/** The class definition for a class name in any case (event records use lower case). */
export function classOf(name: string): ClassDef | undefined {
  const lower = name.toLowerCase();
  for (const c of CLASSES.values()) if (c.lname === lower) return c;
  return undefined;
}

/** The least role of a wire method ("VIF.set_locking_mode"), or undefined if there is none. */
export function leastRole(method: string): LeastRole | undefined {
  return lookupMethod(method)?.msg.role;
}

/** Who a session is, as far as RBAC goes. */
export interface Who {
  readonly user: string;
  readonly superuser: boolean;
  readonly roles: readonly Role[];
}

/** Whether `who` may call every one of `methods` (xapi's rule: the message's role or above). */
export function allowed(who: Who | undefined, ...methods: string[]): boolean {
  if (!who) return false;
  return methods.every((m) => {
    const least = leastRole(m);
    if (least === undefined) return false;
    return who.superuser || roleAllows(who.roles, least);
  });
}

/** The roles that may call `method`, as RBAC_PERMISSION_DENIED names them. */
export function rolesFor(method: string): Role[] {
  const least = leastRole(method);
  return least ? rolesAtLeast(least) : [];
}

/** The values of an enum parameter of a message (e.g. VIF.set_locking_mode's `value`). */
export function paramEnum(method: string, param: string): string[] {
  const p = lookupMethod(method)?.msg.params.find((x) => x.name === param);
  return p?.type.k === 'enum' ? [...p.type.values] : [];
}

/** The values of an enum field of a class (e.g. network.default_locking_mode). */
export function fieldEnum(cls: string, field: string): string[] {
  const t = classOf(cls)?.fieldMap.get(field)?.type;
  return t?.k === 'enum' ? [...t.values] : [];
}

/** The published fields of a class, in the model's order. */
export function publicFields(cls: string): readonly FieldDef[] {
  return classOf(cls)?.publicFields ?? [];
}

export type { FieldDef, FieldType };

/** The error's parameter names and the sentence `xe` prints, from the model's catalogue. */
export function errorSpec(code: string): { params: readonly string[]; doc: string } | undefined {
  return isKnownError(code) ? ERRORS[code] : undefined;
}

/** Every error code the model lists for the messages of these classes (what the console may meet). */
export function errorsOfClasses(classes: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const name of classes) {
    const c = classOf(name);
    if (!c) continue;
    for (const m of c.allMessages.values()) for (const e of m.errors) out.add(e);
  }
  return out;
}
