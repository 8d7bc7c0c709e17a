// The console's pure logic, without a browser: the picture built from a real daemon's records
// (network kinds, management and secondary interfaces, effective locking modes), the layout
// (ELK in-process, provisional places for new objects), subnet warnings, explanations of every
// error the networking messages can give, and the offered actions per role (from the model).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ElkBundled from 'elkjs/lib/elk.bundled.js';
import { explain, PLAIN } from '../console/src/logic/explain.ts';
import { fullLayout, labelAt, labelBox, layoutCore, placeLabels, provisionalCore, type Box } from '../console/src/logic/layout.ts';
import { allowed, errorsOfClasses } from '../console/src/logic/model.ts';
import { sharedSubnets, subnetOf, subnetsOverlap } from '../console/src/logic/net.ts';
import { Store, WATCHED, type XenEvent } from '../console/src/logic/store.ts';
import { buildGraph, describeRef, effectiveLocking, networkHosts, networkKind, networkTitles } from '../console/src/logic/topology.ts';
import { readableAt, readableTime } from '../console/src/logic/time.ts';
import { ERRORS } from '../src/model/index.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost, makePif, makeVlanPif } from './helpers/fixtures.ts';

type Rec = Record<string, unknown>;

let d: TestDaemon;
let s: string;
const c = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);
// elkjs is CommonJS with an ES-style default in its types: take the constructor either way.
const ELK = ((ElkBundled as unknown as { default?: unknown }).default ?? ElkBundled) as unknown as new () => { layout: (g: import('elkjs/lib/elk-api.js').ElkNode) => Promise<import('elkjs/lib/elk-api.js').ElkNode> };
const elk = new ELK();

async function snapshot(): Promise<Store> {
  const r = (await c('event.from', [...WATCHED], '', 0)) as { events: XenEvent[] };
  const store = new Store();
  store.apply(r.events);
  return store;
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

before(async () => {
  d = await startTestDaemon();
  s = await login(d.url);
});
after(async () => { await d.dispose(); });

describe('the picture', () => {
  let nets: Record<string, string>;
  let vif: string;

  before(async () => {
    const all = (await c('network.get_all_records')) as Record<string, Rec>;
    nets = Object.fromEntries(Object.entries(all).map(([r, n]) => [n.bridge as string, r]));
    const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
    const dev = (name: string) => Object.entries(pifs).find(([, p]) => p.device === name)![0];
    const vlanNet = (await c('network.create', { name_label: 'v7' })) as string;
    await c('pool.create_VLAN_from_PIF', dev('eth0'), vlanNet, 7);
    const bondNet = (await c('network.create', { name_label: 'b' })) as string;
    await c('Bond.create', bondNet, [dev('eth1'), dev('eth2')], '', 'active-backup', {});
    await c('network.create', { name_label: 'inside' });
    const vm = (await c('VM.create', { name_label: 'web' })) as string;
    vif = (await c('VIF.create', { device: '0', network: nets.xenbr0, VM: vm, MAC: '', MTU: 1500, other_config: {} })) as string;
    nets.v7 = vlanNet;
    nets.b = bondNet;
  });

  test('nodes for the host, NICs, bond, networks of each kind, VIF and VM; edges between them', async () => {
    const store = await snapshot();
    const g = buildGraph(store);
    const kinds = (k: string) => g.nodes.filter((n) => n.kind === k);
    assert.equal(kinds('host').length, 1);
    assert.deepEqual(kinds('nic').map((n) => n.data.device).sort(), ['eth0', 'eth1', 'eth2']);
    assert.equal(kinds('bond').length, 1);
    assert.equal(kinds('vif').length, 1);
    assert.equal(kinds('vm').length, 1, 'the control domain is not drawn');
    const kindOf = (name: string) => kinds('network').find((n) => n.title === name)?.data['network-kind'];
    assert.equal(kindOf('v7'), 'vlan');
    assert.equal(kindOf('b'), 'bonded');
    assert.equal(kindOf('inside'), 'internal');
    assert.equal(networkKind(store, store.get('network', nets.xenbr0)!), 'external');
    // the management interface: badge on eth0, its edge marked
    const eth0 = kinds('nic').find((n) => n.data.device === 'eth0')!;
    assert.ok(eth0.badges.some((b) => b.text === 'MGMT'));
    const mgmt = g.edges.filter((e) => e.role === 'management');
    assert.equal(mgmt.length, 1);
    assert.equal(mgmt[0].source, eth0.id);
    // the VLAN edge from eth0 to v7, labelled with its tag; bond members lead to the bond
    assert.ok(g.edges.some((e) => e.source === eth0.id && e.target === `network:${nets.v7}` && e.label === 'VLAN 7'));
    assert.equal(g.edges.filter((e) => e.kind === 'nic-bond').length, 2);
    // every edge joins two drawn nodes
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const e of g.edges) assert.ok(ids.has(e.source) && ids.has(e.target), e.id);
  });

  test('effective locking mode and why: the network default, or the VIF\'s own', async () => {
    let store = await snapshot();
    let eff = effectiveLocking(store, store.get('vif', vif)!);
    assert.deepEqual([eff.mode, eff.source], ['unlocked', 'network']);
    await c('network.set_default_locking_mode', nets.xenbr0, 'disabled');
    store = await snapshot();
    eff = effectiveLocking(store, store.get('vif', vif)!);
    assert.deepEqual([eff.mode, eff.source], ['disabled', 'network']);
    assert.match(eff.why, /network_default.*default locking mode is disabled/);
    assert.equal(effectiveLocking(store, store.get('vif', vif)!, 'locked').source, 'vif', 'a preview of an edit');
    await c('VIF.set_locking_mode', vif, 'unlocked');
    store = await snapshot();
    eff = effectiveLocking(store, store.get('vif', vif)!);
    assert.deepEqual([eff.mode, eff.source], ['unlocked', 'vif']);
    assert.equal(buildGraph(store).nodes.find((n) => n.ref === vif)!.data['effective-mode'], 'unlocked');
    await c('VIF.set_locking_mode', vif, 'network_default');
    await c('network.set_default_locking_mode', nets.xenbr0, 'unlocked');
  });

  test('ELK lays out the infrastructure without overlaps; VIFs and VMs go beside it', async () => {
    const store = await snapshot();
    const g = buildGraph(store);
    const core = await layoutCore(g, (x) => elk.layout(x));
    const l = fullLayout(provisionalCore(core, g), g);
    const boxes = g.nodes.map((n) => l.pos.get(n.id)!);
    assert.ok(boxes.every(Boolean), 'every node placed');
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlap(boxes[i], boxes[j]), `${g.nodes[i].id} / ${g.nodes[j].id}`);
    const right = Math.max(...g.nodes.filter((n) => n.kind === 'network').map((n) => l.pos.get(n.id)!.x));
    const vifBox = l.pos.get(`vif:${vif}`)!;
    assert.ok(vifBox.x > right, 'VIFs right of the networks');
    for (const e of g.edges) assert.ok(l.routes.get(e.id)!.length >= 2, e.id);

    // a new network shows at once at a provisional place, overlapping nothing
    await c('network.create', { name_label: 'new one' });
    const g2 = buildGraph(await snapshot());
    const p2 = provisionalCore(core, g2);
    const added = g2.nodes.find((n) => n.title === 'new one')!;
    assert.ok(p2.provisional.has(added.id));
    const l2 = fullLayout(p2, g2);
    const nb = l2.pos.get(added.id)!;
    for (const n of g2.nodes) if (n.id !== added.id) assert.ok(!overlap(nb, l2.pos.get(n.id)!), n.id);
  });
});

describe('forms and explanations', () => {
  test('subnets: shared with another interface of the same host', async () => {
    assert.equal(subnetOf('10.0.0.11', '255.255.255.0'), '10.0.0.0/24');
    assert.equal(subnetOf('10.0.0.11', '255.0.255.0'), undefined);
    assert.ok(subnetsOverlap('10.0.0.0/24', '10.0.0.128/25'));
    assert.ok(!subnetsOverlap('10.0.0.0/24', '10.0.1.0/24'));
    const store = await snapshot();
    const eth1 = store.all('pif').find(([, p]) => p.device === 'eth1' && p.VLAN === -1)![0];
    const shared = sharedSubnets(store, eth1, '10.0.0.50', '255.255.255.0');
    assert.equal(shared.length, 1);
    assert.equal(shared[0].otherRole, 'management');
    assert.equal(shared[0].subnet, '10.0.0.0/24');
    assert.deepEqual(sharedSubnets(store, eth1, '10.0.5.50', '255.255.255.0'), []);
  });

  test('every error a networking message lists has a plain explanation, and the model\'s sentence', () => {
    const codes = errorsOfClasses(['network', 'PIF', 'Bond', 'VLAN', 'tunnel', 'network_sriov', 'VIF', 'host', 'pool', 'VM', 'session']);
    assert.ok(codes.size > 40);
    const missing = [...codes].filter((code) => !PLAIN[code]);
    assert.deepEqual(missing, []);
    for (const code of codes) {
      const e = explain([code, 'OpaqueRef:x', 'y']);
      assert.equal(e.doc, (ERRORS as Record<string, { doc: string }>)[code].doc, code);
      assert.ok(e.plain.length > 10, code);
    }
    const e = explain(['VIF_IN_USE', 'OpaqueRef:n', 'OpaqueRef:v']);
    assert.deepEqual(e.params.map((p) => p.name), ['network', 'VIF']);
    assert.match(e.plain, /cannot change the default-locking-mode/);
  });

  test('RBAC_PERMISSION_DENIED is explained with the roles that may', () => {
    const e = explain(['RBAC_PERMISSION_DENIED', 'vif.set_locking_mode', 'No permission in user session. (Roles with this permission: pool-admin, pool-operator)']);
    assert.match(e.plain, /pool-admin, pool-operator/);
  });

  test('actions offered follow the model\'s least roles', () => {
    const who = (roles: string[]) => ({ user: 'u', superuser: false, roles: roles as never[] });
    assert.ok(allowed({ user: 'root', superuser: true, roles: [] }, 'Bond.create'));
    assert.ok(!allowed(who(['read-only']), 'network.create'));
    assert.ok(allowed(who(['vm-admin']), 'network.create'), 'vm-admin may create networks');
    assert.ok(!allowed(who(['vm-admin']), 'VIF.set_locking_mode'), 'port locking needs pool-operator');
    assert.ok(allowed(who(['pool-operator']), 'VIF.set_locking_mode', 'VIF.set_ipv4_allowed'));
    assert.ok(!allowed(who(['pool-operator']), 'no.such_method'));
  });
});

describe('after real use', () => {
  const pifOf = async (device: string): Promise<string> => {
    const pifs = (await c('PIF.get_all_records')) as Record<string, Rec>;
    return Object.entries(pifs).find(([, p]) => p.device === device && p.VLAN === -1)![0];
  };
  const netOf = async (bridge: string): Promise<string> => ((await c('network.get_all_where', `field "bridge"="${bridge}"`)) as string[])[0];

  test('hosts that reach a network: a bond member\'s old network is no longer reached through it', async () => {
    // the picture's bond took eth1 and eth2: their PIFs stay on xenbr1/xenbr2, idle
    const store = await snapshot();
    const host = store.all('host')[0][0];
    const reach = async (bridge: string) => networkHosts(store, store.get('network', await netOf(bridge))!);
    assert.deepEqual(await reach('xenbr0'), [host]);
    assert.deepEqual(await reach('xenbr1'), [], 'eth1 is a bond member');
    assert.deepEqual(await reach('xenbr2'), [], 'eth2 is a bond member');
    const bondNet = store.all('network').find(([, n]) => n.name_label === 'b')![1];
    assert.deepEqual(networkHosts(store, bondNet), [host], 'the bond reaches its own network');
  });

  test('networks of the same name are told apart by VLAN or bridge, in the picture and in errors', async () => {
    const eth0 = await pifOf('eth0');
    const a = (await c('network.create', { name_label: 'tenant' })) as string;
    await c('pool.create_VLAN_from_PIF', eth0, a, 31);
    const b = (await c('network.create', { name_label: 'tenant' })) as string;
    await c('pool.create_VLAN_from_PIF', eth0, b, 32);
    const i1 = (await c('network.create', { name_label: 'tenant' })) as string;
    const i2 = (await c('network.create', { name_label: 'tenant' })) as string;
    const store = await snapshot();
    const titles = networkTitles(store);
    const br = (r: string) => store.get('network', r)!.bridge as string;
    assert.equal(titles.get(a), 'tenant (VLAN 31)');
    assert.equal(titles.get(b), 'tenant (VLAN 32)');
    assert.equal(titles.get(i1), `tenant (${br(i1)})`);
    assert.equal(titles.get(i2), `tenant (${br(i2)})`);
    assert.equal(titles.get(await netOf('xenbr0')), store.get('network', await netOf('xenbr0'))!.name_label, 'a name of its own stays as it is');
    const drawn = buildGraph(store).nodes.filter((n) => n.kind === 'network' && n.data.name === 'tenant').map((n) => n.title);
    assert.equal(drawn.length, 4);
    assert.equal(new Set(drawn).size, 4, `told apart: ${drawn.join(' / ')}`);
    assert.equal(describeRef(store, a), 'network "tenant (VLAN 31)"');
    for (const r of [a, b, i1, i2]) await c('network.destroy', r).catch(async () => {
      for (const p of (await c('network.get_PIFs', r)) as string[]) await c('VLAN.destroy', await c('PIF.get_VLAN_master_of', p));
      await c('network.destroy', r);
    });
  });

  test('edge labels never overlap: a pool of four hosts with addresses and VLANs on two NICs each', async () => {
    // hosts written into the database (a pool's members, as the replica holds them)
    const v = (await c('network.create', { name_label: 'lv' })) as string;
    const w = (await c('network.create', { name_label: 'lw' })) as string;
    const [xenbr0, xenbr1] = [await netOf('xenbr0'), await netOf('xenbr1')];
    d.db.transact((tx) => {
      for (const i of [2, 3, 4]) {
        const h = makeHost(tx, { name_label: `host${i}`, hostname: `host${i}` });
        const e0 = makePif(tx, { device: 'eth0', network: xenbr0, host: h, management: true, ip_configuration_mode: 'Static', IP: `10.0.0.${10 + i}`, netmask: '255.255.255.0' });
        const e1 = makePif(tx, { device: 'eth1', network: xenbr1, host: h, ip_configuration_mode: 'Static', IP: `10.1.0.${10 + i}`, netmask: '255.255.255.0' });
        makeVlanPif(tx, { tagged: e0, network: v, tag: 5 });
        makeVlanPif(tx, { tagged: e1, network: w, tag: 6 });
      }
    });
    const store = await snapshot();
    const g = buildGraph(store);
    const l = fullLayout(provisionalCore(await layoutCore(g, (x) => elk.layout(x)), g), g);
    const labelled = g.edges.filter((e) => e.label);
    assert.ok(labelled.length >= 12, 'the address and VLAN edges carry labels');
    const pairs = (bs: Box[]) => { let n = 0; for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) if (overlap(bs[i], bs[j])) n++; return n; };
    assert.ok(pairs(labelled.map((e) => labelBox(e.label!, labelAt(l.routes.get(e.id)!)))) > 0, 'at their edges\' middles, some labels would collide');
    const boxes = labelled.map((e) => ({ id: e.id, b: labelBox(e.label!, l.labels.get(e.id)!) }));
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlap(boxes[i].b, boxes[j].b), `${boxes[i].id} / ${boxes[j].id}`);

    // the placement itself: labels at one spot are spread; a label with room keeps its place
    const same = placeLabels(['a', 'b', 'c', 'd'].map((id) => ({ id, text: `VLAN 1${id} · IP 10.0.0.1/24`, at: { x: 100, y: 100 } })), []);
    const sb = [...same.entries()].map(([id, at]) => labelBox(`VLAN 1${id} · IP 10.0.0.1/24`, at));
    for (let i = 0; i < sb.length; i++) for (let j = i + 1; j < sb.length; j++) assert.ok(!overlap(sb[i], sb[j]));
    const alone = placeLabels([{ id: 'x', text: 'VLAN 5', at: { x: 10, y: 500 } }], [{ x: 0, y: 0, w: 50, h: 50 }]);
    assert.deepEqual(alone.get('x'), { x: 10, y: 500 });
    const offNode = placeLabels([{ id: 'x', text: 'VLAN 5', at: { x: 25, y: 25 } }], [{ x: 0, y: 0, w: 50, h: 50 }]);
    assert.ok(!overlap(labelBox('VLAN 5', offNode.get('x')!), { x: 0, y: 0, w: 50, h: 50 }), 'moved off the node it fell on');
  });

  test('a refusal names its parameters from the catalogue, and objects as xe does (uuid and name)', async () => {
    const store = await snapshot();
    const net = await netOf('xenbr0');
    const netRec = store.get('network', net)!;
    const [vifRef, vifRec] = store.all('vif')[0];
    const e = explain(['VIF_IN_USE', net, vifRef, vifRef], store);
    assert.deepEqual(e.params.map((p) => p.name), ['network', 'VIF', 'VIF'], 'extra values keep the last catalogue name');
    assert.equal(e.params[0].value, `${netRec.uuid as string} (${netRec.name_label as string})`);
    assert.equal(e.params[0].raw, net);
    assert.equal(e.params[1].value, vifRec.uuid, 'a VIF has no name label: its uuid, as xe prints it');
    assert.match(e.params[1].described ?? '', /VIF 0 of VM "web"/);
    for (const code of Object.keys(ERRORS)) {
      const names = explain([code, 'a', 'b', 'c', 'd', 'e']).params.map((p) => p.name);
      assert.ok(names.every((n) => !/^param\d/.test(n)), `${code}: ${names.join(', ')}`);
    }
    assert.deepEqual(explain(['SOMETHING_NEW', 'x']).params.map((p) => p.name), ['parameter']);
    assert.match(explain(['INVALID_CIDR_ADDRESS_SPECIFIED', 'ipv4_allowed']).plain, /10\.77\.0\.0\/24/, 'a host-bits prefix is explained as such');
  });

  test('times are readable: date, time in UTC and how long ago', () => {
    const now = Date.UTC(2026, 11, 5, 14, 58, 40);
    assert.equal(readableTime('20261205T14:55:29Z', now), '5 Dec 2026 14:55:29 UTC (3 min ago)');
    assert.equal(readableTime('2026-12-05T13:55:29Z', now), '5 Dec 2026 13:55:29 UTC (1 h ago)');
    assert.equal(readableTime('20261201T00:00:00Z', now), '1 Dec 2026 00:00:00 UTC (4 days ago)');
    assert.equal(readableTime('20261205T14:58:30Z', now), '5 Dec 2026 14:58:30 UTC (just now)');
    assert.equal(readableTime('19700101T00:00:00Z', now), 'never', 'xapi\'s null date');
    assert.equal(readableTime('not a date', now), 'not a date');
    // a time the console holds in milliseconds reads the same, without a round trip through text
    assert.equal(readableAt(Date.UTC(2026, 11, 5, 14, 55, 29), now), readableTime('20261205T14:55:29Z', now));
    assert.equal(readableAt(0, now), 'never');
    assert.equal(readableAt(NaN, now), '');
  });
});

