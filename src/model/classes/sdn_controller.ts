import { f, m, p, t, type ClassSpec } from '../types.ts';
import { sdn_controller_protocol } from '../enums.ts';

export const SDN_controller = {
  name: 'SDN_controller',
  doc: 'Describes the SDN controller that is to connect with the pool',
  defaultRole: 'pool-operator',
  getAll: true,
  cliPrefix: 'sdn-controller',
  cliListColumns: ['uuid', 'protocol', 'address', 'port'],
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('protocol', sdn_controller_protocol, 'StaticRO', { default: 'ssl' }),
    f('address', t.string, 'StaticRO', { valueType: 'ipv4', emptyOk: true }),
    f('port', t.int, 'StaticRO'),
  ],
  messages: [
    m('introduce', [p('protocol', sdn_controller_protocol, { default: 'ssl' }), p('address', t.string, { default: '', valueType: 'ipv4', emptyOk: true }), p('port', t.int, { default: 0 })], t.ref('SDN_controller'), 'pool-operator', ['OPERATION_NOT_ALLOWED', 'INVALID_VALUE', 'INVALID_IP_ADDRESS_SPECIFIED'], { doc: 'Introduce an SDN controller to the pool.', async: true }),
    m('forget', [p('self', t.ref('SDN_controller'))], t.void, 'pool-operator', [], { doc: 'Remove the OVS manager of the pool and destroy the db record.', async: true }),
  ],
} as const satisfies ClassSpec;
