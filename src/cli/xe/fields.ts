// The xe-only metadata of each class, in one place. Everything not stated here is derived
// from the datamodel (src/model): field names, types, which fields have generic setters.
//
// xapi writes its xe records by hand (xapi-cli-server/records.ml), so a few things cannot
// be derived: the field order, companion fields (network-name-label), fields flattened from
// another object (PIF carrier from PIF_metrics), custom setters (VIF.set_locking_mode), and
// sets or maps that xe prints as a plain value (PIF vlan-slave-of, tunnel status).

import type { FieldDef } from '../../model/index.ts';

/** A field xe computes from something other than the record's own field. */
export type ExtraField =
  /** The name_label of the object a ref field of this record points to. */
  | { readonly kind: 'name-of'; readonly ref: string }
  /** A field of the object a ref field points to (PIF -> PIF_metrics). */
  | { readonly kind: 'via'; readonly ref: string; readonly cls: string; readonly field: string; readonly format?: 'speed' | 'duplex' | 'float'; readonly expensive?: boolean }
  /** The result of a call on the object (network_sriov.get_remaining_capacity). */
  | { readonly kind: 'call'; readonly method: string; readonly expensive: boolean };

export interface ClassCli {
  /** xe field names in xe's record order; fields not named here follow, in model order. */
  readonly order?: readonly string[];
  /** Computed fields, by xe name. */
  readonly extras?: Readonly<Record<string, ExtraField>>;
  /** Sets and maps (wire names) xe prints as one plain value: no set/map syntax, marker ( RO). */
  readonly plain?: readonly string[];
  /** Scalar setters that are custom messages (wire field -> message). Set fields with one take `a,b`. */
  readonly setters?: Readonly<Record<string, string>>;
  /** Set members added and removed through custom messages. */
  readonly setOps?: Readonly<Record<string, { readonly add: string; readonly remove: string }>>;
  /** Maps whose keys are set one at a time through a (self, name, value) message. */
  readonly setInMap?: Readonly<Record<string, string>>;
  /** Fields xe shows without a setter although the model has a generic one. */
  readonly readOnly?: readonly string[];
  /** Fields matched case-insensitively by list filters. */
  readonly caseInsensitive?: readonly string[];
  /** Enum fields printed in lower case. */
  readonly lowercase?: readonly string[];
  /** Enum values xe spells differently. */
  readonly enumText?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Filters X-list applies before the user's (vm-list shows no templates). */
  readonly listFilters?: readonly (readonly [string, string])[];
}

const pifMetric = (field: string, format?: 'speed' | 'duplex' | 'float', expensive = false): ExtraField =>
  ({ kind: 'via', ref: 'metrics', cls: 'PIF_metrics', field, format, expensive });

export const CLASS_CLI: Readonly<Record<string, ClassCli>> = {
  network: {
    order: ['uuid', 'name-label', 'name-description', 'VIF-uuids', 'PIF-uuids', 'MTU', 'bridge', 'managed', 'other-config', 'blobs', 'tags', 'default-locking-mode', 'purpose'],
    plain: ['blobs'],
    setters: { default_locking_mode: 'set_default_locking_mode' },
    setOps: { purpose: { add: 'add_purpose', remove: 'remove_purpose' } },
  },
  PIF: {
    order: ['uuid', 'device', 'MAC', 'physical', 'managed', 'currently-attached', 'MTU', 'VLAN', 'vlan-master-of', 'vlan-slave-of',
      'bond-master-of', 'bond-slave-of', 'sriov-physical-PIF-of', 'sriov-logical-PIF-of', 'tunnel-access-PIF-of', 'tunnel-transport-PIF-of',
      'management', 'network-uuid', 'network-name-label', 'host-uuid', 'host-name-label', 'IP-configuration-mode', 'IP', 'netmask', 'gateway',
      'IPv6-configuration-mode', 'IPv6', 'IPv6-gateway', 'primary-address-type', 'DNS', 'properties', 'capabilities', 'io_read_kbs', 'io_write_kbs',
      'carrier', 'vendor-id', 'vendor-name', 'device-id', 'device-name', 'speed', 'duplex', 'disallow-unplug', 'pci-bus-path', 'other-config',
      'igmp-snooping-status'],
    extras: {
      'network-name-label': { kind: 'name-of', ref: 'network' },
      'host-name-label': { kind: 'name-of', ref: 'host' },
      // xapi reads these two from the host's RRDs; poolnet keeps them in PIF_metrics
      io_read_kbs: pifMetric('io_read_kbs', 'float', true),
      io_write_kbs: pifMetric('io_write_kbs', 'float', true),
      carrier: pifMetric('carrier'),
      'vendor-id': pifMetric('vendor_id'),
      'vendor-name': pifMetric('vendor_name'),
      'device-id': pifMetric('device_id'),
      'device-name': pifMetric('device_name'),
      speed: pifMetric('speed', 'speed'),
      duplex: pifMetric('duplex', 'duplex'),
      'pci-bus-path': pifMetric('pci_bus_path'),
    },
    plain: ['VLAN_slave_of', 'bond_master_of', 'sriov_physical_PIF_of', 'sriov_logical_PIF_of', 'tunnel_access_PIF_of', 'tunnel_transport_PIF_of', 'IPv6'],
    setters: { disallow_unplug: 'set_disallow_unplug' },
    setInMap: { properties: 'set_property' },
    caseInsensitive: ['MAC'],
  },
  Bond: {
    order: ['uuid', 'master', 'slaves', 'mode', 'properties', 'primary-slave', 'links-up', 'auto-update-mac'],
    plain: ['slaves'],
    setInMap: { properties: 'set_property' },
  },
  VLAN: { order: ['uuid', 'tagged-PIF', 'untagged-PIF', 'tag'] },
  tunnel: {
    order: ['uuid', 'access-PIF', 'transport-PIF', 'status', 'other-config', 'protocol'],
    plain: ['status'],
    readOnly: ['status', 'protocol'],
  },
  network_sriov: {
    order: ['uuid', 'physical-PIF', 'logical-PIF', 'requires-reboot', 'remaining-capacity'],
    extras: { 'remaining-capacity': { kind: 'call', method: 'get_remaining_capacity', expensive: true } },
  },
  VIF: {
    order: ['uuid', 'vm-uuid', 'vm-name-label', 'allowed-operations', 'current-operations', 'device', 'MAC', 'MAC-autogenerated', 'MTU',
      'currently-attached', 'qos_algorithm_type', 'qos_algorithm_params', 'qos_supported_algorithms', 'other-config', 'network-uuid',
      'network-name-label', 'io_read_kbs', 'io_write_kbs', 'locking-mode', 'ipv4-allowed', 'ipv6-allowed', 'ipv4-configuration-mode',
      'ipv4-addresses', 'ipv4-gateway', 'ipv6-configuration-mode', 'ipv6-addresses', 'ipv6-gateway', 'trunks'],
    extras: {
      'vm-name-label': { kind: 'name-of', ref: 'VM' },
      'network-name-label': { kind: 'name-of', ref: 'network' },
      io_read_kbs: { kind: 'via', ref: 'metrics', cls: 'VIF_metrics', field: 'io_read_kbs', format: 'float', expensive: true },
      io_write_kbs: { kind: 'via', ref: 'metrics', cls: 'VIF_metrics', field: 'io_write_kbs', format: 'float', expensive: true },
    },
    plain: ['ipv4_addresses', 'ipv6_addresses'],
    setters: { locking_mode: 'set_locking_mode', ipv4_allowed: 'set_ipv4_allowed', ipv6_allowed: 'set_ipv6_allowed', trunks: 'set_trunks' },
    setOps: {
      ipv4_allowed: { add: 'add_ipv4_allowed', remove: 'remove_ipv4_allowed' },
      ipv6_allowed: { add: 'add_ipv6_allowed', remove: 'remove_ipv6_allowed' },
      trunks: { add: 'add_trunks', remove: 'remove_trunks' },
    },
    caseInsensitive: ['MAC'],
  },
  VM: {
    order: ['uuid', 'name-label', 'name-description', 'is-a-template', 'is-control-domain', 'power-state', 'allowed-operations',
      'current-operations', 'resident-on', 'affinity', 'other-config', 'tags'],
    lowercase: ['power_state'],
    listFilters: [['is-a-template', 'false']],
  },
  host: {
    order: ['uuid', 'name-label', 'name-description', 'allowed-operations', 'current-operations', 'enabled', 'API-version-major',
      'API-version-minor', 'API-version-vendor', 'API-version-vendor-implementation', 'logging', 'software-version', 'capabilities',
      'other-config', 'hostname', 'address', 'https-only', 'supported-bootloaders', 'memory-overhead', 'external-auth-type', 'tags',
      'ssl-legacy', 'control-domain-uuid', 'resident-vms'],
    readOnly: ['hostname', 'address'],
    enumText: { allowed_operations: { vm_start: 'VM.start', vm_resume: 'VM.resume', vm_migrate: 'VM.migrate' } },
  },
  pool: {
    order: ['uuid', 'name-label', 'name-description', 'master', 'default-SR', 'crash-dump-SR', 'suspend-image-SR', 'other-config',
      'allowed-operations', 'current-operations', 'ha-enabled', 'ha-configuration', 'ha-statefiles', 'ha-host-failures-to-tolerate',
      'ha-plan-exists-for', 'ha-allow-overcommit', 'ha-overcommitted', 'blobs', 'igmp-snooping-enabled', 'gui-config', 'tags', 'cpu_info'],
    plain: ['ha_configuration', 'ha_statefiles', 'blobs'],
    setters: { igmp_snooping_enabled: 'set_igmp_snooping_enabled' },
  },
  SDN_controller: { order: ['uuid', 'protocol', 'address', 'port'] },
  message: { order: ['uuid', 'name', 'priority', 'class', 'obj-uuid', 'timestamp', 'body'] },
};

/** The xe name of a model field: its `cli` override, else the wire name with `_` -> `-`. */
export function cliName(fd: FieldDef): string | undefined {
  if (fd.cli === false) return undefined;
  return fd.cli ?? fd.name.replace(/_/g, '-');
}

/** Sets xe joins with ", " rather than "; " (kept for backwards compatibility in xapi). */
export const COMMA_JOINED = new Set(['tags', 'purpose']);

/** xe prints every current_operations map as the set of its values. */
export const VALUES_AS_SET = new Set(['current_operations']);

export function classCli(cls: string): ClassCli {
  return CLASS_CLI[cls] ?? {};
}
