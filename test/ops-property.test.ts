// Property test: random sequences of networking operations never leave a dangling reference
// or a broken invariant, and a refused operation changes nothing.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Database } from '../src/db/database.ts';
import { CLASSES, NULL_REF, type FieldType } from '../src/model/index.ts';
import type { WireValue } from '../src/api/xmlrpc.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

/** Classes the model refers to but poolnet does not store (xapi has them; networking does not need them). */
const UNSTORED = new Set(['blob', 'PCI', 'SR', 'host_metrics', 'user']);

function refsOf(v: unknown, t: FieldType): string[] {
  if (t.k === 'ref') return typeof v === 'string' && v !== NULL_REF && v !== '' ? [v] : [];
  if (t.k === 'set') return (v as unknown[]).flatMap((x) => refsOf(x, t.of));
  if (t.k === 'map') return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [...refsOf(k, t.key), ...refsOf(x, t.value)]);
  return [];
}

/** Every violated invariant of the database, as readable strings. */
export function integrityProblems(db: Database): string[] {
  const out: string[] = [];
  for (const c of CLASSES.values()) {
    if (!c.stored) continue;
    for (const o of db.all(c.name)) {
      for (const fd of c.fields) {
        const target = fd.type.k === 'ref' ? fd.type.cls : fd.type.k === 'set' && fd.type.of.k === 'ref' ? fd.type.of.cls : undefined;
        const value = db.fieldValue(o, fd);
        for (const r of refsOf(value, fd.type)) {
          const cls = target ?? (fd.type.k === 'map' && fd.type.value.k === 'ref' ? fd.type.value.cls : undefined);
          if (cls && UNSTORED.has(cls)) continue;
          const t = db.get(r);
          if (!t) out.push(`${c.name}.${fd.name} of ${o.ref} dangles: ${r}`);
          else if (cls && t.cls !== cls) out.push(`${c.name}.${fd.name} of ${o.ref} points at a ${t.cls}`);
        }
      }
    }
  }
  // networking invariants
  const seen = new Set<string>();
  for (const p of db.all('PIF')) {
    const key = `${String(p.rec.host)}|${String(p.rec.network)}`;
    if (seen.has(key)) out.push(`two PIFs of one host on network ${String(p.rec.network)}`);
    seen.add(key);
  }
  for (const h of db.all('host')) {
    const mgmt = db.referrers(h.ref, 'PIF', 'host').filter((r) => db.get(r)!.rec.management);
    if (mgmt.length > 1) out.push(`host ${h.ref} has ${mgmt.length} management PIFs`);
  }
  for (const b of db.all('Bond')) {
    if (db.referrers(b.ref, 'PIF', 'bond_slave_of').length < 2) out.push(`bond ${b.ref} has fewer than two members`);
  }
  for (const v of db.all('VLAN')) if (!db.get(v.rec.untagged_PIF as string)) out.push(`VLAN ${v.ref} lost its PIF`);
  return out;
}

function dump(db: Database): string {
  const all: Record<string, unknown> = {};
  for (const c of CLASSES.values()) if (c.stored && c.name !== 'session') for (const o of db.all(c.name)) all[o.ref] = o.rec;
  return JSON.stringify(all);
}

type Step = { method: string; pick: number[] };

describe('random operation sequences', () => {
  // each run starts from a fresh database, so that a failing sequence shrinks to a real counterexample
  let d: TestDaemon;
  let session: string;
  const fresh = async () => {
    await d?.dispose();
    d = await startTestDaemon();
    const r = await d.api.call('session.login_with_password', ['root', 'test-root-pw']);
    assert.ok(r.ok);
    session = r.value as string;
    // a controller, so that tunnel.create can succeed
    await d.api.call('SDN_controller.introduce', [session, 'pssl', '', 0]);
  };
  after(async () => { await d?.dispose(); });

  const refs = (cls: string) => [...d.db.all(cls)].map((o) => o.ref);
  const pick = <T,>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);

  /** Arguments for a method from the objects that exist now; undefined: not applicable. */
  function argsFor(step: Step): unknown[] | undefined {
    const [a = 0, b = 0, c = 0] = step.pick;
    const pif = () => pick(refs('PIF'), a);
    const net = (i: number) => pick(refs('network'), i);
    switch (step.method) {
      case 'network.create': return [{ name_label: `n${a}`, MTU: 1500 + (b % 2) * 7500, other_config: {} }];
      case 'network.destroy': return [net(a)];
      case 'VLAN.create': return [pif(), [0, 5, 100, 4094, 4095, -1][b % 6], net(c)];
      case 'VLAN.destroy': return [pick(refs('VLAN'), a)];
      case 'Bond.create': { const ps = refs('PIF'); return [net(c), [pick(ps, a), pick(ps, b)], '', ['balance-slb', 'active-backup', 'lacp'][c % 3], {}]; }
      case 'Bond.destroy': return [pick(refs('Bond'), a)];
      case 'PIF.plug': case 'PIF.unplug': case 'PIF.forget': return [pif()];
      case 'PIF.reconfigure_ip': return [pif(), ['None', 'DHCP', 'Static'][b % 3], `10.${c % 3}.0.${10 + a % 5}`, '255.255.255.0', '', ''];
      case 'host.management_reconfigure': return [pif()];
      case 'PIF.scan': return [pick(refs('host'), 0)];
      case 'tunnel.create': return [pif(), net(b), 'gre'];
      case 'tunnel.destroy': return [pick(refs('tunnel'), a)];
      case 'VM.create': return [{ name_label: `vm${a}`, other_config: {} }];
      case 'VIF.create': return [{ device: String(a % 3), network: net(b), VM: pick(refs('VM'), c), MAC: '', MTU: 1500, other_config: {}, qos_algorithm_params: {}, qos_algorithm_type: '', locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] }];
      case 'VIF.destroy': return [pick(refs('VIF'), a)];
      case 'VM.start': case 'VM.hard_shutdown': return [pick(refs('VM'), a)];
      case 'VIF.move': return [pick(refs('VIF'), a), net(b)];
      case 'network.set_default_locking_mode': return [net(a), ['unlocked', 'disabled'][b % 2]];
      default: return undefined;
    }
  }

  const METHODS = ['network.create', 'network.destroy', 'VLAN.create', 'VLAN.destroy', 'Bond.create', 'Bond.destroy', 'PIF.plug', 'PIF.unplug', 'PIF.forget',
    'PIF.reconfigure_ip', 'host.management_reconfigure', 'PIF.scan', 'tunnel.create', 'tunnel.destroy', 'VM.create', 'VIF.create', 'VIF.destroy',
    'VM.start', 'VM.hard_shutdown', 'VIF.move', 'network.set_default_locking_mode'];

  it('keep the database consistent, and refusals change nothing', async () => {
    let refused = 0, done = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ method: fc.constantFrom(...METHODS), pick: fc.array(fc.nat(50), { minLength: 3, maxLength: 3 }) }), { minLength: 5, maxLength: 25 }),
      async (steps) => {
        await fresh();
        for (const step of steps) {
          const args = argsFor(step);
          if (!args || args.some((x) => x === undefined)) continue;
          const before = dump(d.db);
          const gen = d.db.generation;
          const r = await d.api.call(step.method, [session, ...args] as WireValue[]);
          if (!r.ok) {
            refused++;
            assert.notEqual(r.error.code, 'INTERNAL_ERROR', `${step.method}(${JSON.stringify(args)}) crashed: ${r.error.params.join(' ')}`);
            assert.equal(d.db.generation, gen, `${step.method} was refused (${r.error.code}) but committed`);
            assert.equal(dump(d.db), before, `${step.method} was refused (${r.error.code}) but changed the database`);
          } else done++;
          assert.deepEqual(integrityProblems(d.db), [], `after ${step.method}(${JSON.stringify(args)})`);
        }
      },
    ), { numRuns: 60, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });
    assert.ok(done > 20 && refused > 20, `both outcomes exercised (done ${done}, refused ${refused})`);
  });
});
