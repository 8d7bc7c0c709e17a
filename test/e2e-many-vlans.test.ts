// One host with many VLANs on one NIC (XenServer's limit is 800 per host; bench/pool makes the
// 800, this test POOLNET_MANY_VLANS or 200 to stay short): every VLAN's fake bridge is on the
// NIC's bridge with its tag, and the NIC's bridge gets its flow table.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';

const COUNT = Math.min(4000, Math.max(1, Number(process.env.POOLNET_MANY_VLANS) || 200));

describe(`a host with ${COUNT} VLANs on one NIC`, { skip: labSkip() }, () => {
  let t: TestLab;
  before(async () => { t = await startLab({ tag: 'mv', hosts: 1, nics: 2, vms: 0 }); });
  after(async () => { await t?.dispose(); });

  it('gets all its bridges and ports', { timeout: 600_000 }, async () => {
    const s = await t.session(1);
    const pifs = (await t.call(1, 'PIF.get_all_records', [s])) as Record<string, { device: string; VLAN: string | number }>;
    const eth1 = Object.entries(pifs).find(([, p]) => p.device === 'eth1' && Number(p.VLAN) === -1)![0];
    const tags = Array.from({ length: COUNT }, (_, i) => i + 2);
    // four callers at a time, as bench/pool does
    let next = 0;
    let lastNet = '';
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < tags.length) {
        const tag = tags[next++];
        const net = (await t.call(1, 'network.create', [s, { name_label: `VLAN ${tag}`, name_description: '', MTU: 1500, other_config: {} }])) as string;
        await t.call(1, 'VLAN.create', [s, eth1, tag, net]);
        if (tag === tags[tags.length - 1]) lastNet = net;
      }
    }));
    const h = t.state.hosts[0];
    const db = `--db=unix:${h.dir}/ovs/db.sock`;
    const fakeTags = (): number[] => {
      const out = t.host(1, 'ovs-vsctl', [db, '--format=csv', '--no-headings', '--columns=tag', 'find', 'Port', 'fake_bridge=true']);
      return out.split('\n').filter((l) => l.trim()).map(Number).sort((a, b) => a - b);
    };
    const flowsOf = (br: string): string => {
      try { return t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', '--no-stats', `unix:${h.dir}/ovs/${br}.mgmt`]); } catch { return ''; }
    };
    let have: number[] = [];
    let flows = '';
    for (let i = 0; i < 600; i++) {
      have = fakeTags();
      flows = have.length >= COUNT ? flowsOf('xenbr1') : '';
      if (have.length >= COUNT && flows.includes('actions')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(have, tags, 'every VLAN is a fake bridge on the switch with its tag');
    const bridge = (await t.call(1, 'network.get_bridge', [s, lastNet])) as string;
    const parents = t.host(1, 'ovs-vsctl', [db, 'br-to-parent', bridge]).trim();
    assert.equal(parents, 'xenbr1', 'the last VLAN hangs off the NIC\'s bridge');
    assert.match(flows, /actions/, 'xenbr1 has its flow table');
  });
});
