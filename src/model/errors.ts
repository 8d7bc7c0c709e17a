// The error catalogue: code, parameter names and the sentence `xe` prints (xapi datamodel_errors.ml).
// Errors travel as values (XapiError), never as bare strings.

export interface ErrorSpec {
  readonly params: readonly string[];
  readonly doc: string;
}

const E = <const P extends readonly string[]>(params: P, doc: string): { readonly params: P; readonly doc: string } => ({ params, doc });

export const ERRORS = {
  // protocol, sessions, generic
  // xapi's datamodel declares no parameters, but every raise sends the user name and a reason
  SESSION_AUTHENTICATION_FAILED: E(['user', 'reason'], 'The credentials given by the user are incorrect, so access has been denied, and you have not been issued a session handle.'),
  SESSION_INVALID: E(['handle'], 'You gave an invalid session reference. It may have been invalidated by a server restart, or timed out. Get a new session handle, using one of the session.login_ calls. This error does not invalidate the current connection. The handle parameter echoes the bad value given.'),
  SESSION_NOT_REGISTERED: E(['handle'], 'This session is not registered to receive events. You must call event.register before event.next. The session handle you are using is echoed.'),
  HOST_IS_SLAVE: E(['Master IP address'], 'You cannot make regular API calls directly on a supporter. Please pass API calls via the coordinator host.'),
  MESSAGE_METHOD_UNKNOWN: E(['method'], 'You tried to call a method that does not exist. The method name that you used is echoed.'),
  MESSAGE_PARAMETER_COUNT_MISMATCH: E(['method', 'expected', 'received'], 'You tried to call a method with the incorrect number of parameters. The fully-qualified method name that you used, and the number of received and expected parameters are returned.'),
  MESSAGE_REMOVED: E([], 'This function is no longer available.'),
  HANDLE_INVALID: E(['class', 'handle'], 'You gave an invalid object reference. The object may have recently been deleted. The class parameter gives the type of reference given, and the handle parameter echoes the bad value given.'),
  UUID_INVALID: E(['type', 'uuid'], 'The uuid you supplied was invalid.'),
  MAP_DUPLICATE_KEY: E(['type', 'param_name', 'uuid', 'key'], 'You tried to add a key-value pair to a map, but that key is already there.'),
  INVALID_VALUE: E(['field', 'value'], 'The value given is invalid'),
  FIELD_TYPE_ERROR: E(['field'], 'The value specified is of the wrong type'),
  VALUE_NOT_SUPPORTED: E(['field', 'value', 'reason'], 'You attempted to set a value that is not supported by this implementation. The fully-qualified field name and the value that you tried to set are returned. Also returned is a developer-only diagnostic reason.'),
  OPERATION_NOT_ALLOWED: E(['reason'], 'You attempted an operation that was not allowed.'),
  OTHER_OPERATION_IN_PROGRESS: E(['class', 'object', 'operation_type', 'operation_ref'], 'Another operation involving the object is currently in progress'),
  INTERNAL_ERROR: E(['message'], 'The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.'),
  NOT_IMPLEMENTED: E(['function'], 'The function is not implemented'),
  RBAC_PERMISSION_DENIED: E(['permission', 'message'], 'RBAC permission denied.'),
  PERMISSION_DENIED: E(['message'], 'Caller not allowed to perform this operation.'),
  EVENTS_LOST: E([], 'Some events have been lost from the queue and cannot be retrieved.'),
  EVENT_FROM_TOKEN_PARSE_FAILURE: E(['token'], 'The event.from token could not be parsed. Valid values include: \'\', and a value returned from a previous event.from call.'),
  EVENT_SUBSCRIPTION_PARSE_FAILURE: E(['subscription'], 'The server failed to parse your event subscription. Valid values include: *, class-name, class-name/object-reference.'),
  TASK_CANCELLED: E(['task'], 'The request was asynchronously canceled.'),
  LICENCE_RESTRICTION: E(['feature'], 'This operation is not allowed because your license lacks a needed feature. Please contact your support representative.'),
  DUPLICATE_SUBJECT: E(['subject'], 'The subject is already added to the list of subjects'),
  ROLE_NOT_FOUND: E([], 'Role cannot be found.'),
  SUBJECT_CANNOT_BE_RESOLVED: E([], 'Subject cannot be resolved by the external directory service.'),
  CHANGE_PASSWORD_REJECTED: E(['msg'], 'The system rejected the password change request; perhaps the new password was too short?'),
  USER_IS_NOT_LOCAL_SUPERUSER: E(['msg'], 'Only the local superuser can execute this operation'),
  HOST_OFFLINE: E(['host'], 'You attempted an operation which involves a host which could not be contacted.'),
  CANNOT_CONTACT_HOST: E(['host'], 'Cannot forward messages because the server cannot be contacted. The server may be switched off or there may be network connectivity problems.'),
  HOST_CANNOT_DESTROY_SELF: E(['host'], 'The pool coordinator host cannot be removed.'),
  HOST_NAME_INVALID: E(['reason'], 'The server name is invalid.'),
  HOST_STILL_BOOTING: E([], 'The host failed to acquire an IP address on its management interface and therefore cannot contact the coordinator.'),
  HOST_HAS_NO_MANAGEMENT_IP: E([], 'The host failed to acquire an IP address on its management interface and therefore cannot contact the coordinator.'),
  HOST_ITS_OWN_SLAVE: E([], 'The host is its own supporter. Please use pool-emergency-transition-to-master or pool-emergency-reset-master.'),
  HOST_MASTER_CANNOT_TALK_BACK: E(['ip'], 'The coordinator reports that it cannot talk back to the supporter on the supplied management IP address.'),
  HOST_UNKNOWN_TO_MASTER: E(['host'], 'The coordinator says the server is not known to it. Is the server in the coordinator\'s database and pointing to the correct coordinator? Are all servers using the same pool secret?'),
  HOST_CANNOT_ATTACH_NETWORK: E(['host', 'network'], 'Host cannot attach network (in the case of NIC bonding, this may be because attaching the network on this host would require other networks - that are currently active - to be taken down).'),
  VM_REQUIRES_NETWORK: E(['vm', 'network'], 'You attempted to run a VM on a host which doesn\'t have a PIF on a Network needed by the VM. The VM has at least one VIF attached to the Network.'),
  VM_BAD_POWER_STATE: E(['vm', 'expected', 'actual'], 'You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM\'s handle, and the expected and actual VM state at the time of the call.'),
  // the datamodel names one; xapi's operation checks send the VM and the operation refused
  VM_IS_TEMPLATE: E(['vm', 'operation'], 'The operation attempted is not valid for a template VM'),
  VM_HAS_SRIOV_VIF: E(['vm'], 'The VM has SR-IOV VIFs and cannot be migrated.'),
  VM_MIGRATE_FAILED: E(['vm', 'source', 'destination', 'msg'], 'An error occurred during the migration process.'),
  NOT_IN_EMERGENCY_MODE: E([], 'This pool is not in emergency mode.'),
  POOL_NOT_IN_EMERGENCY_MODE: E([], 'This pool is not in emergency mode.'),
  HA_IS_ENABLED: E([], 'The operation could not be performed because HA is enabled on the Pool'),
  HA_NOT_ENABLED: E([], 'The operation could not be performed because HA is not enabled on the Pool'),
  REDO_LOG_IS_ENABLED: E([], 'The operation could not be performed because a redo log is enabled on the Pool.'),
  HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE: E([], 'This operation cannot be performed because creating or deleting a bond involving the management interface is not allowed while HA is on. In order to do that, disable HA, create or delete the bond then re-enable HA.'),
  HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED: E(['network'], 'This operation cannot be performed because the referenced network is not properly shared. The network must either be entirely virtual or must be physically present via a currently_attached PIF on every host.'),
  CLUSTERING_ENABLED: E(['cluster_host'], 'An operation was attempted while clustering was enabled on the cluster_host.'),
  SLAVE_REQUIRES_MANAGEMENT_INTERFACE: E([], 'The management interface on a supporter cannot be disabled because the supporter would enter emergency mode.'),

  // networking: networks
  // the datamodel names the first 'network', but every raise (assert_no_other_local_pifs) sends the host
  NETWORK_ALREADY_CONNECTED: E(['host', 'connected PIF'], 'You tried to create a PIF, but the network you tried to attach it to is already attached to some other PIF, and so the creation failed.'),
  NETWORK_CONTAINS_PIF: E(['pifs'], 'The network contains active PIFs and cannot be deleted.'),
  NETWORK_CONTAINS_VIF: E(['vifs'], 'The network contains active VIFs and cannot be deleted.'),
  NETWORK_UNMANAGED: E(['network'], 'The network is not managed by xapi.'),
  NETWORK_INCOMPATIBLE_PURPOSES: E(['new_purpose', 'conflicting_purpose'], 'You tried to add a purpose to a network but the new purpose is not compatible with an existing purpose of the network or other networks.'),
  NETWORK_INCOMPATIBLE_WITH_TRUNKS: E(['network'], 'The network is incompatible with VIF trunks.'),
  NETWORK_INCOMPATIBLE_WITH_BOND: E(['network'], 'The network is incompatible with bond'),
  NETWORK_INCOMPATIBLE_WITH_TUNNEL: E(['network'], 'The network is incompatible with tunnel'),
  NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE: E(['network'], 'The network is incompatible with VLAN on bridge'),
  NETWORK_INCOMPATIBLE_WITH_VLAN_ON_SRIOV: E(['network'], 'The network is incompatible with VLAN on SR-IOV'),
  NETWORK_INCOMPATIBLE_WITH_SRIOV: E(['network'], 'The network is incompatible with sriov'),
  NETWORK_HAS_INCOMPATIBLE_SRIOV_PIFS: E(['PIF', 'network'], 'The PIF is not compatible with the selected SR-IOV network'),
  NETWORK_HAS_INCOMPATIBLE_VLAN_ON_SRIOV_PIFS: E(['PIF', 'network'], 'VLAN on the PIF is not compatible with the selected SR-IOV VLAN network'),
  NETWORK_SRIOV_ALREADY_ENABLED: E(['PIF'], 'The PIF selected for the SR-IOV network is already enabled'),
  NETWORK_SRIOV_ENABLE_FAILED: E(['PIF', 'msg'], 'Failed to enable SR-IOV on PIF'),
  NETWORK_SRIOV_DISABLE_FAILED: E(['PIF', 'msg'], 'Failed to disable SR-IOV on PIF'),
  NETWORK_SRIOV_INSUFFICIENT_CAPACITY: E(['network'], 'There is insufficient capacity for VF reservation'),
  CANNOT_DESTROY_SYSTEM_NETWORK: E(['network'], 'You tried to destroy a system network: these cannot be destroyed.'),
  BRIDGE_NAME_EXISTS: E(['bridge'], 'The specified bridge already exists.'),
  BRIDGE_NOT_AVAILABLE: E(['bridge'], 'Could not find bridge required by VM.'),
  VIF_IN_USE: E(['network', 'VIF'], 'Network has active VIFs'),

  // networking: PIFs
  PIF_IS_MANAGEMENT_INTERFACE: E(['PIF'], 'The operation you requested cannot be performed because the specified PIF is the management interface.'),
  PIF_HAS_NO_NETWORK_CONFIGURATION: E(['PIF'], 'PIF has no IP configuration (mode currently set to \'none\')'),
  PIF_HAS_NO_V6_NETWORK_CONFIGURATION: E(['PIF'], 'PIF has no IPv6 configuration (mode currently set to \'none\')'),
  PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE: E(['PIF'], 'The primary address types are not compatible'),
  PIF_UNMANAGED: E(['PIF'], 'The operation you requested cannot be performed because the specified PIF is not managed by xapi.'),
  // the datamodel names a PIF, but VLAN.destroy and PIF.destroy raise it without one
  PIF_IS_PHYSICAL: E([], 'You tried to destroy a PIF, but it represents an aspect of the physical host configuration, and so cannot be destroyed.'),
  PIF_IS_VLAN: E(['PIF'], 'You tried to create a VLAN on top of another VLAN - use the underlying physical PIF/bond instead'),
  // the datamodel names a PIF, but xapi sends the tagged PIF's device name
  PIF_VLAN_EXISTS: E(['device'], 'You tried to create a PIF, but it already exists.'),
  PIF_VLAN_STILL_EXISTS: E(['PIF'], 'Operation cannot proceed while a VLAN exists on this interface.'),
  PIF_TUNNEL_STILL_EXISTS: E(['PIF'], 'Operation cannot proceed while a tunnel exists on this interface.'),
  PIF_SRIOV_STILL_EXISTS: E(['PIF'], 'The PIF is still related with a network SR-IOV'),
  PIF_ALREADY_BONDED: E(['PIF'], 'This operation cannot be performed because the pif is bonded.'),
  PIF_BOND_NEEDS_MORE_MEMBERS: E([], 'A bond must consist of at least two member interfaces'),
  PIF_BOND_MORE_THAN_ONE_IP: E([], 'Only one PIF on a bond is allowed to have an IP configuration.'),
  PIF_CANNOT_BOND_CROSS_HOST: E([], 'You cannot bond interfaces across different servers.'),
  PIF_DOES_NOT_ALLOW_UNPLUG: E(['PIF'], 'The operation you requested cannot be performed because the specified PIF does not allow unplug.'),
  PIF_DEVICE_NOT_FOUND: E([], 'The specified device was not found.'),
  PIF_IS_NOT_PHYSICAL: E(['PIF'], 'You tried to perform an operation which is only available on physical PIF'),
  PIF_IS_NOT_SRIOV_CAPABLE: E(['PIF'], 'The selected PIF is not capable of network SR-IOV'),
  PIF_IS_SRIOV_LOGICAL: E(['PIF'], 'The PIF is a SR-IOV logical PIF and cannot be used for this operation'),
  PIF_HAS_FCOE_SR_IN_USE: E(['PIF', 'SR'], 'The operation you requested cannot be performed because the specified PIF has FCoE SR in use.'),
  PIF_NOT_PRESENT: E(['host', 'network'], 'This host has no PIF on the given network.'),
  CANNOT_FORGET_SRIOV_LOGICAL: E(['PIF'], 'This is a network SR-IOV logical PIF and cannot do forget on it directly.'),
  CANNOT_CHANGE_PIF_PROPERTIES: E(['PIF'], 'This properties of this PIF cannot be changed. Only the properties of non-bonded physical PIFs, or bond interfaces can be changed.'),
  CANNOT_PLUG_BOND_SLAVE: E(['PIF'], 'This PIF is a bond member and cannot be plugged.'),
  CANNOT_ADD_VLAN_TO_BOND_SLAVE: E(['PIF'], 'This PIF is a bond member and cannot have a VLAN on it.'),
  CANNOT_ADD_TUNNEL_TO_BOND_SLAVE: E(['PIF'], 'This PIF is a bond member and cannot have a tunnel on it.'),
  CANNOT_ADD_TUNNEL_TO_SRIOV_LOGICAL: E(['PIF'], 'This is a network SR-IOV logical PIF and cannot have a tunnel on it.'),
  CANNOT_ADD_TUNNEL_TO_VLAN_ON_SRIOV_LOGICAL: E(['PIF'], 'This is a vlan PIF on network SR-IOV and cannot have a tunnel on it.'),
  IS_TUNNEL_ACCESS_PIF: E(['PIF'], 'Cannot create a VLAN or tunnel on top of a tunnel access PIF - use the underlying transport PIF instead.'),
  TRANSPORT_PIF_NOT_CONFIGURED: E(['PIF'], 'The tunnel transport PIF has no IP configuration set.'),
  REQUIRED_PIF_IS_UNPLUGGED: E(['PIF'], 'The operation you requested cannot be performed because the specified PIF is currently unplugged.'),
  INCOMPATIBLE_PIF_PROPERTIES: E([], 'These PIFs cannot be bonded, because their properties are different.'),
  DUPLICATE_PIF_DEVICE_NAME: E(['device'], 'A PIF with this specified device name already exists.'),
  COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS: E(['device', 'mac'], 'Could not find a network interface with the specified device name and MAC address.'),
  OPENVSWITCH_NOT_ACTIVE: E([], 'This operation needs the OpenVSwitch networking backend to be enabled on all hosts in the pool.'),
  VLAN_TAG_INVALID: E(['VLAN'], 'You tried to create a VLAN, but the tag you gave was invalid -- it must be between 0 and 4094. The parameter echoes the VLAN tag you gave.'),
  VLAN_IN_USE: E(['device', 'vlan'], 'Operation cannot be performed because this VLAN is already in use. Please check your network configuration.'),
  MAC_INVALID: E(['MAC'], 'The MAC address specified is not valid.'),
  INVALID_IP_ADDRESS_SPECIFIED: E(['parameter'], 'A required parameter contained an invalid IP address'),
  INVALID_CIDR_ADDRESS_SPECIFIED: E(['parameter'], 'A parameter contained an invalid CIDR address'),
  ADDRESS_VIOLATES_LOCKING_CONSTRAINT: E(['address'], 'The specified IP address violates the VIF locking configuration.'),

  // networking: VIFs
  DEVICE_ALREADY_ATTACHED: E(['device'], 'The device is already attached to a VM'),
  DEVICE_ALREADY_DETACHED: E(['device'], 'The device is not currently attached'),
  DEVICE_ALREADY_EXISTS: E(['device'], 'A device with the name given already exists on the selected VM'),
  INVALID_DEVICE: E(['device'], 'The device name is invalid'),
  VM_LACKS_FEATURE: E(['vm'], 'You attempted an operation on a VM which lacks the feature.'),

  // pool
  POOL_JOINING_HOST_HAS_BONDS: E([], 'The server joining the pool must not have any bonds.'),
  POOL_JOINING_HOST_HAS_TUNNELS: E([], 'The server joining the pool must not have any tunnels.'),
  POOL_JOINING_HOST_HAS_NETWORK_SRIOVS: E([], 'The server joining the pool must not have any network SR-IOVs.'),
  POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS: E([], 'The server joining the pool must not have any non-management vlans.'),
  POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH: E(['local', 'remote'], 'The server joining the pool must have the same management vlan.'),
  JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS: E([], 'The host joining the pool cannot already be a coordinator of another pool.'),
  JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS: E([], 'The server joining the pool cannot contain any shared storage.'),
  JOINING_HOST_CONNECTION_FAILED: E([], 'There was an error connecting to the host while joining it in the pool.'),
  JOINING_HOST_SERVICE_FAILED: E([], 'There was an error connecting to the host. the service contacted didn\'t reply properly.'),
  POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION: E(['host_api_version', 'master_api_version'], 'The host joining the pool must have the same API version as the pool coordinator.'),
  HOST_IS_LIVE: E(['host'], 'This operation cannot be completed as the host is still live.'),
  SSL_VERIFY_ERROR: E(['reason'], 'The remote system\'s SSL certificate failed to verify against our certificate library.'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

type ParamsTuple<P extends readonly unknown[]> = { -readonly [I in keyof P]: unknown };
/**
 * Codes raised with one parameter per object (the catalogue names the list once). Where xapi's
 * datamodel misnames what its raises send, the catalogue above names what is sent (a comment
 * says so), so that xe prints each value under its own name.
 */
interface RaisedParams {
  /** Every PIF / VIF, one parameter each. */
  NETWORK_CONTAINS_PIF: unknown[];
  NETWORK_CONTAINS_VIF: unknown[];
}

/** The parameters a code takes, one per name in the catalogue (their values go on the wire as strings). */
export type ErrorParams<C extends ErrorCode> = C extends keyof RaisedParams ? RaisedParams[C] : ParamsTuple<(typeof ERRORS)[C]['params']>;
/** [code, params] for every code of the catalogue: what constructing a XapiError takes. */
type CodeAndParams = { [C in ErrorCode]: [code: C, params: ErrorParams<C>] }[ErrorCode];

/** A XenAPI failure: code plus string parameters, exactly what goes on the wire. */
class XapiErrorValue extends Error {
  readonly code: string;
  readonly params: string[];
  constructor(code: string, params: readonly unknown[] = []) {
    super(`${code}(${params.map(String).join(', ')})`);
    this.code = code;
    this.params = params.map((x) => String(x));
  }
  /** [CODE, ...params] as in ErrorDescription. */
  get description(): string[] {
    return [this.code, ...this.params];
  }
}

/**
 * How a XapiError is made: by a code of the catalogue, with as many parameters as the catalogue
 * names (or as xapi raises it: RaisedParams), checked at compile time.
 */
interface XapiErrorClass {
  new (...args: CodeAndParams): XapiErrorValue;
  readonly prototype: XapiErrorValue;
  /** A code that is not ours to check: a peer's answer, the protocol's own Fault. */
  relayed(code: string, params?: readonly unknown[]): XapiErrorValue;
}

export type XapiError = XapiErrorValue;
// the class itself, typed by the catalogue: `instanceof XapiError` and subclasses work as before
export const XapiError = Object.assign(XapiErrorValue, {
  relayed: (code: string, params: readonly unknown[] = []): XapiErrorValue => new XapiErrorValue(code, params),
}) as XapiErrorClass;

export function fail<C extends ErrorCode>(code: C, ...params: ErrorParams<C>): never {
  throw new XapiErrorValue(code, params); // checked by the signature
}

export function isKnownError(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code);
}
