// The Linux bridge backend's nftables text (pure): addresses normalised as OVS and ebtables match
// them, the rules of each locking mode, differences that touch only what changed, the summary
// that drift detection compares, and (where root can make a namespace) nft's acceptance of it all.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { chainOf, deltaScript, fullScript, mergedRanges, nftState, parsePrefix, summarize, summarizeListing, type VifFilter } from '../src/agent/bridgerules.ts';
import type { SwitchBackend } from '../src/agent/agent.ts';
import { LinuxBridgeBackend, plan } from '../src/agent/linuxbridge.ts';
import type { DesiredHost, PortSpec } from '../src/agent/desired.ts';
import { bridgeNsSkipReason } from './helpers/bridge-ns.ts';

const locked = (port: string, n: number, ipv4: string[] = [], ipv6: string[] = [], rateKBps?: number): VifFilter =>
  ({ port, mac: `02:00:00:00:00:0${n}`, mode: 'locked', ipv4, ipv6, rateKBps });

describe('nftables rules for the Linux bridge (pure)', () => {
  it('normalises addresses and prefixes, clearing host bits', () => {
    assert.deepEqual(parsePrefix('10.1.2.3/16', 4), { family: 4, addr: 0x0a010000n, len: 16 });
    assert.equal(parsePrefix('2001:db8::1', 6)?.addr, 0x20010db8000000000000000000000001n);
    assert.equal(parsePrefix('::ffff:1.2.3.4', 6)?.addr, 0xffff01020304n);
    assert.equal(parsePrefix('fe80::1%eth0', 6), undefined);
    assert.equal(parsePrefix('10.0.0.1/33', 4), undefined);
    assert.equal(parsePrefix('2001:db8::1', 4), undefined);
    assert.deepEqual(mergedRanges([[5n, 9n], [1n, 4n], [20n, 30n], [22n, 25n]]), [[1n, 9n], [20n, 30n]]);
  });

  it('locks a VIF to its MAC and allowed addresses, with per-address IPv6 and ND checks', () => {
    const s = nftState([locked('vif1.0', 1, ['10.0.0.1', '10.0.1.7/24'], ['2001:db8::1', 'fe80::/64'])]);
    const c = chainOf('vif1.0');
    assert.deepEqual(s.sets.get(`${c}_4`)?.elements, ['10.0.0.1', '10.0.1.0/24']);
    assert.deepEqual(s.sets.get(`${c}_6`)?.elements, ['2001:db8::1', 'fe80::/64']);
    assert.deepEqual(s.sets.get('ports')?.elements, ['vif1.0']);
    assert.equal(s.vmap.get('vif1.0'), c);
    const rules = s.chains.get(c)!;
    assert.equal(rules[0], 'ether saddr != 02:00:00:00:00:01 counter name "v_vif1_0_foreign_mac" drop');
    assert.ok(rules.includes('ether type ip udp dport 67 accept'));
    assert.ok(rules.some((r) => r.includes('arp saddr ip 0.0.0.0 accept')));
    assert.ok(rules.includes(`icmpv6 type nd-neighbor-advert ip6 saddr @${c}_6 ip6 length 24-32 @th,64,128 0x20010db8000000000000000000000001 accept`));
    assert.ok(rules.includes(`icmpv6 type nd-neighbor-advert ip6 saddr @${c}_6 ip6 length 24-32 @th,64,64 0xfe80000000000000 accept`));
    assert.ok(rules.includes('icmpv6 type nd-neighbor-solicit ip6 length 32 @th,192,64 != 0x0101020000000001 counter name "v_vif1_0_neighbour_spoof" drop'));
    // every drop counts under its reason (src/agent/dropstats.ts reads the counters)
    assert.equal(rules[rules.length - 1], 'counter name "v_vif1_0_other" drop');
    assert.ok(rules.filter((r) => / drop$|^drop$/.test(r) && !r.startsWith('limit')).every((r) => r.includes('counter name ')));
    assert.deepEqual(s.tagcnt, new Map([['vif1.0', 'v_vif1_0_tagged']]));
  });

  it('gives unlocked VIFs no chain (unless rate-limited) and disabled VIFs no place among the ports', () => {
    const s = nftState([
      { port: 'vif1.0', mac: '02:00:00:00:00:01', mode: 'unlocked', ipv4: [], ipv6: [] },
      { port: 'vif2.0', mac: '02:00:00:00:00:02', mode: 'unlocked', ipv4: [], ipv6: [], rateKBps: 100 },
      { port: 'vif3.0', mac: '02:00:00:00:00:03', mode: 'disabled', ipv4: [], ipv6: [] },
    ]);
    assert.deepEqual(s.sets.get('ports')?.elements, ['vif1.0', 'vif2.0']);
    assert.deepEqual([...s.vmap.keys()], ['vif2.0']);
    assert.deepEqual(s.chains.get(chainOf('vif2.0')), ['limit rate over 102400 bytes/second burst 65536 bytes drop']);
  });

  it('fails closed on a locked VIF without a usable MAC, and reports bad entries', () => {
    const s = nftState([{ port: 'vif1.0', mac: '', mode: 'locked', ipv4: [], ipv6: [] }, locked('vif2.0', 2, ['nonsense'])]);
    assert.deepEqual(s.chains.get(chainOf('vif1.0')), ['counter name "v_vif1_0_other" drop']);
    assert.equal(s.rejected.length, 2);
  });

  it('sends only what changed: nothing for the same state; one VIF\'s set for its new addresses', () => {
    const a = nftState([locked('vif1.0', 1, ['10.0.0.1']), locked('vif2.0', 2, ['10.0.0.2'])]);
    assert.equal(deltaScript(a, nftState([locked('vif2.0', 2, ['10.0.0.2']), locked('vif1.0', 1, ['10.0.0.1'])])), undefined);
    const b = nftState([locked('vif1.0', 1, ['10.0.0.1', '10.0.0.11']), locked('vif2.0', 2, ['10.0.0.2'])]);
    assert.equal(deltaScript(a, b), 'flush set bridge poolnet v_vif1_0_4\nadd element bridge poolnet v_vif1_0_4 { 10.0.0.1, 10.0.0.11 }\n');
    // a VIF going away: map first, then its chain, then its sets
    const c = nftState([locked('vif1.0', 1, ['10.0.0.1'])]);
    const lines = deltaScript(a, c)!.trim().split('\n');
    assert.ok(lines.indexOf('flush map bridge poolnet vifs') < lines.indexOf('delete chain bridge poolnet v_vif2_0'));
    assert.ok(lines.indexOf('delete chain bridge poolnet v_vif2_0') < lines.indexOf('delete set bridge poolnet v_vif2_0_4'));
  });

  it('summarises the wanted table the way it reads a listing back', () => {
    const s = nftState([locked('vif1.0', 1, ['10.0.0.0/25', '10.0.0.128/25', '10.0.0.5'])]);
    const c = chainOf('vif1.0');
    const rules = s.chains.get(c)!;
    const listing = JSON.stringify({ nftables: [
      { table: { family: 'bridge', name: 'poolnet' } },
      { set: { name: 'ports', type: 'ifname', elem: ['vif1.0'] } },
      { set: { name: `${c}_4`, type: 'ipv4_addr', elem: [{ prefix: { addr: '10.0.0.0', len: 24 } }] } },
      { set: { name: `${c}_6`, type: 'ipv6_addr' } },
      { map: { name: 'vifs', elem: [['vif1.0', { jump: { target: c } }]] } },
      ...fullScript(s).split('\n').filter((l) => l.startsWith('  chain ')).map((l) => ({ chain: { name: l.trim().split(' ')[1] } })),
      ...rules.map((_, i) => ({ rule: { chain: c, ...(i === rules.length - 1 ? { comment: fullScript(s).match(/drop comment "([0-9a-f]+)"/)![1] } : {}) } })),
      ...(['prerouting', 'forward', 'output'] as const).flatMap((hook) => {
        const tag = fullScript(s).split(`chain ${hook} {`)[1].match(/comment "([0-9a-f]+)"/)![1];
        const n = hook === 'prerouting' ? 4 : 1;
        return [...Array(n).keys()].map((i) => ({ rule: { chain: hook, ...(i === n - 1 ? { comment: tag } : {}) } }));
      }),
    ] });
    assert.equal(summarizeListing(listing), summarize(s));
    assert.equal(summarizeListing('{"nftables": []}'), undefined);
  });

  const nsSkip = bridgeNsSkipReason();
  it('is accepted by nft: the whole table, and a difference applied on top of it', { skip: nsSkip }, () => {
    const ns = `pn-lbrules-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    const nft = (args: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8' });
    try {
      const a = nftState([locked('vif1.0', 1, ['10.0.0.1', '10.0.0.0/24'], ['2001:db8::1', '::/0'], 100), { port: 'vif2.0', mac: '02:00:00:00:00:02', mode: 'unlocked', ipv4: [], ipv6: [], rateKBps: 10 }]);
      const b = nftState([locked('vif1.0', 1, ['10.0.0.9']), locked('vif3.0', 3, [], ['fe80::/10'])]);
      nft(['-f', '-'], fullScript(a));
      assert.equal(summarizeListing(nft(['-j', 'list', 'table', 'bridge', 'poolnet'])), summarize(a));
      nft(['-f', '-'], deltaScript(a, b)!);
      assert.equal(summarizeListing(nft(['-j', 'list', 'table', 'bridge', 'poolnet'])), summarize(b));
      nft(['-f', '-'], fullScript(a));
      assert.equal(summarizeListing(nft(['-j', 'list', 'table', 'bridge', 'poolnet'])), summarize(a));
    } finally { execFileSync('ip', ['netns', 'del', ns]); }
  });
});

describe('Linux bridge plan (pure)', () => {
  it('is a switch backend the agent can drive', () => {
    const sw: SwitchBackend = new LinuxBridgeBackend({ features: { vlan: false, bond: false } });
    assert.equal(typeof sw.drift, 'function');
  });

  const vif = (name: string, extra: Partial<PortSpec> = {}): PortSpec => ({ name, kind: 'vif', interfaces: [name], type: '', lock: { mode: 'unlocked', mac: '02:00:00:00:00:01', ipv4: [], ipv6: [] }, ...extra });
  const desired: DesiredHost = {
    hostname: 'h', interfaces: [], devices: [],
    bridges: [
      { name: 'xenbr0', mac: '02:00:00:00:01:00', mcastSnooping: false, externalIds: {}, ports: [
        { name: 'eth0', kind: 'uplink', interfaces: ['eth0'], type: '' },
        { name: 'xapi1', kind: 'vlan', interfaces: ['xapi1'], type: 'internal', tag: 100, fakeBridge: true },
        vif('vif1.0', { tag: 100 }), vif('vif2.0', { rateKbps: 50 }), vif('vif3.0', { lock: undefined }),
      ] },
      { name: 'xapi2', mcastSnooping: false, externalIds: {}, ports: [{ name: 'bond0', kind: 'bond', interfaces: ['eth1', 'eth2'], type: '', bond: { mode: 'active-backup', lacp: 'off', otherConfig: {}, memberOtherConfig: {}, updelay: 31000, downdelay: 200 } }] },
    ],
  };

  it('without 8021q or bonding: VLAN networks, their VIFs and bonds are reported and skipped', () => {
    const p = plan(desired, { vlan: false, bond: false, notes: [] });
    assert.deepEqual(p.bridges.map((b) => [b.name, b.members.map((m) => m.dev)]), [['xenbr0', ['eth0', 'vif2.0', 'vif3.0']], ['xapi2', []]]);
    assert.ok(p.unrealisable.some((u) => u.startsWith('VLAN network xapi1') && u.includes('8021q')));
    assert.ok(p.unrealisable.some((u) => u.startsWith('VIF vif1.0')));
    assert.ok(p.unrealisable.some((u) => u.startsWith('bond bond0')));
    assert.equal(p.vifs.find((v) => v.port === 'vif2.0')?.rateKBps, 50, 'nftables polices without tc police');
    assert.equal(p.vifs.find((v) => v.port === 'vif3.0')?.mode, 'locked', 'no locking data: fail closed');
  });

  it('with them: a VLAN bridge on <uplink>.<tag> carrying its VIFs, a bond of the members; tc polices', () => {
    const p = plan(desired, { vlan: true, bond: true, police: 'matchall', notes: [] });
    const by = new Map(p.bridges.map((b) => [b.name, b.members]));
    assert.deepEqual(by.get('xapi1')?.map((m) => m.dev), ['eth0.100', 'vif1.0']);
    assert.deepEqual(by.get('xapi1')?.[0].vlan, { parent: 'eth0', tag: 100 });
    assert.deepEqual(by.get('xapi2')?.map((m) => [m.dev, m.bond?.members]), [['bond0', ['eth1', 'eth2']]]);
    assert.equal(p.tcRates.get('vif2.0'), 50);
    assert.equal(p.vifs.find((v) => v.port === 'vif2.0')?.rateKBps, undefined);
  });
});
