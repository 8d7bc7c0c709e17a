import { f, m, p, t, type ClassSpec } from '../types.ts';
import { tunnel_protocol } from '../enums.ts';

export const tunnel = {
  name: 'tunnel',
  doc: 'A tunnel for network traffic',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'tunnel',
  cliListColumns: ['uuid', 'access-PIF', 'transport-PIF', 'status'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('access_PIF', t.ref('PIF'), 'StaticRO'),
    f('transport_PIF', t.ref('PIF'), 'StaticRO'),
    f('status', t.smap, 'RW'),
    f('other_config', t.smap, 'RW'),
    f('protocol', tunnel_protocol, 'RW'),
  ],
  messages: [
    m('create', [p('transport_PIF', t.ref('PIF')), p('network', t.ref('network')), p('protocol', tunnel_protocol, { default: 'gre' })], t.ref('tunnel'), 'pool-operator',
      ['OPENVSWITCH_NOT_ACTIVE', 'TRANSPORT_PIF_NOT_CONFIGURED', 'IS_TUNNEL_ACCESS_PIF', 'CANNOT_ADD_TUNNEL_TO_BOND_SLAVE', 'CANNOT_ADD_TUNNEL_TO_SRIOV_LOGICAL', 'CANNOT_ADD_TUNNEL_TO_VLAN_ON_SRIOV_LOGICAL', 'NETWORK_INCOMPATIBLE_WITH_TUNNEL', 'NETWORK_UNMANAGED', 'NETWORK_ALREADY_CONNECTED', 'PIF_UNMANAGED'], { doc: 'Create a tunnel', async: true }),
    m('destroy', [p('self', t.ref('tunnel'))], t.void, 'pool-operator', [], { doc: 'Destroy a tunnel', async: true }),
  ],
} as const satisfies ClassSpec;
