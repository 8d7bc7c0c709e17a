import { f, m, p, t, type ClassSpec } from '../types.ts';
import { bond_mode } from '../enums.ts';

/** Bond properties and their syntax (xapi's requirements_of_mode for lacp; other modes take none). */
export const BOND_PROPERTIES = {
  hashing_algorithm: 'hashingAlgorithm', 'lacp-time': 'lacpTime', 'lacp-aggregation-key': 'lacpAggregationKey', 'lacp-fallback-ab': 'boolText',
} as const;

export const Bond = {
  name: 'Bond',
  doc: 'A Network bond that combines physical network interfaces, also known as link aggregation',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'bond',
  cliListColumns: ['uuid', 'master', 'slaves'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('master', t.ref('PIF'), 'StaticRO'),
    f('slaves', t.set(t.ref('PIF')), 'DynamicRO', { reverseOf: { cls: 'PIF', field: 'bond_slave_of' } }),
    f('other_config', t.smap, 'RW', { cli: false }),
    f('primary_slave', t.ref('PIF'), 'DynamicRO'),
    f('mode', bond_mode, 'DynamicRO'),
    f('properties', t.smap, 'DynamicRO', { mapKeys: BOND_PROPERTIES }),
    f('links_up', t.int, 'DynamicRO'),
    f('auto_update_mac', t.bool, 'DynamicRO', { default: true }),
  ],
  messages: [
    m('create', [p('network', t.ref('network')), p('members', t.set(t.ref('PIF'))), p('MAC', t.string, { valueType: 'mac', emptyOk: true }), p('mode', bond_mode, { default: 'balance-slb' }), p('properties', t.smap, { default: {}, mapKeys: BOND_PROPERTIES })], t.ref('Bond'), 'pool-operator',
      ['NETWORK_ALREADY_CONNECTED', 'PIF_BOND_NEEDS_MORE_MEMBERS', 'PIF_BOND_MORE_THAN_ONE_IP', 'PIF_CANNOT_BOND_CROSS_HOST', 'PIF_ALREADY_BONDED', 'PIF_VLAN_EXISTS', 'IS_TUNNEL_ACCESS_PIF', 'PIF_IS_SRIOV_LOGICAL', 'PIF_UNMANAGED', 'NETWORK_UNMANAGED', 'NETWORK_INCOMPATIBLE_WITH_BOND', 'MAC_INVALID', 'INVALID_VALUE', 'INCOMPATIBLE_PIF_PROPERTIES', 'PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', 'HA_IS_ENABLED', 'HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE'], { doc: 'Create an interface bond', async: true }),
    m('destroy', [p('self', t.ref('Bond'))], t.void, 'pool-operator', ['HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE', 'HA_IS_ENABLED'], { doc: 'Destroy an interface bond', async: true }),
    m('set_mode', [p('self', t.ref('Bond')), p('value', bond_mode)], t.void, 'pool-operator', [], { doc: 'Change the bond mode', async: true }),
    m('set_property', [p('self', t.ref('Bond')), p('name', t.string), p('value', t.string)], t.void, 'pool-operator', ['INVALID_VALUE'], { doc: 'Set the value of a property of the bond', async: true }),
  ],
} as const satisfies ClassSpec;
