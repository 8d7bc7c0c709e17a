// Transitions benchmark: `node --import tsx bench/migrate.ts` (npm run bench:migrate). Needs what
// `poolnet lab` needs (root, network namespaces, Open vSwitch, dnsmasq, ethtool, nft). Everything
// runs in a lab of the bench's own (namespaces pnbmig-*, files in /run/poolnet-bench-migrate),
// removed at the end, also after a failure or Ctrl-C. It prints figures; nothing here asserts.
//
// What a transition costs the traffic that crosses it, as pings lost at 10 a second, beside the
// transition's own duration (the tests only bound these widely, so that a busy machine passes):
//   1. live migration: a pool of 3 hosts, a cross-server private network (GRE) with vm1 on host1
//      and vm2 on host2; vm2 pings vm1 while vm1 migrates host1 -> host3 -> host1 ... (--rounds),
//      by VM.pool_migrate alone (the guest announces nothing itself: what the pool does is measured).
//      Each round also prints the two-phase migration's phases from the destination's answer
//      (VM.migration_report): prepare (the order until the destination's ports and flows are in),
//      switch (until the NICs moved in and the VM was announced), commit (until the call returned);
//      and the one-phase figures measured before, for comparison;
//   2. bond fail-over: an active-backup bond of eth1+eth2 on host2, vm3 on its network pings the
//      master's management address; the fabric takes the active member's link down, and up again
//      before the next round (with bond-updelay 0, so that it is back at once).
//
// Options: --rounds N (5), --part migrate|failover|both (both).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

process.env.POOLNET_LAB_PREFIX = 'pnbmig-';
process.env.POOLNET_LAB_DIR = '/run/poolnet-bench-migrate';
type LabModule = typeof import('../src/lab/lab.ts');
const lab: LabModule = await import('../src/lab/lab.ts');

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, part: { type: 'string', default: 'both' } } });
const ROUNDS = Math.max(1, Number(opt.rounds) || 5);
const PART = opt.part === 'migrate' || opt.part === 'failover' ? opt.part : 'both';
const PASSWORD = 'bench-migrate';
const SUBNET = '10.202.0';

const children = new Set<ChildProcess>();
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  try { lab.down(() => undefined); } catch (e) { console.error('cleanup:', (e as Error).message); }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => { console.error(`\n${sig}: cleaning up`); cleanup(); process.exit(130); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = performance.now();
const log = (m: string) => console.log(`  [${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}`);

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, within = 60_000): Promise<T> {
  const end = Date.now() + within;
  for (;;) {
    try { const v = await check(); if (v !== undefined) return v; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Pings 10 a second from a namespace; stop() gives the answers missing between the first and the last answered. */
function pinger(ns: string, dst: string): { replies: () => number; stop: () => Promise<{ sent: number; lost: number }> } {
  let out = '';
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-O', '-i', '0.1', '-W', '1', dst], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  const closed = new Promise<void>((r) => p.once('close', () => r()));
  const seqs = () => [...out.matchAll(/bytes from .* icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  return {
    replies: () => seqs().length,
    stop: async () => {
      p.kill('SIGINT');
      await closed;
      children.delete(p);
      const got = new Set(seqs());
      const lo = Math.min(...got), hi = Math.max(...got);
      let lost = 0;
      for (let q = lo; q <= hi; q++) if (!got.has(q)) lost++;
      return { sent: hi - lo + 1, lost };
    },
  };
}

interface Row { what: string; ms: number; lost: number; sent: number; phases?: { prepare: number; switch: number; commit: number } }
const rows: Row[] = [];

function summary(what: string): void {
  const mine = rows.filter((r) => r.what === what);
  if (!mine.length) return;
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const med = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
  const lost = mine.map((r) => r.lost), took = mine.map((r) => r.ms);
  console.log(`  ${what.padEnd(28)} ${String(mine.length).padStart(6)} ${String(med(took)).padStart(8)} ms ${String(Math.max(...took)).padStart(8)} ms ${String(med(lost)).padStart(8)} ${String(Math.max(...lost)).padStart(8)}   ${(med(lost) * 100 / Math.max(1, med(took))).toFixed(2)} pings per 100 ms of transition`);
}

async function main(): Promise<void> {
  console.log(`transitions, pings at 10/s — ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`);
  lab.down(() => undefined);
  const st = await lab.up({ hosts: 3, nics: 3, vms: 0, stack: 'openvswitch', port: 0, password: PASSWORD }, (m) => log(m));
  const api = async <T>(method: string, ...params: unknown[]): Promise<T> => {
    const s = (await lab.rpc(st.hosts[0].socket, 'session.login_with_password', ['root', PASSWORD])) as string;
    try { return (await lab.rpc(st.hosts[0].socket, method, [s, ...params])) as T; } finally { await lab.rpc(st.hosts[0].socket, 'session.logout', [s]).catch(() => undefined); }
  };
  const pifs = await api<Record<string, { host: string; device: string; management: boolean; VLAN: number }>>('PIF.get_all_records');
  const hostRefs = await api<Record<string, { hostname: string }>>('host.get_all_records');
  const hostRef = (name: string) => Object.entries(hostRefs).find(([, h]) => h.hostname === name)![0];

  if (PART !== 'failover') {
    const net = await api<string>('network.create', { name_label: 'bench private', name_description: 'GRE', MTU: 1500, other_config: {} });
    for (const [ref, p] of Object.entries(pifs)) if (p.management) await api('tunnel.create', ref, net, 'gre');
    let vm1 = await lab.createVm(st.hosts[0], 1, PASSWORD, net);
    const vm2 = await lab.createVm(st.hosts[1], 2, PASSWORD, net);
    for (const [v, j] of [[vm1, 1], [vm2, 2]] as const) {
      lab.inNs(v.ns, 'ip', ['addr', 'flush', 'dev', 'eth0']);
      lab.inNs(v.ns, 'ip', ['addr', 'add', `${SUBNET}.${j}/24`, 'dev', 'eth0']);
    }
    await until('vm2 reaches vm1 over the private network', () => (lab.inNs(vm2.ns, 'ping', ['-c', '1', '-W', '1', `${SUBNET}.1`]).includes('1 received') ? true : undefined));
    console.log(`\n1. live migration of vm1 (private network, GRE), ${ROUNDS} rounds: VM.pool_migrate alone (the guest sends nothing of its own)`);
    const vmRef = await api<string>('VM.get_by_uuid', vm1.uuid);
    for (let k = 0; k < ROUNDS; k++) {
      const target = st.hosts[vm1.host === 'host1' ? 2 : 0];
      const p = pinger(vm2.ns, `${SUBNET}.1`);
      await until('answers before', () => (p.replies() >= 15 ? true : undefined));
      const from = vm1.host;
      const t0 = Date.now(), p0 = performance.now();
      await api('VM.pool_migrate', vmRef, hostRef(target.name), {});
      const took = Math.round(performance.now() - p0), t1 = Date.now();
      const rep = await api<Record<string, string>>('VM.get_migration_report', vmRef);
      const prepared = Number(rep.prepared_at), switched = Number(rep.switched_at);
      const before = p.replies();
      await until('answers after', () => (p.replies() >= before + 20 ? true : undefined));
      const r = await p.stop();
      const domid = await api<number>('VM.get_domid', vmRef);
      vm1 = { ...vm1, host: target.name, port: `vif${domid}.0` };
      const phases = { prepare: prepared - t0, switch: switched - prepared, commit: t1 - switched };
      // the destination's announcement went out (its agent logs a failure to send it)
      const unannounced = st.hosts.some((h) => { try { return readFileSync(join(h.dir, 'poolnetd.log'), 'utf8').split('\n').some((l) => l.includes('could not announce') && Number((/"time":(\d+)/.exec(l) ?? [])[1]) >= t0); } catch { return false; } });
      rows.push({ what: 'live migration', ms: took, ...r, phases });
      log(`vm1 ${from} -> ${vm1.host}: ${took} ms (prepare ${phases.prepare} ms, switch ${phases.switch} ms, commit ${phases.commit} ms), ${r.lost} of ${r.sent} pings lost${unannounced ? ' (the VM was not announced)' : ''}`);
    }
  }

  if (PART !== 'migrate') {
    console.log(`\n2. bond fail-over (active-backup, host2 eth1+eth2), ${ROUNDS} rounds`);
    const h2 = hostRef('host2');
    const pifOf = (dev: string) => Object.entries(pifs).find(([, p]) => p.host === h2 && p.device === dev && p.VLAN === -1)![0];
    const net = await api<string>('network.create', { name_label: 'bench bond', name_description: 'eth1+eth2', MTU: 1500, other_config: {} });
    const bond = await api<string>('Bond.create', net, [pifOf('eth1'), pifOf('eth2')], '', 'active-backup', {});
    const master = await api<string>('Bond.get_master', bond);
    await api('PIF.add_to_other_config', master, 'bond-updelay', '0');
    await api('PIF.add_to_other_config', master, 'bond-downdelay', '0');
    const vm3 = await lab.createVm(st.hosts[1], 3, PASSWORD, net);
    const port = await api<string>('network.get_bridge', net);
    const appctl = (...args: string[]) => lab.inNs(st.hosts[1].ns, 'ovs-appctl', ['-t', join(st.hosts[1].dir, 'ovs', 'ovs-vswitchd.ctl'), ...args]);
    const bondPort = await until('the bond port on host2', () => lab.inNs(st.hosts[1].ns, 'ovs-vsctl', [`--db=unix:${st.hosts[1].dir}/ovs/db.sock`, 'list-ports', port]).split('\n').find((x) => x.startsWith('bond')));
    const active = () => /^active member mac: .*\((\S+)\)/m.exec(appctl('bond/show', bondPort))?.[1];
    const enabled = () => ([...appctl('bond/show', bondPort).matchAll(/^member \S+: enabled/gm)].length === 2 ? true : undefined);
    await until('both members enabled', enabled);
    await until('vm3 reaches host1', () => (lab.inNs(vm3.ns, 'ping', ['-c', '1', '-W', '1', st.hosts[0].ip]).includes('1 received') ? true : undefined));
    for (let k = 0; k < ROUNDS; k++) {
      await until('both members enabled', enabled);
      const member = await until('an active member', active);
      const p = pinger(vm3.ns, st.hosts[0].ip);
      await until('answers before', () => (p.replies() >= 15 ? true : undefined));
      const t0 = performance.now();
      lab.inNs(lab.fabricNs, 'ip', ['link', 'set', `h2e${member.slice(3)}`, 'down']);
      await until('another member active', () => { const a = active(); return a && a !== member ? a : undefined; });
      const took = Math.round(performance.now() - t0);
      const before = p.replies();
      await until('answers after', () => (p.replies() >= before + 20 ? true : undefined));
      const r = await p.stop();
      rows.push({ what: 'bond fail-over', ms: took, ...r });
      log(`${member} down: the switch moved to the other member in ${took} ms, ${r.lost} of ${r.sent} pings lost`);
      lab.inNs(lab.fabricNs, 'ip', ['link', 'set', `h2e${member.slice(3)}`, 'up']);
    }
  }

  console.log(`\n  ${'transition'.padEnd(28)} ${'rounds'.padStart(6)} ${'median'.padStart(11)} ${'max'.padStart(11)} ${'lost med'.padStart(8)} ${'lost max'.padStart(8)}`);
  summary('live migration');
  const mig = rows.filter((r) => r.phases);
  if (mig.length) {
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`  ${'  its phases (median)'.padEnd(28)} prepare ${med(mig.map((r) => r.phases!.prepare))} ms (order -> the destination's ports and flows ready), switch ${med(mig.map((r) => r.phases!.switch))} ms (-> NICs moved in and announced), commit ${med(mig.map((r) => r.phases!.commit))} ms (-> the VM moved in the database)`);
    console.log(`  ${'  before (one phase)'.padEnd(28)} the pool moved the VM, then the hosts moved its NIC: about 900-950 ms and 3-8 pings lost (median 3, max 5 on a quiet machine; the guest's own gratuitous ARPs included)`);
  }
  summary('bond fail-over');
  console.log(`  (duration: migration = VM.pool_migrate's call, all three phases; fail-over = link down until the switch reports another active member)`);
}

try { await main(); } catch (e) { console.error('bench failed:', (e as Error).message); process.exitCode = 1; } finally { cleanup(); }
