// Errors that name the right things: every raised error's parameters against its catalogue entry
// (src/model/errors.ts): as many as it names, in its order, and of the kind each name says (a
// `host` is a host's ref, a `connected PIF` a PIF's, a `device` no ref at all).
// - every `new XapiError(CODE, [...])` in src/ has as many parameters as CODE's entry names;
// - random networking operations on a two-host pool (fast-check, as ops-property): every refusal's
//   parameters are checked against the entry, kind by kind, on the database the call left as it was;
// - the two found by hand: pool.create_VLAN_from_PIF on a network that already has a VLAN names the
//   host and its PIF (xe prints `host: ...`), and on a VLAN PIF names the PIF given, not another
//   host's;
// - xe without --nossl against a plain-HTTP server says to add --nossl.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import ts from 'typescript';
import type { Database } from '../src/db/database.ts';
import { ERRORS, isKnownError } from '../src/model/index.ts';
import type { WireValue } from '../src/api/xmlrpc.ts';
import { runXe } from '../src/cli/xe/main.ts';
import { ROOT_PASSWORD, login } from './helpers/daemon.ts';
import { Net, nic } from './helpers/net.ts';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Catalogue parameter names whose value is a ref, and of which class. */
const REF_OF: Record<string, string> = {
  host: 'host', network: 'network', vm: 'VM', PIF: 'PIF', 'connected PIF': 'PIF', VIF: 'VIF', SR: 'SR', cluster_host: 'Cluster_host', task: 'task',
  pifs: 'PIF', vifs: 'VIF',
};
/** Names whose value may be anything, a ref included (a value echoed back, a handle, a free text). */
const ANY = new Set(['handle', 'value', 'object', 'operation_ref', 'uuid', 'message', 'reason', 'msg', 'Master IP address']);
/** Codes with one parameter per object: the entry names the list once. */
const VARIADIC = new Set(['NETWORK_CONTAINS_PIF', 'NETWORK_CONTAINS_VIF']);
/** Classes the model names but poolnet does not store. */
const UNSTORED = new Set(['SR', 'Cluster_host']);

/** What is wrong with `params` for `code`, checked against the catalogue and the database (none: []). */
export function paramProblems(db: Database, code: string, params: readonly string[]): string[] {
  if (!isKnownError(code)) return [`${code} is not in the catalogue`];
  const names = ERRORS[code].params as readonly string[];
  const out: string[] = [];
  if (VARIADIC.has(code)) {
    if (params.length === 0) out.push(`${code}: no ${names[0]} named`);
  } else if (params.length !== names.length) {
    out.push(`${code}: ${params.length} parameters [${params.join(', ')}], the catalogue names ${names.length} [${names.join(', ')}]`);
  }
  params.forEach((v, i) => {
    const name = VARIADIC.has(code) ? names[0] : names[i];
    if (name === undefined || ANY.has(name)) return;
    const cls = REF_OF[name];
    const isRef = v.startsWith('OpaqueRef:');
    if (cls === undefined) {
      if (isRef) out.push(`${code}: ${name} (parameter ${i + 1}) is a ref, ${v} (a ${db.get(v)?.cls ?? 'nothing stored'})`);
      return;
    }
    if (!isRef) { out.push(`${code}: ${name} (parameter ${i + 1}) should be a ${cls} ref, is ${JSON.stringify(v)}`); return; }
    if (UNSTORED.has(cls)) return;
    const o = db.get(v);
    if (!o) out.push(`${code}: ${name} (parameter ${i + 1}) names nothing stored: ${v}`);
    else if (o.cls !== cls) out.push(`${code}: ${name} (parameter ${i + 1}) should be a ${cls}, is a ${o.cls} (${v})`);
  });
  return out;
}

describe('error parameters: every raise in src/ has as many as the catalogue names', () => {
  it('counts each new XapiError(CODE, [...])', () => {
    const files: string[] = [];
    const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (/\.tsx?$/.test(n)) files.push(p); } };
    walk(SRC);
    const problems: string[] = [];
    let raises = 0;
    for (const f of files) {
      const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (n: ts.Node): void => {
        if (ts.isNewExpression(n) && n.expression.getText(sf) === 'XapiError' && n.arguments?.length) {
          const [c, p] = n.arguments;
          const at = `${f.slice(SRC.length + 1)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
          if (ts.isStringLiteral(c)) {
            raises++;
            const code = c.text;
            if (!isKnownError(code)) problems.push(`${at}: ${code} is not in the catalogue`);
            else if (p && ts.isArrayLiteralExpression(p) && !p.elements.some(ts.isSpreadElement) && !VARIADIC.has(code)) {
              const want = ERRORS[code].params.length;
              if (p.elements.length !== want) problems.push(`${at}: ${code} raised with ${p.elements.length} parameters (${p.getText(sf)}), the catalogue names ${want}`);
            } else if (!p && ERRORS[code].params.length > 0) problems.push(`${at}: ${code} raised without parameters`);
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    assert.ok(raises > 150, `the scan found the raises (${raises})`);
    assert.deepEqual(problems, []);
  });
});

describe('error parameters: refusals of networking operations on a two-host pool', () => {
  let n: Net;
  const checked = new Map<string, number>();
  const check = (code: string, params: readonly string[], what: string) => {
    assert.deepEqual(paramProblems(n.d.db, code, params), [], `${what} refused with ${code} [${params.join(', ')}]`);
    checked.set(code, (checked.get(code) ?? 0) + 1);
  };
  let host2: string;

  before(async () => {
    n = await Net.start();
    // a second host whose NICs sit on the same pool-wide networks (eth0..eth2 by device)
    host2 = n.secondHost([nic('eth0', '02:00:00:00:02:00'), nic('eth1', '02:00:00:00:02:01'), nic('eth2', '02:00:00:00:02:02')]).host;
    await n.call('SDN_controller.introduce', 'pssl', '', 0);
  });
  after(async () => { await n?.dispose(); });

  it('the checker itself: a host where a network belongs, a ref where a device belongs, a count off', async () => {
    const eth1 = await n.pifRef('eth1');
    assert.deepEqual(paramProblems(n.d.db, 'PIF_IS_VLAN', [eth1]), []);
    assert.equal(paramProblems(n.d.db, 'NETWORK_INCOMPATIBLE_WITH_TRUNKS', [n.host]).length, 1, 'a host given as a network');
    assert.equal(paramProblems(n.d.db, 'PIF_VLAN_EXISTS', [eth1]).length, 1, 'a ref given as a device');
    assert.equal(paramProblems(n.d.db, 'PIF_IS_VLAN', []).length, 1, 'a parameter missing');
    assert.equal(paramProblems(n.d.db, 'NETWORK_ALREADY_CONNECTED', [n.host, 'OpaqueRef:gone']).length, 1, 'a ref to nothing');
  });

  it('pool.create_VLAN_from_PIF on a network that already has a VLAN: NETWORK_ALREADY_CONNECTED [host, its PIF]', async () => {
    const eth1 = await n.pifRef('eth1');
    const vlanNet = await n.newNetwork('vlan 10');
    await n.call('pool.create_VLAN_from_PIF', eth1, vlanNet, 10);
    const taken = await n.pifRef('eth1', { vlan: 10 });
    const e = await n.fail('pool.create_VLAN_from_PIF', eth1, vlanNet, 20);
    assert.deepEqual(e, ['NETWORK_ALREADY_CONNECTED', n.host, taken]);
    check(e[0], e.slice(1), 'pool.create_VLAN_from_PIF');
    assert.deepEqual(ERRORS.NETWORK_ALREADY_CONNECTED.params, ['host', 'connected PIF']);
    // given host2's eth1, the refusal names host2 and its VLAN PIF
    const eth1b = await n.pifRef('eth1', { host: host2 });
    const e2 = await n.fail('pool.create_VLAN_from_PIF', eth1b, vlanNet, 20);
    assert.deepEqual(e2, ['NETWORK_ALREADY_CONNECTED', host2, await n.pifRef('eth1', { vlan: 10, host: host2 })]);
  });

  it('pool.create_VLAN_from_PIF on a VLAN PIF: PIF_IS_VLAN names the PIF given, on either host', async () => {
    const other = await n.newNetwork('vlan 30');
    for (const host of [n.host, host2]) {
      const vlanPif = await n.pifRef('eth1', { vlan: 10, host });
      const e = await n.fail('pool.create_VLAN_from_PIF', vlanPif, other, 30);
      assert.deepEqual(e, ['PIF_IS_VLAN', vlanPif], `the VLAN PIF of ${host === n.host ? 'host1' : 'host2'}`);
      check(e[0], e.slice(1), 'pool.create_VLAN_from_PIF');
    }
  });

  it('xe prints each value under its own name (host: ..., connected PIF: ...)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'xe-errparams-'));
    try {
      const pifUuid = await n.call('PIF.get_uuid', await n.pifRef('eth1')) as string;
      const netUuid = await n.call('network.get_uuid', (await n.pif(await n.pifRef('eth1', { vlan: 10 }))).network) as string;
      const hostUuid = await n.call('host.get_uuid', n.host) as string;
      let err = '';
      const code = await runXe(['pool-vlan-create', `pif-uuid=${pifUuid}`, `network-uuid=${netUuid}`, 'vlan=20'], {
        out: () => undefined, err: (x) => { err += x; }, readLine: async () => '', readFile: (p) => readFileSync(p, 'utf8'),
        env: { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${n.d.port},nossl=true,password=${ROOT_PASSWORD}` },
      });
      assert.equal(code, 1);
      assert.match(err, new RegExp(`^host: ${hostUuid}`, 'm'), err);
      assert.match(err, /^connected PIF: [0-9a-f-]{36}/m, err);
      assert.doesNotMatch(err, /^network: /m);
    } finally { rmSync(home, { recursive: true, force: true }); }
  });

  it('random operations: every refusal\'s parameters match the catalogue', async (tc) => {
    const s = n.s;
    const refs = (cls: string) => [...n.d.db.all(cls)].map((o) => o.ref);
    const pick = <T,>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
    const argsFor = (method: string, [a = 0, b = 0, c = 0]: number[]): unknown[] | undefined => {
      const pif = (i: number) => pick(refs('PIF'), i);
      const net = (i: number) => pick(refs('network'), i);
      switch (method) {
        case 'network.create': return [{ name_label: `n${a}`, MTU: 1500, other_config: {} }];
        case 'network.destroy': return [net(a)];
        case 'VLAN.create': return [pif(a), [0, 5, 100, 4095, -1][b % 5], net(c)];
        case 'pool.create_VLAN_from_PIF': return [pif(a), net(c), [5, 100, 4095][b % 3]];
        case 'PIF.create_VLAN': return [['eth0', 'eth1', 'eth2', 'eth9'][a % 4], net(c), pick(refs('host'), b), [5, 100][b % 2]];
        case 'VLAN.destroy': return [pick(refs('VLAN'), a)];
        case 'PIF.destroy': return [pif(a)];
        case 'Bond.create': { const ps = refs('PIF'); return [net(c), [pick(ps, a), pick(ps, b)], '', ['balance-slb', 'active-backup', 'lacp'][c % 3], {}]; }
        case 'Bond.destroy': return [pick(refs('Bond'), a)];
        case 'PIF.plug': case 'PIF.unplug': case 'PIF.forget': return [pif(a)];
        case 'PIF.reconfigure_ip': return [pif(a), ['None', 'DHCP', 'Static'][b % 3], `10.${c % 3}.0.${10 + a % 5}`, '255.255.255.0', '', ''];
        case 'host.management_reconfigure': return [pif(a)];
        case 'pool.management_reconfigure': return [net(a)];
        case 'tunnel.create': return [pif(a), net(b), 'gre'];
        case 'tunnel.destroy': return [pick(refs('tunnel'), a)];
        case 'network_sriov.create': return [pif(a), net(b)];
        case 'VM.create': return [{ name_label: `vm${a}`, other_config: {} }];
        case 'VIF.create': return [{ device: String(a % 3), network: net(b), VM: pick(refs('VM'), c), MAC: '', MTU: 1500, other_config: {}, qos_algorithm_params: {}, qos_algorithm_type: '', locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: b % 4 === 0 ? [5] : [] }];
        case 'VIF.destroy': return [pick(refs('VIF'), a)];
        case 'VIF.move': return [pick(refs('VIF'), a), net(b)];
        case 'network.set_default_locking_mode': return [net(a), ['unlocked', 'disabled'][b % 2]];
        case 'network.add_purpose': return [net(a), ['nbd', 'insecure_nbd'][b % 2]];
        default: return undefined;
      }
    };
    const METHODS = ['network.create', 'network.destroy', 'VLAN.create', 'pool.create_VLAN_from_PIF', 'PIF.create_VLAN', 'VLAN.destroy', 'PIF.destroy',
      'Bond.create', 'Bond.destroy', 'PIF.plug', 'PIF.unplug', 'PIF.forget', 'PIF.reconfigure_ip', 'host.management_reconfigure', 'pool.management_reconfigure',
      'tunnel.create', 'tunnel.destroy', 'network_sriov.create', 'VM.create', 'VIF.create', 'VIF.destroy', 'VIF.move', 'network.set_default_locking_mode', 'network.add_purpose'];
    let refused = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ method: fc.constantFrom(...METHODS), pick: fc.array(fc.nat(40), { minLength: 3, maxLength: 3 }) }), { minLength: 5, maxLength: 25 }),
      async (steps) => {
        for (const step of steps) {
          const args = argsFor(step.method, step.pick);
          if (!args || args.some((x) => x === undefined)) continue;
          const r = await n.d.api.call(step.method, [s, ...args] as WireValue[]);
          if (r.ok) continue;
          refused++;
          check(r.error.code, r.error.params, `${step.method}(${JSON.stringify(args)})`);
        }
      },
    ), { numRuns: 40, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });
    assert.ok(refused > 50, `refusals exercised (${refused})`);
    tc.diagnostic(`${refused} refusals; codes checked: ${[...checked].map(([c, k]) => `${c} ${k}`).join(', ')}`);
    assert.ok(checked.size >= 12, `many codes checked: ${[...checked.keys()].join(' ')}`);
  });
});

describe('xe without --nossl against a plain-HTTP server', () => {
  let n: Net;
  before(async () => { n = await Net.start(); });
  after(async () => { await n?.dispose(); });

  it('says the server speaks plain HTTP and to add --nossl (not OpenSSL\'s "wrong version number")', async () => {
    await login(n.d.url); // the server answers over HTTP
    const home = mkdtempSync(join(tmpdir(), 'xe-nossl-'));
    try {
      let err = '';
      const code = await runXe(['host-list'], {
        out: () => undefined, err: (x) => { err += x; }, readLine: async () => '', readFile: (p) => readFileSync(p, 'utf8'),
        // 127.1 is this machine's 127.0.0.1, but not the name the real xe takes for on-host (never TLS)
        env: { HOME: home, XE_EXTRA_ARGS: `server=127.1,port=${n.d.port},password=${ROOT_PASSWORD}` },
      });
      assert.notEqual(code, 0);
      assert.match(err, new RegExp(`127\\.1:${n.d.port} speaks plain HTTP.*add --nossl`), err);
      assert.doesNotMatch(err, /wrong version number/i);
    } finally { rmSync(home, { recursive: true, force: true }); }
  });
});
