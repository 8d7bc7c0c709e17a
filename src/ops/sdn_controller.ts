// SDN_controller: the pool's controller for cross-server private networks (xapi_sdn_controller.ml).
// poolnet's built-in controller is introduced like any other, with protocol pssl (the switches
// listen; the pool master connects to them), so tunnel.create's precondition reads the same.

import type { ImplTable } from '../api/context.ts';
import { XapiError } from '../model/index.ts';
import { isIpv4 } from './addr.ts';

export const sdnControllerImpls: ImplTable = {
  'SDN_controller.introduce': (ctx, a) => {
    const db = ctx.db;
    if ([...db.all('host')].some((h) => (h.rec.software_version).network_backend !== 'openvswitch')) {
      throw new XapiError('OPERATION_NOT_ALLOWED', ['host not configured for vswitch operation']);
    }
    if (db.count('SDN_controller') > 0) throw new XapiError('OPERATION_NOT_ALLOWED', ['SDN controller has been configured. Please forget it first.']);
    const protocol = a.protocol, address = a.address;
    let port = a.port;
    if (protocol === 'pssl') {
      if (address !== '') throw new XapiError('INVALID_VALUE', ['address', address]);
      if (port !== 0) throw new XapiError('INVALID_VALUE', ['port', port]);
    } else {
      if (address === '') throw new XapiError('INVALID_VALUE', ['address', '']);
      if (!isIpv4(address)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['address']);
      if (port !== 0 && !(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new XapiError('VALUE_NOT_SUPPORTED', ['port', port, 'Port out of range']);
      if (port === 0) port = 6632;
    }
    return ctx.tx.create('SDN_controller', { protocol, address, port });
  },
  'SDN_controller.forget': (ctx, a) => {
    ctx.tx.must('SDN_controller', a.self);
    ctx.tx.delete(a.self);
  },
};
