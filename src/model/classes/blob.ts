import { f, t, type ClassSpec } from '../types.ts';

// blob: a named binary object a network (or the pool) points at; created by network.create_new_blob.
// The data itself travels over HTTP (/blob) in xapi; here only the record is kept.
export const blob = {
  name: 'blob',
  doc: 'A placeholder for a binary blob',
  defaultRole: 'pool-operator',
  getAll: true,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'RW'),
    f('name_description', t.string, 'RW'),
    f('size', t.int, 'DynamicRO'),
    f('public', t.bool, 'RW'),
    f('last_updated', t.datetime, 'DynamicRO'),
    f('mime_type', t.string, 'DynamicRO'),
  ],
  messages: [],
} as const satisfies ClassSpec;
