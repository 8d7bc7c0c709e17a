import { f, m, p, t, type ClassSpec } from '../types.ts';

export const VLAN = {
  name: 'VLAN',
  doc: 'A VLAN mux/demux',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'vlan',
  cliListColumns: ['uuid', 'tagged-PIF', 'untagged-PIF', 'tag'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('tagged_PIF', t.ref('PIF'), 'StaticRO'),
    f('untagged_PIF', t.ref('PIF'), 'DynamicRO'),
    f('tag', t.int, 'StaticRO', { default: -1, valueType: 'vlanTag' }),
    f('other_config', t.smap, 'RW', { cli: false }),
  ],
  messages: [
    m('create', [p('tagged_PIF', t.ref('PIF')), p('tag', t.int, { valueType: 'vlanTag' }), p('network', t.ref('network'))], t.ref('VLAN'), 'pool-operator',
      ['VLAN_TAG_INVALID', 'NETWORK_UNMANAGED', 'NETWORK_ALREADY_CONNECTED', 'PIF_UNMANAGED', 'CANNOT_ADD_VLAN_TO_BOND_SLAVE', 'PIF_IS_VLAN', 'IS_TUNNEL_ACCESS_PIF', 'PIF_VLAN_EXISTS', 'VLAN_IN_USE', 'NETWORK_INCOMPATIBLE_WITH_TRUNKS', 'NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE', 'NETWORK_INCOMPATIBLE_WITH_VLAN_ON_SRIOV', 'NETWORK_HAS_INCOMPATIBLE_VLAN_ON_SRIOV_PIFS'], { doc: 'Create a VLAN mux/demuxer', async: true }),
    m('destroy', [p('self', t.ref('VLAN'))], t.void, 'pool-operator', ['PIF_ALREADY_BONDED', 'PIF_IS_PHYSICAL', 'PIF_IS_MANAGEMENT_INTERFACE', 'VIF_IN_USE', 'PIF_DOES_NOT_ALLOW_UNPLUG'], { doc: 'Destroy a VLAN mux/demuxer', async: true }),
    m('pool_introduce', [p('tagged_PIF', t.ref('PIF')), p('untagged_PIF', t.ref('PIF')), p('tag', t.int, { valueType: 'vlanTag' }), p('other_config', t.smap)], t.ref('VLAN'), 'pool-operator', [], { doc: 'Create a new vlan record in the database only', hidden: true }),
  ],
} as const satisfies ClassSpec;
