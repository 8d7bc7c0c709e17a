// The privilege rows of issue 16, each against real daemons over TLS on loopback (a master, a
// host that joins it, and a fake HTTPS server of the test's own that records what reaches it):
// - no user role (pool-admin included, nor local root's own login) obtains the pool secret or a
//   session made with it; a join hands the secret from host to host, pinned;
// - pool.recover_slaves and pool.designate_new_master send the secret only to a host that shows
//   the certificate pinned when it joined;
// - a read-only user cannot act on another's task, write through event.inject, or edit another
//   session's other_config.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type Daemon } from '../src/daemon/serve.ts';
import { callPeer } from '../src/daemon/rpcclient.ts';
import { ensureCertificate } from '../src/daemon/tls.ts';
import type { HostFacts } from '../src/db/init.ts';
import { XapiError } from '../src/model/index.ts';
import { deniedFor, modelMessages, placeholderArgs } from './helpers/placeholders.ts';
import { until } from './helpers/until.ts';

const ROOT_PW = 'privilege-root-pw';
const USER_PW = 'privilege-user-pw';

const facts = (n: number): HostFacts => ({
  hostname: `host${n}`,
  nics: [0, 1].map((k) => ({ device: `eth${k}`, mac: `02:00:00:00:1${n}:0${k}`, mtu: 1500, carrier: true, speed: 1000, ipv4: k === 0 ? [{ ip: `10.0.0.${20 + n}`, prefix: 24 }] : [], gateway: '' })),
  dns: [],
});

interface TlsDaemon { d: Daemon; dir: string; address: string }

async function startTls(n: number): Promise<TlsDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'poolnet-priv-'));
  const d = await startDaemon({ dataDir: dir, port: 0, bind: '127.0.0.1', insecureHttp: false, rootPassword: ROOT_PW, facts: facts(n), logLevel: 'silent', masterTimeoutMs: 5000 });
  const address = `127.0.0.1:${d.port}`;
  // the host's address is where its daemon listens, so that the master can call it
  d.db.transact((tx) => { for (const h of tx.all('host')) tx.update(h.ref, { address }); });
  return { d, dir, address };
}

/** A call to a TLS daemon (its certificate pinned): the result, or throws the XapiError. */
const rpc = (t: TlsDaemon, method: string, params: unknown[]) => callPeer({ address: t.address, fingerprints: [t.d.fingerprint!] }, method, params, 30_000);

async function failure(p: Promise<unknown>): Promise<string[]> {
  try { await p; } catch (e) {
    if (e instanceof XapiError) return e.description;
    throw e;
  }
  throw new Error('expected the call to fail');
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try { return JSON.stringify(await p) ?? ''; } catch (e) {
    if (e instanceof XapiError) return JSON.stringify(e.description);
    throw e;
  }
}

/** An HTTPS server with a certificate of its own, answering every call, recording what reaches it. */
class FakeHost {
  readonly requests: string[] = [];
  connections = 0;
  private constructor(private readonly server: https.Server, readonly dir: string, readonly fingerprint: string) {}
  static async start(): Promise<FakeHost> {
    const dir = mkdtempSync(join(tmpdir(), 'poolnet-fake-'));
    const tls = await ensureCertificate(dir, 'fake');
    const server = https.createServer({ key: tls.key, cert: tls.cert });
    const fake = new FakeHost(server, dir, tls.fingerprint);
    server.on('connection', () => { fake.connections++; });
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        fake.requests.push(`${req.method} ${req.url} ${body}`);
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', result: 'OpaqueRef:fake', id: 1 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return fake;
  }
  get address(): string { return `127.0.0.1:${(this.server.address() as AddressInfo).port}`; }
  async close(): Promise<void> {
    await new Promise<void>((r) => { this.server.close(() => r()); this.server.closeAllConnections(); });
    rmSync(this.dir, { recursive: true, force: true });
  }
}


describe('privilege: the pool secret, pinned peers, tasks and sessions', () => {
  let master: TlsDaemon;
  let joiner: TlsDaemon;
  let fake: FakeHost;
  let root: string;
  const s = {} as Record<'op' | 'admin' | 'ro1' | 'ro2' | 'vmop', string>;
  const secret = () => master.d.db.all('pool').next().value!.rec.pool_secret as string;

  before(async () => {
    master = await startTls(1);
    joiner = await startTls(2);
    fake = await FakeHost.start();
    root = (await rpc(master, 'session.login_with_password', ['root', ROOT_PW])) as string;
    for (const [k, role] of [['op', 'pool-operator'], ['admin', 'pool-admin'], ['ro1', 'read-only'], ['ro2', 'read-only'], ['vmop', 'vm-operator']] as const) {
      await rpc(master, 'subject.create_local_user', [root, `u-${k}`, USER_PW, [role]]);
      s[k] = (await rpc(master, 'session.login_with_password', [`u-${k}`, USER_PW])) as string;
    }
  });
  after(async () => {
    for (const t of [joiner, master]) if (t) { await t.d.close(); rmSync(t.dir, { recursive: true, force: true }); }
    await fake?.close();
  });

  it('a read-only user cannot act on another\'s task, write through event.inject, or edit another session\'s other_config', async () => {
    const task = (await rpc(master, 'task.create', [root, 'root\'s task', ''])) as string;
    const before = await rpc(master, 'task.get_record', [root, task]);
    const denied = deniedFor('task.destroy/any', ['pool-admin', 'pool-operator']);
    for (const [method, rest] of [['task.destroy', []], ['task.cancel', []], ['task.set_status', ['success']], ['task.set_result', ['forged']], ['task.set_error_info', [['FORGED']]]] as const) {
      assert.deepEqual(await failure(rpc(master, method, [s.ro1, task, ...rest])), denied, method);
    }
    assert.deepEqual(await rpc(master, 'task.get_record', [root, task]), before);

    // event.inject stays open to read-only (xapi; Xen Orchestra starts its event loop with it) but writes nothing
    const pool = master.d.db.all('pool').next().value!.ref;
    const gen = master.d.db.generation;
    const token = (await rpc(master, 'event.inject', [s.ro1, 'pool', pool])) as string;
    assert.equal(master.d.db.generation, gen, 'nothing written');
    const seen = (await rpc(master, 'event.from', [s.ro1, ['pool'], token, 0])) as { events: { ref: string }[] };
    assert.ok(seen.events.some((e) => e.ref === pool), 'event.from from the token reports the object');
    await rpc(master, 'event.inject', [s.vmop, 'pool', pool]);
    assert.ok(master.d.db.generation > gen, 'a role that may write still injects a change');

    assert.deepEqual(await failure(rpc(master, 'session.add_to_other_config', [s.ro2, s.ro1, 'k', 'v'])), deniedFor('session.add_to_other_config/any', ['pool-admin']));
    assert.deepEqual(await failure(rpc(master, 'session.set_other_config', [s.ro2, s.ro1, { k: 'v' }])), deniedFor('session.set_other_config/any', ['pool-admin']));
    assert.deepEqual(await rpc(master, 'session.get_other_config', [root, s.ro1]), {});
  });

  it('no user obtains the pool secret or a pool session: the internal messages refuse every user, and no answer carries the secret', async () => {
    const masterHost = master.d.db.get(master.d.db.all('pool').next().value!.rec.master as string)!;
    const rogue = {
      uuid: randomUUID(), hostname: 'rogue', address: fake.address, software_version: masterHost.rec.software_version, nics: [],
      management: { device: '', mode: 'None', IP: '', netmask: '', gateway: '', DNS: '' },
    };
    for (const [who, session] of [['pool-operator', s.op], ['pool-admin', s.admin], ['root', root]] as const) {
      assert.deepEqual(await failure(rpc(master, 'pool.join_introduce', [session, rogue])), deniedFor('pool.join_introduce', []), who);
      assert.deepEqual(await failure(rpc(master, 'pool.replica_from', [session, '', 0])), deniedFor('pool.replica_from', []), who);
    }
    assert.equal(master.d.db.count('host'), 1, 'no host introduced');
    // asking the master to admit a "host" that is the test's own server: only local root may
    for (const session of [s.op, s.admin]) {
      assert.deepEqual(await failure(rpc(master, 'pool.join_request', [session, fake.address, fake.fingerprint, 'nonce'])), deniedFor('pool.join_request', []));
    }
    assert.equal(fake.connections, 0, 'the master never called the address given');
    // a pool.join with the master's pool-operator or pool-admin credentials is refused the same way
    const js = (await rpc(joiner, 'session.login_with_password', ['root', ROOT_PW])) as string;
    for (const user of ['u-op', 'u-admin']) {
      assert.deepEqual(await failure(rpc(joiner, 'pool.join', [js, master.address, user, USER_PW])), deniedFor('pool.join_request', []), user);
    }
    assert.equal(joiner.d.membership.role, 'master');
    // every message of the model, as pool-operator and as pool-admin: no answer carries the secret
    const leaks: string[] = [];
    for (const { wire, msg } of modelMessages()) {
      if (msg.sessionless || wire === 'session.logout' || wire.startsWith('event.')) continue;
      for (const session of [s.op, s.admin]) {
        const got = await outcome(rpc(master, wire, [session, ...placeholderArgs(msg.params)]));
        if (got.includes(secret())) leaks.push(wire);
      }
    }
    assert.deepEqual(leaks, []);
  });

  it('pool.join over TLS: the secret goes from host to host, and the joining host\'s certificate is pinned', async () => {
    const js = (await rpc(joiner, 'session.login_with_password', ['root', ROOT_PW])) as string;
    await rpc(joiner, 'pool.join', [js, master.address, 'root', ROOT_PW]);
    assert.equal(joiner.d.membership.role, 'member');
    const joined = [...master.d.db.all('host')].find((h) => h.rec.hostname === 'host2');
    assert.ok(joined, 'the master has the new host');
    assert.equal(joined.rec.certificate_fingerprint, joiner.d.fingerprint, 'its certificate is pinned');
    assert.equal(joiner.d.db.getLocal('pool_secret'), secret());
    await until(() => joiner.d.db.generation === master.d.db.generation && joiner.d.db.count('host') === 2, 'the member\'s replica catches up');
  });

  it('recover_slaves and designate_new_master send the secret only to a host that shows its pinned certificate', async () => {
    const member = [...master.d.db.all('host')].find((h) => h.rec.hostname === 'host2')!;
    const masterHost = master.d.db.all('pool').next().value!.rec.master as string;
    // the member's address now names the test's server (host.set_address, or a changed management address)
    master.d.db.transact((tx) => tx.update(member.ref, { address: fake.address }));
    const recovered = await rpc(master, 'pool.recover_slaves', [s.op]);
    assert.deepEqual(fake.requests.filter((r) => r.includes(secret())), [], 'the secret never reached the server with another certificate');
    assert.deepEqual(recovered, []);
    const alert = [...master.d.db.all('message')].find((m) => m.rec.name === 'POOL_MEMBER_CERTIFICATE_MISMATCH' && m.rec.obj_uuid === member.rec.uuid);
    assert.ok(alert, 'a pool message names the host');

    assert.equal((await failure(rpc(master, 'pool.designate_new_master', [s.op, member.ref])))[0], 'SSL_VERIFY_ERROR');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(master.d.db.all('pool').next().value!.rec.master, masterHost, 'the master stays');
    assert.equal(master.d.membership.role, 'master');
    assert.deepEqual(fake.requests, [], 'no request reached the server with another certificate');

    // the member at its own address shows its certificate: it is told where the master is
    master.d.db.transact((tx) => tx.update(member.ref, { address: joiner.address }));
    assert.deepEqual(await rpc(master, 'pool.recover_slaves', [s.op]), [member.ref]);
    assert.deepEqual(fake.requests, []);

    // a pool-operator on the member itself points it at another master: it does not log in there
    const local = (await rpc(joiner, 'session.slave_local_login_with_password', ['u-op', USER_PW])) as string;
    const tried = fake.connections;
    await rpc(joiner, 'pool.emergency_reset_master', [local, fake.address]);
    await until(() => fake.connections > tried + 1, 'the member tries the address given, twice');
    assert.deepEqual(fake.requests, [], 'the member sent nothing to a server with another certificate');
    await rpc(joiner, 'pool.emergency_reset_master', [local, master.address]);
    const net = (await rpc(master, 'network.create', [root, { name_label: 'after', name_description: '', MTU: 1500, other_config: {} }])) as string;
    await until(() => !!joiner.d.db.get(net), 'the member follows the master again');
  });
});
