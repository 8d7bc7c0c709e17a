// The OpenFlow codec against ovs-ofctl's own: generated VIF locks (every mode, IPv4 and IPv6
// addresses in many spellings, trunks, meters) give flow lines as ovs.ts sends them; each line's
// flow_mod, as src/agent/openflow encodes it, is printed by `ovs-ofctl ofp-print` and must read
// exactly as ovs-ofctl's own parse of the line (`parse-flows`, OpenFlow 1.4). Mutated lines: when
// the encoder takes one, ovs-ofctl must read it the same way; whatever ovs-ofctl refuses, the
// encoder refuses too (fail closed). Decoders take random bytes without crashing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bridgeFlows, flowText, vifFlows, type VifLock } from '../src/agent/ovsflows.ts';
import { decodeOxm, encodeOxm, ipv6Bytes, matchText, parseFlowText, UnsupportedFlow } from '../src/agent/openflow/flowtext.ts';
import { addMessage } from '../src/agent/openflow/tables.ts';
import { helloVersions, parseFlowStats, parseMeterConfigs } from '../src/agent/openflow/wire.ts';

const skip = spawnSync('ovs-ofctl', ['--version']).status === 0 ? false : 'needs ovs-ofctl (Debian openvswitch-common)';

/** A small deterministic generator (mulberry32): the same cases every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

function genLock(r: ReturnType<typeof rng>, i: number): VifLock {
  const mac = ['02', ...Array.from({ length: 5 }, () => hex2(r.int(256)))].join(':');
  const v4 = () => `${1 + r.int(223)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
  const v6 = () => r.pick([
    () => `fd00::${r.int(0xffff).toString(16)}`,
    () => `2001:db8:${r.int(0xffff).toString(16)}:${r.int(0xffff).toString(16)}::${r.int(0xffff).toString(16)}`,
    () => `fe80::${r.int(0xffff).toString(16)}:${r.int(0xffff).toString(16)}`,
    () => `::ffff:${v4()}`,
    () => Array.from({ length: 8 }, () => r.int(0xffff).toString(16)).join(':'),
    () => `2001:db8::${r.int(2) ? '0:' : ''}1`,
  ])();
  const mode = r.pick(['locked', 'locked', 'locked', 'unlocked', 'disabled'] as const);
  return {
    port: `vif${i}.0`, vifUuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, mac, mode,
    ipv4: Array.from({ length: r.int(3) }, v4), ipv6: Array.from({ length: r.int(3) }, v6),
    meter: r.int(3) === 0 ? 1 + r.int(0x7ffffffe) : undefined,
    trunks: r.int(3) === 0 ? Array.from({ length: 1 + r.int(3) }, () => 1 + r.int(4094)) : undefined,
  };
}

/** A flow as ovs.ts hands it to the switch: its port by number. */
const numbered = (line: string, port: number) => line.replace(/in_port=vif\d+\.0/, `in_port=${port}`);

/** ovs-ofctl's reading of flow lines (OpenFlow 1.4): one line each, or undefined where it refuses the line. */
function ofctlParse(lines: readonly string[]): (string | undefined)[] {
  const dir = mkdtempSync(join(tmpdir(), 'poolnet-ofcodec-'));
  try {
    return lines.map((l) => {
      writeFileSync(join(dir, 'f'), `${l}\n`);
      const p = spawnSync('ovs-ofctl', ['-O', 'OpenFlow14', 'parse-flows', join(dir, 'f')], { encoding: 'utf8' });
      if (p.status !== 0) return undefined;
      return p.stdout.split('\n').find((x) => x.startsWith('OFPT_FLOW_MOD'))?.replace(/\(xid=0x[0-9a-f]+\): /, '');
    });
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** ovs-ofctl's reading of our flow_mod bytes. */
function ofpPrint(msg: Buffer): string {
  const p = spawnSync('ovs-ofctl', ['ofp-print', msg.toString('hex')], { encoding: 'utf8' });
  return p.stdout.trim().replace(/\(xid=0x[0-9a-f]+\): /, '');
}

/** The encoder's answer: the message, or 'refused' (UnsupportedFlow only: any other exception fails the test). */
function encode(line: string): Buffer | 'refused' {
  try { return addMessage(line); } catch (e) { if (e instanceof UnsupportedFlow) return 'refused'; throw e; }
}

describe('OpenFlow codec', { skip }, () => {
  it('encodes every flow ovsflows.ts writes exactly as ovs-ofctl reads its text', () => {
    const r = rng(12);
    const lines = new Set<string>();
    const locks = Array.from({ length: 24 }, (_, i) => genLock(r, i + 1));
    for (const f of bridgeFlows(locks, [{ name: 'eth0', kind: 'uplink', interfaces: ['eth0'], type: '' }])) {
      if (f.match.includes('in_port=eth0')) continue; // a name: ovs.ts numbers it first
      lines.add(numbered(flowText(f), 1 + r.int(60000)));
    }
    for (const l of locks) for (const f of vifFlows(l)) lines.add(numbered(flowText(f), 1 + r.int(60000)));
    // the quarantine flow and the reserved ports
    lines.add('cookie=0x1,priority=10000,in_port=7,actions=drop');
    lines.add('cookie=0x2,priority=1,in_port=LOCAL,actions=NORMAL');
    lines.add('cookie=0x3,priority=3,in_port=9,actions=output:4,output:5');
    // one line per distinct shape: the property is per flow, and ovs-ofctl costs a process each
    const sample = [...lines].filter((_, i) => i % 3 === 0 || i < 40);
    const theirs = ofctlParse(sample);
    let checked = 0;
    sample.forEach((line, i) => {
      const mine = encode(line);
      assert.notEqual(mine, 'refused', `the encoder refused a line ovsflows.ts writes: ${line}`);
      assert.ok(theirs[i], `ovs-ofctl refused ${line}`);
      assert.equal(ofpPrint(mine as Buffer), theirs[i], line);
      checked++;
    });
    assert.ok(checked > 100, `${checked} lines`);
  });

  it('refuses whatever ovs-ofctl refuses, and reads what it takes as ovs-ofctl does (mutated lines)', () => {
    const r = rng(7);
    const base = Array.from({ length: 6 }, (_, i) => genLock(r, i + 1)).flatMap((l) => vifFlows(l)).map((f) => numbered(flowText(f), 5));
    const tokens = ['ip', 'arp', 'ipv6', 'icmp6', 'tcp', 'udp6', 'nw_src=10.1.2.3', 'nw_src=10.1.2.3/24', 'tp_dst=80', 'tp_src=80', 'icmp_type=1',
      'dl_vlan=4095', 'dl_vlan=5000', 'vlan_tci=0x1234', 'in_port=vif1.0', 'in_port=0', 'ipv6_src=fe80::1%eth0', 'nd_sll=02:00:00:00:00:01',
      'nd_target=::1', 'arp_spa=1.2.3.4', 'dl_src=02:00:00:00:00:0g', 'priority=70000', 'cookie=0x1', 'nw_proto=6', 'metadata=1', 'reg0=1',
      'dl_type=0x0800', 'ipv6_src=::', 'arp_sha=02:00:00:00:00:01', 'dl_src=ff:ff:ff:ff:ff:ff'];
    const actionsTokens = ['drop', 'NORMAL', 'meter:0', 'meter:5,NORMAL', 'output:3', 'CONTROLLER', 'NORMAL,meter:3', 'mod_vlan_vid:3,NORMAL', 'resubmit(,1)'];
    const cases: string[] = [];
    for (let i = 0; i < 160; i++) {
      let l = r.pick(base);
      const [m, a] = [l.slice(0, l.indexOf(',actions=')), l.slice(l.indexOf(',actions=') + 9)];
      switch (r.int(5)) {
        case 0: l = `${m},${r.pick(tokens)},actions=${a}`; break;
        case 1: { const parts = m.split(','); parts.splice(2 + r.int(Math.max(1, parts.length - 2)), 1); l = `${parts.join(',')},actions=${a}`; break; }
        case 2: l = `${m},actions=${r.pick(actionsTokens)}`; break;
        case 3: { const parts = m.split(','); const j = 2 + r.int(Math.max(1, parts.length - 2)); parts[j] = r.pick(tokens); l = `${parts.join(',')},actions=${a}`; break; }
        default: { const k = r.int(l.length); l = l.slice(0, k) + r.pick(['', 'x', ',', '=', '0', ':']) + l.slice(k + 1); }
      }
      cases.push(l);
    }
    const theirs = ofctlParse(cases);
    let accepted = 0, refused = 0;
    cases.forEach((line, i) => {
      const mine = encode(line);
      if (mine === 'refused') { refused++; return; }
      accepted++;
      assert.ok(theirs[i], `the encoder took a line ovs-ofctl refuses: ${line}`);
      assert.equal(ofpPrint(mine), theirs[i], line);
    });
    assert.ok(accepted > 20 && refused > 20, `accepted ${accepted}, refused ${refused}`);
  });

  it('round-trips matches through the OXM encoding', () => {
    const r = rng(3);
    for (let i = 0; i < 300; i++) {
      for (const f of vifFlows(genLock(r, i + 1))) {
        const p = parseFlowText(numbered(flowText(f), 1 + r.int(1000)));
        const oxm = encodeOxm(p.match);
        const back = decodeOxm(oxm);
        assert.deepEqual(back.map((x) => x.field), p.match.map((x) => x.field));
        assert.ok(back.every((x, k) => x.value.equals(p.match[k].mask ? Buffer.from(p.match[k].value.map((v, j) => v & p.match[k].mask![j])) : p.match[k].value)));
        assert.equal(typeof matchText(oxm), 'string');
      }
    }
    assert.equal(ipv6Bytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
    assert.equal(ipv6Bytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  });

  it('reads random bytes without crashing (decoders throw Errors or return)', () => {
    const r = rng(99);
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256)));
      for (const f of [parseFlowStats, parseMeterConfigs, decodeOxm, matchText, (x: Buffer) => x.length >= 8 ? helloVersions(x) : []]) {
        try { f(b); } catch (e) { assert.ok(e instanceof Error, String(e)); }
      }
    }
  });
});
