// Property test: random database contents, hostile strings included, go through compile() and
// every backend's text builder, and the real parsers accept every text: `ovs-ofctl parse-flows`
// (OpenFlow 1.3) for the flow tables, `nft -c -f` (in a network namespace of its own) for the
// Linux bridge's nftables table, `ip -force -batch` (in a network namespace of its own, on
// devices made there) for the host OS and Linux bridge link lines. No injected line appears:
// each text has exactly the lines its builder meant, and no hostile needle reaches any of them.
// A second property feeds hostile values straight to the builders, past compile(): they refuse
// the object (its text is left out), never splice the value in.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compile } from '../src/agent/compile.ts';
import { isTextIfName, meterText, switchFit, switchProblems } from '../src/agent/checked.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeFlows, flowText, ovsTables, type Flow, type VifLock } from '../src/agent/ovsflows.ts';
import { fullScript, nftState } from '../src/agent/bridgerules.ts';
import { hostOsCommands, resolvConf, type IpAddr } from '../src/agent/hostos.ts';
import { LinuxBridgeBackend, plan } from '../src/agent/linuxbridge.ts';
import { meterBurstKbits } from '../src/agent/ovs.ts';
import { isHostname } from '../src/model/valid.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

const works = (cmd: string, args: string[], input = ''): boolean => spawnSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'ignore'] }).status === 0;
const hasOfctl = works('ovs-ofctl', ['--version']);
const hasNft = works('unshare', ['-n', 'nft', '-c', '-f', '-'], 'add table bridge t\n');
const hasIp = works('unshare', ['-n', 'ip', 'link', 'show']);
const RUNS = Number(process.env.FC_RUNS ?? 150);
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
/** Runs, the seed to replay, and the failing assertion's own message in the report. */
const options = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns, seed,
  reporter: (r) => { if (r.failed) throw new Error(`${fc.defaultReportMessage(r)}\n${r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)}`); },
});

// ---- hostile values --------------------------------------------------------------------------

/** Text that must never reach a line: each needle is the tail of a hostile value below. */
const NEEDLES = ['INJECTED', 'netns exec', 'link del eth0', '/etc/shadow', 'nameserver 6.6.6.6'];
const HOSTILE = [
  '\n', 'x\nINJECTED', '10.0.0.5\nnetns exec x sh -c id', 'xapi9\nlink del eth0', '-F/etc/shadow', '--help',
  'example.com\nnameserver 6.6.6.6', '02:aa:00:00:00:01,actions=output:INJECTED', 'a\0b', 'a,b', 'a;b', 'a b', '"q"', "'", '{', '}', '{}',
  'fe80::1%eth0', '2001:db8::1%1', '10.0.0.256', '1.5', '-5', '99999999999999999999', '', ' ', '#INJECTED', 'a=b', 'in_port=1',
  '$(INJECTED)', '`INJECTED`', '\\', '/', ':', 'x'.repeat(300), 'ünïcødé', 'é.com', '10.0.0.1/33', '10.0.0.1/24/1', '::/129',
  'eth0:1', 'vif1.0 ', '.', '..', '0x1', '1e3', 'true\nINJECTED',
];
const hostileText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.tuple(fc.ipV4(), fc.constantFrom('\n', ',', ' ', ';', '\0', '%eth0'), fc.constantFrom('INJECTED', 'nameserver 6.6.6.6')).map(([a, s, b]) => a + s + b) },
);
const hostileNumber = fc.oneof(fc.integer({ min: -10, max: 70000 }), fc.constantFrom(5000, 4095, -1, 2 ** 32, 2 ** 53, 1e20, 1.5, Number.NaN, Number.POSITIVE_INFINITY), fc.double());
const hostile = fc.oneof(hostileText, hostileNumber, fc.constantFrom(null, true, [], {}, ['a\nINJECTED']));

/** A plausible value for a field, or a hostile one. */
const v4 = fc.oneof(fc.ipV4(), hostile);
const v6cidr = fc.oneof(fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, l]) => `${a}/${l}`), hostile);
const mac = fc.oneof(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':')), hostile);
const digits = (min: number, max: number) => fc.oneof(fc.integer({ min, max }).map(String), hostile);
const list = <T>(a: fc.Arbitrary<T>) => fc.oneof(fc.array(a, { maxLength: 3 }), hostile);

interface Target { readonly ref: () => string; readonly field: string; readonly key?: string; readonly value: fc.Arbitrary<unknown> }

describe('compile and the text builders on hostile database contents', () => {
  let d: TestDaemon;
  let host: string;
  let dir: string;
  const r: Record<string, string> = {};
  const targets: Target[] = [];

  before(async () => {
    d = await startTestDaemon();
    dir = mkdtempSync(join(tmpdir(), 'poolnet-hostile-'));
    const s = await login(d.url);
    host = [...d.db.all('host')][0].ref;
    const pif = async (dev: string) => Object.keys((await call(d.url, 'PIF.get_all_records_where', [s, `field "device"="${dev}" and field "VLAN"="-1"`])) as object)[0];
    [r.eth0, r.eth1, r.eth2] = [await pif('eth0'), await pif('eth1'), await pif('eth2')];
    const bnet = await call(d.url, 'network.create', [s, { name_label: 'bond', MTU: 9000, other_config: {} }]) as string;
    r.bond = await call(d.url, 'Bond.create', [s, bnet, [r.eth1, r.eth2], '02:00:00:00:0b:00', 'lacp', { 'lacp-time': 'fast' }]) as string;
    r.bondMaster = d.db.get(r.bond)!.rec.master as string;
    r.vnet = await call(d.url, 'network.create', [s, { name_label: 'vlan 100', MTU: 1500, other_config: {} }]) as string;
    r.vlan = await call(d.url, 'VLAN.create', [s, r.eth0, 100, r.vnet]) as string;
    r.inet = await call(d.url, 'network.create', [s, { name_label: 'internal', MTU: 1500, other_config: {} }]) as string;
    r.xenbr0 = ((await call(d.url, 'network.get_all_where', [s, 'field "bridge"="xenbr0"'])) as string[])[0];
    r.vm = await call(d.url, 'VM.create', [s, { name_label: 'vm', other_config: {} }]) as string;
    const vif = (net: string, device: string, m: string) => call(d.url, 'VIF.create', [s, { device, network: net, VM: r.vm, MAC: m, MTU: 1500, other_config: {}, qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '100' }, locking_mode: 'locked', ipv4_allowed: ['10.0.0.50'], ipv6_allowed: ['2001:db8::50'], trunks: [] }]) as Promise<string>;
    r.vif0 = await vif(r.xenbr0, '0', '02:aa:00:00:00:01');
    r.vif1 = await vif(r.vnet, '1', '02:aa:00:00:00:02');
    r.vif2 = await vif(r.inet, '2', '02:aa:00:00:00:03');
    await call(d.url, 'VM.start', [s, r.vm, false, false]);
    // static IPv6 and a second DNS PIF in the fixture, so their text is built too
    d.db.transact((tx) => tx.update(r.eth0, { ipv6_configuration_mode: 'Static', IPv6: ['2001:db8::11/64'], ipv6_gateway: '2001:db8::1', other_config: { domain: 'example.com' } }));

    const t = (ref: string, field: string, value: fc.Arbitrary<unknown>, key?: string) => targets.push({ ref: () => r[ref] ?? ref, field, key, value });
    t('eth0', 'IP', v4); t('eth0', 'netmask', fc.oneof(fc.constantFrom('255.255.255.0', '255.255.0.0', '255.255.255.255'), hostile)); t('eth0', 'gateway', v4);
    t('eth0', 'DNS', fc.oneof(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 3 }).map((a) => a.join(',')), hostile));
    t('eth0', 'IPv6', list(v6cidr)); t('eth0', 'ipv6_gateway', fc.oneof(fc.ipV6(), hostile)); t('eth0', 'MAC', mac); t('eth0', 'device', hostile);
    t('eth0', 'other_config', fc.oneof(fc.domain(), hostile), 'domain'); t('eth0', 'other_config', digits(0, 70000), 'mtu');
    t('eth0', 'ip_configuration_mode', fc.oneof(fc.constantFrom('Static', 'DHCP', 'None'), hostile));
    t('bondMaster', 'other_config', digits(0, 2 ** 31), 'bond-updelay'); t('bondMaster', 'other_config', digits(0, 2 ** 31), 'bond-downdelay');
    t('bondMaster', 'other_config', fc.oneof(fc.constantFrom('carrier', 'miimon'), hostile), 'bond-detect-mode'); t('bondMaster', 'MAC', mac);
    t('bond', 'properties', fc.oneof(fc.constantFrom('fast', 'slow'), hostile), 'lacp-time'); t('bond', 'properties', digits(0, 70000), 'lacp-aggregation-key');
    t('bond', 'properties', fc.oneof(fc.constantFrom('src_mac', 'tcpudp_ports'), hostile), 'hashing_algorithm'); t('bond', 'mode', fc.oneof(fc.constantFrom('lacp', 'balance-slb', 'active-backup'), hostile));
    t('eth1', 'device', hostile);
    t('vlan', 'tag', fc.oneof(fc.integer({ min: 0, max: 4094 }), hostileNumber, hostileText));
    for (const n of ['xenbr0', 'vnet', 'inet']) {
      t(n, 'bridge', hostile); t(n, 'MTU', fc.oneof(fc.integer({ min: 68, max: 9000 }), hostileNumber));
      t(n, 'default_locking_mode', fc.oneof(fc.constantFrom('unlocked', 'disabled'), hostile));
    }
    t('xenbr0', 'other_config', fc.oneof(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4()).map((x) => x.join('/')), hostile), 'static-routes');
    for (const v of ['vif0', 'vif1', 'vif2']) {
      t(v, 'MAC', mac); t(v, 'device', fc.oneof(fc.constantFrom('0', '7', '12'), hostile)); t(v, 'ipv4_allowed', list(fc.oneof(fc.ipV4(), fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map((x) => x.join('/')), hostile)));
      t(v, 'ipv6_allowed', list(fc.oneof(fc.ipV6(), v6cidr, hostile))); t(v, 'trunks', fc.oneof(fc.array(fc.oneof(fc.integer({ min: 0, max: 4094 }), hostileNumber), { maxLength: 3 }), hostile));
      t(v, 'locking_mode', fc.oneof(fc.constantFrom('locked', 'unlocked', 'disabled', 'network_default'), hostile));
      t(v, 'other_config', digits(0, 70000), 'mtu'); t(v, 'qos_algorithm_params', fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }).map(String), hostile), 'kbps');
    }
    t('vm', 'domid', fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), hostileNumber, hostileText));
    t(host, 'hostname', fc.oneof(fc.domain(), hostile));
  });
  after(async () => { await d?.dispose(); if (dir) rmSync(dir, { recursive: true, force: true }); });

  /** Write `patches` into the database past the API, run `f`, put everything back. */
  function withValues<T>(patches: { target: Target; value: unknown }[], f: () => T): T {
    const old = new Map<string, Record<string, unknown>>();
    d.db.transact((tx) => {
      for (const { target, value } of patches) {
        const ref = target.ref();
        const rec = d.db.get(ref)!.rec;
        const saved = old.get(ref) ?? {};
        if (!(target.field in saved)) saved[target.field] = rec[target.field];
        old.set(ref, saved);
        const next = target.key ? { ...(rec[target.field] as object), [target.key]: value } : value;
        tx.update(ref, { [target.field]: next });
      }
    });
    try { return f(); } finally { d.db.transact((tx) => { for (const [ref, patch] of old) tx.update(ref, patch); }); }
  }

  it(`${RUNS} random databases: every text parses, one line per item, no needle`, { timeout: 600_000 }, async () => {
    let texts = 0, rejectedSeen = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.nat(1000), { minLength: 1, maxLength: 5 }).chain((picks) => fc.tuple(...picks.map((i) => targets[i % targets.length].value.map((value) => [i % targets.length, value] as const)))),
      async (picked) => {
        const patches = picked.map(([i, value]) => ({ target: targets[i], value }));
        const desired = withValues(patches, () => compile(d.db, host));
        rejectedSeen += desired.rejected?.length ?? 0;
        for (const rej of desired.rejected ?? []) assert.ok(!/[\n\r\0]/.test(rej.value + rej.field + rej.outcome), 'a report is one line too');
        texts += await checkTexts(desired, dir);
      },
    ), options(RUNS));
    assert.ok(texts > RUNS, `texts were built and parsed (${texts})`);
    assert.ok(rejectedSeen > 0, 'hostile values were generated and rejected');
  });

  it('the builders themselves refuse hostile values that compile() never let through', { timeout: 600_000 }, async () => {
    const base = compile(d.db, host);
    await fc.assert(fc.asyncProperty(fc.nat(1000), fc.nat(20), hostile, async (which, where, bad) => {
      const desired = corrupt(base, which, where, bad);
      // every builder runs on the corrupted state; what they build must still parse and carry no needle
      await checkTexts(desired, dir, true);
    }), options(Math.ceil(RUNS / 2)));
  });

  /** Every text the backends would build for `desired`, checked by the real parsers. Returns the number of texts. */
  async function checkTexts(desired: DesiredHost, work: string, past = false): Promise<number> {
    let n = 0;
    const needle = (text: string, what: string) => { for (const x of NEEDLES) assert.ok(!text.includes(x), `${what} carries "${x}":\n${text}`); };
    // Open vSwitch: OVSDB rows (nothing compile() produced is unfit), meters, each bridge's flow table
    if (!past) assert.deepEqual(switchProblems(desired), [], 'compile and the OVSDB check agree');
    const fit = switchFit(desired);
    needle(JSON.stringify(fit.bridges), 'the OVSDB rows');
    const tables = ovsTables(desired);
    for (const ms of Object.values(tables.meters)) for (const m of ms) {
      const text = meterText(m.id, m.kbits, meterBurstKbits(m.kbits));
      if (!past) assert.ok(text, `meter ${JSON.stringify(m)} fits OpenFlow`);
      if (text) assert.match(text, /^meter=\d+,kbps,burst,band=type=drop,rate=\d+,burst_size=\d+$/);
    }
    for (const b of fit.bridges) {
      const flows = past ? bridgeFlows(locksOf(b.ports), b.ports) : tables.flows[b.name] ?? [];
      if (hasOfctl) { await parseFlows(numbered(flows), work); n++; }
    }
    // the Linux bridge: nftables table and link lines
    const p = plan(desired, { vlan: true, bond: true, notes: [] });
    const state = nftState(p.vifs);
    if (!past) assert.deepEqual(state.rejected, [], 'compile and the nftables check agree');
    const script = fullScript(state);
    needle(script, 'the nft script');
    for (const l of script.trimEnd().split('\n')) assert.match(l, /^(add table |delete table |table |\s+set |\s+counter |\s+map |\s+chain |\s+type filter hook |\s{4}\S|\s+}|}|add element )/, `an nft line of its own: ${l}`);
    if (hasNft) { nft(script, work); n++; }
    const links = new LinuxBridgeBackend()['linkCommands'](p, new Map(), []);
    // the host OS: the kernel has every device, with one old address each (so deletions are built too)
    const devs = new Set([...desired.devices.map((x) => x.name), ...desired.interfaces.map((i) => i.device), ...desired.bridges.map((b) => b.name)]);
    const kernel = new Map<string, IpAddr>([...devs].map((name) => [name, { ifname: name, mtu: 1400, operstate: 'DOWN', flags: [], addr_info: [{ family: 'inet', local: '192.0.2.9', prefixlen: 24, scope: 'global' }] }]));
    const os = hostOsCommands(desired, kernel, [{ dst: 'default', gateway: '192.0.2.1', dev: [...devs][0] }]);
    if (!past) assert.deepEqual(os.skipped, [], 'compile and the ip lines agree');
    const ipLines = [...os.cmds, ...links];
    for (const l of ipLines) {
      assert.ok(!/[\n\r\0]/.test(l), `one line: ${JSON.stringify(l)}`);
      assert.match(l, /^(link|addr|route) /, `an ip command of its own: ${l}`);
    }
    needle(ipLines.join('\n'), 'the ip lines');
    // (the devices the test makes itself: only names the kernel takes; the builders' lines name no others)
    if (hasIp && ipLines.length) { ipBatch([...devs].filter((x) => isTextIfName(x) && !links.some((l) => l.startsWith(`link add name ${x} `))), ipLines, work); n++; }
    if (desired.dns) {
      let conf = '';
      try { conf = resolvConf(desired.dns); } catch (e) { if (!past) throw e; }
      needle(conf, 'resolv.conf');
      if (conf) assert.equal(conf.trimEnd().split('\n').length, desired.dns.nameservers.length + (desired.dns.search.length ? 1 : 0));
      for (const l of conf.trimEnd().split('\n').filter(Boolean)) assert.match(l, /^(search( [a-zA-Z0-9.-]+)+|nameserver [0-9a-fA-F:.]+)$/);
    }
    if (!past) assert.ok(desired.hostname === '' || (isHostname(desired.hostname) && !desired.hostname.startsWith('-')));
    return n;
  }
});

/** The VIF locks of a bridge's ports (what compile() hands bridgeFlows). */
function locksOf(ports: readonly PortSpec[]): VifLock[] {
  return ports.filter((p) => p.kind === 'vif' && p.lock).map((p, i) => ({ ...p.lock!, port: p.name, vifUuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, meter: p.rateKbps ? i + 1 : undefined }));
}

/** A copy of `d` with one value, somewhere a backend reads it, replaced by `bad`. */
function corrupt(d: DesiredHost, which: number, where: number, bad: unknown): DesiredHost {
  const x = structuredClone(d) as unknown as Record<string, unknown>;
  const slots: [Record<string, unknown>, string][] = [];
  const walk = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (k === 'flows' || k === 'rejected' || k === 'externalIds') continue;
      if (typeof v === 'string' || typeof v === 'number') slots.push([o as Record<string, unknown>, k]);
      else walk(v);
    }
  };
  walk(x);
  const [o, k] = slots[(which * 21 + where) % slots.length];
  o[k] = bad;
  return x as unknown as DesiredHost;
}

/** Port names to OpenFlow numbers, as ovs.ts does before handing the text to ovs-ofctl. */
function numbered(flows: readonly Flow[]): string[] {
  const nums = new Map<string, number>();
  const num = (name: string) => (/^(\d+|[A-Z_]+)$/.test(name) ? name : String(nums.get(name) ?? (nums.set(name, nums.size + 1), nums.size)));
  return flows.map((f) => flowText({ ...f, match: f.match.replace(/(^|,)in_port=([^,]+)/, (_m, pre: string, p: string) => `${pre}in_port=${num(p)}`), actions: f.actions.replace(/output:([^,\s]+)/g, (_m, p: string) => `output:${num(p)}`) }));
}

async function parseFlows(lines: readonly string[], work: string): Promise<void> {
  const text = lines.join('\n') + '\n';
  for (const x of NEEDLES) assert.ok(!text.includes(x), `flow text carries "${x}"`);
  assert.equal(text.split('\n').length - 1, lines.length, 'one line per flow');
  const file = join(work, 'flows');
  writeFileSync(file, text);
  const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flows', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ovs-ofctl parse-flows refused:\n${r.stderr}\n${text}`);
  assert.equal((r.stdout.match(/OFPT_FLOW_MOD/g) ?? []).length, lines.length, 'each line is one flow');
}

function nft(script: string, work: string): void {
  const file = join(work, 'rules.nft');
  writeFileSync(file, script);
  const r = spawnSync('unshare', ['-n', 'nft', '-c', '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `nft -c refused:\n${r.stderr}\n${script}`);
}

/** ip errors that say a line could not be read (as opposed to a device or address that is not there). */
const IP_SYNTAX = /garbage|is unknown|is wrong|is expected|expected rather|not complete|Error: either|Invalid "|invalid argument "/i;

function ipBatch(devices: readonly string[], lines: readonly string[], work: string): void {
  const file = join(work, 'ip.batch');
  // the devices the lines name exist in a network namespace of the test's own (bridges: no module needed)
  writeFileSync(file, [...devices.map((x) => `link add name ${x} type bridge`), ...lines].join('\n') + '\n');
  const r = spawnSync('unshare', ['-n', 'ip', '-force', '-batch', file], { encoding: 'utf8' });
  const syntax = r.stderr.split('\n').filter((l) => IP_SYNTAX.test(l));
  assert.deepEqual(syntax, [], `ip could not read a line:\n${r.stderr}\n${lines.join('\n')}`);
}

