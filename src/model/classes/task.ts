import { f, m, p, t, type ClassSpec } from '../types.ts';
import { task_allowed_operations, task_status_type } from '../enums.ts';

// Every task message is open to read-only, as in xapi; a session acts only on tasks of its own
// subject unless it holds task.destroy/any (pool-operator and above): see src/api/tasks.ts.

export const task = {
  name: 'task',
  doc: 'A long-running asynchronous task',
  defaultRole: 'read-only',
  getAll: true,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('name_label', t.string, 'DynamicRO'),
    f('name_description', t.string, 'DynamicRO'),
    f('allowed_operations', t.set(task_allowed_operations), 'DynamicRO'),
    f('current_operations', t.map(t.string, task_allowed_operations), 'DynamicRO'),
    f('created', t.datetime, 'DynamicRO'),
    f('finished', t.datetime, 'DynamicRO'),
    f('status', task_status_type, 'DynamicRO'),
    f('resident_on', t.ref('host'), 'DynamicRO'),
    f('progress', t.float, 'DynamicRO'),
    f('type', t.string, 'DynamicRO'),
    f('result', t.string, 'DynamicRO'),
    f('error_info', t.set(t.string), 'DynamicRO'),
    f('other_config', t.smap, 'RW'),
    f('subtask_of', t.ref('task'), 'DynamicRO'),
    f('subtasks', t.set(t.ref('task')), 'DynamicRO', { reverseOf: { cls: 'task', field: 'subtask_of' } }),
    f('backtrace', t.string, 'DynamicRO'),
    f('session', t.ref('session'), 'DynamicRO', { internal: true }),
    // poolnet: the subject of the session that made the task (its owner, as xapi's assert_op_valid
    // compares), kept so that the owner still owns it after that session ended
    f('auth_user_sid', t.string, 'DynamicRO', { internal: true }),
  ],
  messages: [
    m('create', [p('label', t.string), p('description', t.string)], t.ref('task'), 'read-only', [], { doc: 'Create a new task object which must be manually destroyed.' }),
    m('destroy', [p('self', t.ref('task'))], t.void, 'read-only', [], { doc: 'Destroy the task object' }),
    m('cancel', [p('task', t.ref('task'))], t.void, 'read-only', ['OPERATION_NOT_ALLOWED'], { doc: 'Request that a task be cancelled. Note that a task may fail to be cancelled and may complete or fail normally', async: true }),
    m('set_status', [p('self', t.ref('task')), p('value', task_status_type)], t.void, 'read-only', [], { doc: 'Set the task status' }),
    m('set_progress', [p('self', t.ref('task')), p('value', t.float)], t.void, 'read-only', [], { doc: 'Set the task progress' }),
    m('set_result', [p('self', t.ref('task')), p('value', t.string)], t.void, 'read-only', [], { doc: 'Set the task result' }),
    m('set_error_info', [p('self', t.ref('task')), p('value', t.set(t.string))], t.void, 'read-only', [], { doc: 'Set the task error info' }),
  ],
} as const satisfies ClassSpec;
