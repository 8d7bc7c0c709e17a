// pool.set_vswitch_controller (deprecated, xapi_pool.ml): the address is stored and becomes the
// pool's one SDN controller (ssl, port 6632), replacing any other; "" removes it; the Linux
// bridge backend refuses it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Net, type R } from './helpers/net.ts';
import { call, failure, login, startTestDaemon } from './helpers/daemon.ts';

const controllers = async (n: Net): Promise<R[]> => Object.values(await n.all('SDN_controller'));

test('set_vswitch_controller stores the address and replaces the SDN controller with ssl:<address>:6632', async () => {
  const n = await Net.start();
  try {
    await n.call('SDN_controller.introduce', 'pssl', '', 0);
    await n.call('pool.set_vswitch_controller', '10.1.2.3');
    assert.equal((await n.rec('pool', n.pool)).vswitch_controller, '10.1.2.3');
    const ctl = await controllers(n);
    assert.equal(ctl.length, 1);
    assert.deepEqual([ctl[0].protocol, ctl[0].address, ctl[0].port], ['ssl', '10.1.2.3', 6632]);
    // the same address again changes nothing, even a controller introduced since
    await n.call('SDN_controller.forget', Object.keys(await n.all('SDN_controller'))[0]);
    await n.call('pool.set_vswitch_controller', '10.1.2.3');
    assert.equal((await controllers(n)).length, 0);
    await n.call('pool.set_vswitch_controller', '10.1.2.4');
    assert.equal((await controllers(n))[0].address, '10.1.2.4');
    // "" removes the controller
    await n.call('pool.set_vswitch_controller', '');
    assert.equal((await n.rec('pool', n.pool)).vswitch_controller, '');
    assert.equal((await controllers(n)).length, 0);
    // not an IPv4 address: refused, nothing stored
    const err = await n.fail('pool.set_vswitch_controller', 'controller.example');
    assert.notEqual(err[0], 'NOT_IMPLEMENTED');
    assert.equal((await n.rec('pool', n.pool)).vswitch_controller, '');
  } finally { await n.dispose(); }
});

test('on the Linux bridge backend set_vswitch_controller is OPERATION_NOT_ALLOWED and stores nothing', async () => {
  const d = await startTestDaemon({ backend: 'bridge' });
  try {
    const s = await login(d.url);
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    assert.deepEqual(await failure(call(d.url, 'pool.set_vswitch_controller', [s, '10.1.2.3'])), ['OPERATION_NOT_ALLOWED', 'host not configured for vswitch operation']);
    assert.equal((await call(d.url, 'pool.get_vswitch_controller', [s, pool])), '');
  } finally { await d.dispose(); }
});
