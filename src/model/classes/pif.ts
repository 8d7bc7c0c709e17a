import { f, m, p, t, type ClassSpec, type ParamDef } from '../types.ts';
import { ip_configuration_mode, ipv6_configuration_mode, pif_igmp_status, primary_address_type } from '../enums.ts';

const self = p('self', t.ref('PIF'));

/** The PIF other_config keys the agent reads (compile.ts): MTU, DNS search list, routing choice, bond overrides. */
export const PIF_OTHER_CONFIG = {
  mtu: 'mtu', domain: 'domain', defaultroute: 'boolText', peerdns: 'boolText',
  'bond-mode': 'bondMode', 'bond-updelay': 'millis', 'bond-downdelay': 'millis', 'bond-miimon': 'millis',
  'bond-miimon-interval': 'millis', 'bond-rebalance-interval': 'millis', 'bond-detect-mode': 'bondDetectMode',
  'bond-lacp-time': 'lacpTime', 'bond-lacp-fallback-ab': 'boolText', 'bond-*': 'word',
} as const;

/** The fields of PIF (the introduce parameters below are derived from them). */
const fields = [
  f('uuid', t.string, 'DynamicRO'),
  f('device', t.string, 'StaticRO', { valueType: 'ifName' }),
  f('device_name', t.string, 'StaticRO', { internal: true }),
  f('network', t.ref('network'), 'StaticRO', { cli: 'network-uuid' }),
  f('host', t.ref('host'), 'StaticRO', { cli: 'host-uuid' }),
  f('MAC', t.string, 'StaticRO', { valueType: 'mac' }),
  f('MTU', t.int, 'StaticRO'),
  f('VLAN', t.int, 'StaticRO', { default: -1, valueType: 'vlanOrNone' }),
  f('metrics', t.ref('PIF_metrics'), 'DynamicRO', { cli: false }),
  f('physical', t.bool, 'DynamicRO'),
  f('currently_attached', t.bool, 'DynamicRO', { default: true }),
  f('ip_configuration_mode', ip_configuration_mode, 'DynamicRO', { cli: 'IP-configuration-mode' }),
  f('IP', t.string, 'DynamicRO', { valueType: 'ipv4', emptyOk: true }),
  f('netmask', t.string, 'DynamicRO', { valueType: 'netmask', emptyOk: true }),
  f('gateway', t.string, 'DynamicRO', { valueType: 'ipv4', emptyOk: true }),
  f('DNS', t.string, 'DynamicRO', { valueType: 'dnsList', emptyOk: true }),
  f('bond_slave_of', t.ref('Bond'), 'DynamicRO'),
  f('bond_master_of', t.set(t.ref('Bond')), 'DynamicRO', { reverseOf: { cls: 'Bond', field: 'master' } }),
  f('VLAN_master_of', t.ref('VLAN'), 'DynamicRO', { reverseOf: { cls: 'VLAN', field: 'untagged_PIF' }, cli: 'vlan-master-of' }),
  f('VLAN_slave_of', t.set(t.ref('VLAN')), 'DynamicRO', { reverseOf: { cls: 'VLAN', field: 'tagged_PIF' }, cli: 'vlan-slave-of' }),
  f('management', t.bool, 'DynamicRO'),
  f('other_config', t.smap, 'RW', { mapKeys: PIF_OTHER_CONFIG }),
  f('disallow_unplug', t.bool, 'DynamicRO'),
  f('tunnel_access_PIF_of', t.set(t.ref('tunnel')), 'DynamicRO', { reverseOf: { cls: 'tunnel', field: 'access_PIF' } }),
  f('tunnel_transport_PIF_of', t.set(t.ref('tunnel')), 'DynamicRO', { reverseOf: { cls: 'tunnel', field: 'transport_PIF' } }),
  f('ipv6_configuration_mode', ipv6_configuration_mode, 'DynamicRO', { cli: 'IPv6-configuration-mode' }),
  f('IPv6', t.set(t.string), 'DynamicRO', { valueType: 'ipv6Cidr', emptyOk: true }),
  f('ipv6_gateway', t.string, 'DynamicRO', { cli: 'IPv6-gateway', valueType: 'ipv6', emptyOk: true }),
  f('primary_address_type', primary_address_type, 'DynamicRO'),
  f('managed', t.bool, 'StaticRO', { default: true }),
  f('properties', t.smap, 'DynamicRO'),
  f('capabilities', t.set(t.string), 'DynamicRO'),
  f('igmp_snooping_status', pif_igmp_status, 'DynamicRO', { default: 'unknown' }),
  f('sriov_physical_PIF_of', t.set(t.ref('network_sriov')), 'DynamicRO', { reverseOf: { cls: 'network_sriov', field: 'physical_PIF' } }),
  f('sriov_logical_PIF_of', t.set(t.ref('network_sriov')), 'DynamicRO', { reverseOf: { cls: 'network_sriov', field: 'logical_PIF' } }),
  f('PCI', t.ref('PCI'), 'DynamicRO', { cli: false }),
];

/** A parameter that takes a field's value, with the field's type and value syntax (not its default: every parameter is required). */
const paramOfField = (name: string): ParamDef => {
  const fd = fields.find((x) => x.name === name);
  if (!fd) throw new Error(`PIF has no field ${name}`);
  const { valueType, emptyOk, mapKeys } = fd;
  return p(fd.name, fd.type, { ...(valueType && { valueType }), ...(emptyOk && { emptyOk }), ...(mapKeys && { mapKeys }) });
};

/** The parameters of db_introduce / pool_introduce: a whole PIF record, in xapi's order, each as its field declares. */
const INTRODUCED = [
  'device', 'network', 'host', 'MAC', 'MTU', 'VLAN', 'physical', 'ip_configuration_mode', 'IP', 'netmask', 'gateway', 'DNS',
  'bond_slave_of', 'VLAN_master_of', 'management', 'other_config', 'disallow_unplug', 'ipv6_configuration_mode', 'IPv6',
  'ipv6_gateway', 'primary_address_type', 'managed', 'properties',
] as const;
type FieldNamed<N> = Extract<(typeof fields)[number], { readonly name: N }>;
// map() forgets which element is which: the assertion restores each parameter's name and field type
type ParamsOfFields<T extends readonly string[]> = { readonly [I in keyof T]: ParamDef & { readonly name: T[I]; readonly type: FieldNamed<T[I]>['type'] } };
const introduceParams = INTRODUCED.map(paramOfField) as unknown as ParamsOfFields<typeof INTRODUCED>;

// PIF: a host's view of a network (physical NIC, bond master, VLAN, tunnel access, SR-IOV logical).
export const PIF = {
  name: 'PIF',
  doc: 'A physical network interface (note separate VLANs are represented as several PIFs)',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'pif',
  cliListColumns: ['uuid', 'device', 'MAC', 'currently-attached', 'VLAN', 'network-uuid', 'host-uuid'],
  fields,
  messages: [
    m('create_VLAN', [p('device', t.string, { valueType: 'ifName' }), p('network', t.ref('network')), p('host', t.ref('host')), p('VLAN', t.int, { valueType: 'vlanTag' })], t.ref('PIF'), 'pool-operator', ['VLAN_TAG_INVALID'], { doc: 'Create a VLAN interface from an existing physical interface. This call is deprecated: use VLAN.create instead', async: true }),
    m('destroy', [self], t.void, 'pool-operator', ['PIF_IS_PHYSICAL'], { doc: 'Destroy the PIF object (provided it is a VLAN interface). This call is deprecated: use VLAN.destroy or Bond.destroy instead', async: true }),
    m('reconfigure_ip', [self, p('mode', ip_configuration_mode), p('IP', t.string, { valueType: 'ipv4', emptyOk: true }), p('netmask', t.string, { valueType: 'netmask', emptyOk: true }), p('gateway', t.string, { valueType: 'ipv4', emptyOk: true }), p('DNS', t.string, { valueType: 'dnsInput' })], t.void, 'pool-operator', ['INVALID_IP_ADDRESS_SPECIFIED', 'PIF_IS_MANAGEMENT_INTERFACE', 'PIF_UNMANAGED', 'HA_IS_ENABLED', 'CLUSTERING_ENABLED'], { doc: 'Reconfigure the IP address settings for this interface', async: true }),
    m('reconfigure_ipv6', [self, p('mode', ipv6_configuration_mode), p('IPv6', t.string, { valueType: 'ipv6Cidr', emptyOk: true }), p('gateway', t.string, { valueType: 'ipv6', emptyOk: true }), p('DNS', t.string, { valueType: 'dnsInput' })], t.void, 'pool-operator', ['INVALID_IP_ADDRESS_SPECIFIED', 'INVALID_CIDR_ADDRESS_SPECIFIED', 'PIF_IS_MANAGEMENT_INTERFACE', 'PIF_UNMANAGED'], { doc: 'Reconfigure the IPv6 address settings for this interface', async: true }),
    m('set_primary_address_type', [self, p('primary_address_type', primary_address_type)], t.void, 'pool-operator', ['PIF_IS_MANAGEMENT_INTERFACE'], { doc: 'Change the primary address type used by this PIF', async: true }),
    m('scan', [p('host', t.ref('host'))], t.void, 'pool-operator', [], { doc: 'Scan for physical interfaces on a host and create PIF objects to represent them', async: true }),
    // MAC: '' takes the NIC's and the op checks the lower-cased result (MAC_INVALID echoes it)
    m('introduce', [p('host', t.ref('host')), p('MAC', t.string), p('device', t.string, { valueType: 'ifName' }), p('managed', t.bool, { default: true })], t.ref('PIF'), 'pool-operator', ['MAC_INVALID', 'DUPLICATE_PIF_DEVICE_NAME', 'COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS'], { doc: 'Create a PIF object matching a particular network interface', async: true }),
    m('forget', [self], t.void, 'pool-operator', ['PIF_IS_MANAGEMENT_INTERFACE', 'PIF_ALREADY_BONDED', 'PIF_VLAN_STILL_EXISTS', 'PIF_TUNNEL_STILL_EXISTS', 'HA_IS_ENABLED', 'CANNOT_FORGET_SRIOV_LOGICAL', 'PIF_SRIOV_STILL_EXISTS', 'CLUSTERING_ENABLED'], { doc: 'Destroy the PIF object matching a particular network interface', async: true }),
    m('unplug', [self], t.void, 'pool-operator', ['HA_IS_ENABLED', 'PIF_IS_MANAGEMENT_INTERFACE', 'VIF_IN_USE', 'PIF_DOES_NOT_ALLOW_UNPLUG', 'PIF_HAS_FCOE_SR_IN_USE', 'PIF_UNMANAGED'], { doc: 'Attempt to bring down a physical interface', async: true }),
    m('set_disallow_unplug', [self, p('value', t.bool)], t.void, 'pool-operator', ['OTHER_OPERATION_IN_PROGRESS', 'CLUSTERING_ENABLED'], { doc: 'Set whether unplugging the PIF is allowed' }),
    m('plug', [self], t.void, 'pool-operator', ['TRANSPORT_PIF_NOT_CONFIGURED', 'CANNOT_PLUG_BOND_SLAVE', 'PIF_UNMANAGED'], { doc: 'Attempt to bring up a physical interface', async: true }),
    m('pool_introduce', introduceParams, t.ref('PIF'), 'pool-operator', [], { doc: 'Create a new PIF record in the database only', hidden: true }),
    m('db_introduce', introduceParams, t.ref('PIF'), 'pool-operator', [], { doc: 'Create a new PIF record in the database only', async: true }),
    m('db_forget', [self], t.void, 'pool-operator', [], { doc: 'Destroy a PIF database record.', async: true }),
    m('set_property', [self, p('name', t.string), p('value', t.string)], t.void, 'pool-operator', ['INVALID_VALUE', 'CANNOT_CHANGE_PIF_PROPERTIES'], { doc: 'Set the value of a property of the PIF', async: true }),
  ],
} as const satisfies ClassSpec;
