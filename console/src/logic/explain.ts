// XenAPI failures as the console shows them: the code, its parameters by name and the sentence
// from the model's error catalogue (src/model/errors.ts), plus a plain explanation of what it
// means for the person at the console and what to do about it.

import { errorSpec, rolesFor } from './model.ts';
import type { Store } from './store.ts';
import { describeRef, xeRefText } from './topology.ts';

export interface ExplainedError {
  readonly code: string;
  /**
   * The parameters under the catalogue's names; `value` as `xe` prints it (an object as
   * "uuid (name)"), `raw` as the server sent it, `described` in the console's words.
   */
  readonly params: readonly { name: string; value: string; raw: string; described?: string }[];
  /** The model's sentence for the code ("" for a code outside the catalogue). */
  readonly doc: string;
  /** What it means here, in plain words. */
  readonly plain: string;
}

type Explainer = (p: string[], d: (ref: string) => string) => string;

/** Plain explanations, keyed by error code; `d` names a reference ("network \"vlan5\""). */
export const PLAIN: Readonly<Record<string, Explainer>> = {
  SESSION_AUTHENTICATION_FAILED: () => 'The user name or password is wrong, or the account has no role. Check them and log in again.',
  SESSION_INVALID: () => 'Your session has ended (logged out, timed out, or the server restarted). Log in again.',
  RBAC_PERMISSION_DENIED: (p) => `Your role does not allow ${p[0] ?? 'this call'}. ${p[1]?.match(/\(Roles with this permission: ([^)]*)\)/) ? `Ask someone with one of these roles: ${p[1].match(/\(Roles with this permission: ([^)]*)\)/)![1]}.` : ''}`.trim(),
  PERMISSION_DENIED: () => 'This account may not do that.',
  HANDLE_INVALID: (p) => `The ${p[0] ?? 'object'} no longer exists: someone may just have removed it. The picture shows the current state.`,
  UUID_INVALID: () => 'No object has that UUID.',
  INVALID_VALUE: (p) => `The value "${p[1] ?? ''}" is not valid for ${p[0] ?? 'this field'}.`,
  FIELD_TYPE_ERROR: (p) => `The value given for ${p[0] ?? 'a field'} has the wrong type.`,
  VALUE_NOT_SUPPORTED: (p) => `${p[0] ?? 'The field'} cannot take "${p[1] ?? ''}": ${p[2] ?? ''}`,
  OPERATION_NOT_ALLOWED: (p) => `The server refused: ${p[0] ?? 'the operation is not allowed in the current state'}.`,
  OTHER_OPERATION_IN_PROGRESS: () => 'Another operation on this object is running. Wait for it to finish, then try again.',
  INTERNAL_ERROR: (p) => `The server failed unexpectedly: ${p[0] ?? ''}. The change was not made.`,
  MESSAGE_METHOD_UNKNOWN: (p) => `The server does not know the call ${p[0] ?? ''}.`,
  MESSAGE_PARAMETER_COUNT_MISMATCH: (p) => `The call ${p[0] ?? ''} got the wrong number of parameters.`,
  MAP_DUPLICATE_KEY: (p) => `The key "${p[3] ?? ''}" is already set; remove it first or set the whole map.`,
  HA_IS_ENABLED: () => 'High availability is on in this pool. Bonds and the management interface cannot be changed while it is on: disable HA, make the change, then enable HA again.',
  HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE: () => 'While HA is on, a bond that involves the management interface cannot be created or removed. Disable HA first.',
  CLUSTERING_ENABLED: () => 'Clustering is enabled on this host; its interface cannot be reconfigured now.',
  HOST_OFFLINE: (p, d) => `${d(p[0])} cannot be contacted right now.`,
  CANNOT_CONTACT_HOST: (p, d) => `${d(p[0])} cannot be contacted: it may be off, or its network may be down.`,
  LICENCE_RESTRICTION: (p) => `The feature ${p[0] ?? ''} is not licensed.`,

  NETWORK_ALREADY_CONNECTED: (p, d) => `${d(p[0])} already has an interface on this host (${d(p[1])}). A network is carried by at most one interface per host: pick a new network, or remove that interface first.`,
  NETWORK_CONTAINS_PIF: (p, d) => `The network is still carried by host interfaces (${p.map(d).join(', ')}). Remove its VLANs, bonds or tunnels first; the console's "Remove network" does this for you.`,
  NETWORK_CONTAINS_VIF: (p, d) => `VMs are still connected and running on this network (${p.map(d).join(', ')}). Shut them down or move their VIFs first.`,
  NETWORK_UNMANAGED: (p, d) => `${d(p[0])} is not managed by the toolstack, so it cannot be changed here.`,
  NETWORK_INCOMPATIBLE_PURPOSES: (p) => `The purpose ${p[0] ?? ''} conflicts with ${p[1] ?? 'an existing purpose'}.`,
  NETWORK_INCOMPATIBLE_WITH_TRUNKS: (p, d) => `${d(p[0])} cannot be used with VLAN trunks on a VIF.`,
  NETWORK_INCOMPATIBLE_WITH_BOND: (p, d) => `${d(p[0])} is already carried by something else (a VLAN, tunnel or SR-IOV); a bond needs a network of its own. Use a new network for the bond.`,
  NETWORK_INCOMPATIBLE_WITH_TUNNEL: (p, d) => `${d(p[0])} is already carried by a NIC, bond or VLAN; a cross-server private network needs a network of its own.`,
  NETWORK_INCOMPATIBLE_WITH_VLAN_ON_BRIDGE: (p, d) => `${d(p[0])} already runs on SR-IOV on some host, so it cannot also be a VLAN on a bridge.`,
  NETWORK_INCOMPATIBLE_WITH_VLAN_ON_SRIOV: (p, d) => `${d(p[0])} already runs as a VLAN on a bridge, so it cannot also be a VLAN on SR-IOV.`,
  NETWORK_INCOMPATIBLE_WITH_SRIOV: (p, d) => `${d(p[0])} is already used otherwise; SR-IOV needs a new network.`,
  NETWORK_HAS_INCOMPATIBLE_SRIOV_PIFS: (p, d) => `${d(p[0])} is a different NIC model from the one already on ${d(p[1])}; an SR-IOV network needs the same NIC on every host.`,
  NETWORK_HAS_INCOMPATIBLE_VLAN_ON_SRIOV_PIFS: (p, d) => `${d(p[0])} does not match the SR-IOV NICs of ${d(p[1])}.`,
  NETWORK_SRIOV_ALREADY_ENABLED: (p, d) => `SR-IOV is already enabled on ${d(p[0])}.`,
  NETWORK_SRIOV_ENABLE_FAILED: (p, d) => `SR-IOV could not be enabled on ${d(p[0])}: ${p[1] ?? ''}`,
  NETWORK_SRIOV_DISABLE_FAILED: (p, d) => `SR-IOV could not be disabled on ${d(p[0])}: ${p[1] ?? ''}`,
  NETWORK_SRIOV_INSUFFICIENT_CAPACITY: (p, d) => `All virtual functions of ${d(p[0])} are taken.`,
  CANNOT_DESTROY_SYSTEM_NETWORK: (p, d) => `${d(p[0])} is the host-internal management network; it cannot be removed.`,
  BRIDGE_NAME_EXISTS: (p) => `A network already uses the bridge ${p[0] ?? ''}; leave the bridge empty to get a free one.`,
  BRIDGE_NOT_AVAILABLE: (p) => `The bridge ${p[0] ?? ''} is missing on the host.`,
  VIF_IN_USE: (p, d) => `${d(p[0])} has active VIFs (${p.slice(1).map(d).join(', ') || 'attached to running VMs'}). The XenServer documentation: "You cannot change the default-locking-mode of a network that has active VIFs attached to it." Shut down those VMs or unplug their VIFs, change the default, then start them again — or set the locking mode on each VIF instead.`,

  PIF_IS_MANAGEMENT_INTERFACE: (p, d) => `${d(p[0])} is the management interface: it cannot lose its IP configuration or be unplugged. Move the management interface to another interface first.`,
  PIF_HAS_NO_NETWORK_CONFIGURATION: (p, d) => `${d(p[0])} has no IP configuration. Give it an address (IP configuration: DHCP or Static) before making it the management interface.`,
  PIF_HAS_NO_V6_NETWORK_CONFIGURATION: (p, d) => `${d(p[0])} has no IPv6 configuration. Configure IPv6 on it first.`,
  PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE: () => 'The interfaces use different primary address types (IPv4 / IPv6).',
  PIF_UNMANAGED: (p, d) => `${d(p[0])} is not managed by the toolstack.`,
  PIF_IS_PHYSICAL: () => 'This is a physical NIC: it cannot be removed (only forgotten, with PIF.forget).',
  PIF_IS_VLAN: (p, d) => `${d(p[0])} is itself a VLAN interface: VLANs cannot be nested. Choose the NIC or bond under it.`,
  PIF_VLAN_EXISTS: (p, d) => `${d(p[0])} already carries this VLAN tag (or has VLANs, which a bond member may not have): pick another tag or NIC.`,
  PIF_VLAN_STILL_EXISTS: (p, d) => `VLANs still run on ${d(p[0])}. Remove them first.`,
  PIF_TUNNEL_STILL_EXISTS: (p, d) => `A cross-server private network still uses ${d(p[0])}. Remove it first.`,
  PIF_SRIOV_STILL_EXISTS: (p, d) => `${d(p[0])} still has SR-IOV enabled. Remove the SR-IOV network first.`,
  PIF_ALREADY_BONDED: (p, d) => `${d(p[0])} is already a member of a bond.`,
  PIF_BOND_NEEDS_MORE_MEMBERS: () => 'A bond needs at least two NICs: tick two or more.',
  PIF_BOND_MORE_THAN_ONE_IP: () => 'More than one of the chosen NICs has an IP address. Only one member may carry an IP configuration (it moves to the bond): remove the others\' addresses first.',
  PIF_CANNOT_BOND_CROSS_HOST: () => 'The NICs belong to different hosts; a bond joins NICs of one host.',
  PIF_DOES_NOT_ALLOW_UNPLUG: (p, d) => `${d(p[0])} is marked disallow-unplug (for example, it carries storage traffic).`,
  PIF_DEVICE_NOT_FOUND: () => 'The host has no such network device.',
  PIF_IS_NOT_PHYSICAL: (p, d) => `${d(p[0])} is not a physical NIC; this works only on a physical NIC.`,
  PIF_IS_NOT_SRIOV_CAPABLE: (p, d) => `${d(p[0])} does not support SR-IOV. Choose a NIC whose capabilities include sriov.`,
  PIF_IS_SRIOV_LOGICAL: (p, d) => `${d(p[0])} is an SR-IOV logical interface and cannot be used for this.`,
  PIF_HAS_FCOE_SR_IN_USE: (p, d) => `${d(p[0])} carries an FCoE storage repository in use.`,
  PIF_NOT_PRESENT: (p, d) => `${d(p[0])} has no interface on ${d(p[1])}.`,
  CANNOT_FORGET_SRIOV_LOGICAL: (p, d) => `${d(p[0])} belongs to an SR-IOV network; remove that network instead.`,
  CANNOT_CHANGE_PIF_PROPERTIES: (p, d) => `The properties of ${d(p[0])} cannot be changed: only unbonded NICs and bonds have them.`,
  CANNOT_PLUG_BOND_SLAVE: (p, d) => `${d(p[0])} is a bond member; use the bond instead.`,
  CANNOT_ADD_VLAN_TO_BOND_SLAVE: (p, d) => `${d(p[0])} is a member of a bond: put the VLAN on the bond instead.`,
  CANNOT_ADD_TUNNEL_TO_BOND_SLAVE: (p, d) => `${d(p[0])} is a member of a bond: use the bond as the transport instead.`,
  CANNOT_ADD_TUNNEL_TO_SRIOV_LOGICAL: (p, d) => `${d(p[0])} is an SR-IOV interface and cannot carry a tunnel.`,
  CANNOT_ADD_TUNNEL_TO_VLAN_ON_SRIOV_LOGICAL: (p, d) => `${d(p[0])} is a VLAN on SR-IOV and cannot carry a tunnel.`,
  IS_TUNNEL_ACCESS_PIF: (p, d) => `${d(p[0])} is the inside of a cross-server private network; use the interface that carries it.`,
  TRANSPORT_PIF_NOT_CONFIGURED: (p, d) => `${d(p[0])} has no IP address. The XenServer documentation: a cross-server private network must run over the management interface or a secondary interface (an IP-enabled NIC). Configure an IP on it first.`,
  REQUIRED_PIF_IS_UNPLUGGED: (p, d) => `${d(p[0])} is unplugged.`,
  INCOMPATIBLE_PIF_PROPERTIES: () => 'The chosen NICs have different properties (such as offload settings); a bond needs NICs that match.',
  DUPLICATE_PIF_DEVICE_NAME: (p) => `A PIF for ${p[0] ?? 'this device'} already exists on that host.`,
  COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS: (p) => `The host has no NIC ${p[0] ?? ''} with MAC ${p[1] ?? ''}.`,
  OPENVSWITCH_NOT_ACTIVE: () => 'Cross-server private networks need the Open vSwitch network stack on every host of the pool.',
  VLAN_TAG_INVALID: (p) => `The VLAN tag ${p[0] ?? ''} is not valid: use a number from 0 to 4094.`,
  VLAN_IN_USE: (p) => `VLAN ${p[1] ?? ''} is already in use on ${p[0] ?? 'that device'}: each tag can be used once per NIC.`,
  MAC_INVALID: (p) => `"${p[0] ?? ''}" is not a MAC address (six hex pairs such as 02:00:00:aa:bb:cc), or leave it empty.`,
  INVALID_IP_ADDRESS_SPECIFIED: (p) => `The ${p[0] ?? 'address'} is not a valid IP address.`,
  INVALID_CIDR_ADDRESS_SPECIFIED: (p) => (p[0]?.endsWith('_allowed')
    ? `A prefix in ${p[0]} has address bits set past its length (10.77.0.104/24): write the subnet (10.77.0.0/24) or the one address (10.77.0.104). poolnet refuses it so that a typo cannot open the lock to a whole subnet.`
    : `The ${p[0] ?? 'address'} must be written as address/prefix, such as 2001:db8::5/64.`),
  ADDRESS_VIOLATES_LOCKING_CONSTRAINT: (p) => `${p[0] ?? 'That address'} is not among the VIF's allowed addresses while it is locked.`,
  HOST_CANNOT_ATTACH_NETWORK: (p, d) => `${d(p[0])} cannot reach ${d(p[1])}.`,
  VM_REQUIRES_NETWORK: (p, d) => `${d(p[0])} needs ${d(p[1])}, which the host cannot reach.`,
  VM_BAD_POWER_STATE: (p, d) => `${d(p[0])} is ${p[2] ?? 'in the wrong state'}; it must be ${p[1] ?? ''}.`,
  VM_HAS_SRIOV_VIF: (p, d) => `${d(p[0])} has an SR-IOV VIF and so cannot be migrated.`,
  VM_MIGRATE_FAILED: (p, d) => `${d(p[0])} could not move from ${d(p[1])} to ${d(p[2])}${p[3] ? `: ${p[3]}` : ''}. See where it runs now (the VM's host), check that both hosts reach its networks, and try again.`,
  VM_LACKS_FEATURE: (p, d) => `${d(p[0])} lacks the guest feature needed.`,
  DEVICE_ALREADY_ATTACHED: () => 'The VIF is already plugged in.',
  DEVICE_ALREADY_DETACHED: () => 'The VIF is already unplugged.',
  DEVICE_ALREADY_EXISTS: (p) => `The VM already has a VIF ${p[0] ?? ''}.`,
  INVALID_DEVICE: (p) => `"${p[0] ?? ''}" is not a valid device number.`,
  SLAVE_REQUIRES_MANAGEMENT_INTERFACE: () => 'A pool member needs its management interface to reach the coordinator.',
  NOT_IN_EMERGENCY_MODE: () => 'This host is not in emergency mode.',
  HOST_NAME_INVALID: (p) => `That host name is not valid: ${p[0] ?? ''}.`,
  HOST_IS_SLAVE: (p) => `This server is a pool member; connect to the pool coordinator${p[0] ? ` at ${p[0]}` : ''} instead.`,
  HOST_STILL_BOOTING: () => 'The host has no address on its management interface yet, so it cannot reach the coordinator. Wait, or check its management interface.',
  HOST_CANNOT_DESTROY_SELF: () => 'The pool coordinator cannot be removed from its own pool. Designate another coordinator first.',
  CHANGE_PASSWORD_REJECTED: (p) => `The password was not changed: ${p[0] ?? 'the old password is wrong or the new one is not accepted'}.`,
  POOL_JOINING_HOST_HAS_BONDS: () => 'A host joining a pool must have no bonds: remove them on it first; the pool\'s bonds are then created on it.',
  POOL_JOINING_HOST_HAS_TUNNELS: () => 'A host joining a pool must have no cross-server private networks: remove them on it first.',
  POOL_JOINING_HOST_HAS_NETWORK_SRIOVS: () => 'A host joining a pool must have no SR-IOV networks: remove them on it first.',
  POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS: () => 'A host joining a pool may have no VLANs other than its management VLAN: remove them on it first.',
  POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH: (p) => `The joining host's management VLAN (${p[0] ?? '?'}) differs from the pool's (${p[1] ?? '?'}).`,
  JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS: () => 'The joining host is itself the coordinator of other hosts; eject them first.',
  JOINING_HOST_CONNECTION_FAILED: () => 'The joining host and the pool\'s master could not reach each other: check the address, and that each reaches the other\'s XenAPI port.',
  SSL_VERIFY_ERROR: (p) => `A host did not show the certificate pinned for it when it joined the pool, so nothing was sent to it. ${p[0] ?? ''}`.trim(),
};

/**
 * The name of parameter `i` from the catalogue. A list longer than the catalogue's (VIF_IN_USE
 * names every active VIF) repeats the last name; a code outside the catalogue has "parameter".
 */
function paramName(names: readonly string[], i: number): string {
  if (i < names.length) return names[i];
  return names.length ? names[names.length - 1] : 'parameter';
}

/** The XenAPI failure [code, ...params] explained with the model's sentence and plain words. */
export function explain(description: readonly string[], store?: Store): ExplainedError {
  const [code = 'UNKNOWN', ...params] = description;
  const spec = errorSpec(code);
  const d = (ref: string): string => (store && describeRef(store, ref)) ?? ref ?? '';
  const named = params.map((raw, i) => ({ name: paramName(spec?.params ?? [], i), value: (store && xeRefText(store, raw)) ?? raw, raw, described: store ? describeRef(store, raw) : undefined }));
  const plainOf = PLAIN[code];
  let plain = plainOf ? plainOf(params, d) : '';
  if (code === 'RBAC_PERMISSION_DENIED' && params[0] && !plain.includes('Ask')) plain += ` Roles allowed: ${rolesFor(params[0]).join(', ')}.`;
  if (!plain) plain = spec ? 'The server refused the change; nothing was modified.' : `The server answered ${code}.`;
  plain = plain.charAt(0).toUpperCase() + plain.slice(1);
  return { code, params: named, doc: spec?.doc ?? '', plain };
}
