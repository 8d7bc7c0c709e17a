// pool.replica_write takes from a member only its own host's rows: the host its pool session
// named at session.slave_login (as xapi's, the session's this_host). Another host's certificate
// fingerprint, PIF addresses, NIC metrics, bond links, tunnel status, VIF locking drops and a
// migration's answer are left out (logged once), the member's own rows of the same batch are
// written; a session that names no host, or the master's own, writes nothing. Then a real pool of
// two daemons in this process: the member's reports reach the master through a session naming
// its host, before and after the pool changes master.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type Daemon } from '../src/daemon/serve.ts';
import { rowOwners } from '../src/daemon/ownership.ts';
import type { HostFacts, NicFacts } from '../src/db/init.ts';
import { FACTS, ROOT_PASSWORD, call, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeBond, makeHost, makeNetwork, makePif, makeTunnel, makeVif, makeVm } from './helpers/fixtures.ts';

const NULL = 'OpaqueRef:NULL';

interface Rows {
  host: string; pif: string; metrics: string; bond: string; bondPif: string; tunnel: string; accessPif: string;
  /** a VM running on the host, and its VIF */
  vm: string; vif: string;
  /** a VM running on the other host, migrating to this one, and its VIF */
  incoming: string; incomingVif: string;
}

const fingerprint = (b: string) => Array.from({ length: 32 }, () => b).join(':');
const order = (source: string, destination: string) => ({ id: randomUUID(), phase: 'prepare', source, destination, domid: '7', since: '0' });
const report = (vm: Record<string, unknown>) => ({ id: (vm.migration as Record<string, string>).id, state: 'prepared', prepared_at: '1' });

describe('pool.replica_write: a member writes only its own host\'s rows', () => {
  let d: Daemon;
  let dir: string;
  let url: string;
  let secret: string;
  let master: string;
  let A: Rows;
  let B: Rows;
  const logFile = () => join(dir, 'daemon.log');
  const rec = (ref: string) => structuredClone(d.db.get(ref)!.rec) as Record<string, unknown>;
  const slaveLogin = (host: string) => call(url, 'session.slave_login', [host, secret]) as Promise<string>;
  const write = (s: string, updates: [string, Record<string, unknown>][]) => call(url, 'pool.replica_write', [s, updates]);
  /** Warnings the daemon logged about left-out rows. */
  const leftOut = () => readFileSync(logFile(), 'utf8').split('\n').filter((l) => l.includes('pool.replica_write')).map((l) => JSON.parse(l) as { host: string; rows: string[]; msg: string });

  /** Everything a member might write about `r`'s host, as [ref, patch] pairs. */
  const everything = (r: Rows, tag: string): [string, Record<string, unknown>][] => [
    [r.host, { certificate_fingerprint: fingerprint(tag), nic_facts: `[]${tag}`, address: `10.9.9.${tag === 'AA' ? 1 : 2}` }],
    [r.pif, { IP: `10.7.7.${tag === 'AA' ? 1 : 2}`, netmask: '255.255.255.0' }],
    [r.metrics, { carrier: false, speed: 77 }],
    [r.bond, { links_up: 5 }],
    [r.tunnel, { status: { active: 'true' } }],
    [r.vif, { locking_drops: { foreign_ip: 41 } }],
    [r.incomingVif, { locking_drops: { tagged: 42 } }],
    [r.incoming, { migration_report: report(rec(r.incoming)) }],
  ];
  const rowsOf = (r: Rows) => [r.host, r.pif, r.metrics, r.bond, r.tunnel, r.vif, r.incomingVif, r.incoming, r.vm, r.bondPif, r.accessPif];
  const snapshot = (r: Rows) => rowsOf(r).map(rec);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'poolnet-replica-owner-'));
    d = await startDaemon({ dataDir: join(dir, 'data'), port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: ROOT_PASSWORD, facts: FACTS, logLevel: 'warn', logDestination: logFile() });
    url = `http://127.0.0.1:${d.port}`;
    secret = String([...d.db.all('pool')][0].rec.pool_secret);
    master = [...d.db.all('host')][0].ref;
    // two member hosts a one-host daemon cannot have joined: records, as fixtures.ts makes them
    const rows = d.db.transact((tx) => {
      const make = (name: string): Omit<Rows, 'incoming' | 'incomingVif'> => {
        const host = makeHost(tx, { name_label: name, hostname: name, address: `10.0.0.${name === 'hostA' ? 21 : 22}` });
        const net = makeNetwork(tx);
        const pif = makePif(tx, { host, network: net, device: 'eth0', IP: '10.1.1.1', netmask: '255.255.255.0', ip_configuration_mode: 'DHCP' });
        const bondPif = makePif(tx, { host, network: makeNetwork(tx), device: 'bond0', physical: false });
        const accessPif = makePif(tx, { host, network: makeNetwork(tx), device: 'tunnel0', physical: false });
        const vm = makeVm(tx, { power_state: 'Running', resident_on: host });
        return {
          host, pif, metrics: tx.must('PIF', pif).rec.metrics, bondPif, bond: makeBond(tx, { master: bondPif }), accessPif,
          tunnel: makeTunnel(tx, { access_PIF: accessPif, transport_PIF: pif }), vm, vif: makeVif(tx, { VM: vm, network: net }),
        };
      };
      const a = make('hostA');
      const b = make('hostB');
      // each host has a VM of the other's migrating to it (the master's order names it the destination)
      const migrating = (from: typeof a, to: typeof a) => {
        const vm = makeVm(tx, { power_state: 'Running', resident_on: from.host, migration: order(from.host, to.host) });
        return { incoming: vm, incomingVif: makeVif(tx, { VM: vm, network: tx.must('PIF', from.pif).rec.network, device: '1' }) };
      };
      return { A: { ...a, ...migrating(b, a) }, B: { ...b, ...migrating(a, b) } };
    });
    A = rows.A;
    B = rows.B;
  });
  after(async () => { await d?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('knows which host owns each row (ownership.ts)', () => {
    const owners = rowOwners(d.db);
    const of = (ref: string) => [...owners(d.db.get(ref)!)].sort();
    for (const [r, other] of [[A, B], [B, A]] as const) {
      for (const ref of [r.host, r.pif, r.metrics, r.bond, r.tunnel, r.vif, r.incoming]) assert.deepEqual(of(ref), [r.host], `${d.db.get(ref)!.cls} of ${r.host}`);
      // a migrating VM's VIF: its host now and its destination
      assert.deepEqual(of(r.incomingVif), [r.host, other.host].sort());
    }
    // a VM's status row is its migration's answer: a VM migrating nowhere is no host's to write
    assert.deepEqual(of(A.vm), []);
    // a class no member reports about
    assert.deepEqual(of([...d.db.all('pool')][0].ref), []);
  });

  it('a pool session\'s this_host is the host it named (as xapi\'s); an unknown host is NULL', async () => {
    const s = await slaveLogin(A.host);
    assert.equal(await call(url, 'session.get_this_host', [s, s]), A.host);
    const none = await slaveLogin('OpaqueRef:00000000-0000-0000-0000-000000000000');
    assert.equal(await call(url, 'session.get_this_host', [none, none]), NULL);
  });

  it('a member writes its own rows: host, PIF, metrics, bond, tunnel, VIFs, the answer to a migration to it', async () => {
    const s = await slaveLogin(A.host);
    const before = leftOut().length;
    await write(s, everything(A, 'AA'));
    assert.equal(rec(A.host).certificate_fingerprint, fingerprint('AA'));
    assert.equal(rec(A.host).nic_facts, '[]AA');
    assert.equal(rec(A.host).address, '10.9.9.1');
    assert.equal(rec(A.pif).IP, '10.7.7.1');
    assert.equal(rec(A.metrics).speed, 77);
    assert.equal(rec(A.bond).links_up, 5);
    assert.equal((rec(A.tunnel).status as Record<string, string>).active, 'true');
    assert.deepEqual(rec(A.vif).locking_drops, { foreign_ip: 41 });
    assert.deepEqual(rec(A.incomingVif).locking_drops, { tagged: 42 }, 'the VIF of a VM migrating here');
    assert.equal((rec(A.incoming).migration_report as Record<string, string>).state, 'prepared');
    assert.equal(leftOut().length, before, 'nothing left out, nothing logged');
  });

  it('another host\'s rows are left out, logged once; the member\'s own rows of the same batch are written', async () => {
    const s = await slaveLogin(A.host);
    // B's rows (among them the answer to the migration of A's VM to B), and one row of A's. The
    // VIF of that VM is A's too (its VM runs on A): see the first test
    const theirs = everything(B, 'BB').filter(([ref]) => ref !== B.incomingVif);
    const bRows = rowsOf(B).filter((ref) => ref !== B.incomingVif);
    const bBefore = bRows.map(rec);
    const masterBefore = rec(master);
    const logged = leftOut().length;
    await write(s, [...theirs, [A.pif, { IP: '10.7.7.9' }]]);
    assert.deepEqual(bRows.map(rec), bBefore, 'nothing of host B changed');
    assert.deepEqual(rec(master), masterBefore);
    assert.equal(rec(A.pif).IP, '10.7.7.9', 'the member\'s own row is written');
    const warn = leftOut().slice(logged);
    assert.equal(warn.length, 1, JSON.stringify(warn));
    assert.equal(warn[0].host, A.host);
    assert.deepEqual(new Set(warn[0].rows), new Set(theirs.map(([ref]) => `${d.db.get(ref)!.cls} ${ref}`)));
    // a member's agent sends the same every pass: logged once
    await write(s, theirs);
    assert.equal(leftOut().length, logged + 1);
    assert.deepEqual(bRows.map(rec), bBefore);
  });

  it('the certificate fingerprint of the master, or of a host its session did not name, never changes', async () => {
    const s = await slaveLogin(A.host);
    const fpB = rec(B.host).certificate_fingerprint;
    const fpMaster = rec(master).certificate_fingerprint;
    await write(s, [[B.host, { certificate_fingerprint: fingerprint('EE') }], [master, { certificate_fingerprint: fingerprint('EE') }]]);
    assert.equal(rec(B.host).certificate_fingerprint, fpB);
    assert.equal(rec(master).certificate_fingerprint, fpMaster);
  });

  it('a session naming no host, or the master itself, writes nothing', async () => {
    for (const named of [NULL, 'OpaqueRef:00000000-0000-0000-0000-000000000001', master]) {
      const s = await slaveLogin(named);
      const before = [snapshot(A), snapshot(B), rec(master)];
      await write(s, [...everything(A, 'CC'), ...everything(B, 'CC'), [master, { certificate_fingerprint: fingerprint('CC'), hostname: 'evil' }]]);
      assert.deepEqual([snapshot(A), snapshot(B), rec(master)], before, `a session naming ${named}`);
    }
  });

  it('a host ejected from the pool: its session writes nothing', async () => {
    const s = await slaveLogin(B.host);
    await write(s, [[B.pif, { IP: '10.7.7.20' }]]);
    assert.equal(rec(B.pif).IP, '10.7.7.20');
    // (the session outlives the host: as after pool.eject, which deletes the host record)
    d.db.transact((tx) => tx.delete(B.host));
    await write(s, [[B.pif, { IP: '10.7.7.21' }]]);
    assert.equal(rec(B.pif).IP, '10.7.7.20');
  });
});

describe('a real pool (two daemons in this process): the member\'s session names its host', () => {
  const daemons: TestDaemon[] = [];
  const facts = (n: number): HostFacts => ({
    hostname: `host${n}`,
    nics: [0, 1].map((k) => ({ device: `eth${k}`, mac: `02:00:00:00:0${n}:0${k}`, mtu: 1500, carrier: true, speed: 1000, ipv4: k === 0 ? [{ ip: `10.0.0.${10 + n}`, prefix: 24 }] : [], gateway: '' })),
    dns: [],
  });
  const start = async (f: HostFacts) => {
    const d = await startTestDaemon({ facts: f, masterTimeoutMs: 1500 });
    // its own host's address: its loopback port, so that the master can call it
    d.db.transact((tx) => { for (const h of tx.all('host')) tx.update(h.ref, { address: `127.0.0.1:${d.port}` }); });
    daemons.push(d);
    return d;
  };
  after(async () => { for (const d of daemons) await d.dispose(); });

  async function until<T>(f: () => T, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const hostNamed = (d: TestDaemon, name: string) => [...d.db.all('host')].find((h) => h.rec.hostname === name)!.ref;
  const nicsOf = (d: TestDaemon, host: string) => (JSON.parse(String(d.db.get(host)?.rec.nic_facts || '[]')) as { device: string }[]).map((n) => n.device);
  const poolSessionsNaming = (d: TestDaemon, host: string) => [...d.db.all('session')].filter((s) => s.rec.pool && s.rec.this_host === host).length;

  it('after a join, and after designate_new_master, each member\'s new NIC reaches the master', async () => {
    const f1 = facts(1);
    const f2 = facts(2);
    const m = await start(f1);
    const j = await start(f2);
    const js = (await call(j.url, 'session.login_with_password', ['root', ROOT_PASSWORD])) as string;
    await call(j.url, 'pool.join', [js, `127.0.0.1:${m.port}`, 'root', ROOT_PASSWORD]);
    const h2 = await until(() => [...m.db.all('host')].find((h) => h.rec.hostname === 'host2')?.ref, (h) => !!h, 'the member is in the pool') as string;
    // the member logs in again naming its host once the replica gives it its ref in the pool
    await until(() => poolSessionsNaming(m, h2), (n) => n > 0, 'a pool session naming the member');
    // a NIC appears on the member: its report (host.nic_facts) is written on the master
    (f2.nics as NicFacts[]).push({ device: 'eth7', mac: '02:00:00:00:02:07', mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '' });
    await until(() => nicsOf(m, h2), (n) => n.includes('eth7'), 'the member\'s new NIC on the master');

    // the member becomes master; the old master, now a member, reports about its own host there
    const h1 = hostNamed(m, 'host1');
    await call(m.url, 'pool.designate_new_master', [(await call(m.url, 'session.login_with_password', ['root', ROOT_PASSWORD])) as string, h2]);
    await until(() => j.membership.role, (r) => r === 'master', 'the member becomes master');
    await until(() => m.membership.role, (r) => r === 'member', 'the old master becomes a member');
    await until(() => poolSessionsNaming(j, h1), (n) => n > 0, 'a pool session naming the old master on the new one');
    (f1.nics as NicFacts[]).push({ device: 'eth8', mac: '02:00:00:00:01:08', mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '' });
    await until(() => nicsOf(j, h1), (n) => n.includes('eth8'), 'the old master\'s new NIC on the new master');
    // and nothing it reported changed the new master's own record
    assert.equal(nicsOf(j, h2).includes('eth8'), false);
  });
});
