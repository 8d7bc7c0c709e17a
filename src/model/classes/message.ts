import { f, m, p, t, type ClassSpec } from '../types.ts';
import { cls } from '../enums.ts';

// message: pool alerts (e.g. two interfaces on one subnet).
export const message = {
  name: 'message',
  doc: 'An message for the attention of the administrator',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'message',
  cliListColumns: ['uuid', 'name', 'priority', 'class', 'obj-uuid', 'timestamp', 'body'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name', t.string, 'DynamicRO'),
    f('priority', t.int, 'DynamicRO'),
    f('cls', cls, 'DynamicRO', { cli: 'class' }),
    f('obj_uuid', t.string, 'DynamicRO'),
    f('timestamp', t.datetime, 'DynamicRO'),
    f('body', t.string, 'DynamicRO'),
  ],
  messages: [
    m('create', [p('name', t.string), p('priority', t.int), p('cls', cls), p('obj_uuid', t.string), p('body', t.string)], t.ref('message'), 'pool-operator', [], { doc: 'Create a message for the attention of the administrator, about an object' }),
    m('destroy', [p('self', t.ref('message'))], t.void, 'pool-operator', [], { doc: 'Destroy a message' }),
    m('get_since', [p('since', t.datetime)], t.map(t.ref('message'), t.record('message')), 'read-only', [], { doc: 'The messages dated after the cutoff time' }),
  ],
} as const satisfies ClassSpec;
