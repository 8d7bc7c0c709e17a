// The console's views for a pool at XenServer's scale, without a browser: the overview (networks
// by hosts), focus views (one host, network or VM with its neighbourhood), search by name, MAC,
// address or uuid, the URL's routes, and spoofing alarms (drop counts per VIF, rises, messages),
// all on records a real daemon serves for a 64-host pool built as bench/console.ts builds it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildPool, FACTS, LARGE } from '../bench/console.ts';
import { alarmMessages, observe, reasonText, rollup, vifAlarms, vifDrops, ALARM_MESSAGE, ALARM_WINDOW_MS } from '../console/src/logic/alarms.ts';
import { focusScope, routeOf } from '../console/src/logic/focus.ts';
import { columnsCore, fullLayout } from '../console/src/logic/layout.ts';
import { overview } from '../console/src/logic/overview.ts';
import { defaultRoute, formatRoute, parseHash, sameView, type Route } from '../console/src/logic/route.ts';
import { search, uuidIndex } from '../console/src/logic/search.ts';
import { Store, WATCHED, str, strs, type Rec, type XenEvent } from '../console/src/logic/store.ts';
import { buildGraph, networkHosts } from '../console/src/logic/topology.ts';
import { LOCKING_DROP_REASON_TEXT, LOCKING_DROP_REASONS } from '../src/model/classes/vif.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

let d: TestDaemon;
let s: string;
let store: Store;
const c = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);

before(async () => {
  d = await startTestDaemon({ facts: FACTS });
  s = await login(d.url);
  d.db.transact((tx) => buildPool(tx, LARGE));
  const r = (await c('event.from', [...WATCHED], '', 0)) as { events: XenEvent[] };
  store = new Store();
  store.apply(r.events);
});
after(async () => { await d.dispose(); });

const byName = (cls: string, name: string): [string, Rec] => {
  const hit = store.all(cls).find(([, r]) => r.name_label === name);
  assert.ok(hit, `${cls} ${name}`);
  return hit;
};
const guests = () => store.all('vm').filter(([, v]) => v.is_control_domain !== true);

describe('the overview of a 64-host pool', () => {
  test('every host a column, every network a row; cells count the VIFs of the VMs running there', () => {
    const ov = overview(store, new Map());
    assert.equal(ov.hosts.length, 64);
    assert.equal(ov.networks.length, store.table('network').size);
    assert.equal(ov.vifs, 5000);
    assert.equal(ov.vms, guests().length);
    assert.deepEqual(ov.hosts.slice(0, 3).map((h) => h.name), ['host1', 'host2', 'host3'], 'natural order');
    // each cell, recounted from the records
    for (const n of ov.networks) {
      const net = store.get('network', n.ref)!;
      const reached = new Set(networkHosts(store, net));
      n.cells.forEach((cell, i) => {
        const h = ov.hosts[i];
        assert.equal(cell.reached, reached.has(h.ref), `${n.title} on ${h.name}`);
        const vifs = strs(net, 'VIFs').filter((f) => store.get('vm', store.get('vif', f)?.VM)?.resident_on === h.ref).length;
        assert.equal(cell.vifs, vifs, `${n.title} on ${h.name}`);
      });
      assert.equal(n.vifs, strs(net, 'VIFs').length);
    }
    assert.equal(ov.hosts.reduce((a, h) => a + h.vifs, 0) + ov.idleVifs, 5000);
    // a VLAN network is reached by every host, an internal one by none
    assert.equal(ov.networks.find((n) => n.title === 'VLAN 100')!.hosts, 64);
    assert.equal(ov.networks.find((n) => n.title === 'private 1')!.hosts, 0);
  });
});

describe('focus views', () => {
  /** A focus view's graph, and its nodes of one kind. */
  const focus = (view: 'host' | 'network' | 'vm', ref: string) => {
    const g = buildGraph(store, focusScope(store, view, ref));
    return { g, kinds: (k: string) => g.nodes.filter((x) => x.kind === k) };
  };
  test('a host: its interfaces, what they carry, its VMs and their VIFs; nothing of other hosts', () => {
    const [h] = byName('host', 'host7');
    const { g, kinds } = focus('host', h);
    assert.deepEqual(kinds('host').map((n) => n.title), ['host7']);
    assert.deepEqual(kinds('nic').map((n) => n.data.device), ['eth0', 'eth1', 'eth2', 'eth3']);
    assert.equal(kinds('bond').length, 1);
    const vms = guests().filter(([, v]) => v.resident_on === h);
    assert.equal(kinds('vm').length, vms.length);
    assert.equal(kinds('vif').length, vms.length * 4);
    assert.ok(kinds('nic').every((n) => n.data.host === 'host7'));
    // every VIF hangs from a network in the picture, every NIC from the host
    assert.equal(g.edges.filter((e) => e.kind === 'net-vif').length, vms.length * 4);
    assert.equal(g.edges.filter((e) => e.kind === 'host-nic').length, 4);
    assert.ok(g.nodes.length < 400, `readable: ${g.nodes.length} objects`);
  });

  test('a network: the hosts and interfaces that carry it, its VIFs and their VMs', () => {
    const [n, net] = byName('network', 'VLAN 105');
    const { g, kinds } = focus('network', n);
    assert.deepEqual(kinds('network').map((x) => x.ref), [n]);
    assert.equal(kinds('host').length, 64);
    assert.equal(kinds('nic').length, 64, 'eth1 of each host, which carries the VLAN');
    assert.ok(kinds('nic').every((x) => x.data.device === 'eth1'));
    assert.equal(g.edges.filter((e) => e.kind === 'pif').length, 64);
    assert.ok(g.edges.filter((e) => e.kind === 'pif').every((e) => e.label === 'VLAN 105'));
    assert.equal(kinds('vif').length, strs(net, 'VIFs').length);
  });

  test('a VM: its VIFs, their networks, the host it runs on with the interfaces that carry them', () => {
    const [vm, rec] = byName('vm', 'vm10');
    const { g, kinds } = focus('vm', vm);
    assert.deepEqual(kinds('vm').map((x) => x.ref), [vm]);
    assert.equal(kinds('vif').length, 4);
    assert.deepEqual(kinds('host').map((x) => x.ref), [rec.resident_on]);
    const nets = new Set(strs(rec, 'VIFs').map((f) => str(store.get('vif', f), 'network')));
    assert.deepEqual(new Set(kinds('network').map((x) => x.ref)), nets);
    // each network the host carries is joined to a NIC or bond of that host
    for (const e of g.edges.filter((x) => x.kind === 'pif')) assert.ok(nets.has(e.target.slice('network:'.length)));
  });

  test('a focus view is laid out in columns at once: hosts, NICs, bonds, networks; no overlaps; edges run left to right', () => {
    for (const [view, ref] of [['host', byName('host', 'host7')[0]], ['network', byName('network', 'VLAN 105')[0]], ['vm', byName('vm', 'vm10')[0]]] as const) {
      const g = buildGraph(store, focusScope(store, view, ref));
      const layout = fullLayout(columnsCore(g), g);
      const boxes = g.nodes.map((n) => ({ n, b: layout.pos.get(n.id)! }));
      assert.ok(boxes.every((x) => x.b), `${view}: every object placed`);
      const xOf = (k: string) => [...new Set(boxes.filter((x) => x.n.kind === k).map((x) => x.b.x))];
      for (const k of ['host', 'nic', 'bond', 'network']) assert.ok(xOf(k).length <= 1, `${view}: one column of ${k}`);
      const order = ['host', 'nic', 'bond', 'network'].map((k) => xOf(k)[0]).filter((x) => x !== undefined);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${view}: columns left to right`);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i].b, boxes[j].b];
          assert.ok(!(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h), `${view}: ${boxes[i].n.id} and ${boxes[j].n.id} overlap`);
        }
      }
      for (const e of g.edges) {
        const [s0, t0] = [layout.pos.get(e.source)!, layout.pos.get(e.target)!];
        assert.ok(s0.x + s0.w <= t0.x, `${view}: ${e.id} runs left to right`);
      }
    }
  });

  test('an object that is not there has no view', () => {
    assert.equal(focusScope(store, 'host', 'OpaqueRef:nope'), undefined);
    const [vm] = byName('vm', 'vm1');
    assert.equal(focusScope(store, 'network', vm), undefined, 'a VM is not a network');
  });
});

describe('search', () => {
  test('by MAC (any separators or none), address, name and uuid; each hit names its view', () => {
    const [vifRef, vif] = store.all('vif').find(([, v]) => strs(v, 'ipv4_allowed').length > 0)!;
    const vm = store.get('vm', vif.VM)!;
    const want: Route = { view: 'vm', uuid: str(vm, 'uuid'), select: str(vif, 'uuid') };
    const mac = str(vif, 'MAC');
    for (const q of [mac, mac.toUpperCase(), mac.replace(/:/g, '-'), mac.replace(/:/g, '')]) {
      const hits = search(store, q);
      assert.equal(hits[0]?.ref, vifRef, q);
      assert.deepEqual(hits[0].route, want, q);
    }
    assert.equal(search(store, strs(vif, 'ipv4_allowed')[0])[0]?.ref, vifRef);
    assert.equal(search(store, str(vif, 'uuid'))[0]?.ref, vifRef);
    // a name: the exact one first, then those it begins
    const hits = search(store, 'host1');
    assert.equal(hits[0].title, 'host host1');
    const host1 = str(byName('host', 'host1')[1], 'uuid');
    assert.deepEqual(hits[0].route, { view: 'host', uuid: host1, select: host1 });
    assert.ok(hits.slice(1).some((h) => h.title === 'host host10'));
    // an interface's address leads to its host, with the interface selected
    const [pifRef, pif] = store.all('pif').find(([, p]) => p.IP === '10.0.0.20')!;
    const ph = search(store, '10.0.0.20').find((h) => h.ref === pifRef);
    assert.deepEqual(ph?.route, { view: 'host', uuid: str(store.get('host', pif.host), 'uuid'), select: str(pif, 'uuid') });
    assert.deepEqual(search(store, 'no such thing'), []);
    assert.equal(search(store, 'vm', 20).length, 20, 'at most the limit');
  });

  test('every uuid is found', () => {
    const idx = uuidIndex(store);
    for (const cls of ['host', 'network', 'vm', 'vif', 'pif']) {
      for (const [ref, r] of store.all(cls)) assert.deepEqual(idx.get(str(r, 'uuid')), { cls, ref });
    }
  });
});

describe('routes: the URL names the view', () => {
  const U = '0e5d5a1c-7b1f-4e7a-9d5c-2f2a8c3b4d5e', V = '11111111-2222-4333-8444-555555555555';
  test('parse and format are inverse; anything else names no view', () => {
    const routes: Route[] = [{ view: 'overview' }, { view: 'pool' }, { view: 'host', uuid: U }, { view: 'network', uuid: U }, { view: 'vm', uuid: U, select: V }, { view: 'nics' }, { view: 'alerts' }];
    for (const r of routes) assert.deepEqual(parseHash(formatRoute(r)), r, formatRoute(r));
    assert.equal(formatRoute({ view: 'network', uuid: U }), `#/network/${U}`);
    assert.deepEqual(parseHash(`#/host/${U.toUpperCase()}`), { view: 'host', uuid: U });
    for (const bad of ['#/host/', '#/host/12', `#/pif/${U}`, '#/whatever', `#/vm/${U}/x`, `#/vm/${U}?select=<script>`, '#/../../etc']) {
      const r = parseHash(bad);
      assert.ok(r === undefined || (r.view === 'vm' && r.select === undefined), bad);
    }
    assert.equal(parseHash(''), undefined);
  });

  test('an object clicked (in a picture, the search, the alarms) opens the view that shows it, with it selected', () => {
    const uuid = (cls: string, ref: unknown) => str(store.get(cls, ref), 'uuid');
    const [h] = byName('host', 'host7');
    const [n] = byName('network', 'VLAN 103');
    const [vm, v] = guests()[5];
    const vif = strs(v, 'VIFs')[1];
    assert.deepEqual(routeOf(store, 'host', h), { view: 'host', uuid: uuid('host', h), select: uuid('host', h) });
    assert.deepEqual(routeOf(store, 'network', n), { view: 'network', uuid: uuid('network', n), select: uuid('network', n) });
    assert.deepEqual(routeOf(store, 'vm', vm), { view: 'vm', uuid: uuid('vm', vm), select: uuid('vm', vm) });
    assert.deepEqual(routeOf(store, 'VM', vm), routeOf(store, 'vm', vm), 'a class name as a node kind');
    // a VIF: its VM's view; an interface (a NIC, a bond: the picture's kinds of PIF): its host's
    assert.deepEqual(routeOf(store, 'vif', vif), { view: 'vm', uuid: uuid('vm', vm), select: uuid('vif', vif) });
    const [nic, p] = store.all('pif').find(([, x]) => x.host === h && x.device === 'eth0')!;
    const [bond] = store.all('pif').find(([, x]) => x.host === h && strs(x, 'bond_master_of').length > 0)!;
    assert.deepEqual(routeOf(store, 'nic', nic), { view: 'host', uuid: uuid('host', p.host), select: uuid('pif', nic) });
    assert.deepEqual(routeOf(store, 'bond', bond), { view: 'host', uuid: uuid('host', h), select: uuid('pif', bond) });
    assert.deepEqual(routeOf(store, 'PIF', nic), routeOf(store, 'nic', nic));
    // what no view shows: a control domain and its VIFs, an object not in the cache, a kind with no view
    const st = new Store();
    st.apply([
      { class: 'vm', operation: 'add', ref: 'OpaqueRef:dom0', snapshot: { uuid: U, is_control_domain: true, VIFs: ['OpaqueRef:vif0'] } },
      { class: 'vif', operation: 'add', ref: 'OpaqueRef:vif0', snapshot: { uuid: V, VM: 'OpaqueRef:dom0' } },
    ]);
    assert.equal(routeOf(st, 'vm', 'OpaqueRef:dom0'), undefined, 'the control domain');
    assert.equal(routeOf(st, 'vif', 'OpaqueRef:vif0'), undefined, 'a VIF of the control domain');
    assert.equal(routeOf(store, 'host', 'OpaqueRef:nope'), undefined);
    assert.equal(routeOf(store, 'vm', h), undefined, 'a host is not a VM');
    assert.equal(routeOf(store, 'bond_record', bond), undefined);
    // every route is one the URL can name, and reads back the same
    for (const r of [routeOf(store, 'vif', vif)!, routeOf(store, 'bond', bond)!]) assert.deepEqual(parseHash(formatRoute(r)), r);
  });

  test('a new view is a new entry in the history; another object selected in the same view is not', () => {
    assert.equal(sameView({ view: 'vm', uuid: U }, { view: 'vm', uuid: U, select: V }), true);
    assert.equal(sameView({ view: 'vm', uuid: U, select: V }, { view: 'vm', uuid: U }), true);
    assert.equal(sameView({ view: 'vm', uuid: U }, { view: 'vm', uuid: V }), false);
    assert.equal(sameView({ view: 'host', uuid: U }, { view: 'vm', uuid: U }), false);
    assert.equal(sameView({ view: 'pool' }, { view: 'host', uuid: U, select: U }), false);
    assert.equal(sameView(undefined, { view: 'overview' }), false, 'the first view: nothing to replace');
  });

  test('a small pool opens on its whole picture, a large one on the overview', () => {
    assert.deepEqual(defaultRoute(1, 2), { view: 'pool' });
    assert.deepEqual(defaultRoute(64, 5000), { view: 'overview' });
    assert.deepEqual(defaultRoute(2, 500), { view: 'overview' });
  });
});

describe('spoofing alarms', () => {
  const withVif = (st: Store, ref: string, extra: Rec) => st.apply([{ class: 'vif', operation: 'mod', ref, snapshot: { ...st.get('vif', ref)!, ...extra } }]);
  const copy = () => { const st = new Store(); st.apply([...WATCHED].flatMap((cls) => store.all(cls).map(([ref, snapshot]) => ({ class: cls, operation: 'add' as const, ref, snapshot })))); return st; };

  test('a server without the extension (the fields absent): no counts, no alarms', () => {
    const st = copy();
    for (const [ref, v] of st.all('vif')) {
      const { locking_drops: _d, locking_drops_changed: _c, ...rest } = v;
      st.apply([{ class: 'vif', operation: 'mod', ref, snapshot: rest }]);
    }
    const [ref, v] = st.all('vif')[0];
    assert.equal(vifDrops(v), undefined);
    assert.equal(vifAlarms(st, observe(new Map(), st), Date.now()).size, 0);
    assert.equal(overview(st, new Map()).alarms, 0);
    assert.equal(buildGraph(st, { vifs: new Set([ref]) }).nodes.find((n) => n.kind === 'vif')?.data.alarm, 'false');
  });

  test('counts per reason, known reasons first; hostile values are left out', () => {
    const d = vifDrops({ locking_drops: { other: 1, foreign_ip: '7', foreign_mac: 3, zzz_new: 2, 'bad key!': 5, neg: -1, frac: 1.5, huge: '99999999999999999999', obj: {} }, locking_drops_changed: '20261205T17:00:00Z' });
    assert.ok(d);
    assert.deepEqual(d.byReason, [{ reason: 'foreign_mac', count: 3 }, { reason: 'foreign_ip', count: 7 }, { reason: 'other', count: 1 }, { reason: 'zzz_new', count: 2 }]);
    assert.equal(d.total, 13);
    assert.equal(d.changedAt, Date.UTC(2026, 11, 5, 17, 0, 0));
    assert.equal(vifDrops({ locking_drops: ['foreign_mac', 1] }), undefined);
    assert.equal(vifDrops({ locking_drops: 'x' }), undefined);
    assert.deepEqual(vifDrops({ locking_drops: {} }), { total: 0, byReason: [], changedAt: undefined });
    // the reasons and their words are the datamodel's, in its order; another key is shown as it is
    const all = vifDrops({ locking_drops: Object.fromEntries([...LOCKING_DROP_REASONS].reverse().map((r) => [r, 1])) });
    assert.deepEqual(all?.byReason.map((r) => r.reason), [...LOCKING_DROP_REASONS]);
    for (const r of LOCKING_DROP_REASONS) assert.equal(reasonText(r), LOCKING_DROP_REASON_TEXT[r]);
    assert.equal(reasonText('zzz_new'), 'zzz_new');
    assert.equal(reasonText('constructor'), 'constructor', 'no word from an object\'s prototype');
  });

  test('a VIF whose counts rise is in alarm, and so are its VM, host and network in the overview; a steady one is not', () => {
    const st = copy();
    const vifs = st.all('vif');
    const [spoofer, steady] = [vifs[10][0], vifs[20][0]];
    const old = '20200101T00:00:00Z';
    for (const [ref] of vifs) withVif(st, ref, { locking_drops: { foreign_mac: 0 }, locking_drops_changed: old });
    withVif(st, steady, { locking_drops: { tagged: 40 }, locking_drops_changed: old });
    const baseline = observe(new Map(), st);
    const now = Date.now();
    assert.equal(vifAlarms(st, baseline, now).size, 0, 'old drops alone raise nothing');
    withVif(st, spoofer, { locking_drops: { foreign_mac: 5, neighbour_spoof: 2 }, locking_drops_changed: old });
    const alarms = vifAlarms(st, observe(baseline, st), now);
    assert.deepEqual([...alarms.keys()], [spoofer]);
    assert.equal(alarms.get(spoofer)!.rose, 7);
    const v = st.get('vif', spoofer)!;
    const vm = st.get('vm', v.VM)!;
    const r = rollup(st, alarms);
    assert.equal(r.vms.get(str(v, 'VM')), 1);
    assert.equal(r.hosts.get(str(vm, 'resident_on')), 1);
    assert.equal(r.networks.get(str(v, 'network')), 1);
    const ov = overview(st, alarms);
    assert.equal(ov.alarms, 1);
    assert.equal(ov.hosts.find((h) => h.ref === vm.resident_on)!.alarms, 1);
    assert.equal(ov.hosts.filter((h) => h.alarms).length, 1);
    const row = ov.networks.find((n) => n.ref === v.network)!;
    assert.equal(row.alarms, 1);
    assert.equal(row.cells[ov.hosts.findIndex((h) => h.ref === vm.resident_on)].alarms, 1);
    // the focus picture marks the VIF and its VM, and nothing else
    const marks = new Map([...st.all('vif')].map(([ref]) => [ref, { total: vifDrops(st.get('vif', ref))!.total, alarm: alarms.has(ref) }]));
    const g = buildGraph(st, focusScope(st, 'host', str(vm, 'resident_on')), marks);
    const node = g.nodes.find((n) => n.ref === spoofer)!;
    assert.equal(node.data.alarm, 'true');
    assert.equal(node.data.drops, '7');
    assert.ok(node.badges.some((b) => b.text === '7 dropped' && b.tone === 'alarm'));
    assert.equal(g.nodes.find((n) => n.ref === v.VM)!.data.alarm, 'true');
    assert.deepEqual(g.nodes.filter((n) => n.data.alarm === 'true').map((n) => n.ref).sort(), [spoofer, str(v, 'VM')].sort());
  });

  test('a recent rise by the server\'s clock, or a VIF_LOCKING_DROPS message, marks a VIF; an old one does not', () => {
    const st = copy();
    const [a, b, m] = st.all('vif').slice(0, 3).map(([ref]) => ref);
    const now = Date.parse('2026-12-05T18:00:00Z');
    withVif(st, a, { locking_drops: { foreign_ip: 3 }, locking_drops_changed: '20261205T17:59:00Z' });
    withVif(st, b, { locking_drops: { foreign_ip: 3 }, locking_drops_changed: '20261205T17:00:00Z' });
    const msg = (ref: string, vif: string, at: string) => ({ class: 'message', operation: 'add' as const, ref, snapshot: { uuid: `m-${ref}`, name: ALARM_MESSAGE, priority: 3, cls: 'VIF', obj_uuid: str(st.get('vif', vif), 'uuid'), timestamp: at, body: 'spoofing' } });
    st.apply([msg('OpaqueRef:m1', m, '20261205T17:58:00Z'), msg('OpaqueRef:m0', b, '20261205T16:00:00Z'),
      { class: 'message', operation: 'add', ref: 'OpaqueRef:m2', snapshot: { uuid: 'x', name: 'PIF_SUBNET_SHARED', obj_uuid: str(st.get('vif', a), 'uuid'), timestamp: '20261205T17:59:00Z', body: '' } }]);
    const alarms = vifAlarms(st, observe(new Map(), st), now);
    assert.deepEqual([...alarms.keys()].sort(), [a, m].sort());
    assert.equal(alarms.get(m)!.messages, 1);
    assert.ok(ALARM_WINDOW_MS < 60 * 60_000);
    // the panel's list: newest first, each with its VIF
    assert.deepEqual(alarmMessages(st).map((x) => [x.ref, x.vif]), [['OpaqueRef:m1', m], ['OpaqueRef:m0', b]]);
  });
});
