// A bond's link state, as the reference's network daemon reports it (xapi's networkd,
// network_monitor_thread): carrier when any member is up, speed the sum of the active members,
// duplex combined; Bond.links_up the members up.
// - unit: the computation (src/agent/linkstate.ts) and the parsing of `ovs-appctl bond/show`;
// - lab: a management bond on a real Open vSwitch, its members veths to the lab's fabric: the
//   bond PIF's metrics show carrier, twice a member's speed and full duplex; one member's link
//   taken down at the fabric: still carrier, one member's speed, links_up 1.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bondLinkState, combineDuplex, metricsOf, nicLinkState, parseOvsBondShow, type Duplex } from '../src/agent/linkstate.ts';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bond link state: the computation', () => {
  const links: Record<string, { speed: number; duplex: Duplex }> = {
    eth0: { speed: 1000, duplex: 'full' }, eth1: { speed: 10000, duplex: 'full' }, eth2: { speed: 100, duplex: 'half' }, eth3: { speed: 0, duplex: 'unknown' },
  };
  const link = (d: string) => links[d];

  it('carrier when any member is up; speed the sum of the active members; full duplex when all are', () => {
    const s = bondLinkState([{ device: 'eth0', up: true, active: true }, { device: 'eth1', up: true, active: true }], link);
    assert.deepEqual(s, { carrier: true, speed: 11000, duplex: 'full', linksUp: 2 });
    assert.deepEqual(metricsOf(s), { carrier: true, speed: 11000, duplex: true });
  });

  it('one member down: carrier still, its speed no longer counted', () => {
    const s = bondLinkState([{ device: 'eth0', up: false, active: false }, { device: 'eth1', up: true, active: true }], link);
    assert.deepEqual(s, { carrier: true, speed: 10000, duplex: 'full', linksUp: 1 });
  });

  it('active-backup: the backup is up (links_up counts it) but carries nothing (speed does not)', () => {
    const s = bondLinkState([{ device: 'eth0', up: true, active: true }, { device: 'eth1', up: true, active: false }], link);
    assert.deepEqual(s, { carrier: true, speed: 1000, duplex: 'full', linksUp: 2 });
  });

  it('every member down: no carrier, speed 0, duplex unknown (false in PIF_metrics)', () => {
    const s = bondLinkState([{ device: 'eth0', up: false, active: false }, { device: 'eth1', up: false, active: false }], link);
    assert.deepEqual(s, { carrier: false, speed: 0, duplex: 'unknown', linksUp: 0 });
    assert.deepEqual(metricsOf(s), { carrier: false, speed: 0, duplex: false });
    assert.deepEqual(bondLinkState([], link), { carrier: false, speed: 0, duplex: 'unknown', linksUp: 0 });
  });

  it('duplex combined: unknown gives way, any half makes half', () => {
    assert.equal(combineDuplex('unknown', 'full'), 'full');
    assert.equal(combineDuplex('half', 'unknown'), 'half');
    assert.equal(combineDuplex('full', 'half'), 'half');
    assert.equal(combineDuplex('unknown', 'unknown'), 'unknown');
    const s = bondLinkState([{ device: 'eth0', up: true, active: true }, { device: 'eth2', up: true, active: true }, { device: 'eth3', up: true, active: true }], link);
    assert.deepEqual(s, { carrier: true, speed: 1100, duplex: 'half', linksUp: 3 });
  });

  it('a NIC: speed and duplex only with carrier; unreadable values are 0 and unknown', () => {
    assert.deepEqual(nicLinkState('1', '10000', 'full'), { carrier: true, speed: 10000, duplex: 'full' });
    assert.deepEqual(nicLinkState('0', '10000', 'full'), { carrier: false, speed: 0, duplex: 'unknown' });
    assert.deepEqual(nicLinkState('1', '-1', 'unknown'), { carrier: true, speed: 0, duplex: 'unknown' });
    assert.deepEqual(nicLinkState(undefined, undefined, undefined), { carrier: false, speed: 0, duplex: 'unknown' });
  });

  it('ovs-appctl bond/show: members up or not; active-backup: only the active member is active', () => {
    const slb = 'bond_mode: balance-slb\nupdelay: 0 ms\n\nmember eth0: enabled\n  active member\n  may_enable: true\n\nmember eth1: disabled\n  may_enable: false\n\nmember eth2: enabled\n  may_enable: true\n';
    assert.deepEqual(parseOvsBondShow(slb), [
      { device: 'eth0', up: true, active: true }, { device: 'eth1', up: false, active: false }, { device: 'eth2', up: true, active: true },
    ]);
    const ab = slb.replace('balance-slb', 'active-backup');
    assert.deepEqual(parseOvsBondShow(ab), [
      { device: 'eth0', up: true, active: true }, { device: 'eth1', up: false, active: false }, { device: 'eth2', up: true, active: false },
    ]);
    // before Open vSwitch 2.15: "slave"
    assert.deepEqual(parseOvsBondShow('bond_mode: active-backup\nslave eth0: enabled\n\tactive slave\nslave eth1: enabled\n'), [
      { device: 'eth0', up: true, active: true }, { device: 'eth1', up: true, active: false },
    ]);
  });
});

describe('bond link state: a management bond in the lab', { skip: labSkip() }, () => {
  let t: TestLab;
  before(async () => { t = await startLab({ tag: 'bl', hosts: 1, nics: 3, vms: 0 }); });
  after(async () => { await t?.dispose(); });

  const api = async (method: string, ...params: unknown[]) => t.call(1, method, [await t.session(1), ...params]);
  async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 40_000): Promise<T> {
    const end = Date.now() + ms;
    let last: unknown;
    for (;;) {
      try { const v = await fn(); if (v) return v; last = v; } catch (e) { last = (e as Error).message; }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
      await sleep(200);
    }
  }

  it('carrier, the members\' speed summed and full duplex; a member down: carrier, one member\'s speed', async () => {
    const pifOf = async (device: string) => ((await api('PIF.get_all_where', `field "device"="${device}" and field "VLAN"="-1"`)) as string[])[0];
    const eth0 = await pifOf('eth0');
    assert.equal(await api('PIF.get_management', eth0), true, 'eth0 is the management PIF');
    const memberSpeed = Number(t.host(1, 'cat', ['/sys/class/net/eth0/speed']).trim());
    assert.ok(memberSpeed > 0, `a lab NIC reports a speed (${memberSpeed})`);
    const net = await api('network.create', { name_label: 'management bond', name_description: '', MTU: 1500, other_config: {} }) as string;
    const bond = await api('Bond.create', net, [eth0, await pifOf('eth1')], '', 'balance-slb', {}) as string;
    const master = await api('Bond.get_master', bond) as string;
    assert.equal(await api('PIF.get_management', master), true, 'management moved to the bond');
    // xapi's 200 ms downdelay would only delay what is measured below: off, as e2e-bond does
    await api('PIF.add_to_other_config', master, 'bond-downdelay', '0');
    const metrics = await api('PIF.get_metrics', master) as string;
    const rec = async () => (await api('PIF_metrics.get_record', metrics)) as { carrier: boolean; speed: number; duplex: boolean };

    const both = await until('the bond PIF: carrier, both members\' speed', async () => { const r = await rec(); return r.carrier && r.speed === 2 * memberSpeed && r; });
    assert.equal(both.duplex, true);
    assert.equal(await api('Bond.get_links_up', bond), 2);

    t.lab.inNs(t.lab.fabricNs, 'ip', ['link', 'set', 'h1e1', 'down']);
    const one = await until('one member\'s speed', async () => { const r = await rec(); return r.speed === memberSpeed && r; });
    assert.equal(one.carrier, true, 'a bond with a member up has carrier');
    assert.equal(one.duplex, true);
    assert.equal(await api('Bond.get_links_up', bond), 1);
    t.lab.inNs(t.lab.fabricNs, 'ip', ['link', 'set', 'h1e1', 'up']);
  });
});
