import { f, m, p, t, type ClassSpec } from '../types.ts';
import { host_allowed_operations } from '../enums.ts';

// host: what networking needs of a XenServer host record.
export const host = {
  name: 'host',
  doc: 'A physical host',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'host',
  cliListColumns: ['uuid', 'name-label', 'name-description'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'RW'),
    f('name_description', t.string, 'RW'),
    f('allowed_operations', t.set(host_allowed_operations), 'DynamicRO'),
    f('current_operations', t.map(t.string, host_allowed_operations), 'DynamicRO'),
    f('API_version_major', t.int, 'DynamicRO', { default: 2 }),
    f('API_version_minor', t.int, 'DynamicRO', { default: 23 }),
    f('API_version_vendor', t.string, 'DynamicRO', { default: 'XenSource' }),
    f('API_version_vendor_implementation', t.smap, 'DynamicRO'),
    f('enabled', t.bool, 'DynamicRO', { default: true }),
    f('software_version', t.smap, 'DynamicRO'),
    f('other_config', t.smap, 'RW'),
    f('capabilities', t.set(t.string), 'DynamicRO'),
    f('cpu_configuration', t.smap, 'DynamicRO', { cli: false }),
    f('sched_policy', t.string, 'DynamicRO', { cli: false }),
    f('supported_bootloaders', t.set(t.string), 'DynamicRO'),
    f('resident_VMs', t.set(t.ref('VM')), 'DynamicRO', { reverseOf: { cls: 'VM', field: 'resident_on' }, cli: 'resident-vms' }),
    f('logging', t.smap, 'RW'),
    f('PIFs', t.set(t.ref('PIF')), 'DynamicRO', { reverseOf: { cls: 'PIF', field: 'host' }, cli: false }),
    f('hostname', t.string, 'RW', { valueType: 'hostname' }),
    f('address', t.string, 'RW', { valueType: 'ipAny', emptyOk: true }),
    f('metrics', t.ref('host_metrics'), 'DynamicRO', { cli: false }),
    f('control_domain', t.ref('VM'), 'DynamicRO', { cli: 'control-domain-uuid' }),
    f('tags', t.set(t.string), 'RW', { writeRole: 'vm-operator' }),
    f('https_only', t.bool, 'DynamicRO'),
    f('memory_overhead', t.int, 'DynamicRO'),
    f('external_auth_type', t.string, 'DynamicRO'),
    f('ssl_legacy', t.bool, 'DynamicRO'),
    // poolnet: the NICs the host's kernel has (a member reports them; PIF.scan on the master reads them)
    f('nic_facts', t.string, 'DynamicRO', { internal: true }),
    // poolnet: the bridges the host's switch has (what network.attach of an unmanaged network checks)
    f('bridge_facts', t.string, 'DynamicRO', { internal: true }),
    // poolnet: the SHA-256 fingerprint of the host's API certificate, pinned when it joined; the
    // pool secret goes only to a host that presents it
    f('certificate_fingerprint', t.string, 'DynamicRO', { internal: true }),
  ],
  messages: [
    m('management_reconfigure', [p('pif', t.ref('PIF'))], t.void, 'pool-operator', ['HA_IS_ENABLED', 'CANNOT_PLUG_BOND_SLAVE', 'PIF_HAS_NO_NETWORK_CONFIGURATION', 'PIF_HAS_NO_V6_NETWORK_CONFIGURATION', 'OPERATION_NOT_ALLOWED'], { doc: 'Reconfigure the management network interface', async: true }),
    m('local_management_reconfigure', [p('interface', t.string, { valueType: 'ifName' })], t.void, 'pool-operator', ['NOT_IN_EMERGENCY_MODE'], { doc: 'Reconfigure the management network interface. Should only be used if Host.management_reconfigure is impossible because the network configuration is broken.' }),
    m('management_disable', [], t.void, 'pool-operator', ['HA_IS_ENABLED', 'SLAVE_REQUIRES_MANAGEMENT_INTERFACE'], { doc: 'Disable the management network interface' }),
    m('get_management_interface', [p('host', t.ref('host'))], t.ref('PIF'), 'pool-operator', [], { doc: 'Returns the management interface for the specified host', async: true }),
    m('set_hostname_live', [p('host', t.ref('host')), p('hostname', t.string, { valueType: 'hostname' })], t.void, 'pool-operator', ['HOST_NAME_INVALID'], { doc: 'Sets the host name to the specified string. Both the API and lower-level system hostname are changed immediately.' }),
    m('emergency_ha_disable', [p('soft', t.bool, { default: false })], t.void, 'pool-operator', [], { doc: 'This call disables HA on the local host. This should only be used with extreme care.' }),
    m('signal_networking_change', [], t.void, 'local-root-only', [], { doc: 'Signals that the management IP address or hostname has been changed beneath us.', hidden: true }),
    m('sync_vlans', [p('host', t.ref('host'))], t.void, 'pool-operator', [], { doc: 'Synchronise VLANs on given host with the master\'s VLANs', hidden: true }),
    m('sync_tunnels', [p('host', t.ref('host'))], t.void, 'pool-operator', [], { doc: 'Synchronise tunnels on given host with the master\'s tunnels', hidden: true }),
    m('sync_pif_currently_attached', [p('host', t.ref('host')), p('bridges', t.set(t.string))], t.void, 'pool-operator', [], { doc: 'Pass in a list of bridges that exist on the host; the host\'s PIFs are marked currently_attached exactly when the bridge of their network is among them', hidden: true }),
    m('reset_networking', [p('host', t.ref('host'))], t.void, 'pool-operator', [], { doc: 'Purge all network-related metadata associated with the given host.', hidden: true }),
    m('is_in_emergency_mode', [], t.bool, 'read-only', [], { doc: 'Diagnostics call to discover if host is in emergency mode' }),
  ],
} as const satisfies ClassSpec;
