// A test daemon seen through the XenAPI, with the look-ups and state checks the networking
// tests share: records by device or bridge, a snapshot of every networking class plus the
// event generation, and `refused`, which checks a refusal's code and parameters and that it
// changed nothing at all.

import assert from 'node:assert/strict';
import type { HostFacts, NicFacts } from '../../src/db/init.ts';
import { introducePhysical } from '../../src/db/init.ts';
import { FACTS, call, failure, login, startTestDaemon, type TestDaemon } from './daemon.ts';
import { makeHost, makeSriov } from './fixtures.ts';

export type R = Record<string, unknown>;

export const NULL = 'OpaqueRef:NULL';

/** The classes a networking refusal must leave alone (event.from subscription and snapshot). */
const WATCHED = ['PIF', 'PIF_metrics', 'Bond', 'VLAN', 'tunnel', 'network', 'network_sriov', 'VIF', 'VM', 'host', 'pool', 'message', 'SDN_controller'];

export interface Snapshot {
  readonly token: string;
  readonly records: Record<string, Record<string, R>>;
}

export class Net {
  private constructor(
    readonly d: TestDaemon,
    readonly s: string,
    /** The host's NICs as PIF.scan / PIF.introduce see them: push to add a NIC. */
    readonly nics: NicFacts[],
    readonly host: string,
    readonly pool: string,
  ) {}

  static async start(): Promise<Net> {
    const nics: NicFacts[] = FACTS.nics.map((n) => ({ ...n }));
    const facts: HostFacts = { ...FACTS, nics };
    const d = await startTestDaemon({ facts });
    const s = await login(d.url);
    const host = ((await call(d.url, 'host.get_all', [s])) as string[])[0];
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    return new Net(d, s, nics, host, pool);
  }

  dispose(): Promise<void> { return this.d.dispose(); }

  call(method: string, ...args: unknown[]): Promise<unknown> { return call(this.d.url, method, [this.s, ...args]); }
  fail(method: string, ...args: unknown[]): Promise<string[]> { return failure(this.call(method, ...args)); }

  async rec(cls: string, ref: string): Promise<R> { return (await this.call(`${cls}.get_record`, ref)) as R; }
  async all(cls: string): Promise<Record<string, R>> { return (await this.call(`${cls}.get_all_records`)) as Record<string, R>; }
  pif(ref: string): Promise<R> { return this.rec('PIF', ref); }
  network(ref: string): Promise<R> { return this.rec('network', ref); }
  bond(ref: string): Promise<R> { return this.rec('Bond', ref); }

  /** The PIF of `host` (default: this host) with `device` and VLAN tag `vlan` (-1: untagged), excluding tunnel access PIFs. */
  async pifRef(device: string, opts: { vlan?: number; host?: string } = {}): Promise<string> {
    const host = opts.host ?? this.host;
    const vlan = opts.vlan ?? -1;
    const hits = Object.entries(await this.all('PIF')).filter(([, p]) => p.host === host && p.device === device && p.VLAN === vlan
      && (p.tunnel_access_PIF_of as string[]).length === 0 && (p.sriov_logical_PIF_of as string[]).length === 0);
    assert.equal(hits.length, 1, `exactly one PIF ${device} (VLAN ${vlan}) on ${host}`);
    return hits[0][0];
  }

  async netRef(bridge: string): Promise<string> {
    const hits = Object.entries(await this.all('network')).filter(([, n]) => n.bridge === bridge);
    assert.equal(hits.length, 1, `exactly one network with bridge ${bridge}`);
    return hits[0][0];
  }

  async mgmt(): Promise<string> { return (await this.call('host.get_management_interface', this.host)) as string; }

  /** A new network (bridge chosen by the server unless given). */
  newNetwork(name: string, extra: R = {}): Promise<string> {
    return this.call('network.create', { name_label: name, name_description: '', MTU: 1500, other_config: {}, tags: [], ...extra }) as Promise<string>;
  }

  setHa(on: boolean): Promise<unknown> { return this.call('pool.set_ha_enabled', this.pool, on); }

  reconfigureIp(pif: string, mode: string, IP = '', netmask = '', gateway = '', DNS = ''): Promise<unknown> {
    return this.call('PIF.reconfigure_ip', pif, mode, IP, netmask, gateway, DNS);
  }

  /** A database write, only for states the API cannot reach on one host (documented at each use). */
  db(ref: string, patch: R): void { this.d.db.transact((tx) => tx.update(ref, patch)); }

  /** A VM (halted, resident nowhere) through the API; `running` makes it run here. */
  async vm(name: string, opts: { running?: boolean } = {}): Promise<string> {
    const vm = (await this.call('VM.create', { name_label: name, name_description: '', is_a_template: false, other_config: {}, tags: [] })) as string;
    // VM.start belongs to src/ops/vm.ts (another engineer's); a running VM's state is written directly
    if (opts.running) this.db(vm, { power_state: 'Running', resident_on: this.host });
    return vm;
  }

  private macN = 0;

  /** A VIF through the API; `attached` marks it plugged (as VM.start / VIF.plug would). */
  async vif(vm: string, network: string, opts: { attached?: boolean; trunks?: number[]; device?: string } = {}): Promise<string> {
    const n = this.macN++;
    const vif = (await this.call('VIF.create', {
      device: opts.device ?? String(n % 7), network, VM: vm, MAC: `02:16:3e:00:00:${(n + 16).toString(16).padStart(2, '0')}`, MTU: 1500,
      other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default',
      ipv4_allowed: [], ipv6_allowed: [], trunks: opts.trunks ?? [],
    })) as string;
    if (opts.attached) this.db(vif, { currently_attached: true });
    return vif;
  }

  /** Detach (as VIF.unplug would) and destroy a VIF. */
  async dropVif(vif: string): Promise<void> {
    this.db(vif, { currently_attached: false });
    await this.call('VIF.destroy', vif);
  }

  /**
   * SR-IOV on a physical PIF: the logical PIF on `network` and the network_sriov record, as
   * network_sriov.create makes them (the checks under test here are about the topology).
   */
  sriov(physical: string, network: string): { sriov: string; logical: string } {
    return this.d.db.transact((tx) => makeSriov(tx, physical, network));
  }

  /** A second host record with PIFs for `nics` on the pool-wide networks (a pool member a one-host daemon cannot join). */
  secondHost(nics: NicFacts[]): { host: string; pifs: string[] } {
    return this.d.db.transact((tx) => {
      const host = makeHost(tx, { name_label: 'host2', hostname: 'host2', other_config: {}, address: '10.0.0.12' });
      const pifs = nics.map((n) => introducePhysical(tx, host, n, { attached: true }));
      return { host, pifs };
    });
  }

  private lastToken = '';

  /** The current event.from token (the generation), read cheaply from the last token seen. */
  async token(): Promise<string> {
    this.lastToken = ((await this.call('event.from', WATCHED, this.lastToken, 0)) as { token: string }).token;
    return this.lastToken;
  }

  /** No networking event since `token`, and the generation did not move. */
  async assertNoEventSince(token: string): Promise<void> {
    const ev = (await this.call('event.from', WATCHED, token, 0)) as { events: R[]; token: string };
    assert.deepEqual(ev.events.map((e) => `${String(e.operation)} ${String(e.class)} ${String(e.ref)}`), [], 'no event after a refusal');
    assert.equal(ev.token, token, 'the event generation did not move');
  }

  async snapshot(): Promise<Snapshot> {
    const token = await this.token();
    const records: Record<string, Record<string, R>> = {};
    for (const cls of ['PIF', 'Bond', 'VLAN', 'tunnel', 'network', 'VIF']) records[cls] = await this.all(cls);
    return { token, records };
  }

  /** Nothing networking-related changed since `before`: no event, same generation, same records. */
  async assertUnchanged(before: Snapshot): Promise<void> {
    await this.assertNoEventSince(before.token);
    const after = await this.snapshot();
    for (const cls of Object.keys(before.records)) assert.deepEqual(after.records[cls], before.records[cls], `${cls} records unchanged`);
  }

  /** The call fails with exactly `expected` ([CODE, ...params]) and commits nothing (no event, same generation). */
  async refused(expected: string[], method: string, ...args: unknown[]): Promise<void> {
    const token = await this.token();
    assert.deepEqual(await this.fail(method, ...args), expected, `${method} refused`);
    await this.assertNoEventSince(token);
  }

  /** As `refused`, and the get_all_records of PIF, Bond, VLAN, tunnel, network and VIF are compared too. */
  async refusedDeep(expected: string[], method: string, ...args: unknown[]): Promise<void> {
    const before = await this.snapshot();
    assert.deepEqual(await this.fail(method, ...args), expected, `${method} refused`);
    await this.assertUnchanged(before);
  }

  /** Messages (alerts) whose name is `name`. */
  async messages(name: string): Promise<R[]> {
    return Object.values(await this.all('message')).filter((m) => m.name === name);
  }
}

/** A NIC the kernel could report. */
export function nic(device: string, mac: string, extra: Partial<NicFacts> = {}): NicFacts {
  return { device, mac, mtu: 1500, carrier: true, speed: 1000, ipv4: [], gateway: '', ...extra };
}
