import { f, m, p, t, type ClassSpec } from '../types.ts';
import { network_default_locking_mode, network_operations, network_purpose } from '../enums.ts';

// network: pool-wide; realised on a host by at most one PIF, or as an internal bridge.
const XENCENTER_KEYS = [
  { prefix: 'folder', role: 'vm-operator' as const },
  { prefix: 'XenCenter.CustomFields.', role: 'vm-operator' as const },
  { prefix: 'XenCenterCreateInProgress', role: 'vm-operator' as const },
];

/** The network other_config keys the agent reads. */
export const NETWORK_OTHER_CONFIG = { 'static-routes': 'staticRoutes' } as const;

export const network = {
  name: 'network',
  doc: 'A virtual network',
  defaultRole: 'vm-admin',
  getAll: true,
  ctor: true,
  dtor: true,
  cliPrefix: 'network',
  cliListColumns: ['uuid', 'name-label', 'name-description', 'bridge'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'RW', { writeRole: 'pool-operator' }),
    f('name_description', t.string, 'RW', { writeRole: 'pool-operator' }),
    f('allowed_operations', t.set(network_operations), 'DynamicRO', { cli: false }),
    f('current_operations', t.map(t.string, network_operations), 'DynamicRO', { cli: false }),
    f('VIFs', t.set(t.ref('VIF')), 'DynamicRO', { reverseOf: { cls: 'VIF', field: 'network' }, cli: 'VIF-uuids' }),
    f('PIFs', t.set(t.ref('PIF')), 'DynamicRO', { reverseOf: { cls: 'PIF', field: 'network' }, cli: 'PIF-uuids' }),
    f('MTU', t.int, 'RW', { default: 1500, valueType: 'mtu', createZeroOk: true }),
    f('other_config', t.smap, 'RW', { writeRole: 'pool-operator', keyRoles: XENCENTER_KEYS, mapKeys: NETWORK_OTHER_CONFIG }),
    f('bridge', t.string, 'StaticRO', { valueType: 'ifName', emptyOk: true }),
    f('managed', t.bool, 'StaticRO', { default: true }),
    f('blobs', t.map(t.string, t.ref('blob')), 'DynamicRO'),
    f('tags', t.set(t.string), 'RW', { writeRole: 'vm-operator' }),
    f('default_locking_mode', network_default_locking_mode, 'DynamicRO', { default: 'unlocked' }),
    f('assigned_ips', t.map(t.ref('VIF'), t.string), 'DynamicRO', { cli: false }),
    f('purpose', t.set(network_purpose), 'DynamicRO'),
  ],
  messages: [
    m('attach', [p('network', t.ref('network')), p('host', t.ref('host'))], t.void, 'pool-operator', [], { doc: 'Makes the network immediately available on a particular host', hidden: true, async: true }),
    m('pool_introduce', [p('name_label', t.string), p('name_description', t.string), p('MTU', t.int, { valueType: 'mtu' }), p('other_config', t.smap, { mapKeys: NETWORK_OTHER_CONFIG }), p('bridge', t.string, { valueType: 'ifName' }), p('managed', t.bool), p('purpose', t.set(network_purpose))], t.ref('network'), 'pool-operator', [], { doc: 'Create a new network record in the database only', hidden: true }),
    m('create_new_blob', [p('network', t.ref('network')), p('name', t.string), p('mime_type', t.string), p('public', t.bool, { default: false })], t.ref('blob'), 'pool-operator', [], { doc: 'Create a placeholder for a named binary blob of data that is associated with this pool' }),
    m('set_default_locking_mode', [p('network', t.ref('network')), p('value', network_default_locking_mode)], t.void, 'pool-operator', ['VIF_IN_USE'], { doc: 'Set the default locking mode for VIFs attached to this network' }),
    m('attach_for_vm', [p('host', t.ref('host')), p('vm', t.ref('VM'))], t.void, 'vm-power-admin', [], { doc: 'Attaches all networks needed by a given VM on a particular host', hidden: true }),
    m('detach_for_vm', [p('host', t.ref('host')), p('vm', t.ref('VM'))], t.void, 'vm-power-admin', [], { doc: 'Detaches all networks of a given VM from a particular host', hidden: true }),
    m('add_purpose', [p('self', t.ref('network')), p('value', network_purpose)], t.void, 'pool-admin', ['NETWORK_UNMANAGED', 'NETWORK_INCOMPATIBLE_PURPOSES'], { doc: 'Give a network a new purpose (if not present already)' }),
    m('remove_purpose', [p('self', t.ref('network')), p('value', network_purpose)], t.void, 'pool-admin', [], { doc: 'Remove a purpose from a network (if present)' }),
  ],
} as const satisfies ClassSpec;
