// The Open vSwitch backend: realise a DesiredHost's bridges, ports and interfaces in one OVSDB
// transaction (only what differs), each bridge's flow table in one OpenFlow bundle, and meters.
// Level-triggered and idempotent: applying the same state twice changes nothing.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BridgeSpec, DesiredHost, MeterSpec, PortSpec } from './desired.ts';
import { flowText, type Flow } from './flows.ts';
import { OvsdbClient, mapOf, ovsMap, setMembers, type Operation, type OvsdbValue, type Row } from './ovsdb.ts';

const run = promisify(execFile);
const DB = 'Open_vSwitch';
const MANAGED = 'poolnet';

export interface OvsOptions {
  /** ovsdb-server's unix socket. */
  readonly dbSocket: string;
  /** The run directory where ovs-vswitchd puts <bridge>.mgmt sockets. */
  readonly runDir: string;
  readonly datapathType: 'netdev' | 'system';
}

interface ActualRow { uuid: string; row: Row }

interface Actual {
  root: string;
  bridges: Map<string, ActualRow>;
  ports: Map<string, ActualRow>; // by uuid
  ifaces: Map<string, ActualRow>; // by uuid
}

const uuidOf = (v: OvsdbValue | undefined): string => (Array.isArray(v) && v[0] === 'uuid' ? (v[1] as string) : '');
const ref = (u: string): OvsdbValue => ['uuid', u];
const named = (n: string): OvsdbValue => ['named-uuid', n];
const set = (xs: OvsdbValue[]): OvsdbValue => ['set', xs];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a Port row should hold for a PortSpec (columns poolnet owns). */
function portColumns(p: PortSpec): Row {
  const row: Row = {
    tag: p.tag !== undefined ? p.tag : set([]),
    trunks: set([...(p.trunks ?? [])]),
    fake_bridge: !!p.fakeBridge,
    vlan_mode: p.tag !== undefined && p.kind === 'vif' ? 'access' : set([]),
    bond_mode: p.bond ? p.bond.mode : set([]),
    lacp: p.bond ? p.bond.lacp : set([]),
    bond_updelay: p.bond?.updelay ?? 0,
    bond_downdelay: p.bond?.downdelay ?? 0,
    other_config: ovsMap(p.bond ? { ...p.bond.otherConfig } : {}),
    external_ids: ovsMap({ [MANAGED]: 'true', ...(p.externalIds ?? {}) }),
  };
  if (p.mac) row.mac = p.mac;
  if (p.protected) row.protected = true;
  return row;
}

function ifaceColumns(p: PortSpec, name: string): Row {
  const row: Row = {
    name,
    type: p.type,
    options: ovsMap({ ...(p.options ?? {}) }),
    other_config: ovsMap(p.bond ? { ...p.bond.memberOtherConfig } : {}),
    external_ids: ovsMap(p.kind === 'vif' ? { ...(p.externalIds ?? {}) } : {}),
  };
  if (p.mtu && p.mtu > 0) row.mtu_request = p.mtu;
  return row;
}

function bridgeColumns(b: BridgeSpec, datapath: string): Row {
  return {
    datapath_type: datapath,
    protocols: set(['OpenFlow10', 'OpenFlow13']),
    fail_mode: 'standalone',
    mcast_snooping_enable: b.mcastSnooping,
    other_config: ovsMap({ ...(b.mac ? { hwaddr: b.mac } : {}), 'mac-table-size': '10000' }),
    external_ids: ovsMap({ [MANAGED]: 'true', ...b.externalIds }),
  };
}

/** OVSDB spells a one-element set as the bare atom and maps in any order: compare canonical forms. */
function canonical(v: OvsdbValue | undefined): unknown {
  if (Array.isArray(v) && v[0] === 'set') {
    const xs = v[1] as OvsdbValue[];
    return xs.length === 1 ? canonical(xs[0]) : xs.map(canonical);
  }
  if (Array.isArray(v) && v[0] === 'map') return ovsMap(mapOf(v));
  return v;
}

/** Whether an existing row differs from the columns poolnet wants in it. */
function differs(row: Row, cols: Row): boolean {
  return Object.entries(cols).some(([k, v]) => !same(canonical(row[k]), canonical(v)));
}

export interface ApplyReport {
  /** OVSDB operations needed (0: the switch already matched). */
  readonly ovsdbChanges: number;
  readonly flowBridges: readonly string[];
  readonly meterChanges: number;
}

/**
 * Flows name ports (`in_port=vif3.0`); ovs-ofctl is given their OpenFlow numbers instead and runs
 * with --no-names. With names, every ovs-ofctl run over OpenFlow 1.3 first fetches the switch's
 * table features (254 tables, about 1.2 MB) to resolve table names: that, not the flows, was
 * most of the cost of a small change. inPortAt: where a match's in_port value is, [start, end).
 */
function inPortAt(match: string): [number, number] | undefined {
  let start: number;
  if (match.startsWith('in_port=')) start = 8;
  else {
    const i = match.indexOf(',in_port=');
    if (i < 0) return undefined;
    start = i + 9;
  }
  const end = match.indexOf(',', start);
  return [start, end < 0 ? match.length : end];
}

/** The port a match names in in_port, unless it is a number or a reserved port (LOCAL, ...). */
function inPortName(match: string): string | undefined {
  const at = inPortAt(match);
  const port = at && match.slice(at[0], at[1]);
  return port && !/^(\d+|[A-Z_]+)$/.test(port) ? port : undefined;
}

/**
 * A table as ovs-ofctl lines per cookie (in the table's order), ports numbered (by string search:
 * a regex here cost 20 ms for 10,000 flows). Flows of a port the switch has no number for (it
 * could not open the device) are left out: no traffic comes from there, and one such port must
 * not hold back the other VIFs' flows. They go in on a later pass, once the port has a number.
 */
function numberedByCookie(flows: readonly Flow[], ports: ReadonlyMap<string, number>): Map<string, string> {
  const byCookie = new Map<string, string>();
  for (const f of flows) {
    const name = inPortName(f.match);
    if (name !== undefined && !ports.has(name)) continue;
    const at = name === undefined ? undefined : inPortAt(f.match)!;
    const match = at ? f.match.slice(0, at[0]) + ports.get(name!) + f.match.slice(at[1]) : f.match;
    // output:<port name> in actions (the split horizon of private networks) is numbered too
    let actions = f.actions;
    if (actions.includes('output:')) {
      const named = [...actions.matchAll(/output:([^,\s]+)/g)].map((m) => m[1]).filter((n) => !/^\d+$/.test(n));
      if (named.some((n) => !ports.has(n))) continue;
      for (const n of named) actions = actions.split(`output:${n}`).join(`output:${ports.get(n)}`);
    }
    const line = flowText({ cookie: f.cookie, priority: f.priority, match, actions });
    const text = byCookie.get(f.cookie);
    byCookie.set(f.cookie, text === undefined ? line : `${text}\n${line}`);
  }
  return byCookie;
}

const tableText = (t: ReadonlyMap<string, string>): string => [...t.values()].join('\n') + '\n';

/** The Interface columns applySwitch reads (the monitor also follows ofport, for port numbers). */
const IFACE_COLUMNS = ['name', 'type', 'options', 'other_config', 'external_ids', 'mtu_request', 'error'];

type Updates = Awaited<ReturnType<OvsdbClient['monitor']>>;

/**
 * The desired bridges as applySwitch sees them: without the VIF ports' locking and rate, which
 * OVS realises as flows and meters (a change there needs no look at OVSDB). Building the rows
 * instead costs 5 ms for 512 VIFs; this, 1 ms.
 */
function switchKey(desired: DesiredHost): string {
  return JSON.stringify(desired.bridges, (k, v: unknown) => (k === 'lock' || k === 'rateKbps' ? undefined : v));
}

/**
 * The bucket depth of a VIF's meter (a dropping policer: TCP needs a deep bucket to reach the
 * rate). Measured in the lab on the userspace datapath, TCP through 800 and 8,000 kbit/s meters
 * got 45-60% of the rate with a tenth of a second of traffic as burst, and 95-98% (all that the
 * headers leave) with a quarter of a second; half a second leaves margin on a loaded machine.
 * At least 16 full-size frames.
 */
export function meterBurstKbits(kbits: number): number {
  return Math.max(200, Math.round(kbits / 2));
}

export class OvsBackend {
  private client: OvsdbClient | undefined;
  /**
   * Flow tables last known to be in each bridge, as ovs-ofctl lines per cookie (cleared on
   * reconnect, and while a write is under way or failed: then the next write replaces it all).
   */
  private readonly appliedFlows = new Map<string, Map<string, string>>();
  private readonly appliedMeters = new Map<string, string>();
  /**
   * Kept by an OVSDB monitor: each Interface's name and OpenFlow port number (by row uuid), and
   * whether a column applySwitch reads changed since it last looked. With that, a pass whose
   * desired bridges are the ones last found in place needs no read of every Port and Interface
   * (about 450 kB for 512 VIFs).
   */
  private readonly ifaces = new Map<string, { name: string; ofport: number }>();
  private switchDirty = true;
  private switchClean: string | undefined;
  /** Called when ovs-vswitchd numbers a port whose device it could not open before. */
  onPortNumbered: (() => void) | undefined;

  constructor(readonly opts: OvsOptions) {}

  private async db(): Promise<OvsdbClient> {
    if (!this.client) {
      const c = await OvsdbClient.connect(this.opts.dbSocket);
      this.appliedFlows.clear();
      this.appliedMeters.clear();
      this.ifaces.clear();
      this.switchClean = undefined;
      try {
        this.onUpdate(await c.monitor(DB, 'poolnet', {
          Open_vSwitch: { columns: ['bridges'] }, Bridge: {}, Port: {}, Interface: { columns: [...IFACE_COLUMNS, 'ofport'] },
        }, (u) => this.onUpdate(u)));
      } catch (e) { c.close(); throw e; }
      this.client = c;
    }
    return this.client;
  }

  private onUpdate(u: Updates): void {
    for (const [table, rows] of Object.entries(u)) {
      for (const [uuid, r] of Object.entries(rows)) {
        // only ovs-vswitchd numbering an interface leaves what applySwitch reads as it was
        if (table !== 'Interface' || !r.old || !r.new || Object.keys(r.old).some((k) => k !== 'ofport')) this.switchDirty = true;
        if (table !== 'Interface') continue;
        // ofport: a number, -1 when ovs-vswitchd could not open the device, [] (0 here) until it tried
        if (r.new) {
          const ofport = typeof r.new.ofport === 'number' ? r.new.ofport : 0;
          // a device that appeared after its port (a VIF wired, or moved here by a migration):
          // flows that name the port can go in now
          if (ofport > 0 && this.ifaces.get(uuid)?.ofport === -1) this.onPortNumbered?.();
          this.ifaces.set(uuid, { name: String(r.new.name), ofport });
        } else this.ifaces.delete(uuid);
      }
    }
  }

  /** A round trip to ovsdb-server: it fails on a dead connection, and the monitor's updates sent before it are in. */
  private async sync(c: OvsdbClient): Promise<void> {
    try { await c.request('echo', []); } catch (e) { this.close(); throw e; }
  }

  close(): void { this.client?.close(); this.client = undefined; }

  ofTarget(bridge: string): string { return `unix:${join(this.opts.runDir, `${bridge}.mgmt`)}`; }

  private async read(): Promise<Actual> {
    const c = await this.db();
    const [root, br, po, ifc] = await c.transact(DB, [
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
      { op: 'select', table: 'Bridge', where: [] },
      { op: 'select', table: 'Port', where: [] },
      { op: 'select', table: 'Interface', where: [], columns: ['_uuid', ...IFACE_COLUMNS] },
    ]);
    const byUuid = (rows: Row[] | undefined) => new Map((rows ?? []).map((r) => [uuidOf(r._uuid), { uuid: uuidOf(r._uuid), row: r }]));
    return {
      root: uuidOf(root.rows?.[0]?._uuid),
      bridges: new Map((br.rows ?? []).map((r) => [String(r.name), { uuid: uuidOf(r._uuid), row: r }])),
      ports: byUuid(po.rows),
      ifaces: byUuid(ifc.rows),
    };
  }

  /** Bring bridges, ports and interfaces to `desired` in one transaction; returns the number of operations. */
  async applySwitch(desired: DesiredHost): Promise<number> {
    const c = await this.db();
    const key = switchKey(desired);
    await this.sync(c);
    if (!this.switchDirty && this.switchClean === key) return 0;
    this.switchDirty = false;
    this.switchClean = undefined;
    const a = await this.read();
    const ops: Operation[] = [];
    let n = 0;
    const fresh = () => `n${n++}`;
    const rootWhere = [['_uuid', '==', ref(a.root)]] as Operation extends { where: infer W } ? W : never;

    /** Insert a port and its interfaces; returns the named-uuid of the port. */
    const insertPort = (p: PortSpec): string => {
      const ifNames = p.interfaces.map((name) => {
        const nm = fresh();
        ops.push({ op: 'insert', table: 'Interface', row: ifaceColumns(p, name), 'uuid-name': nm });
        return nm;
      });
      const pn = fresh();
      ops.push({ op: 'insert', table: 'Port', row: { name: p.name, interfaces: set(ifNames.map(named)), ...portColumns(p) }, 'uuid-name': pn });
      return pn;
    };

    const desiredNames = new Set(desired.bridges.map((b) => b.name));
    for (const b of desired.bridges) {
      // the bridge's own internal port carries its name
      const local: PortSpec = { name: b.name, kind: 'uplink', interfaces: [b.name], type: 'internal' };
      const ports = [local, ...b.ports];
      const have = a.bridges.get(b.name);
      const cols = bridgeColumns(b, this.opts.datapathType);
      if (!have) {
        const portRefs = ports.map((p) => named(insertPort(p)));
        const bn = fresh();
        ops.push({ op: 'insert', table: 'Bridge', row: { name: b.name, ports: set(portRefs), ...cols }, 'uuid-name': bn });
        ops.push({ op: 'mutate', table: 'Open_vSwitch', where: rootWhere, mutations: [['bridges', 'insert', set([named(bn)])]] });
        continue;
      }
      if (differs(have.row, cols)) ops.push({ op: 'update', table: 'Bridge', where: [['_uuid', '==', ref(have.uuid)]], row: cols });
      // ovs-vswitchd flushes a bridge's flow table when its fail mode changes (no controller):
      // the next applyFlows rewrites the whole table
      if (String(have.row.fail_mode) !== String(cols.fail_mode)) { this.appliedFlows.delete(b.name); this.appliedMeters.delete(b.name); }
      const existing = new Map(setMembers(have.row.ports).map((u) => a.ports.get(uuidOf(u))!).filter(Boolean).map((p) => [String(p.row.name), p]));
      const add: OvsdbValue[] = [], del: OvsdbValue[] = [];
      for (const p of ports) {
        const cur = existing.get(p.name);
        existing.delete(p.name);
        if (!cur) { add.push(named(insertPort(p))); continue; }
        const curIfaces = setMembers(cur.row.interfaces).map((u) => a.ifaces.get(uuidOf(u))!).filter(Boolean);
        const curNames = curIfaces.map((i) => String(i.row.name)).sort();
        // an interface OVS could not open (its device appeared later, e.g. a VIF): re-add it
        const broken = curIfaces.some((i) => String(i.row.type) === '' && setMembers(i.row.error).length > 0 && existsSync(`/sys/class/net/${String(i.row.name)}`));
        if (broken || !same(curNames, [...p.interfaces].sort())) {
          // different members (a bond changed), or a broken interface: replace the port
          del.push(ref(cur.uuid));
          add.push(named(insertPort(p)));
          continue;
        }
        const pc = portColumns(p);
        if (p === local) { delete pc.external_ids; }
        if (differs(cur.row, pc)) ops.push({ op: 'update', table: 'Port', where: [['_uuid', '==', ref(cur.uuid)]], row: pc });
        for (const i of curIfaces) {
          const ic = ifaceColumns(p, String(i.row.name));
          delete ic.name;
          if (p === local) { delete ic.options; delete ic.other_config; delete ic.external_ids; }
          if (differs(i.row, ic)) ops.push({ op: 'update', table: 'Interface', where: [['_uuid', '==', ref(i.uuid)]], row: ic });
        }
      }
      for (const stale of existing.values()) del.push(ref(stale.uuid));
      const where = [['_uuid', '==', ref(have.uuid)]] as typeof rootWhere;
      if (del.length) ops.push({ op: 'mutate', table: 'Bridge', where, mutations: [['ports', 'delete', set(del)]] });
      if (add.length) ops.push({ op: 'mutate', table: 'Bridge', where, mutations: [['ports', 'insert', set(add)]] });
    }
    // bridges poolnet made that are no longer wanted; bridges of others are left alone
    const gone = [...a.bridges.entries()].filter(([name, b]) => !desiredNames.has(name) && mapOf(b.row.external_ids)[MANAGED] === 'true');
    if (gone.length) ops.push({ op: 'mutate', table: 'Open_vSwitch', where: rootWhere, mutations: [['bridges', 'delete', set(gone.map(([, b]) => ref(b.uuid)))]] });
    if (ops.length === 0) {
      // an interface in error is looked at again on every pass (its device may appear)
      if (![...a.ifaces.values()].some((i) => setMembers(i.row.error).length > 0)) this.switchClean = key;
      return 0;
    }
    for (const [name] of gone) { this.appliedFlows.delete(name); this.appliedMeters.delete(name); }
    await c.transact(DB, ops);
    await this.sync(c);
    return ops.length;
  }

  private async ofctl(args: string[], input?: string): Promise<string> {
    const p = run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', ...args], { maxBuffer: 256 * 1024 * 1024 });
    // a child that exits before reading its input (a failed diff-flows) fails the promise; the
    // pipe's EPIPE must not become an unhandled 'error' event that ends the daemon
    if (input !== undefined) { p.child.stdin!.on('error', () => undefined); p.child.stdin!.end(input); }
    return (await p).stdout;
  }

  /** Wait until ovs-vswitchd has opened a bridge's OpenFlow socket; returns its meters (the probe reads them). */
  private async ready(bridge: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      try { return await this.ofctl(['dump-meters', this.ofTarget(bridge)]); } catch { await new Promise((r) => setTimeout(r, 25)); }
    }
    throw new Error(`bridge ${bridge} never became ready`);
  }

  /** The OpenFlow numbers of the ports `flows` name, waiting (up to 5 s) for ovs-vswitchd to number new ports. */
  private async portNumbers(flows: readonly Flow[]): Promise<Map<string, number>> {
    const names = new Set<string>();
    for (const f of flows) {
      const port = inPortName(f.match);
      if (port) names.add(port);
      for (const m of f.actions.matchAll(/output:([^,\s]+)/g)) if (!/^\d+$/.test(m[1])) names.add(m[1]);
    }
    if (names.size === 0) return new Map();
    await this.db();
    for (let i = 0; ; i++) {
      const byName = new Map([...this.ifaces.values()].map((x) => [x.name, x.ofport]));
      if (i >= 200 || ![...names].some((n) => byName.get(n) === 0)) return new Map([...byName].filter(([, n]) => n > 0));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** One bundle: the flows of each cookie deleted and the wanted ones added (a VIF's flows share a cookie). */
  private async replaceCookies(bridge: string, cookies: readonly string[], want: ReadonlyMap<string, string>): Promise<void> {
    const lines: string[] = [];
    for (const cookie of cookies) {
      lines.push(`delete cookie=${cookie}/-1`);
      for (const l of want.get(cookie)?.split('\n') ?? []) lines.push(`add ${l}`);
    }
    await this.ofctl(['--bundle', 'add-flows', this.ofTarget(bridge), '-'], lines.join('\n') + '\n');
  }

  /**
   * Meters first (flows point at them), then each bridge's table, then stale meters. A bridge whose
   * table poolnet wrote before gets only the flows of the cookies that changed (a VIF each), in one
   * bundle; otherwise, or when most changed, its whole table is replaced in one bundle.
   */
  async applyFlows(desired: DesiredHost): Promise<{ bridges: string[]; meters: number }> {
    const changed: string[] = [];
    let meterOps = 0;
    for (const b of desired.bridges) {
      const flows = desired.flows[b.name] ?? [];
      const meters = desired.meters[b.name] ?? [];
      const want = numberedByCookie(flows, await this.portNumbers(flows));
      const meterKey = JSON.stringify(meters);
      const have = this.appliedFlows.get(b.name);
      const cookies = have && [...new Set([...have.keys(), ...want.keys()])].filter((c) => have.get(c) !== want.get(c));
      const metersChanged = this.appliedMeters.get(b.name) !== meterKey;
      if (cookies?.length === 0 && !metersChanged) continue;
      this.appliedFlows.delete(b.name);
      this.appliedMeters.delete(b.name);
      const dumped = have ? undefined : await this.ready(b.name);
      const stale = metersChanged ? await this.syncMeters(b.name, meters, dumped) : { changes: 0, remove: [] };
      meterOps += stale.changes;
      if (!cookies || cookies.length > want.size / 2) {
        await this.ofctl(['--bundle', 'replace-flows', this.ofTarget(b.name), '-'], tableText(want));
        changed.push(b.name);
      } else if (cookies.length) {
        await this.replaceCookies(b.name, cookies, want);
        changed.push(b.name);
      }
      for (const id of stale.remove) { await this.ofctl(['del-meter', this.ofTarget(b.name), `meter=${id}`]); meterOps++; }
      this.appliedFlows.set(b.name, want);
      this.appliedMeters.set(b.name, meterKey);
    }
    return { bridges: changed, meters: meterOps };
  }

  /** Replace only one VIF's flows (by its cookie) in one bundle: what applyFlows does for a one-VIF change. */
  async replaceVifFlows(bridge: string, cookie: string, flows: readonly Flow[]): Promise<void> {
    const mine = numberedByCookie(flows, await this.portNumbers(flows));
    const have = this.appliedFlows.get(bridge);
    this.appliedFlows.delete(bridge);
    await this.replaceCookies(bridge, [cookie], mine);
    if (!have) return;
    if (mine.has(cookie)) have.set(cookie, mine.get(cookie)!);
    else have.delete(cookie);
    this.appliedFlows.set(bridge, have);
  }

  private async syncMeters(bridge: string, meters: readonly MeterSpec[], dumped?: string): Promise<{ changes: number; remove: number[] }> {
    const out = dumped ?? await this.ofctl(['dump-meters', this.ofTarget(bridge)]).catch(() => '');
    // "meter=N kbps burst bands=\ntype=drop rate=R burst_size=B": the band is on the next line
    const have = new Map<number, string>();
    for (const m of out.matchAll(/meter=(\d+)\s+kbps[\s\S]*?rate=(\d+)(?:\s+burst_size=(\d+))?/g)) have.set(Number(m[1]), `${m[2]}/${m[3] ?? ''}`);
    let changes = 0;
    for (const m of meters) {
      const burst = meterBurstKbits(m.kbits);
      const spec = `meter=${m.id},kbps,burst,band=type=drop,rate=${m.kbits},burst_size=${burst}`;
      if (!have.has(m.id)) { await this.ofctl(['add-meter', this.ofTarget(bridge), spec]); changes++; }
      else if (have.get(m.id) !== `${m.kbits}/${burst}`) { await this.ofctl(['mod-meter', this.ofTarget(bridge), spec]); changes++; }
      have.delete(m.id);
    }
    return { changes, remove: [...have.keys()] };
  }

  /** The whole reconcile against the switch. */
  async apply(desired: DesiredHost): Promise<ApplyReport> {
    const ovsdbChanges = await this.applySwitch(desired);
    const f = await this.applyFlows(desired);
    return { ovsdbChanges, flowBridges: f.bridges, meterChanges: f.meters };
  }

  /**
   * Bridges whose flow table differs from the desired one; their cached state is dropped so apply repairs them.
   * (diff-flows reads a bridge or a file, never `-`; nor /dev/stdin here, which is a socket under
   * Node: so the desired table goes through a file.)
   */
  async drift(desired: DesiredHost): Promise<string[]> {
    const out: string[] = [];
    for (const b of desired.bridges) {
      if (!this.appliedFlows.has(b.name)) continue; // never applied here yet: apply checks anyway
      const flows = desired.flows[b.name] ?? [];
      const file = join(this.opts.runDir, `${b.name}.desired-flows`);
      const diff = await this.portNumbers(flows)
        .then(async (ports) => { await writeFile(file, tableText(numberedByCookie(flows, ports))); return this.ofctl(['diff-flows', this.ofTarget(b.name), file]); })
        .catch(() => 'unreadable')
        .finally(() => rm(file, { force: true }));
      if (diff.trim()) { out.push(b.name); this.appliedFlows.delete(b.name); this.appliedMeters.delete(b.name); }
    }
    return out;
  }

  /** Links up per bond port, from ovs-appctl bond/show. */
  async bondLinksUp(port: string): Promise<number | undefined> {
    try {
      const { stdout } = await run('ovs-appctl', ['-t', join(this.opts.runDir, 'ovs-vswitchd.ctl'), 'bond/show', port]);
      return (stdout.match(/^\s*member .*: enabled/gm) ?? []).length;
    } catch { return undefined; }
  }
}
