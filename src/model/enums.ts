// Enumerations of the datamodel, spelled exactly as on the wire.
import { t } from './types.ts';

export const vif_locking_mode = t.enumOf('vif_locking_mode', ['network_default', 'locked', 'unlocked', 'disabled']);
export const network_default_locking_mode = t.enumOf('network_default_locking_mode', ['unlocked', 'disabled']);
export const ip_configuration_mode = t.enumOf('ip_configuration_mode', ['None', 'DHCP', 'Static']);
export const ipv6_configuration_mode = t.enumOf('ipv6_configuration_mode', ['None', 'DHCP', 'Static', 'Autoconf']);
export const vif_ipv4_configuration_mode = t.enumOf('vif_ipv4_configuration_mode', ['None', 'Static', 'DHCP']);
export const vif_ipv6_configuration_mode = t.enumOf('vif_ipv6_configuration_mode', ['None', 'Static', 'Autoconf']);
export const primary_address_type = t.enumOf('primary_address_type', ['IPv4', 'IPv6']);
export const bond_mode = t.enumOf('bond_mode', ['balance-slb', 'active-backup', 'lacp']);
export const tunnel_protocol = t.enumOf('tunnel_protocol', ['gre', 'vxlan']);
export const network_purpose = t.enumOf('network_purpose', ['nbd', 'insecure_nbd']);
export const vif_operations = t.enumOf('vif_operations', ['attach', 'plug', 'unplug']);
export const network_operations = t.enumOf('network_operations', ['attaching']);
export const pif_igmp_status = t.enumOf('pif_igmp_status', ['enabled', 'disabled', 'unknown']);
export const sriov_configuration_mode = t.enumOf('sriov_configuration_mode', ['sysfs', 'modprobe', 'manual', 'unknown']);
export const sdn_controller_protocol = t.enumOf('sdn_controller_protocol', ['ssl', 'pssl']);
export const task_status_type = t.enumOf('task_status_type', ['pending', 'success', 'failure', 'cancelling', 'cancelled']);
export const task_allowed_operations = t.enumOf('task_allowed_operations', ['cancel', 'destroy']);
export const vm_power_state = t.enumOf('vm_power_state', ['Halted', 'Paused', 'Running', 'Suspended']);
export const event_operation = t.enumOf('event_operation', ['add', 'del', 'mod']);
export const host_allowed_operations = t.enumOf('host_allowed_operations', ['provision', 'evacuate', 'shutdown', 'reboot', 'power_on', 'vm_start', 'vm_resume', 'vm_migrate', 'apply_updates', 'enable']);
export const pool_allowed_operations = t.enumOf('pool_allowed_operations', ['ha_enable', 'ha_disable', 'cluster_create', 'designate_new_master', 'configure_repositories', 'sync_updates', 'sync_bundle', 'get_updates', 'apply_updates', 'tls_verification_enable', 'cert_refresh', 'exchange_certificates_on_join', 'exchange_ca_certificates_on_join', 'copy_primary_host_certs', 'eject', 'join']);
export const vm_operations = t.enumOf('vm_operations', ['start', 'clean_shutdown', 'hard_shutdown', 'pool_migrate', 'migrate_send']);
// (VIF: a poolnet extension, for VIF_LOCKING_DROPS messages about one VIF; xapi's cls has no VIF)
export const cls = t.enumOf('cls', ['VM', 'Host', 'SR', 'Pool', 'VMPP', 'VMSS', 'PVS_proxy', 'VDI', 'Certificate', 'VIF']);
