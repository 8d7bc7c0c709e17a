import { m, p, t, type ClassSpec } from '../types.ts';

// event: not stored; the record shape is produced by the event engine.
export const event: ClassSpec = {
  name: 'event',
  doc: 'Asynchronous event registration and handling',
  defaultRole: 'read-only',
  getAll: false,
  stored: false,
  events: false,
  fields: [],
  messages: [
    m('register', [p('classes', t.set(t.string))], t.void, 'read-only', []),
    m('unregister', [p('classes', t.set(t.string))], t.void, 'read-only', []),
    m('next', [], t.set(t.any), 'read-only', ['SESSION_NOT_REGISTERED', 'EVENTS_LOST']),
    m('from', [p('classes', t.set(t.string)), p('token', t.string), p('timeout', t.float)], t.any, 'read-only', ['SESSION_NOT_REGISTERED', 'EVENTS_LOST', 'EVENT_FROM_TOKEN_PARSE_FAILURE', 'EVENT_SUBSCRIPTION_PARSE_FAILURE']),
    m('get_current_id', [], t.int, 'read-only', []),
    m('inject', [p('class', t.string), p('ref', t.string)], t.string, 'read-only', ['HANDLE_INVALID']),
  ],
};
