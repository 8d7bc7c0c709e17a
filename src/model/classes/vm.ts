import { f, m, p, t, type ClassSpec } from '../types.ts';
import { vm_operations, vm_power_state } from '../enums.ts';

// VM: only what networking needs (VIFs, where it runs, power state).
export const VM = {
  name: 'VM',
  doc: 'A virtual machine (or \'guest\').',
  defaultRole: 'vm-admin',
  getAll: true,
  ctor: true,
  dtor: true,
  cliPrefix: 'vm',
  cliListColumns: ['uuid', 'name-label', 'power-state'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('allowed_operations', t.set(vm_operations), 'DynamicRO'),
    f('current_operations', t.map(t.string, vm_operations), 'DynamicRO'),
    f('name_label', t.string, 'RW'),
    f('name_description', t.string, 'RW'),
    f('power_state', vm_power_state, 'DynamicRO', { default: 'Halted', cli: 'power-state' }),
    f('is_a_template', t.bool, 'RW'),
    f('is_control_domain', t.bool, 'DynamicRO', { cli: 'is-control-domain' }),
    f('resident_on', t.ref('host'), 'DynamicRO', { cli: 'resident-on' }),
    // the domain id while running (-1 halted): names the VIF's switch port vif<domid>.<device>
    f('domid', t.int, 'DynamicRO', { default: -1, cli: 'dom-id' }),
    f('affinity', t.ref('host'), 'RW'),
    f('VIFs', t.set(t.ref('VIF')), 'DynamicRO', { reverseOf: { cls: 'VIF', field: 'VM' }, cli: false }),
    f('other_config', t.smap, 'RW'),
    f('tags', t.set(t.string), 'RW', { writeRole: 'vm-operator' }),
    // poolnet extensions: a live migration's two phases, through the database (src/domain/migration.ts)
    f('migration', t.smap, 'DynamicRO', { cli: false, doc: 'poolnet extension: the live migration in progress, as the master ordered it: id, phase (prepare: the destination readies the VM\'s switch ports; switch: it takes the VM\'s NICs over), source and destination (hosts), domid (the VM\'s domain id on the destination). Empty when none.' }),
    f('migration_report', t.smap, 'DynamicRO', { cli: false, doc: 'poolnet extension: the destination\'s answer to the last live migration: id, state (prepared, switched or failed), reason, prepared_at and switched_at (ms since the epoch, the destination\'s clock).' }),
  ],
  messages: [
    m('start', [p('vm', t.ref('VM')), p('start_paused', t.bool, { default: false }), p('force', t.bool, { default: false })], t.void, 'vm-operator', ['VM_BAD_POWER_STATE', 'VM_REQUIRES_NETWORK'], { doc: 'Start the specified VM. This function can only be called with the VM is in the Halted State.', async: true }),
    m('start_on', [p('vm', t.ref('VM')), p('host', t.ref('host')), p('start_paused', t.bool, { default: false }), p('force', t.bool, { default: false })], t.void, 'vm-power-admin', ['VM_BAD_POWER_STATE', 'VM_REQUIRES_NETWORK'], { doc: 'Start the specified VM on a particular host. This function can only be called with the VM is in the Halted State.', async: true }),
    m('hard_shutdown', [p('vm', t.ref('VM'))], t.void, 'vm-operator', ['VM_BAD_POWER_STATE'], { doc: 'Stop executing the specified VM without attempting a clean shutdown.', async: true }),
    m('clean_shutdown', [p('vm', t.ref('VM'))], t.void, 'vm-operator', ['VM_BAD_POWER_STATE'], { doc: 'Attempt to cleanly shutdown the specified VM. This can only be called when the specified VM is in the Running state.', async: true }),
    m('pool_migrate', [p('vm', t.ref('VM')), p('host', t.ref('host')), p('options', t.smap, { default: {} })], t.void, 'vm-power-admin', ['VM_BAD_POWER_STATE', 'VM_REQUIRES_NETWORK', 'HOST_CANNOT_ATTACH_NETWORK', 'VM_HAS_SRIOV_VIF', 'OTHER_OPERATION_IN_PROGRESS', 'VM_MIGRATE_FAILED'], { doc: 'Migrate a VM to another Host.', async: true }),
    m('get_allowed_VIF_devices', [p('vm', t.ref('VM'))], t.set(t.string), 'read-only', [], { doc: 'Returns a list of the allowed values that a VIF device field can take' }),
    m('assert_can_boot_here', [p('self', t.ref('VM')), p('host', t.ref('host'))], t.void, 'read-only', ['VM_REQUIRES_NETWORK'], { doc: 'Returns an error if the VM could not boot on this host for some reason', async: true }),
  ],
} as const satisfies ClassSpec;
