// Every field and parameter the datamodel declares a value syntax for (found by walking the
// model, not a hand list) is written, through the real API (JSON-RPC to a real poolnetd), with
// hostile values: newlines, NUL, commas, semicolons, spaces, quotes, braces, zone indexes,
// leading dashes, overlong and non-ASCII text, out-of-range numbers. Each call must fail with the
// reference's code for that kind of value, and the pool database must not change.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLASSES, NULL_REF, ctorFields, type ClassDef, type FieldType, type ValueDecl } from '../src/model/index.ts';
import { isDeclared } from '../src/model/checks.ts';
import type { ValueTypeName } from '../src/model/valid.ts';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

let d: TestDaemon;
let s: string;
/** A real object of each class, for `self` and the other reference parameters. */
const OBJ: Record<string, string> = {};

/** A valid value of each type: what a call's other declared parameters get. */
const VALID: Record<ValueTypeName, string | number> = {
  ipv4: '10.9.0.5', ipv4Cidr: '10.9.0.5/24', ipv4OrCidr: '10.9.0.0/24', netmask: '255.255.255.0',
  ipv6: 'fd00::5', ipv6Cidr: 'fd00::5/64', ipv6OrCidr: 'fd00::/64', ipAny: '10.9.0.5', dnsList: '10.9.0.1,fd00::1',
  mac: '02:00:00:00:09:05', ifName: 'eth9', hostname: 'host9.example.com', domain: 'example.com,lab.example.org',
  vlanTag: 9, mtu: 1500, meterKbps: '100', millis: '200', bondMode: 'lacp', hashingAlgorithm: 'src_mac', lacpTime: 'fast',
  boolText: 'true', lacpAggregationKey: '7', bondDetectMode: 'carrier', staticRoutes: '10.8.0.0/16/10.9.0.1', port: 6653,
  vlanOrNone: -1, deviceIndex: '9', word: 'x1', dnsInput: '10.9.0.1',
};

/** The reference's error code for each kind of value (xapi's datamodel_errors / the reference doc). */
const CODE: Record<ValueTypeName, string> = {
  ipv4: 'INVALID_IP_ADDRESS_SPECIFIED', ipv4OrCidr: 'INVALID_IP_ADDRESS_SPECIFIED', netmask: 'INVALID_IP_ADDRESS_SPECIFIED',
  ipv6: 'INVALID_IP_ADDRESS_SPECIFIED', ipv6OrCidr: 'INVALID_IP_ADDRESS_SPECIFIED', ipAny: 'INVALID_IP_ADDRESS_SPECIFIED',
  dnsList: 'INVALID_IP_ADDRESS_SPECIFIED', dnsInput: 'INVALID_IP_ADDRESS_SPECIFIED',
  ipv4Cidr: 'INVALID_CIDR_ADDRESS_SPECIFIED', ipv6Cidr: 'INVALID_CIDR_ADDRESS_SPECIFIED',
  mac: 'MAC_INVALID', hostname: 'HOST_NAME_INVALID', vlanTag: 'VLAN_TAG_INVALID', vlanOrNone: 'VLAN_TAG_INVALID', deviceIndex: 'INVALID_DEVICE',
  ifName: 'INVALID_VALUE', domain: 'INVALID_VALUE', mtu: 'INVALID_VALUE', meterKbps: 'INVALID_VALUE', millis: 'INVALID_VALUE',
  bondMode: 'INVALID_VALUE', hashingAlgorithm: 'INVALID_VALUE', lacpTime: 'INVALID_VALUE', boolText: 'INVALID_VALUE',
  lacpAggregationKey: 'INVALID_VALUE', bondDetectMode: 'INVALID_VALUE', staticRoutes: 'INVALID_VALUE', port: 'INVALID_VALUE', word: 'INVALID_VALUE',
};

/** The hostile texts made from a valid value `v`. */
const hostileTexts = (v: string): [string, string][] => [
  ['newline', `${v}\n`], ['newline+command', `${v}\nlink del eth0`], ['NUL', `${v}\0`], ['carriage return', `${v}\r`],
  ['comma', `${v},`], ['semicolon', `${v};reboot`], ['space', `${v} x`], ['tab', `\t${v}`],
  ['double quotes', `"${v}"`], ['single quotes', `'${v}'`], ['braces', `{${v}}`], ['zone index', `${v}%eth0`],
  ['leading dash', `-${v}`], ['option', '-F/etc/shadow'], ['overlong', `${v}${'a'.repeat(1100)}`],
  ['non-ASCII', `${v}é`], ['full-width', 'ｅｔｈ０'], ['empty', ''],
];

/** Out-of-range and malformed numbers, as ints (parameters, fields) or as map-value text. */
const HOSTILE_INTS: Partial<Record<ValueTypeName, number[]>> = {
  vlanTag: [-1, 4095, 5000, 2 ** 32], vlanOrNone: [-2, 4095, 5000], mtu: [-5, 0, 67, 65536, 2 ** 40],
};
const HOSTILE_NUMBER_TEXTS: Partial<Record<ValueTypeName, string[]>> = {
  mtu: ['1.5', '-5', '0', '65536', '99999999999999999999', '1e3', '0x5dc'],
  millis: ['-1', '1.5', '2147483648', '99999999999999999999', '1e3'],
  meterKbps: ['0', '-1', '1.5', '524288000', '99999999999999999999', '1e3'],
  lacpAggregationKey: ['-1', '65536', '1.5'],
};

/**
 * Hostile texts that are valid syntax for a type: separators of its lists, or text that only goes
 * into a value the agent passes on whole (reconfigure_ip's DNS keeps only the addresses in it).
 */
const LEGIT: Partial<Record<ValueTypeName, string[]>> = {
  domain: ['comma', 'space'],
  dnsInput: ['comma', 'semicolon', 'space', 'double quotes', 'single quotes', 'braces', 'zone index', 'leading dash', 'option', 'empty', 'overlong'],
};

interface Target { readonly what: string; readonly type: ValueTypeName; readonly decl: ValueDecl; readonly ftype: FieldType; readonly name: string; readonly key?: string; readonly writers: Writer[] }
/** A call that writes `value` where the target is; `creating`: a constructor (createZeroOk applies). */
interface Writer { readonly method: string; readonly args: (value: unknown) => unknown[]; readonly creating?: boolean }

const elementType = (t: FieldType): FieldType => (t.k === 'set' ? t.of : t.k === 'map' ? t.value : t);
const isIntType = (t: FieldType): boolean => elementType(t).k === 'int';

/** A value of the parameter's wire type that decodes: the declared valid value, or the type's zero. */
function filler(decl: ValueDecl, t: FieldType): unknown {
  if (t.k === 'map') return {};
  if (t.k === 'set') return decl.valueType ? [VALID[decl.valueType]] : [];
  if (decl.valueType) return VALID[decl.valueType];
  switch (t.k) {
    case 'ref': return OBJ[t.cls] ?? NULL_REF;
    case 'int': return 0;
    case 'float': return 0;
    case 'bool': return false;
    case 'enum': return t.values[0];
    case 'any': return {};
    default: return '';
  }
}

/** `value` in the shape of the target (a set of one, a map of one key). */
const shaped = (t: FieldType, key: string | undefined, value: unknown): unknown =>
  t.k === 'set' ? [value] : t.k === 'map' ? { [key!]: value } : value;

/** Constructor records that pass every other check of the API's value syntax. */
function ctorRecord(cls: ClassDef): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    network: { name_label: 'walker', MTU: 1500, other_config: {}, bridge: '' },
    VIF: { device: '7', network: OBJ.network, VM: OBJ.VM, MAC: '', MTU: 1500, other_config: {} },
  };
  return { ...(base[cls.name] ?? {}) };
}

/** Every declared field and parameter, each map key of a declared map on its own. */
function targets(): Target[] {
  const out: Target[] = [];
  const add = (what: string, decl: ValueDecl, ftype: FieldType, name: string, writers: Writer[]) => {
    if (decl.mapKeys) {
      for (const [key, type] of Object.entries(decl.mapKeys)) {
        const k = key.endsWith('*') ? `${key.slice(0, -1)}walker` : key;
        out.push({ what: `${what}:${k}`, type, decl, ftype, name, key: k, writers });
      }
    } else if (decl.valueType) out.push({ what, type: decl.valueType, decl, ftype, name, writers });
  };
  for (const cls of CLASSES.values()) {
    const ctor = cls.ctor ? new Set(ctorFields(cls).map((f) => f.name)) : new Set<string>();
    for (const fd of cls.fields) {
      if (!isDeclared(fd)) continue;
      const writers: Writer[] = [];
      const self = () => OBJ[cls.name];
      if (ctor.has(fd.name) && !cls.messages.some((m) => m.name === 'create')) {
        writers.push({ method: `${cls.name}.create`, creating: true, args: (v) => [{ ...ctorRecord(cls), [fd.name]: v }] });
      }
      if (fd.qual === 'RW') {
        writers.push({ method: `${cls.name}.set_${fd.name}`, args: (v) => [self(), v] });
        if (fd.type.k === 'map') writers.push({ method: `${cls.name}.add_to_${fd.name}`, args: (v) => [self(), ...Object.entries(v as object)[0]] });
        if (fd.type.k === 'set') writers.push({ method: `${cls.name}.add_${fd.name}`, args: (v) => [self(), (v as unknown[])[0]] });
      }
      add(`${cls.name}.${fd.name}`, fd, fd.type, fd.name, writers);
    }
    for (const msg of cls.messages) {
      msg.params.forEach((p, i) => {
        if (!isDeclared(p)) return;
        const args = (v: unknown) => msg.params.map((q, j) => (j === i ? v : q.name === 'self' ? OBJ[cls.name] ?? NULL_REF : filler(q, q.type)));
        add(`${cls.name}.${msg.name}(${p.name})`, p, p.type, p.writes ?? p.name, [{ method: `${cls.name}.${msg.name}`, creating: true, args }]);
      });
    }
  }
  return out;
}

/** The rows of every stored class, as the database holds them (sessions and tasks aside: a call makes those). */
function dbState(): string {
  const rows: unknown[] = [];
  for (const cls of CLASSES.values()) {
    if (!cls.stored || ['session', 'task', 'event', 'message'].includes(cls.name)) continue;
    for (const o of d.db.all(cls.name)) rows.push([o.ref, o.rec]);
  }
  return JSON.stringify(rows);
}

/** The [CODE, ...params] the target's declaration gives for `value` (the reference's codes). */
function expectedError(t: Target, value: unknown): string[] {
  const code = CODE[t.type];
  if (t.key !== undefined && code === 'INVALID_VALUE') return [code, t.name, `${t.key} = ${String(value)}`];
  switch (code) {
    case 'INVALID_IP_ADDRESS_SPECIFIED': case 'INVALID_CIDR_ADDRESS_SPECIFIED': return [code, t.name];
    case 'MAC_INVALID': case 'VLAN_TAG_INVALID': case 'INVALID_DEVICE': return [code, String(value)];
    case 'HOST_NAME_INVALID': return [code]; // + the reason, checked apart
    default: return [code, t.name, String(value)];
  }
}

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
  const c = (m: string, ...p: unknown[]) => call(d.url, m, [s, ...p]);
  OBJ.host = ((await c('host.get_all')) as string[])[0];
  OBJ.pool = ((await c('pool.get_all')) as string[])[0];
  const pifs = (await c('PIF.get_all_records')) as Record<string, { device: string; network: string }>;
  const eth1 = Object.entries(pifs).find(([, r]) => r.device === 'eth1')!;
  OBJ.PIF = eth1[0];
  OBJ.network = (await c('network.create', { name_label: 'walked', MTU: 1500, other_config: {}, bridge: '' })) as string;
  OBJ.VM = (await c('VM.create', { name_label: 'walker', other_config: {} })) as string;
  OBJ.VIF = (await c('VIF.create', { device: '0', network: OBJ.network, VM: OBJ.VM, MAC: '', MTU: 1500, other_config: {} })) as string;
  OBJ.VLAN = (await c('VLAN.create', eth1[0], 9, (await c('network.create', { name_label: 'v9', MTU: 1500, other_config: {}, bridge: '' })) as string)) as string;
});

after(async () => { await d?.dispose(); });

test('the model declares a value syntax for at least 30 fields and parameters, and every declared field has a writer', (t) => {
  const all = targets();
  assert.ok(all.length >= 30, `${all.length} declared targets`);
  t.diagnostic(`${all.length} declared fields, parameters and map keys`);
  for (const t of all.filter((x) => x.what.includes('('))) assert.equal(t.writers.length, 1, t.what);
  // a declared field no generic message writes is written by some message's declared parameter of the same name
  for (const t of all.filter((x) => !x.what.includes('(') && x.writers.length === 0)) {
    const [cls, field] = t.what.split(/[.:]/);
    const writer = all.find((x) => x.what.startsWith(`${cls}.`) && x.what.includes('(') && x.name === field && x.type === t.type && x.key === t.key);
    assert.ok(writer, `${t.what}: no message parameter declares it`);
  }
  // the rows of issue 16 are among them
  for (const w of ['host.hostname', 'PIF.other_config:domain', 'network.MTU', 'VIF.other_config:mtu', 'PIF.other_config:bond-updelay',
    'VLAN.pool_introduce(tag)', 'PIF.db_introduce(IP)', 'PIF.db_introduce(netmask)', 'PIF.db_introduce(gateway)', 'PIF.db_introduce(DNS)',
    'PIF.db_introduce(MAC)', 'network.bridge', 'VIF.ipv6_allowed', 'VIF.add_ipv6_allowed(value)', 'VIF.set_ipv6_allowed(value)', 'VIF.qos_algorithm_params:kbps']) {
    assert.ok(all.some((t) => t.what === w), `${w} is declared`);
  }
});

test('every declared field and parameter refuses hostile values with the reference code, and nothing is stored', async (t) => {
  let calls = 0;
  const failures: string[] = [];
  for (const tg of targets()) {
    const legit = new Set(LEGIT[tg.type] ?? []);
    const values: [string, unknown][] = isIntType(tg.ftype) && tg.key === undefined
      ? (HOSTILE_INTS[tg.type] ?? []).map((n) => [`number ${n}`, n])
      : [...hostileTexts(String(VALID[tg.type])).filter(([k]) => !legit.has(k) && !(k === 'empty' && (tg.decl.emptyOk || tg.key !== undefined))),
        ...(HOSTILE_NUMBER_TEXTS[tg.type] ?? []).map((x): [string, unknown] => [`number text ${x}`, x])];
    assert.ok(values.length > 0, `${tg.what}: no hostile value to try`);
    for (const w of tg.writers) {
      for (const [label, value] of values) {
        if (w.creating && tg.decl.createZeroOk && typeof value === 'number' && value <= 0) continue; // xapi: "the default"
        const before = dbState();
        let got: string[];
        try {
          got = await failure(call(d.url, w.method, [s, ...w.args(shaped(tg.ftype, tg.key, value))]));
        } catch {
          failures.push(`${w.method} ${tg.what} ${label}: accepted`);
          continue;
        }
        calls++;
        const want = expectedError(tg, value);
        const gotHead = want[0] === 'HOST_NAME_INVALID' ? got.slice(0, 1) : got;
        if (JSON.stringify(gotHead) !== JSON.stringify(want)) failures.push(`${w.method} ${tg.what} ${label}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        if (want[0] === 'HOST_NAME_INVALID' && !['hostname empty', 'hostname is too long', 'hostname contains invalid characters'].includes(got[1])) failures.push(`${w.method} ${label}: reason ${got[1]}`);
        if (dbState() !== before) failures.push(`${w.method} ${tg.what} ${label}: the database changed`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(calls >= 500, `${calls} hostile calls`);
  t.diagnostic(`${calls} hostile calls refused`);
});

test('a valid value still goes through every generic writer of a declared field (the checks refuse only what is bad)', async () => {
  const c = (m: string, ...p: unknown[]) => call(d.url, m, [s, ...p]);
  await c('network.set_MTU', OBJ.network, 9000);
  await c('PIF.add_to_other_config', OBJ.PIF, 'domain', 'example.com lab.example.org');
  await c('PIF.add_to_other_config', OBJ.PIF, 'bond-updelay', '31000');
  await c('PIF.add_to_other_config', OBJ.PIF, 'anything-else', 'free text\nas xapi keeps it');
  await c('VIF.add_to_other_config', OBJ.VIF, 'mtu', '9000');
  await c('VIF.add_to_qos_algorithm_params', OBJ.VIF, 'kbps', '524287999');
  await c('host.set_hostname', OBJ.host, 'host1.example.com');
  const pif = (await c('PIF.get_record', OBJ.PIF)) as { other_config: Record<string, string> };
  assert.equal(pif.other_config.domain, 'example.com lab.example.org');
  assert.equal(((await c('network.get_record', OBJ.network)) as { MTU: number }).MTU, 9000);
  assert.equal(((await c('host.get_record', OBJ.host)) as { hostname: string }).hostname, 'host1.example.com');
  // a legacy entry stored before the checks stays removable
  d.db.transact((tx) => { tx.update(OBJ.VIF, { ipv6_allowed: ['fe80::1%eth0'] }); });
  await c('VIF.remove_ipv6_allowed', OBJ.VIF, 'fe80::1%eth0');
  assert.deepEqual(((await c('VIF.get_record', OBJ.VIF)) as { ipv6_allowed: string[] }).ipv6_allowed, []);
});
