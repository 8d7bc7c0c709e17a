// Every message of the datamodel, with placeholder arguments of the right wire types: what the
// RBAC tests call with each role. The values are chosen to be harmless when a call gets past RBAC
// (null refs, an address where nothing listens, a subject nobody has).

import { zeroOf } from '../../src/model/types.ts';
import { CLASSES, type ClassDef, type FieldType, type MessageDef, type ParamDef } from '../../src/model/index.ts';

export interface ModelMessage { readonly wire: string; readonly cls: ClassDef; readonly msg: MessageDef }

/** Every message of every class, custom and generic. */
export function modelMessages(): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const cls of CLASSES.values()) for (const msg of cls.allMessages.values()) out.push({ wire: `${cls.name}.${msg.name}`, cls, msg });
  return out;
}

/** The model's zero value of a type, but a non-empty string (an empty one is refused earlier by many messages). */
const placeholderOf = (type: FieldType): unknown => (type.k === 'string' ? 'placeholder' : zeroOf(type));

const BY_NAME: Record<string, unknown> = {
  master_address: '127.0.0.1:1', // nothing listens on port 1: a join fails at once
  address: '127.0.0.1:1',
  subject_identifier: 'local:nobody',
  uname: 'nobody',
};

export function placeholderArgs(params: readonly ParamDef[]): unknown[] {
  return params.map((p) => (p.type.k === 'string' && p.name in BY_NAME ? BY_NAME[p.name] : placeholderOf(p.type)));
}

/** The permission error xapi answers a session whose roles do not reach `roles`. */
export function deniedFor(permission: string, roles: readonly string[]): string[] {
  return ['RBAC_PERMISSION_DENIED', permission, `No permission in user session. (Roles with this permission: ${roles.join(', ')})`];
}
