// Locking drops by reason (pure): every drop flow of a VIF has a priority that names its reason
// and no allow flow shares one; the dump of a switch's flows read back; increases over counters
// that are new, reset or unread; the values a member reports checked as hostile; the message's
// body and its rate limit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AlertLimiter, alertBody, cleanLockingDrops, DropCounter, flowDropReason, flowReadings, parseFlowDump, reportedDrops, type Reading,
} from '../src/agent/dropstats.ts';
import { nftReadings } from '../src/agent/droppoller.ts';
import { counterName } from '../src/agent/bridgerules.ts';
import { cookieOf, DROP, DROP_REASON, vifFlows, type VifLock } from '../src/agent/ovsflows.ts';
import { LOCKING_DROP_REASONS } from '../src/model/classes/vif.ts';
import { classDef } from '../src/model/index.ts';

const U = '11111111-1111-4111-8111-111111111111';
const LOCKED: VifLock = { port: 'vif1.0', vifUuid: U, mac: '02:aa:00:00:00:01', mode: 'locked', ipv4: ['10.0.0.5', '10.1.0.0/24'], ipv6: ['fd00::5'], trunks: [200] };

describe('drop flows and their reasons', () => {
  const all = [LOCKED, { ...LOCKED, trunks: undefined, ipv6: [] }, { ...LOCKED, mode: 'unlocked' as const }, { ...LOCKED, mode: 'disabled' as const }];

  it('give every drop flow a priority that names its reason, and no allow flow such a priority', () => {
    for (const v of all) {
      for (const f of vifFlows(v)) {
        const reason = flowDropReason({ cookie: f.cookie, priority: f.priority, drop: f.actions === 'drop' });
        if (f.actions === 'drop') assert.ok(reason, `${v.mode}: ${f.match} has a reason`);
        else assert.equal(DROP_REASON.get(f.priority), undefined, `${v.mode}: allow flow ${f.match} at a drop priority`);
      }
    }
    assert.deepEqual(new Set(DROP_REASON.values()), new Set(LOCKING_DROP_REASONS), 'every reason has its flows');
  });

  it('split only what the last flow dropped: below every allow flow of a locked VIF, above it', () => {
    const flows = vifFlows(LOCKED);
    const lowestAllow = Math.min(...flows.filter((f) => f.actions !== 'drop').map((f) => f.priority));
    const added = flows.filter((f) => f.actions === 'drop' && f.priority > DROP.locked && f.priority < lowestAllow);
    assert.ok(added.length > 0);
    assert.equal(flows.at(-1)?.priority, DROP.locked);
    assert.equal(flows.at(-1)?.match, 'in_port=vif1.0');
    // each carried VLAN (untagged, 200) gets the split; a frame on another VLAN falls to the last flow (tagged)
    for (const vl of ['vlan_tci=0x0000/0x0fff', 'dl_vlan=200']) {
      assert.ok(added.some((f) => f.match === `in_port=vif1.0,${vl}` && DROP_REASON.get(f.priority) === 'foreign_mac'), vl);
      assert.ok(added.some((f) => f.match === `in_port=vif1.0,${vl},ip,dl_src=02:aa:00:00:00:01` && DROP_REASON.get(f.priority) === 'foreign_ip'), vl);
      assert.ok(added.some((f) => f.match === `in_port=vif1.0,${vl},arp,dl_src=02:aa:00:00:00:01` && DROP_REASON.get(f.priority) === 'neighbour_spoof'), vl);
    }
    assert.equal(DROP_REASON.get(DROP.locked), 'tagged');
  });

  it('leave the bridge\'s own flows (cookie 0) and allow flows without a reason', () => {
    assert.equal(flowDropReason({ cookie: '0x0', priority: DROP.locked, drop: true }), undefined);
    assert.equal(flowDropReason({ cookie: cookieOf(U), priority: 6000, drop: false }), undefined);
    assert.equal(flowDropReason({ cookie: cookieOf(U), priority: DROP.routerIcmp6, drop: true }), 'router_advertisement');
    assert.equal(flowDropReason({ cookie: cookieOf(U), priority: DROP.quarantine, drop: true }), 'other');
  });
});

describe('reading counters', () => {
  const c = cookieOf(U);
  const dump = [
    'OFPST_FLOW reply (OF1.3) (xid=0x2):',
    ` cookie=${c}, duration=12.345s, table=0, n_packets=7, n_bytes=420, priority=4800,in_port=3,vlan_tci=0x0000/0x0fff,ip,dl_src=02:aa:00:00:00:01 actions=drop`,
    ` cookie=${c}, duration=12.345s, table=0, n_packets=100, n_bytes=9000, priority=6000,ip,in_port=3,vlan_tci=0x0000/0x0fff,dl_src=02:aa:00:00:00:01,nw_src=10.0.0.5 actions=NORMAL`,
    ` cookie=${c}, duration=0.5s, table=0, n_packets=2, n_bytes=180, priority=6100,icmp6,in_port=3,icmp_type=134 actions=drop`,
    ' cookie=0x0, duration=99s, table=0, n_packets=5, n_bytes=300, priority=0 actions=drop',
    ' cookie=0x123, duration=1s, table=0, n_packets=1, n_bytes=1, priority=4800,in_port=9 actions=drop',
    'garbage line, n_packets=99999999999999999999',
  ].join('\n');

  it('reads ovs-ofctl dump-flows and attributes drop flows to their VIF and reason', () => {
    const flows = parseFlowDump(dump);
    assert.equal(flows.length, 5);
    assert.deepEqual(flows[0], { cookie: c, ageSec: 12.345, packets: 7, priority: 4800, match: 'in_port=3,vlan_tci=0x0000/0x0fff,ip,dl_src=02:aa:00:00:00:01', drop: true });
    const r = flowReadings('xenbr0', flows, new Map([[c, U]]), 1);
    assert.deepEqual(r.map((x) => [x.vif, x.reason, x.packets, x.made]), [[U, 'foreign_ip', 7, false], [U, 'router_advertisement', 2, true]]);
  });

  it('reads nftables counters of the VIFs on known ports only', () => {
    const json = JSON.stringify({ nftables: [
      { metainfo: {} },
      { counter: { family: 'bridge', name: counterName('vif1.0', 'foreign_mac'), table: 'poolnet', packets: 4, bytes: 1 } },
      { counter: { family: 'bridge', name: counterName('vif1.0', 'tagged'), table: 'poolnet', packets: 1, bytes: 1 } },
      { counter: { family: 'bridge', name: counterName('vif9.0', 'tagged'), table: 'poolnet', packets: 3, bytes: 1 } },
      { counter: { family: 'bridge', name: 'v_vif1_0_foreign_mac', table: 'poolnet', packets: 'x' } },
    ] });
    assert.deepEqual(nftReadings(json, new Map([['vif1.0', U]])).map((x) => [x.reason, x.packets]), [['foreign_mac', 4], ['tagged', 1]]);
    assert.throws(() => nftReadings('not json', new Map()));
  });

  it('counts increases: a counter there before the first read from then on, a new or reset one in full, an unread one kept', () => {
    const k = new DropCounter();
    const r = (key: string, packets: number, made?: boolean): Reading => ({ key, vif: U, reason: 'foreign_mac', packets, made });
    assert.deepEqual(k.add([r('a', 50)]), new Map(), 'first read: the baseline');
    assert.deepEqual(k.add([r('a', 53)]).get(U), { foreign_mac: 3 });
    assert.deepEqual(k.add([r('a', 53), r('b', 4)]).get(U), { foreign_mac: 4 }, 'a counter made since: in full');
    assert.deepEqual(k.add([r('a', 2), r('b', 4)]).get(U), { foreign_mac: 2 }, 'reset');
    assert.deepEqual(k.add([r('a', 5, true), r('b', 4)]).get(U), { foreign_mac: 5 }, 'a flow replaced since the last read');
    assert.deepEqual(k.add([r('a', 9), r('c', 7, false)]).get(U), { foreign_mac: 4 }, 'a counter the switch says is old: from now on');
    assert.deepEqual(k.add([], ['a']), new Map(), 'a source not read: nothing');
    assert.deepEqual(k.add([r('a', 10)]).get(U), { foreign_mac: 1 }, 'and its counter continues where it was');
    assert.deepEqual(k.add([r('a', -1), r('a2', Number.NaN)]), new Map());
  });
});

describe('locking_drops from a member (hostile)', () => {
  it('takes only the known reasons with whole, non-negative counts', () => {
    assert.deepEqual(cleanLockingDrops({ foreign_mac: 3, tagged: '4' }), { foreign_mac: 3, tagged: 4 });
    for (const bad of [null, [], 'x', { bogus: 1 }, { foreign_mac: -1 }, { foreign_mac: 1.5 }, { foreign_mac: 2 ** 60 }, { foreign_mac: '1e3' }, JSON.parse('{"__proto__": 1}'), { foreign_mac: true }]) {
      assert.equal(cleanLockingDrops(bad), undefined, JSON.stringify(bad));
    }
  });

  it('never lowers a stored count, stamps the master\'s time, and ignores a report that raises nothing', () => {
    assert.deepEqual(reportedDrops({ foreign_mac: 5, tagged: 2 }, { foreign_mac: 3, foreign_ip: 1 }, 'T'), { locking_drops: { foreign_mac: 5, foreign_ip: 1, tagged: 2 }, locking_drops_changed: 'T' });
    assert.equal(reportedDrops({ foreign_mac: 5 }, { foreign_mac: 5 }, 'T'), undefined);
    assert.equal(reportedDrops({ foreign_mac: 5 }, { foreign_mac: 9, evil: 1 }, 'T'), undefined);
    assert.deepEqual(reportedDrops('garbage', { other: 1 }, 'T'), { locking_drops: { other: 1 }, locking_drops_changed: 'T' });
  });

  it('are datamodel fields of VIF, read-only, shown by xe', () => {
    const vif = classDef('VIF');
    const f = vif.fieldMap.get('locking_drops')!;
    assert.deepEqual([f.type, f.qual, f.cli], [{ k: 'map', key: { k: 'string' }, value: { k: 'int' } }, 'DynamicRO', undefined]);
    assert.equal(vif.fieldMap.get('locking_drops_changed')?.type.k, 'datetime');
  });
});

describe('the VIF_LOCKING_DROPS message', () => {
  it('names the VM, the VIF, the network and what was dropped, names quoted', () => {
    const body = alertBody({ vm: 'web "1"\nx', device: '0', mac: '02:aa:00:00:00:01', network: 'Pool-wide network associated with eth0' }, { neighbour_spoof: 2, foreign_ip: 10 }, 3.2);
    assert.equal(body, 'VM "web \\"1\\"\\nx", VIF "0" (MAC "02:aa:00:00:00:01") on network "Pool-wide network associated with eth0": its locking rules dropped 12 frames in the last 3 s: foreign_ip 10 (a source address the VIF may not use), neighbour_spoof 2 (ARP or neighbour discovery claiming an address the VIF may not use).');
    assert.ok(!body.includes('\n'));
  });

  it('goes out when a VIF starts dropping, then at most once a minute per VIF and reason with what it dropped meanwhile', () => {
    const l = new AlertLimiter(60_000, 3);
    const present = new Set(['a', 'b', 'c', 'd', 'e']);
    const inc = (...vifs: string[]) => new Map(vifs.map((v) => [v, { foreign_mac: 1 }]));
    assert.deepEqual(l.due(inc('a'), present, 0).map((d) => d.vif), ['a']);
    assert.deepEqual(l.due(inc('a'), present, 1000), []);
    assert.deepEqual(l.due(inc('a'), present, 30_000), []);
    const later = l.due(new Map(), present, 60_000);
    assert.deepEqual(later.map((d) => [d.vif, d.counts, Math.round(d.seconds)]), [['a', { foreign_mac: 2 }, 59]]);
    assert.deepEqual(l.due(new Map(), present, 200_000), [], 'nothing new: nothing');
    // at most 3 per minute from the host: the others wait, counts kept
    const many = l.due(inc('b', 'c', 'd', 'e'), present, 300_000).map((d) => d.vif);
    assert.equal(many.length, 3);
    const rest = l.due(new Map(), present, 360_000);
    assert.equal(rest.length, 1);
    assert.ok(!many.includes(rest[0].vif));
    // a reason not yet reported in the minute goes out at once, with what waited; then it waits too
    assert.deepEqual(l.due(inc('b'), present, 400_000).map((d) => d.vif), ['b']);
    assert.deepEqual(l.due(inc('b'), present, 401_000), []);
    const novel = l.due(new Map([['b', { tagged: 2 }]]), present, 402_000);
    assert.deepEqual(novel.map((d) => [d.vif, d.counts]), [['b', { foreign_mac: 1, tagged: 2 }]]);
    assert.deepEqual(l.due(new Map([['b', { tagged: 1, foreign_mac: 1 }]]), present, 403_000), []);
    // a VIF gone from the host: its pending counts are forgotten
    l.due(inc('a'), present, 420_000);
    l.due(inc('a'), present, 421_000);
    assert.deepEqual(l.due(new Map(), new Set(), 500_000), []);
  });
});
