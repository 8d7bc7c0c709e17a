import { f, m, p, t, type ClassSpec } from '../types.ts';
import { pool_allowed_operations } from '../enums.ts';

export const pool = {
  name: 'pool',
  doc: 'Pool-wide information',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'pool',
  cliListColumns: ['uuid', 'name-label', 'name-description', 'master', 'default-SR'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'RW'),
    f('name_description', t.string, 'RW'),
    f('master', t.ref('host'), 'DynamicRO'),
    f('default_SR', t.ref('SR'), 'RW'),
    f('suspend_image_SR', t.ref('SR'), 'RW'),
    f('crash_dump_SR', t.ref('SR'), 'RW'),
    f('other_config', t.smap, 'RW', { keyRoles: [{ prefix: 'folder', role: 'vm-operator' }, { prefix: 'XenCenter.CustomFields.', role: 'vm-operator' }, { prefix: 'EMPTY_FOLDERS', role: 'vm-operator' }] }),
    f('allowed_operations', t.set(pool_allowed_operations), 'DynamicRO'),
    f('current_operations', t.map(t.string, pool_allowed_operations), 'DynamicRO'),
    f('ha_enabled', t.bool, 'DynamicRO'),
    f('ha_configuration', t.smap, 'DynamicRO'),
    f('ha_statefiles', t.set(t.string), 'DynamicRO'),
    f('ha_host_failures_to_tolerate', t.int, 'DynamicRO'),
    f('ha_plan_exists_for', t.int, 'DynamicRO'),
    f('ha_allow_overcommit', t.bool, 'RW'),
    f('ha_overcommitted', t.bool, 'DynamicRO'),
    f('blobs', t.map(t.string, t.ref('blob')), 'DynamicRO'),
    f('tags', t.set(t.string), 'RW', { writeRole: 'vm-operator' }),
    f('gui_config', t.smap, 'RW', { writeRole: 'vm-operator' }),
    f('vswitch_controller', t.string, 'DynamicRO', { cli: false }),
    f('redo_log_enabled', t.bool, 'DynamicRO', { cli: false }),
    f('cpu_info', t.smap, 'DynamicRO', { cli: 'cpu_info' }),
    f('igmp_snooping_enabled', t.bool, 'DynamicRO'),
    // poolnet: local root's password hash and the secret members log in with; never published.
    f('root_password_hash', t.string, 'DynamicRO', { internal: true }),
    f('pool_secret', t.string, 'DynamicRO', { internal: true }),
  ],
  messages: [
    m('join', [p('master_address', t.string), p('master_username', t.string), p('master_password', t.string)], t.void, 'pool-operator',
      ['POOL_JOINING_HOST_HAS_BONDS', 'POOL_JOINING_HOST_HAS_TUNNELS', 'POOL_JOINING_HOST_HAS_NETWORK_SRIOVS', 'POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS', 'POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH', 'OPERATION_NOT_ALLOWED', 'HOST_STILL_BOOTING', 'JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS'], { doc: 'Instruct host to join a new pool', async: true }),
    m('join_force', [p('master_address', t.string), p('master_username', t.string), p('master_password', t.string)], t.void, 'pool-operator', [], { doc: 'Instruct host to join a new pool', async: true }),
    m('eject', [p('host', t.ref('host'))], t.void, 'pool-operator', ['HA_IS_ENABLED', 'HOST_CANNOT_DESTROY_SELF'], { doc: 'Instruct a pool master to eject a host from the pool', async: true }),
    m('emergency_transition_to_master', [], t.void, 'pool-operator', ['HA_IS_ENABLED'], { doc: 'Instruct host that\'s currently a slave to transition to being master' }),
    m('emergency_reset_master', [p('master_address', t.string)], t.void, 'pool-operator', ['HA_IS_ENABLED'], { doc: 'Instruct a slave already in a pool that the master has changed' }),
    m('recover_slaves', [], t.set(t.ref('host')), 'pool-operator', [], { doc: 'Instruct a pool master, M, to try and contact its slaves and, if slaves are in emergency mode, reset their master address to M.', async: true }),
    m('designate_new_master', [p('host', t.ref('host'))], t.void, 'pool-operator', ['HA_IS_ENABLED', 'HOST_OFFLINE', 'SSL_VERIFY_ERROR'], { doc: 'Perform an orderly handover of the role of master to the referenced host.', async: true }),
    m('management_reconfigure', [p('network', t.ref('network'))], t.void, 'pool-operator', ['HA_IS_ENABLED', 'PIF_NOT_PRESENT', 'PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', 'CANNOT_PLUG_BOND_SLAVE', 'PIF_HAS_NO_NETWORK_CONFIGURATION', 'PIF_HAS_NO_V6_NETWORK_CONFIGURATION'], { doc: 'Reconfigure the management network interface for all Hosts in the Pool', async: true }),
    m('create_VLAN', [p('device', t.string, { valueType: 'ifName' }), p('network', t.ref('network')), p('VLAN', t.int, { valueType: 'vlanTag' })], t.set(t.ref('PIF')), 'pool-operator', ['VLAN_TAG_INVALID'], { doc: 'Create PIFs, mapping a network to the same physical interface/VLAN on each host. This call is deprecated: use Pool.create_VLAN_from_PIF instead.', async: true }),
    m('create_VLAN_from_PIF', [p('pif', t.ref('PIF')), p('network', t.ref('network')), p('VLAN', t.int, { valueType: 'vlanTag' })], t.set(t.ref('PIF')), 'pool-operator', ['VLAN_TAG_INVALID'], { doc: 'Create a pool-wide VLAN by taking the PIF.', async: true }),
    m('sync_database', [], t.void, 'pool-operator', [], { doc: 'Forcibly synchronise the database now', async: true }),
    m('set_vswitch_controller', [p('address', t.string, { valueType: 'ipv4', emptyOk: true })], t.void, 'pool-operator', ['OPERATION_NOT_ALLOWED'], { doc: 'Set the IP address of the vswitch controller.', async: true }),
    m('set_igmp_snooping_enabled', [p('self', t.ref('pool')), p('value', t.bool)], t.void, 'pool-operator', ['OPENVSWITCH_NOT_ACTIVE'], { doc: 'Enable or disable IGMP Snooping on the pool.', async: true }),
    // poolnet's pool plumbing (hidden). 'pool-member': only a session made with the pool secret
    // (session.slave_login) may call these, never a user's, whatever the role: they return or act
    // on the pool's secrets (password hashes, session refs, the pool secret itself).
    m('replica_from', [p('token', t.string), p('timeout', t.float)], t.any, 'pool-member', [], { hidden: true, doc: 'Members: every row changed since the token, internal fields included.' }),
    m('replica_write', [p('updates', t.any)], t.void, 'pool-member', [], { hidden: true, doc: 'Members: write status rows of their host.' }),
    m('join_introduce', [p('host_info', t.any)], t.any, 'pool-member', ['OPERATION_NOT_ALLOWED'], { hidden: true, doc: 'The master side of pool.join: introduce the joining host, which holds the secret by now, and its NICs.' }),
    m('eject_self', [], t.void, 'pool-member', [], { hidden: true, doc: 'A member told by its master to leave the pool.' }),
    // The joining host asks the master, with the session of the credentials given to pool.join,
    // to admit it. The master answers nothing secret: it sends the secret itself to the joining
    // host's daemon (pool.join_deliver), over TLS pinned to the certificate named here. Admitting
    // a host hands it the pool database, so only local root may authorise it (xapi's
    // pool.initial_auth, which returns the secret, is open to pool-operator).
    m('join_request', [p('address', t.string), p('fingerprint', t.string), p('nonce', t.string)], t.void, 'local-root-only', ['JOINING_HOST_CONNECTION_FAILED', 'SSL_VERIFY_ERROR'], { hidden: true, doc: 'The master side of pool.join: authorise a join and send the pool secret to the joining host.' }),
    m('join_deliver', [p('nonce', t.string), p('psecret', t.string)], t.void, 'read-only', ['SESSION_AUTHENTICATION_FAILED'], { hidden: true, sessionless: true, doc: 'The joining host side: the master hands over the pool secret for the join this host has in progress.' }),
    m('set_ha_enabled', [p('self', t.ref('pool')), p('value', t.bool)], t.void, 'pool-operator', [], { doc: 'poolnet: HA itself is outside networking; this flag is what the networking rules act on.' }),
  ],
} as const satisfies ClassSpec;
