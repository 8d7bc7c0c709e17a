// What a host reports as VLANs made outside poolnet (for VLAN_IN_USE), read from a real
// ovsdb-server: an Open vSwitch fake bridge (`ovs-vsctl add-br NAME PARENT TAG`) counts for every
// NIC of its parent bridge, a bond's members included; poolnet's own fake bridges (external_ids
// poolnet=true) do not; the switch's bridges (fake ones too) are reported; a switch that does not
// answer reports nothing. Kernel 802.1Q devices are
// checked in a namespace of the test's own when this kernel has 8021q (the skip says so).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { discoverHost, discoverHostAsync, foreignVlans, ovsForeignVlans, switchFacts, switchFactsAsync } from '../src/agent/discover.ts';
import { haveOvs, startOvsdb, type OvsDb } from './helpers/ovs.ts';
import { nsSkipReason, plainNs } from './helpers/netns.ts';

describe('Open vSwitch fake bridges made outside poolnet', { skip: haveOvs() ? false : 'needs ovsdb-server (Debian openvswitch-switch)' }, () => {
  let ovs: OvsDb;
  const vsctl = (...args: string[]) => execFileSync('ovs-vsctl', [`--db=unix:${ovs.socket}`, '--no-wait', ...args], { encoding: 'utf8' });
  before(async () => {
    ovs = await startOvsdb();
    vsctl('init');
    vsctl('add-br', 'xenbr0', '--', 'add-port', 'xenbr0', 'eth0');
    vsctl('add-br', 'xenbr1', '--', 'add-bond', 'xenbr1', 'bond0', 'eth1', 'eth2');
    vsctl('add-br', 'xenbr3', '--', 'add-port', 'xenbr3', 'eth3');
  });
  after(async () => { await ovs?.stop(); });

  it('none yet: nothing reported', () => {
    assert.deepEqual([...foreignVlans(['eth0', 'eth1', 'eth2', 'eth3'], ovs.socket)], []);
  });

  it('a fake bridge counts for its parent\'s NIC, or each NIC of its parent\'s bond; poolnet\'s own do not', async () => {
    vsctl('add-br', 'fake7', 'xenbr0', '7');
    vsctl('add-br', 'fake9', 'xenbr1', '9');
    vsctl('add-br', 'fake4', 'xenbr1', '4');
    // a VLAN network poolnet realised: its fake bridge's port carries poolnet's mark
    vsctl('add-br', 'xapi1', 'xenbr3', '11', '--', 'set', 'Port', 'xapi1', 'external_ids:poolnet=true');
    const got = foreignVlans(['eth0', 'eth1', 'eth2', 'eth3'], ovs.socket);
    assert.deepEqual(Object.fromEntries(got), { eth0: [7], eth1: [4, 9], eth2: [4, 9] });
    // only the NICs asked about
    assert.deepEqual(Object.fromEntries(foreignVlans(['eth0'], ovs.socket)), { eth0: [7] });
    // the bridges the host reports (network.attach of an unmanaged network): fake bridges included
    const sw = switchFacts(['eth0'], ovs.socket);
    for (const b of ['xenbr0', 'xenbr1', 'xenbr3', 'fake7', 'fake9', 'xapi1']) assert.ok(sw.bridges?.includes(b), `${b} among ${String(sw.bridges)}`);
    // the daemon's periodic report reads the same without blocking its event loop
    assert.deepEqual(await switchFactsAsync(['eth0', 'eth1', 'eth2', 'eth3'], ovs.socket), switchFacts(['eth0', 'eth1', 'eth2', 'eth3'], ovs.socket));
    const nics = ['eth0', 'eth1', 'eth2', 'eth3'];
    const [sync, async] = [discoverHost(nics, { ovsDbSocket: ovs.socket }), await discoverHostAsync(nics, { ovsDbSocket: ovs.socket })];
    assert.deepEqual(async, sync);
    for (const b of ['xenbr0', 'fake9']) assert.ok(async.bridges?.includes(b), `${b} among ${String(async.bridges)}`);
    // read again only when the database changed: a fake bridge made now is seen at once
    vsctl('add-br', 'fake5', 'xenbr0', '5');
    assert.deepEqual(Object.fromEntries((await switchFactsAsync(['eth0'], ovs.socket)).vlans), { eth0: [5, 7] });
    vsctl('del-br', 'fake5');
    assert.deepEqual(Object.fromEntries((await switchFactsAsync(['eth0'], ovs.socket)).vlans), { eth0: [7] });
    vsctl('del-br', 'fake7');
    assert.deepEqual(Object.fromEntries(foreignVlans(['eth0', 'eth1', 'eth2', 'eth3'], ovs.socket)), { eth1: [4, 9], eth2: [4, 9] });
  });

  it('no switch at the socket: no VLANs, bridges not known, and no throw', async () => {
    assert.deepEqual([...foreignVlans(['eth0'], `${ovs.dir}/absent.sock`)], []);
    assert.equal(switchFacts(['eth0'], `${ovs.dir}/absent.sock`).bridges, undefined);
    assert.equal((await switchFactsAsync(['eth0'], `${ovs.dir}/absent.sock`)).bridges, undefined);
  });
});

describe('ovs-vsctl output that is not what poolnet asked for', () => {
  it('rows of the wrong shape count for nothing', () => {
    const lines = [
      JSON.stringify({ headings: ['name', 'ports'], data: [['b', ['set', [['uuid', 'p1'], ['uuid', 'p2']]]], 'junk', [null, 5]] }),
      JSON.stringify({ headings: ['_uuid', 'name', 'tag', 'fake_bridge', 'external_ids', 'interfaces'], data: [
        [['uuid', 'p1'], 'f', '7', true, ['map', []], ['uuid', 'i1']], // a tag that is a string
        [['uuid', 'p2'], 'eth0', ['set', []], false, ['map', []], ['uuid', 'i2']],
      ] }),
      JSON.stringify({ headings: ['_uuid', 'name'], data: [[['uuid', 'i2'], 'eth0']] }),
    ];
    assert.deepEqual([...ovsForeignVlans(lines.join('\n'), ['eth0'])], []);
  });
});

describe('kernel 802.1Q devices made outside poolnet', () => {
  const n = plainNs('pnvlan');
  const inNs = n.run;
  const why = (): string | false => {
    const ns = nsSkipReason();
    if (ns) return ns;
    n.add();
    inNs('ip', 'link', 'add', 'eth5', 'type', 'veth', 'peer', 'name', 'eth6');
    const r = inNs('ip', 'link', 'add', 'link', 'eth5', 'name', 'eth5.8', 'type', 'vlan', 'id', '8');
    if (r.status !== 0) { n.del(); return `this kernel cannot make 802.1Q devices (8021q): ${r.stderr.trim()}`; }
    return false;
  };
  const skip = why();
  after(() => { if (!skip) n.del(); });

  it('a VLAN device over the NIC counts; one poolnet made (ifalias poolnet) does not', { skip }, () => {
    inNs('ip', 'link', 'add', 'link', 'eth5', 'name', 'eth5.9', 'type', 'vlan', 'id', '9');
    inNs('ip', 'link', 'set', 'dev', 'eth5.9', 'alias', 'poolnet');
    const out = n.runTs(
      'import("./src/agent/discover.ts").then((m) => console.log(JSON.stringify(Object.fromEntries(m.foreignVlans(["eth5"])))))');
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim()), { eth5: [8] });
  });

});

describe('discovery without blocking the event loop', () => {
  const n = plainNs('pndisc');
  const skip = nsSkipReason();
  after(() => { if (!skip) n.del(); });

  it('discoverHostAsync finds what discoverHost finds: NICs, MACs, addresses, gateway', { skip }, () => {
    n.add();
    n.addHostNic();
    const out = n.runTs(
      'import("./src/agent/discover.ts").then(async (m) => console.log(JSON.stringify([m.discoverHost(), await m.discoverHostAsync()])))');
    assert.equal(out.status, 0, out.stderr);
    const [sync, async] = JSON.parse(out.stdout.trim()) as [{ nics: { device: string; mac: string; ipv4: unknown; gateway: string }[] }, unknown];
    assert.deepEqual(async, sync);
    assert.deepEqual(sync.nics.map((n) => n.device), ['eth5', 'eth6']);
    const eth5 = sync.nics.find((n) => n.device === 'eth5');
    assert.match(eth5?.mac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(eth5?.ipv4, [{ ip: '192.0.2.5', prefix: 24 }]);
    assert.equal(eth5?.gateway, '192.0.2.1');
  });
});
