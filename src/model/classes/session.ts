import { f, m, p, t, type ClassSpec } from '../types.ts';



export const session: ClassSpec = {
  name: 'session',
  doc: 'A session',
  defaultRole: 'read-only',
  getAll: false,
  events: false,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('this_host', t.ref('host'), 'DynamicRO'),
    f('this_user', t.ref('user'), 'DynamicRO'),
    f('last_active', t.datetime, 'DynamicRO'),
    f('pool', t.bool, 'DynamicRO'),
    f('other_config', t.smap, 'RW'),
    f('is_local_superuser', t.bool, 'DynamicRO'),
    f('subject', t.ref('subject'), 'DynamicRO'),
    f('validation_time', t.datetime, 'DynamicRO'),
    f('auth_user_sid', t.string, 'DynamicRO'),
    f('auth_user_name', t.string, 'DynamicRO'),
    f('rbac_permissions', t.set(t.string), 'DynamicRO'),
    f('tasks', t.set(t.ref('task')), 'DynamicRO'),
    f('parent', t.ref('session'), 'DynamicRO'),
    f('originator', t.string, 'DynamicRO'),
    f('client_certificate', t.bool, 'DynamicRO'),
    f('roles', t.set(t.string), 'DynamicRO', { internal: true }),
  ],
  messages: [
    m('login_with_password', [p('uname', t.string), p('pwd', t.string), p('version', t.string, { default: '1.1' }), p('originator', t.string, { default: '' })], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED', 'HOST_IS_SLAVE'], { sessionless: true }),
    m('logout', [], t.void, 'read-only', []),
    m('change_password', [p('old_pwd', t.string), p('new_pwd', t.string)], t.void, 'read-only', ['CHANGE_PASSWORD_REJECTED']),
    m('slave_local_login_with_password', [p('uname', t.string), p('pwd', t.string)], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED'], { sessionless: true }),
    m('local_logout', [], t.void, 'read-only', [], { sessionless: true }),
    m('slave_login', [p('host', t.ref('host')), p('psecret', t.string)], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED'], { sessionless: true, hidden: true }),
    m('get_all_subject_identifiers', [], t.set(t.string), 'pool-admin', []),
    m('logout_subject_identifier', [p('subject_identifier', t.string)], t.void, 'pool-admin', []),
  ],
};
