import { f, m, p, t, type ClassSpec } from '../types.ts';



export const session = {
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
    m('login_with_password', [p('uname', t.string), p('pwd', t.string), p('version', t.string, { default: '1.1' }), p('originator', t.string, { default: '' })], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED', 'HOST_IS_SLAVE'], { doc: 'Attempt to authenticate the user, returning a session reference if successful', sessionless: true }),
    m('logout', [], t.void, 'read-only', [], { doc: 'Log out of a session' }),
    m('change_password', [p('old_pwd', t.string), p('new_pwd', t.string)], t.void, 'read-only', ['CHANGE_PASSWORD_REJECTED'], { doc: 'Change the account password; if your session is authenticated with root privileges then the old_pwd is validated and the new_pwd is set regardless' }),
    m('slave_local_login_with_password', [p('uname', t.string), p('pwd', t.string)], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED'], { doc: 'Authenticate locally against a slave in emergency mode. Note the resulting sessions are only good for use on this host.', sessionless: true }),
    m('local_logout', [], t.void, 'read-only', [], { doc: 'Log out of local session.', sessionless: true }),
    m('slave_login', [p('host', t.ref('host')), p('psecret', t.string)], t.ref('session'), 'read-only', ['SESSION_AUTHENTICATION_FAILED'], { doc: 'Attempt to authenticate to the pool master by presenting the slave\'s host ref and pool secret', sessionless: true, hidden: true }),
    m('get_all_subject_identifiers', [], t.set(t.string), 'pool-admin', [], { doc: 'Return a list of all the user subject-identifiers of all existing sessions' }),
    m('logout_subject_identifier', [p('subject_identifier', t.string)], t.void, 'pool-admin', [], { doc: 'Log out all sessions associated to a user subject-identifier, except the session associated with the context calling this function' }),
  ],
} as const satisfies ClassSpec;
