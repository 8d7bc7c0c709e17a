// The Open vSwitch backend: realise a DesiredHost's bridges, ports and interfaces in one OVSDB
// transaction (only what differs), each bridge's flow table in one OpenFlow bundle, and meters.
// Level-triggered and idempotent: applying the same state twice changes nothing.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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

export class OvsBackend {
  private client: OvsdbClient | undefined;
  /** Flow tables last known to be in each bridge (cleared on reconnect: then re-checked). */
  private readonly appliedFlows = new Map<string, string>();
  private readonly appliedMeters = new Map<string, string>();

  constructor(readonly opts: OvsOptions) {}

  private async db(): Promise<OvsdbClient> {
    if (!this.client) {
      this.client = await OvsdbClient.connect(this.opts.dbSocket);
      this.appliedFlows.clear();
      this.appliedMeters.clear();
    }
    return this.client;
  }

  close(): void { this.client?.close(); this.client = undefined; }

  ofTarget(bridge: string): string { return `unix:${join(this.opts.runDir, `${bridge}.mgmt`)}`; }

  private async read(): Promise<Actual> {
    const c = await this.db();
    const [root, br, po, ifc] = await c.transact(DB, [
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
      { op: 'select', table: 'Bridge', where: [] },
      { op: 'select', table: 'Port', where: [] },
      { op: 'select', table: 'Interface', where: [], columns: ['_uuid', 'name', 'type', 'options', 'other_config', 'external_ids', 'mtu_request', 'error'] },
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
    if (ops.length === 0) return 0;
    for (const [name] of gone) { this.appliedFlows.delete(name); this.appliedMeters.delete(name); }
    await c.transact(DB, ops);
    return ops.length;
  }

  private async ofctl(args: string[], input?: string): Promise<string> {
    const p = run('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { maxBuffer: 256 * 1024 * 1024 });
    if (input !== undefined) { p.child.stdin!.end(input); }
    return (await p).stdout;
  }

  /** Wait until ovs-vswitchd has opened a bridge's OpenFlow socket. */
  private async ready(bridge: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try { await this.ofctl(['show', this.ofTarget(bridge)]); return; } catch { await new Promise((r) => setTimeout(r, 25)); }
    }
    throw new Error(`bridge ${bridge} never became ready`);
  }

  /** Meters first (flows point at them), then each bridge's table in one bundle, then stale meters. */
  async applyFlows(desired: DesiredHost): Promise<{ bridges: string[]; meters: number }> {
    const changed: string[] = [];
    let meterOps = 0;
    for (const b of desired.bridges) {
      const flows = desired.flows[b.name] ?? [];
      const meters = desired.meters[b.name] ?? [];
      const text = flows.map(flowText).join('\n') + '\n';
      const meterKey = JSON.stringify(meters);
      if (this.appliedFlows.get(b.name) === text && this.appliedMeters.get(b.name) === meterKey) continue;
      await this.ready(b.name);
      const stale = await this.syncMeters(b.name, meters);
      meterOps += stale.changes;
      if (this.appliedFlows.get(b.name) !== text) {
        await this.ofctl(['--bundle', 'replace-flows', this.ofTarget(b.name), '-'], text);
        changed.push(b.name);
      }
      for (const id of stale.remove) { await this.ofctl(['del-meter', this.ofTarget(b.name), `meter=${id}`]); meterOps++; }
      this.appliedFlows.set(b.name, text);
      this.appliedMeters.set(b.name, meterKey);
    }
    return { bridges: changed, meters: meterOps };
  }

  /** Replace only one VIF's flows (by its cookie) in one bundle: the fast path for a locking change. */
  async replaceVifFlows(bridge: string, cookie: string, flows: readonly Flow[], fullTable: readonly Flow[]): Promise<void> {
    const lines = [`delete cookie=${cookie}/-1`, ...flows.map((f) => `add ${flowText(f)}`)];
    await this.ofctl(['--bundle', 'add-flows', this.ofTarget(bridge), '-'], lines.join('\n') + '\n');
    this.appliedFlows.set(bridge, fullTable.map(flowText).join('\n') + '\n');
  }

  private async syncMeters(bridge: string, meters: readonly MeterSpec[]): Promise<{ changes: number; remove: number[] }> {
    const out = await this.ofctl(['dump-meters', this.ofTarget(bridge)]).catch(() => '');
    const have = new Map<number, number>();
    for (const m of out.matchAll(/meter=(\d+)\s+kbps.*?rate=(\d+)/g)) have.set(Number(m[1]), Number(m[2]));
    let changes = 0;
    for (const m of meters) {
      const spec = `meter=${m.id},kbps,burst,band=type=drop,rate=${m.kbits},burst_size=${Math.max(64, Math.round(m.kbits / 10))}`;
      if (!have.has(m.id)) { await this.ofctl(['add-meter', this.ofTarget(bridge), spec]); changes++; }
      else if (have.get(m.id) !== m.kbits) { await this.ofctl(['mod-meter', this.ofTarget(bridge), spec]); changes++; }
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

  /** Bridges whose flow table differs from the desired one; their cached state is dropped so apply repairs them. */
  async drift(desired: DesiredHost): Promise<string[]> {
    const out: string[] = [];
    for (const b of desired.bridges) {
      if (!this.appliedFlows.has(b.name)) continue; // never applied here yet: apply checks anyway
      const text = (desired.flows[b.name] ?? []).map(flowText).join('\n') + '\n';
      const diff = await this.ofctl(['diff-flows', this.ofTarget(b.name), '-'], text).catch(() => 'unreadable');
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
