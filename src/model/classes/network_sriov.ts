import { f, m, p, t, type ClassSpec } from '../types.ts';
import { sriov_configuration_mode } from '../enums.ts';

export const network_sriov = {
  name: 'network_sriov',
  doc: 'network-sriov which connects logical pif and physical pif',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'network-sriov',
  cliListColumns: ['uuid', 'requires-reboot'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('physical_PIF', t.ref('PIF'), 'StaticRO'),
    f('logical_PIF', t.ref('PIF'), 'StaticRO'),
    f('requires_reboot', t.bool, 'DynamicRO'),
    f('configuration_mode', sriov_configuration_mode, 'DynamicRO', { default: 'unknown', cli: false }),
    f('max_vfs', t.int, 'DynamicRO', { internal: true, default: 0, doc: 'VFs the NIC offers (poolnet: from the host agent)' }),
    f('reserved_VIFs', t.set(t.ref('VIF')), 'DynamicRO', { internal: true, reverseOf: { cls: 'VIF', field: 'reserved_VF_of' }, doc: 'VIFs holding one of its VFs' }),
  ],
  messages: [
    m('create', [p('pif', t.ref('PIF')), p('network', t.ref('network'))], t.ref('network_sriov'), 'pool-operator',
      ['PIF_IS_NOT_PHYSICAL', 'NETWORK_SRIOV_ALREADY_ENABLED', 'PIF_IS_NOT_SRIOV_CAPABLE', 'NETWORK_INCOMPATIBLE_WITH_SRIOV', 'NETWORK_HAS_INCOMPATIBLE_SRIOV_PIFS', 'NETWORK_ALREADY_CONNECTED', 'PIF_UNMANAGED', 'NETWORK_UNMANAGED'], { doc: 'Enable SR-IOV on the specific PIF. It will create a network-sriov based on the specific PIF and automatically create a logical PIF to connect the specific network.', async: true }),
    m('destroy', [p('self', t.ref('network_sriov'))], t.void, 'pool-operator', ['PIF_VLAN_STILL_EXISTS'], { doc: 'Disable SR-IOV on the specific PIF. It will destroy the network-sriov and the logical PIF accordingly.', async: true }),
    m('get_remaining_capacity', [p('self', t.ref('network_sriov'))], t.int, 'read-only', [], { doc: 'Get the number of free SR-IOV VFs on the associated PIF', async: true }),
  ],
} as const satisfies ClassSpec;
