// The console's pure logic, without a browser: the picture built from a real daemon's records
// (network kinds, management and secondary interfaces, effective locking modes), the layout
// (ELK in-process, provisional places for new objects), subnet warnings, explanations of every
// error the networking messages can give, and the offered actions per role (from the model).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ElkBundled from 'elkjs/lib/elk.bundled.js';
import { explain, PLAIN } from '../console/src/logic/explain.ts';
import { fullLayout, layoutCore, provisionalCore, type Box } from '../console/src/logic/layout.ts';
import { allowed, errorsOfClasses } from '../console/src/logic/model.ts';
import { sharedSubnets, subnetOf, subnetsOverlap } from '../console/src/logic/net.ts';
import { Store, WATCHED, type XenEvent } from '../console/src/logic/store.ts';
import { buildGraph, effectiveLocking, networkKind } from '../console/src/logic/topology.ts';
import { ERRORS } from '../src/model/index.ts';
import { call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

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
