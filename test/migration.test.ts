// Live migration's pure parts: the orders and answers as read from a database that may hold
// anything (src/domain/migration.ts), the OpenFlow port numbers asked for in advance, and the
// frames a migrated VM is announced with (src/agent/announce.ts), checked byte by byte: what the
// VIF's locks pass and nothing else.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { announcements, garp, rarp, unsolicitedNa } from '../src/agent/announce.ts';
import { migrationOfport, migrationOrder, migrationReport, orderFields, reportFields } from '../src/domain/migration.ts';

const ID = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
const H1 = 'OpaqueRef:8f1d7c1e-1111-4a4a-9b9b-000000000001';
const H2 = 'OpaqueRef:8f1d7c1e-2222-4a4a-9b9b-000000000002';
const MAC = '02:aa:bb:cc:dd:ee';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('migration orders and answers', () => {
  it('reads an order back as written, and nothing that is not one', () => {
    const o = { id: ID, phase: 'switch' as const, source: H1, destination: H2, domid: 7, since: 1796490000000 };
    assert.deepEqual(migrationOrder(orderFields(o)), o);
    for (const bad of [undefined, null, 'x', [], {}, { ...orderFields(o), phase: 'commit' }, { ...orderFields(o), domid: '0' }, { ...orderFields(o), domid: '-1' },
      { ...orderFields(o), domid: '1e3' }, { ...orderFields(o), id: 'not-a-uuid' }, { ...orderFields(o), destination: 'host2; rm -rf /' }, { ...orderFields(o), source: 7 }]) {
      assert.equal(migrationOrder(bad), undefined, JSON.stringify(bad));
    }
  });

  it('reads an answer back, its free text bounded', () => {
    const r = { id: ID, state: 'failed' as const, reason: 'x'.repeat(2000), preparedAt: '', switchedAt: '' };
    const back = migrationReport(reportFields(r))!;
    assert.equal(back.state, 'failed');
    assert.equal(back.reason.length, 500);
    assert.equal(migrationReport({ id: ID, state: 'done' }), undefined);
    assert.equal(migrationReport({ state: 'switched' }), undefined);
  });

  it('asks for port numbers only above the ones Open vSwitch hands out, one per domid and device', () => {
    assert.equal(migrationOfport(1, '0'), 32784);
    assert.equal(migrationOfport(2, '15'), 32768 + 32 + 15);
    const seen = new Set<number>();
    for (let d = 1; d < 2000; d++) for (let v = 0; v < 16; v++) {
      const n = migrationOfport(d, String(v));
      if (n === undefined) continue;
      assert.ok(n >= 32768 && n <= 0xfeff && !seen.has(n));
      seen.add(n);
    }
    for (const [d, v] of [[0, '0'], [1, '16'], [1, 'x'], [2100, '0'], [1.5, '0']] as const) assert.equal(migrationOfport(d, v), undefined, `${d} ${v}`);
  });
});

describe('the frames a migrated VM is announced with', () => {
  it('RARP as QEMU sends it: broadcast, from the VM\'s MAC, no address', () => {
    const f = rarp(MAC);
    assert.equal(f.length, 60);
    assert.equal(hex(f.slice(0, 42)), `ffffffffffff02aabbccddee8035000108000604000302aabbccddee0000000002aabbccddee00000000`);
  });

  it('a gratuitous ARP: sender and target the VM\'s address, sender MAC the VM\'s', () => {
    const f = garp(MAC, 0x0a4d0065n); // 10.77.0.101
    assert.equal(hex(f.slice(0, 42)), `ffffffffffff02aabbccddee0806000108000604000102aabbccddee0a4d00650000000000000a4d0065`);
  });

  it('an unsolicited neighbour advertisement: to all nodes, override set, its checksum right', () => {
    const addr = 0x20010db8000000000000000000000001n; // 2001:db8::1
    const f = unsolicitedNa(MAC, addr);
    assert.equal(hex(f.slice(0, 14)), '33330000000102aabbccddee86dd');
    const ip = f.slice(14);
    assert.equal(ip[6], 58); // ICMPv6
    assert.equal(ip[7], 255); // hop limit, as RFC 4861 requires
    const icmp = ip.slice(40, 40 + 32);
    assert.equal(icmp[0], 136);
    assert.equal(icmp[4], 0x20, 'override, not solicited, not a router');
    assert.equal(hex(icmp.slice(8, 24)), '20010db8000000000000000000000001');
    assert.equal(hex(icmp.slice(24, 32)), `0201${MAC.replace(/:/g, '')}`);
    // the ones' complement sum over the pseudo-header and the message is all ones
    const pseudo = [...ip.slice(8, 40), 0, 0, 0, 32, 0, 0, 0, 58, ...icmp];
    let sum = 0;
    for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i] << 8) + pseudo[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    assert.equal(sum, 0xffff);
  });

  it('by locking mode: unlocked a RARP; locked one frame per allowed address and no prefix; disabled nothing', () => {
    assert.deepEqual(announcements({ mode: 'unlocked', mac: MAC, ipv4: [], ipv6: [] }).map(hex), [hex(rarp(MAC))]);
    const locked = announcements({ mode: 'locked', mac: MAC, ipv4: ['10.77.0.101', '10.1.0.0/16', '10.2.0.9/32'], ipv6: ['2001:db8::1', '2001:db8::/64'] });
    assert.deepEqual(locked.map((f) => hex(f.slice(12, 14))), ['0806', '0806', '86dd']);
    assert.equal(hex(locked[1].slice(28, 32)), '0a020009');
    assert.deepEqual(announcements({ mode: 'disabled', mac: MAC, ipv4: ['10.0.0.1'], ipv6: [] }), []);
    assert.throws(() => announcements({ mode: 'unlocked', mac: '02:aa:bb:cc:dd', ipv4: [], ipv6: [] }));
  });
});
