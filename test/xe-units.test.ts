// xe's pure parts: argument grammar, connection options, printing, error text, the fields
// derived from the model, help layout, completion and certificate pinning.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { classDef } from '../src/model/index.ts';
import { findCommand } from '../src/cli/xe/commands.ts';
import { complete, shellWords, type CompletionEnv } from '../src/cli/xe/completion.ts';
import { XeError, failureLines } from '../src/cli/xe/errors.ts';
import { fieldTypeOf } from '../src/cli/xe/generic.ts';
import { Params, parseCommandLine } from '../src/cli/xe/grammar.ts';
import { wrapList } from '../src/cli/xe/help.ts';
import { defaultOptions, parseOptions, parsePartial, splitExtraArgs, type OptionSources } from '../src/cli/xe/options.ts';
import { escapeCommas, formatRecord, makePrinter } from '../src/cli/xe/printer.ts';
import { cliFields, marker } from '../src/cli/xe/records.ts';
import { knownServersTrust, parseKnownServers } from '../src/cli/xe/trust.ts';

const src = (o: Partial<OptionSources> = {}): OptionSources => ({ readFile: () => { throw new Error('no file'); }, ...o });

describe('xe argument grammar', () => {
  it('splits key=value at the first =, keeps order and duplicates, and turns --x into x=true', () => {
    const cl = parseCommandLine(['vif-param-set', 'uuid=u', 'other-config:a=b=c', '--force', 'other-config:a=2', 'bare']);
    assert.ok(!(cl instanceof XeError));
    assert.equal(cl.cmd, 'vif-param-set');
    assert.deepEqual(cl.params.list, [['uuid', 'u'], ['other-config:a', 'b=c'], ['force', 'true'], ['other-config:a', '2'], ['bare', '']]);
    assert.equal(cl.params.get('other-config:a'), 'b=c'); // the first occurrence wins
    assert.deepEqual(cl.params.map('other-config'), { a: 'b=c' });
  });

  it('refuses a first word with = and unknown single-dash switches', () => {
    const a = parseCommandLine(['name-label=x']);
    const b = parseCommandLine(['network-list', '-z', 'v']);
    assert.ok(a instanceof XeError && b instanceof XeError);
    assert.deepEqual(failureLines(a.failure), ['Syntax error: command name is missing', "For usage run: 'xe help'"]);
    assert.deepEqual(failureLines(b.failure), ['Syntax error: Unknown switch: -z', "For usage run: 'xe help'"]);
  });

  it('reads xe booleans and case-insensitive keys', () => {
    const p = new Params([['managed', 'No'], ['ip', '10.0.0.2'], ['force', 'maybe']]);
    assert.equal(p.bool('managed', true), false);
    assert.equal(p.bool('absent', true), true);
    assert.equal(p.optNoCase('IP', ''), '10.0.0.2');
    assert.throws(() => p.bool('force'), (e: XeError) => failureLines(e.failure)[0] === "Error: Failed to parse parameter 'force': Expected 'true','t','yes','y','1','false','f','no','n','0' got maybe");
  });
});

describe('xe connection options', () => {
  it('apply ~/.xe, then XE_EXTRA_ARGS, then the command line; other keys go to the command', () => {
    const r = parseOptions(['-u', 'carol', 'network-list', 'port=444'], src({
      rcFile: 'server=10.0.0.1\nport=80\nusername=alice\npassword=rcpw\nminimal=true\n\n',
      extraArgs: 'port=8443,username=bob,params=uuid\\,bridge',
    }));
    assert.equal(r.kind, 'run');
    if (r.kind !== 'run') return;
    assert.equal(r.opts.server, '10.0.0.1');
    assert.equal(r.opts.port, 444);
    assert.equal(r.opts.username, 'carol');
    assert.equal(r.opts.password, 'rcpw');
    // command line first, then the extra args, then the rc file's: commands take the first occurrence
    assert.deepEqual(r.args, ['network-list', 'params=uuid,bridge', 'minimal=true']);
  });

  it('split XE_EXTRA_ARGS at unescaped commas and drop the backslashes', () => {
    assert.deepEqual(splitExtraArgs('server=h,,password=a\\,b,x=c\\\\d'), ['server=h', 'password=a,b', 'x=cd']);
    assert.deepEqual(splitExtraArgs(''), []);
  });

  it('ignore a broken ~/.xe, read -pwf files, and check ports', () => {
    const bad = parseOptions(['host-list'], src({ rcFile: 'server=h\nnonsense\n' }));
    assert.equal(bad.kind, 'run');
    if (bad.kind === 'run') { assert.equal(bad.opts.server, '127.0.0.1'); assert.deepEqual(bad.warnings, ['Error parsing rc file. No defaults loaded']); }
    const pwf = parseOptions(['-pwf', '/pw', 'host-list'], src({ readFile: () => 'dave\nsecret\n' }));
    assert.ok(pwf.kind === 'run' && pwf.opts.username === 'dave' && pwf.opts.password === 'secret');
    assert.deepEqual(parseOptions(['-pwf', '/pw', 'host-list'], src({ readFile: () => 'dave\n' })), { kind: 'error', message: 'Error: password file format: expecting username on the first line, password on the second line', usage: false });
    assert.deepEqual(parseOptions(['-p', '70000', 'host-list'], src()), { kind: 'error', message: 'Port number must be an integer (0-65535)', usage: true });
    assert.equal(parseOptions([], src()).kind, 'usage');
    assert.equal(parseOptions(['host-list', '--help'], src()).kind, 'usage');
    assert.deepEqual({ ...defaultOptions() }, { server: '127.0.0.1', port: undefined, username: 'root', password: 'null', passwordFile: '', nossl: false, debug: false, debugOnFail: false, traceparent: undefined, fingerprint: undefined });
  });
});

describe('xe printing', () => {
  it('pads the first label on the right and the others on the left, 4 past the longest', () => {
    assert.equal(formatRecord([['uuid ( RO)', 'u1'], ['name-label ( RW)', 'n'], ['name-description ( RW)', '']]),
      'uuid ( RO)                : u1\n' +
      '          name-label ( RW): n\n' +
      '    name-description ( RW): \n');
  });

  it('ends every record with two blank lines; --minimal prints first columns comma-joined and escaped', () => {
    let out = '';
    const p = makePrinter(false, (s) => { out += s; }, () => undefined);
    p.print({ t: 'table', records: [[['a', '1']], [['a', '2']]] });
    assert.equal(out, 'a    : 1\n\n\na    : 2\n\n\n');
    out = '';
    const m = makePrinter(true, (s) => { out += s; }, () => undefined);
    m.print({ t: 'table', records: [[['uuid', 'x,y'], ['b', 'z']], [['uuid', 'back\\slash']]] });
    m.print({ t: 'msg', text: 'not in minimal output' });
    m.flush();
    assert.equal(out, 'x\\,y,back\\\\slash\n');
    assert.equal(escapeCommas('a,b\\c'), 'a\\,b\\\\c');
    out = '';
    const e = makePrinter(true, (s) => { out += s; }, () => undefined);
    e.print({ t: 'table', records: [] });
    e.flush();
    assert.equal(out, '\n');
  });
});

describe('xe error text', () => {
  it('prints a known code as its doc sentence and one name: value line per parameter', () => {
    assert.deepEqual(failureLines({ kind: 'api', code: 'UUID_INVALID', params: ['network', '1234'] }), ['The uuid you supplied was invalid.', 'type: network', 'uuid: 1234']);
    assert.deepEqual(failureLines({ kind: 'api', code: 'UUID_INVALID', params: ['network'] }).slice(1), ['type: network', 'uuid: <unknown>']);
    assert.deepEqual(failureLines({ kind: 'api', code: 'HA_IS_ENABLED', params: ['x'] }).slice(1), ['<extra>: x']);
  });

  it('prints unknown codes, CLI failures and authentication failures as xe does', () => {
    assert.deepEqual(failureLines({ kind: 'api', code: 'Missing parameter', params: ['nope'] }), ['Error code: Missing parameter', 'Error parameters: nope']);
    assert.deepEqual(failureLines({ kind: 'cli', message: 'Key k is not in map' }), ['Error: Key k is not in map']);
    assert.deepEqual(failureLines({ kind: 'api', code: 'SESSION_AUTHENTICATION_FAILED', params: ['root', 'x'] }), ['Authentication failed', "For usage run: 'xe help'"]);
    assert.deepEqual(failureLines({ kind: 'api', code: 'SESSION_AUTHENTICATION_FAILED', params: ['', 'x'] }), ['Username/password must be specified', "For usage run: 'xe help'"]);
    assert.deepEqual(failureLines({ kind: 'unknown-command', name: 'foo' }), ['Unknown command: foo', "For usage run: 'xe help'"]);
    assert.deepEqual(failureLines({ kind: 'missing-param', name: 'uuid' }), ['Required parameter not found: uuid', "For usage run: 'xe help'"]);
  });
});

describe('xe fields derived from the model', () => {
  const labels = (cls: string) => cliFields(classDef(cls)).map((d) => d.name + marker(d));

  it('give network the record of xapi, with markers', () => {
    assert.deepEqual(labels('network'), ['uuid ( RO)', 'name-label ( RW)', 'name-description ( RW)', 'VIF-uuids (SRO)', 'PIF-uuids (SRO)', 'MTU ( RW)', 'bridge ( RO)',
      'managed ( RO)', 'other-config (MRW)', 'blobs ( RO)', 'tags (SRW)', 'default-locking-mode ( RW)', 'purpose (SRW)']);
  });

  it('give PIF its flattened metrics, companions and settable properties', () => {
    const l = labels('PIF');
    assert.deepEqual(l.slice(0, 3), ['uuid ( RO)', 'device ( RO)', 'MAC ( RO)']);
    for (const x of ['network-name-label ( RO)', 'host-name-label ( RO)', 'carrier ( RO)', 'speed ( RO)', 'properties (MRO)', 'capabilities (SRO)', 'disallow-unplug ( RW)', 'other-config (MRW)', 'vlan-slave-of ( RO)']) assert.ok(l.includes(x), x);
    assert.equal(l.at(-1), 'igmp-snooping-status ( RO)');
    const props = cliFields(classDef('PIF')).find((d) => d.name === 'properties');
    assert.equal(props?.setInMap, 'set_property');
  });

  it('give VIF the custom locking setters', () => {
    const defs = cliFields(classDef('VIF'));
    const by = (n: string) => defs.find((d) => d.name === n)!;
    assert.equal(by('locking-mode').setter, 'set_locking_mode');
    assert.equal(by('ipv4-allowed').setter, 'set_ipv4_allowed');
    assert.equal(by('ipv4-allowed').addToSet, 'add_ipv4_allowed');
    assert.equal(marker(by('ipv4-allowed')), ' (SRW)');
    assert.equal(marker(by('qos_algorithm_params')), ' (MRW)');
    assert.equal(marker(by('io_read_kbs')), ' ( RO)');
    assert.ok(by('io_read_kbs').expensive);
  });

  it('generate param commands only where something is writable', () => {
    for (const c of ['vlan-param-set', 'vlan-param-add', 'vlan-param-clear', 'network-sriov-param-set', 'sdn-controller-param-set', 'bond-param-add']) assert.equal(findCommand(c), undefined, c);
    for (const c of ['vlan-list', 'vlan-param-get', 'bond-param-set', 'bond-param-clear', 'network-param-add', 'pool-param-set', 'tunnel-param-add', 'message-list']) assert.ok(findCommand(c), c);
    assert.deepEqual(findCommand('bond-param-set')?.optn, ['properties:']);
  });

  it('resolve filter keys like xapi: exact, map:key, set:contains, legacy map-key', () => {
    const defs = cliFields(classDef('network'));
    assert.deepEqual(fieldTypeOf('bridge', defs), { kind: 'normal' });
    assert.deepEqual(fieldTypeOf('other-config:foo', defs), { kind: 'map', field: 'other-config' });
    assert.deepEqual(fieldTypeOf('other-config-foo', defs), { kind: 'map', field: 'other-config' });
    assert.deepEqual(fieldTypeOf('tags:contains', defs), { kind: 'set', field: 'tags' });
    assert.throws(() => fieldTypeOf('nope', defs), (e: XeError) => failureLines(e.failure)[0] === "Error: Unknown field 'nope'");
    assert.throws(() => fieldTypeOf('bridge:x', defs), (e: XeError) => failureLines(e.failure)[0] === "Error: Field 'bridge' is not a set or map");
  });
});

describe('xe help layout', () => {
  it('wraps command names at 74 columns with a 4-space indent', () => {
    const names = Array.from({ length: 12 }, (_, i) => `command-number-${i}`);
    const lines = wrapList(names);
    for (const l of lines) { assert.ok(l.startsWith('    ')); assert.ok(l.length <= 74 + 2 + 20, l); }
    assert.equal(lines.join(', ').replace(/\s+/g, ' ').trim().split(', ').length, 12);
  });
});

describe('xe completion', () => {
  const env: CompletionEnv = {
    parse: (words) => parsePartial(words, src()),
    uuids: async (cls) => (cls === 'PIF' ? ['aaaa-1', 'aaab-2', 'bbbb-3'] : cls === 'network' ? ['nnnn-1'] : []),
  };

  it('splits the line into words with the current one last', () => {
    assert.deepEqual(shellWords('xe pif-list "name-label=a b" '), ['xe', 'pif-list', 'name-label=a b', '']);
    assert.deepEqual(shellWords('xe pif-li'), ['xe', 'pif-li']);
  });

  it('completes commands, parameter names, fixed values and uuids', async () => {
    assert.deepEqual(await complete('xe pif-reconfigure-ip', env), ['pif-reconfigure-ip ', 'pif-reconfigure-ipv6 ']);
    assert.deepEqual(await complete('xe -s h -p 1 vlan-cre', env), ['vlan-create ']);
    assert.deepEqual(await complete('xe pif-reconfigure-ip uuid=x ', env), ['mode=', 'IP=', 'netmask=', 'gateway=', 'DNS=']);
    assert.deepEqual(await complete('xe pif-reconfigure-ip mode=s', env), ['mode=Static ']);
    assert.deepEqual(await complete('xe pif-plug uuid=aaa', env), ['uuid=aaaa-1 ', 'uuid=aaab-2 ']);
    assert.deepEqual(await complete('xe bond-create pif-uuids=aaaa-1,b', env), ['pif-uuids=aaaa-1,bbbb-3']);
    assert.deepEqual(await complete('xe vlan-create network-uuid=', env), ['network-uuid=nnnn-1 ']);
    assert.deepEqual(await complete('xe vif-param-set locking-mode=l', env), ['locking-mode=locked ']);
    assert.deepEqual(await complete('xe network-param-get param-name=default-', env), ['param-name=default-locking-mode ']);
    assert.deepEqual(await complete('xe network-list --', env), ['--minimal ', '--all ']);
    assert.ok((await complete('xe bond-create ', env)).includes('properties:'));
  });
});

describe('xe certificate pinning', () => {
  it('trusts on first use, then refuses a changed certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-trust-'));
    try {
      const file = join(dir, 'known');
      const t = knownServersTrust(file);
      const first = t.check('h:443', 'AA:BB');
      assert.ok(first.ok && first.warning?.includes('first use'));
      assert.deepEqual(t.check('h:443', 'AA:BB'), { ok: true }); // once per process
      assert.deepEqual([...parseKnownServers(readFileSync(file, 'utf8'))], [['h:443', 'AA:BB']]);
      assert.deepEqual(knownServersTrust(file).check('h:443', 'aabb'), { ok: true });
      const changed = knownServersTrust(file).check('h:443', 'CC:DD');
      assert.ok(!changed.ok && changed.message.includes('has changed'));
      assert.ok(knownServersTrust(file, 'CC:DD').check('h:443', 'CC:DD').ok);
      assert.ok(!knownServersTrust(file, 'EE').check('h:443', 'CC:DD').ok);
      writeFileSync(file, '');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
