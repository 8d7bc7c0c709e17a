// pool.join in xapi's order (pre_join_checks, ocaml/xapi/xapi_pool.ml): the joining host logs in
// to the master first, so an unreachable master or refused credentials come before any check of
// its own; then HA on either side, a host joining itself, the master of other hosts, the
// networking checks, the primary address type and the NBD purposes. Real daemons on loopback.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HostFacts } from '../src/db/init.ts';
import { runXe } from '../src/cli/xe/main.ts';
import { call, failure, login, startTestDaemon, ROOT_PASSWORD, type TestDaemon } from './helpers/daemon.ts';

const facts = (n: number): HostFacts => ({
  hostname: `host${n}`,
  nics: [0, 1, 2].map((k) => ({ device: `eth${k}`, mac: `02:00:00:00:1${n}:0${k}`, mtu: 1500, carrier: true, speed: 1000, ipv4: k === 0 ? [{ ip: `10.0.0.${20 + n}`, prefix: 24 }] : [], gateway: '' })),
  dns: [],
});
const addr = (d: TestDaemon) => `127.0.0.1:${d.port}`;

/** A loopback port where nothing listens: bound, then closed. */
async function deadPort(): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('pool.join: login first, then the checks in xapi\'s order', () => {
  const daemons: TestDaemon[] = [];
  const home = mkdtempSync(join(tmpdir(), 'pool-join-order-'));
  after(async () => {
    for (const d of daemons) await d.dispose();
    rmSync(home, { recursive: true, force: true });
  });
  const start = async (n: number) => {
    const d = await startTestDaemon({ facts: facts(n), masterTimeoutMs: 1500 });
    d.db.transact((tx) => { for (const h of tx.all('host')) tx.update(h.ref, { address: addr(d) }); });
    daemons.push(d);
    return d;
  };
  const poolRef = (d: TestDaemon) => [...d.db.all('pool')][0].ref;
  const setHa = (d: TestDaemon, on: boolean) => d.db.transact((tx) => tx.update(poolRef(d), { ha_enabled: on }));
  const mgmtPif = (d: TestDaemon) => [...d.db.all('PIF')].find((p) => p.rec.management)!;

  it('answers an unreachable master and refused credentials before the joining host\'s own checks', async () => {
    const master = await start(1);
    const joiner = await start(2);
    const js = await login(joiner.url);
    // HA on the joiner would be refused too, but only once the master has been reached
    setHa(joiner, true);
    assert.deepEqual(await failure(call(joiner.url, 'pool.join', [js, `127.0.0.1:${await deadPort()}`, 'root', ROOT_PASSWORD])), ['JOINING_HOST_CONNECTION_FAILED']);
    assert.equal((await failure(call(joiner.url, 'pool.join', [js, addr(master), 'root', 'wrong'])))[0], 'SESSION_AUTHENTICATION_FAILED');
    assert.deepEqual(await failure(call(joiner.url, 'pool.join', [js, addr(master), 'root', ROOT_PASSWORD])), ['HA_IS_ENABLED']);
    setHa(joiner, false);
    // nothing was stored: the joiner is still alone and its own master
    assert.equal(joiner.db.count('host'), 1);
    assert.equal(joiner.membership.role, 'master');
  });

  it('refuses HA on the pool, joining itself, and the master of other hosts, in that order', async () => {
    const master = await start(3);
    const joiner = await start(4);
    const js = await login(joiner.url);
    const join = (to = master) => failure(call(joiner.url, 'pool.join', [js, addr(to), 'root', ROOT_PASSWORD]));
    // HA on the pool comes before the joiner's bond
    const net = await call(joiner.url, 'network.create', [js, { name_label: 'b', MTU: 1500, other_config: {} }]);
    const pif = (dev: string) => [...joiner.db.all('PIF')].find((p) => p.rec.device === dev && p.rec.VLAN === -1)!.ref;
    const bond = await call(joiner.url, 'Bond.create', [js, net, [pif('eth1'), pif('eth2')], '', 'active-backup', {}]);
    setHa(master, true);
    assert.deepEqual(await join(), ['HA_IS_ENABLED']);
    setHa(master, false);
    assert.deepEqual(await join(), ['POOL_JOINING_HOST_HAS_BONDS']);
    await call(joiner.url, 'Bond.destroy', [js, bond]);
    // a host joining itself
    assert.deepEqual(await join(joiner), ['OPERATION_NOT_ALLOWED', 'Host cannot become slave of itself']);
  });

  it('refuses another primary address type and the other NBD purpose, after the networking checks', async () => {
    const master = await start(5);
    const joiner = await start(6);
    const js = await login(joiner.url);
    const join = () => failure(call(joiner.url, 'pool.join', [js, addr(master), 'root', ROOT_PASSWORD]));
    const mine = mgmtPif(joiner);
    // management VLAN mismatch comes before the address type
    joiner.db.transact((tx) => tx.update(mine.ref, { primary_address_type: 'IPv6', VLAN: 9 }));
    assert.deepEqual(await join(), ['POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH', '9', '-1']);
    joiner.db.transact((tx) => tx.update(mine.ref, { VLAN: -1 }));
    assert.deepEqual(await join(), ['OPERATION_NOT_ALLOWED', 'Primary address type differs']);
    joiner.db.transact((tx) => tx.update(mine.ref, { primary_address_type: 'IPv4' }));
    // nbd on the pool, insecure_nbd on the joiner
    const netOf = (d: TestDaemon) => d.db.getOf('network', mgmtPif(d).rec.network)!;
    master.db.transact((tx) => tx.update(netOf(master).ref, { purpose: ['nbd'] }));
    joiner.db.transact((tx) => tx.update(netOf(joiner).ref, { purpose: ['insecure_nbd'] }));
    assert.deepEqual(await join(), ['OPERATION_NOT_ALLOWED', 'Incompatible network purposes: nbd and insecure_nbd']);
    // the same purpose on both sides joins
    joiner.db.transact((tx) => tx.update(netOf(joiner).ref, { purpose: ['nbd'] }));
    await call(joiner.url, 'pool.join', [js, addr(master), 'root', ROOT_PASSWORD]);
    assert.equal(joiner.membership.role, 'member');
    const ms = await login(master.url);
    assert.equal(((await call(master.url, 'host.get_all', [ms])) as string[]).length, 2);
  });

  it('xe pool-join prints what the real one prints, for an unreachable master too', async () => {
    const d = await start(7);
    const xe = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runXe(args, {
        out: (x) => { out += x; }, err: (x) => { err += x; }, readLine: async () => '', readFile: (p) => readFileSync(p, 'utf8'),
        env: { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${d.port},nossl=true,password=${ROOT_PASSWORD}` },
      });
      return { code, out, err };
    };
    const r = await xe(['pool-join', `master-address=127.0.0.1:${await deadPort()}`, 'master-username=root', `master-password=${ROOT_PASSWORD}`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'Host cannot contact destination host: connection refused.\nCheck destination host has services running and accessible from this host.\n');
  });
});
