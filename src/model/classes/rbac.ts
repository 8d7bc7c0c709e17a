import { f, m, p, t, type ClassSpec } from '../types.ts';

export const role = {
  name: 'role',
  doc: 'A set of permissions associated with a subject',
  defaultRole: 'pool-admin',
  getAll: true,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'StaticRO'),
    f('name_description', t.string, 'StaticRO'),
    f('subroles', t.set(t.ref('role')), 'StaticRO'),
    f('is_internal', t.bool, 'StaticRO'),
  ],
  messages: [
    m('get_permissions', [p('self', t.ref('role'))], t.set(t.ref('role')), 'read-only', [], { doc: 'This call returns a list of permissions given a role' }),
    m('get_permissions_name_label', [p('self', t.ref('role'))], t.set(t.string), 'read-only', [], { doc: 'This call returns a list of permission names given a role' }),
    m('get_by_permission', [p('permission', t.ref('role'))], t.set(t.ref('role')), 'read-only', [], { doc: 'This call returns a list of roles given a permission' }),
    m('get_by_permission_name_label', [p('label', t.string)], t.set(t.ref('role')), 'read-only', [], { doc: 'This call returns a list of roles given a permission name' }),
  ],
} as const satisfies ClassSpec;

// subject: a user allowed to log in, with roles. poolnet keeps local accounts here
// (xapi uses PAM for these; poolnet stores a password hash, never published).
export const subject = {
  name: 'subject',
  doc: 'A user or group that can log in xapi',
  defaultRole: 'pool-admin',
  getAll: true,
  ctor: true,
  dtor: true,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('subject_identifier', t.string, 'StaticRO'),
    f('other_config', t.smap, 'StaticRO'),
    f('roles', t.set(t.ref('role')), 'DynamicRO'),
    f('password_hash', t.string, 'DynamicRO', { internal: true }),
  ],
  messages: [
    m('add_to_roles', [p('self', t.ref('subject')), p('role', t.ref('role'))], t.void, 'pool-admin', ['ROLE_NOT_FOUND'], { doc: 'This call adds a new role to a subject' }),
    m('remove_from_roles', [p('self', t.ref('subject')), p('role', t.ref('role'))], t.void, 'pool-admin', ['ROLE_NOT_FOUND'], { doc: 'This call removes a role from a subject' }),
    m('get_permissions_name_label', [p('self', t.ref('subject'))], t.set(t.string), 'read-only', [], { doc: 'This call returns a list of permission names given a subject' }),
    m('create_local_user', [p('user_name', t.string), p('password', t.string), p('roles', t.set(t.string))], t.ref('subject'), 'pool-admin', ['DUPLICATE_SUBJECT', 'ROLE_NOT_FOUND', 'INVALID_VALUE'], { doc: 'poolnet: a local user account with a password and roles (xapi delegates these to PAM).' }),
    m('set_local_password', [p('self', t.ref('subject')), p('password', t.string)], t.void, 'pool-admin', ['INVALID_VALUE'], { doc: 'poolnet: change a local user\'s password.' }),
  ],
} as const satisfies ClassSpec;
