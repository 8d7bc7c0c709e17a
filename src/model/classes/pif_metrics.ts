import { f, t, type ClassSpec } from '../types.ts';

export const PIF_metrics = {
  name: 'PIF_metrics',
  doc: 'The metrics associated with a physical network interface',
  defaultRole: 'pool-operator',
  getAll: true,
  fields: [
    f('uuid', t.string, 'DynamicRO'),
    f('io_read_kbs', t.float, 'DynamicRO'),
    f('io_write_kbs', t.float, 'DynamicRO'),
    f('carrier', t.bool, 'DynamicRO'),
    f('vendor_id', t.string, 'DynamicRO'),
    f('vendor_name', t.string, 'DynamicRO'),
    f('device_id', t.string, 'DynamicRO'),
    f('device_name', t.string, 'DynamicRO'),
    f('speed', t.int, 'DynamicRO'),
    f('duplex', t.bool, 'DynamicRO'),
    f('pci_bus_path', t.string, 'DynamicRO'),
    f('last_updated', t.datetime, 'DynamicRO'),
    f('other_config', t.smap, 'RW'),
  ],
  messages: [],
} as const satisfies ClassSpec;
