// The Open vSwitch backend: realise a DesiredHost's bridges, ports and interfaces in one OVSDB
// transaction (only what differs), each bridge's flow table in one OpenFlow bundle, and meters.
// Level-triggered and idempotent: applying the same state twice changes nothing.
//
// Flows and meters go through a persistent OpenFlow 1.4 connection per bridge (./openflow), as
// ovn-controller keeps one; ovs-ofctl is the fallback while a bridge has no connection, or when a
// table holds a flow the encoder does not cover (it refuses, never guesses).

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isHeldBridge, meterText, switchFit, switchProblems } from './checked.ts';
import type { BridgeSpec, DesiredHost, PortSpec } from './desired.ts';
import { cookieOf, flowText, ovsTables, QUARANTINE_PRIORITY, type Flow, type MeterSpec, type OvsTables } from './ovsflows.ts';
import type { ApplyReport, RefusedFilter } from './switch.ts';
import { parseOvsBondShow, type BondMember } from './linkstate.ts';
import { OvsdbClient, mapOf, ovsMap, setMembers, type Operation, type OvsdbValue, type Row } from './ovsdb.ts';
import { OfBridges } from './openflow/bridges.ts';
import { OfTransportError, type OfConnection } from './openflow/conn.ts';
import { UnsupportedFlow } from './openflow/flowtext.ts';
import { TableRefused, writeTable } from './openflow/tables.ts';
import { FlowMonitor } from './openflow/monitor.ts';
import { flowStatsOn, meterChange, meterConfigs, OfTransactionRefused, type FlowStat } from './openflow/transact.ts';

const run = promisify(execFile);
const DB = 'Open_vSwitch';
const MANAGED = 'poolnet';

export interface OvsOptions {
  /** ovsdb-server's unix socket. */
  readonly dbSocket: string;
  /** The run directory where ovs-vswitchd puts <bridge>.mgmt sockets. */
  readonly runDir: string;
  readonly datapathType: 'netdev' | 'system';
  /** Write flows and meters over a persistent OpenFlow connection (default); false: ovs-ofctl only (the baseline in bench/apply). */
  readonly openflow?: boolean;
  /**
   * Watch each bridge's flows with an OpenFlow flow monitor on that connection (default): drift is
   * found when it happens, and drift() reads no table back. false: drift() runs `ovs-ofctl
   * diff-flows` on every call, as before (the baseline in bench/drift).
   */
  readonly flowMonitor?: boolean;
  /** While a bridge is monitored, drift() still reads its table back this often (ms; default 5 minutes). */
  readonly driftBackstopMs?: number;
}

/**
 * The backstop: a monitored bridge's table is still read back (diff-flows) every 5 minutes, a
 * thirtieth of the old cost. The monitor sees every flow_mod, but not what it cannot: updates
 * ignored while the agent's own ovs-ofctl fallback wrote (an administrator's change in that same
 * moment), a change between a connection's loss and the next monitor (covered also by the first
 * read after each monitor starts), or a switch that loses updates without saying PAUSED.
 */
const DRIFT_BACKSTOP_MS = 300_000;

/** How flow tables were written: over the persistent connection, or by ovs-ofctl (no connection, or a flow the encoder refused). */
export interface WriteCounts { openflow: number; ofctl: number }

export type { FlowStat } from './openflow/transact.ts';

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

/**
 * What a Port row should hold for a PortSpec (columns poolnet owns). A VIF's port is never a
 * trunk of every VLAN (Open vSwitch's default for a port with no tag and no vlan_mode): an access
 * port of its network's VLAN, or of VLAN 0 (untagged and priority-tagged frames) on an untagged
 * network; with `trunks`, a trunk of exactly those VLANs plus VLAN 0, so that its untagged frames
 * still pass.
 */
function portColumns(p: PortSpec): Row {
  const vif = p.kind === 'vif';
  const trunked = vif && p.tag === undefined && !!p.trunks?.length;
  const row: Row = {
    tag: p.tag !== undefined ? p.tag : set([]),
    trunks: set(trunked ? [0, ...new Set(p.trunks)] : vif ? [] : [...(p.trunks ?? [])]),
    fake_bridge: !!p.fakeBridge,
    vlan_mode: vif ? (trunked ? 'trunk' : 'access') : set([]),
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
  if (p.ofportRequest) row.ofport_request = p.ofportRequest;
  return row;
}

/**
 * fail_mode=secure: a bridge with no flows (just made, or ovs-vswitchd restarted, which starts
 * with empty tables) drops everything until poolnet writes its table. In `standalone` mode Open
 * vSwitch adds its own `priority=0,actions=NORMAL` flow to an empty table, and a restarted
 * ovs-vswitchd forwarded every VIF unfiltered until the agent noticed (about 70 ms). Per-port
 * protection that survives a restart would need state outside the flow table (OVSDB columns
 * Open vSwitch applies at start), and there is none for "drop this port's frames"; secure mode
 * leaves no unfiltered window at all, and costs a short loss on the whole bridge (management
 * included) until the agent rewrites the table, which it does as soon as the bridge's OpenFlow
 * socket reappears (watch()). The host reaches its own switch through local sockets, so the
 * rewrite never depends on the network it restores.
 */
function bridgeColumns(b: BridgeSpec, datapath: string): Row {
  return {
    datapath_type: datapath,
    // 1.4: the agent's own connection (standard bundles); 1.0 and 1.3: ovs-ofctl and people
    protocols: set(['OpenFlow10', 'OpenFlow13', 'OpenFlow14']),
    fail_mode: 'secure',
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
function numberedByCookie(groups: ReadonlyMap<string, readonly Flow[]>, ports: ReadonlyMap<string, number>): Map<string, string> {
  const byCookie = new Map<string, string>();
  for (const [cookie, group] of groups) {
    const text = numberedCookie(cookie, group, ports);
    if (text !== undefined) byCookie.set(cookie, text);
  }
  return byCookie;
}

/**
 * The OpenFlow number of each port `names` holds: the switch's, else (a migration's destination,
 * its device not here yet) the number asked for, unless another interface holds that number now:
 * then the port gets none, so its flows are left out and the table's last flow drops what it
 * sends, rather than its allow flows matching another VM's frames.
 */
export function portNumbersOf(names: ReadonlySet<string>, actual: ReadonlyMap<string, number>, requested: ReadonlyMap<string, number>): Map<string, number> {
  const taken = new Map<number, string>();
  for (const [name, n] of actual) if (n > 0) taken.set(n, name);
  const out = new Map<string, number>();
  for (const [name, n] of requested) if (names.has(name) && (taken.get(n) ?? name) === name) out.set(name, n);
  for (const [name, n] of actual) if (n > 0) out.set(name, n);
  return out;
}

/** A table's flows by cookie, in the table's order. */
function byCookie(flows: readonly Flow[]): Map<string, Flow[]> {
  const groups = new Map<string, Flow[]>();
  for (const f of flows) {
    const g = groups.get(f.cookie);
    if (g) g.push(f); else groups.set(f.cookie, [f]);
  }
  return groups;
}

/** Cookies (VIFs) remembered at most: 8 times a host's 512 VIFs, a few MB (VIFs come and go; the caches start again when full). */
const MEMO_COOKIES = 4_096;

const sameFlows = (a: readonly Flow[], b: readonly Flow[]) => a.length === b.length && a.every((f, i) => f === b[i]);

/** The port names a cookie's flows name (in_port, output:), remembered by the flows (the same Flow objects while a VIF is unchanged). */
const namesMemo = new Map<string, { readonly flows: readonly Flow[]; readonly names: readonly string[] }>();
function portNamesOf(cookie: string, group: readonly Flow[]): readonly string[] {
  const m = namesMemo.get(cookie);
  if (m && sameFlows(m.flows, group)) return m.names;
  const names = new Set<string>();
  for (const f of group) {
    const port = inPortName(f.match);
    if (port) names.add(port);
    if (f.actions.includes('output:')) for (const x of f.actions.matchAll(/output:([^,\s]+)/g)) if (!/^\d+$/.test(x[1])) names.add(x[1]);
  }
  if (namesMemo.size >= MEMO_COOKIES) namesMemo.clear();
  namesMemo.set(cookie, { flows: group, names: [...names] });
  return [...names];
}

/**
 * One cookie's flows numbered, remembered with the Flow objects and port numbers they came from:
 * ovsflows.ts gives an unchanged VIF the same Flow objects on every pass, so a pass over 512 VIFs
 * numbers only the VIFs that changed (and the text stays the same string: comparing it is cheap).
 */
interface NumberedCookie { readonly flows: readonly Flow[]; readonly ports: readonly (readonly [string, number | undefined])[]; readonly text: string | undefined }
const numberedMemo = new Map<string, NumberedCookie>();

function numberedCookie(cookie: string, group: readonly Flow[], ports: ReadonlyMap<string, number>): string | undefined {
  const m = numberedMemo.get(cookie);
  if (m && sameFlows(m.flows, group) && m.ports.every(([n, k]) => ports.get(n) === k)) return m.text;
  const used = new Map<string, number | undefined>();
  const num = (n: string) => { const k = ports.get(n); used.set(n, k); return k; };
  let text: string | undefined;
  for (const f of group) {
    const name = inPortName(f.match);
    if (name !== undefined && num(name) === undefined) continue;
    const at = name === undefined ? undefined : inPortAt(f.match)!;
    const match = at ? f.match.slice(0, at[0]) + ports.get(name!) + f.match.slice(at[1]) : f.match;
    // output:<port name> in actions (the split horizon of private networks) is numbered too
    let actions = f.actions;
    if (actions.includes('output:')) {
      const named = [...actions.matchAll(/output:([^,\s]+)/g)].map((x) => x[1]).filter((n) => !/^\d+$/.test(n));
      if (named.map(num).some((k) => k === undefined)) continue;
      for (const n of named) actions = actions.split(`output:${n}`).join(`output:${ports.get(n)}`);
    }
    const line = flowText({ cookie: f.cookie, priority: f.priority, match, actions });
    text = text === undefined ? line : `${text}\n${line}`;
  }
  if (numberedMemo.size >= MEMO_COOKIES) numberedMemo.clear();
  numberedMemo.set(cookie, { flows: group, ports: [...used], text });
  return text;
}

const tableText = (t: ReadonlyMap<string, string>): string => [...t.values()].join('\n') + '\n';

/** Input for ovs-ofctl, and the cookie each of its lines belongs to (to read its error messages). */
interface BundleText { readonly text: string; readonly owner: readonly string[] }

/** A whole table, for `replace-flows`. */
function wholeTable(t: ReadonlyMap<string, string>): BundleText {
  const owner: string[] = [];
  for (const [c, text] of t) for (let i = text.split('\n').length; i > 0; i--) owner.push(c);
  return { text: tableText(t), owner };
}

/** For `add-flows`: the flows of each cookie deleted and the wanted ones added. */
function cookieBundle(cookies: readonly string[], want: ReadonlyMap<string, string>): BundleText {
  const lines: string[] = [], owner: string[] = [];
  for (const cookie of cookies) {
    lines.push(`delete cookie=${cookie}/-1`);
    owner.push(cookie);
    for (const l of want.get(cookie)?.split('\n') ?? []) { lines.push(`add ${l}`); owner.push(cookie); }
  }
  return { text: lines.join('\n') + '\n', owner };
}

/**
 * Per VIF cookie, the one flow that stands in for its flows when the switch refuses them: all
 * it sends is dropped. Built from the port's number alone, so the switch always takes it.
 */
function quarantineByCookie(flows: readonly Flow[], ports: ReadonlyMap<string, number>): Map<string, { line: string; port: string }> {
  const out = new Map<string, { line: string; port: string }>();
  for (const f of flows) {
    if (f.cookie === '0x0' || out.has(f.cookie)) continue;
    const name = inPortName(f.match);
    if (name === undefined || !ports.has(name)) continue;
    out.set(f.cookie, { port: name, line: flowText({ cookie: f.cookie, priority: QUARANTINE_PRIORITY, match: `in_port=${ports.get(name)}`, actions: 'drop' }) });
  }
  return out;
}

/** The cookies an ovs-ofctl failure blames: a line of its input (`-:N:`), or a refused flow_mod (`cookie:0x..`). */
function blamed(stderr: string, lineOwner: readonly string[]): string[] {
  const out = new Set<string>();
  for (const m of stderr.matchAll(/-:(\d+):/g)) { const c = lineOwner[Number(m[1]) - 1]; if (c !== undefined) out.add(c); }
  for (const m of stderr.matchAll(/cookie:(0x[0-9a-f]+)/g)) out.add(m[1]);
  return [...out];
}

/** Tests only (e2e-fail-closed): POOLNET_TEST_BAD_FLOWS names a file of VIF uuids whose flows get one line ovs-ofctl refuses. */
function withTestDamage(flows: readonly Flow[]): readonly Flow[] {
  const file = process.env.POOLNET_TEST_BAD_FLOWS;
  if (!file) return flows;
  let uuids: string[];
  try { uuids = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean); } catch { return flows; }
  const bad = new Set(uuids.map(cookieOf));
  const out = [...flows];
  for (const f of flows) {
    const port = inPortName(f.match);
    if (!bad.has(f.cookie) || port === undefined) continue;
    bad.delete(f.cookie);
    // the security report's example: a zone-indexed IPv6 address, refused by ovs-ofctl
    out.push({ cookie: f.cookie, priority: 5000, match: `in_port=${port},ipv6,ipv6_src=fe80::1%eth0`, actions: 'NORMAL' });
  }
  return out;
}

/** A VIF whose flows the switch refused: what was refused, and why. */
interface Refusal { readonly text: string; readonly port: string; readonly reason: string }

/** A VIF whose filter is not installed: its port drops everything until the switch takes its flows. */
export type RefusedVif = RefusedFilter;

/** The Interface columns applySwitch reads (the monitor also follows ofport, for port numbers). */
const IFACE_COLUMNS = ['name', 'type', 'options', 'other_config', 'external_ids', 'mtu_request', 'error'];
/** What read() also takes of an Interface: its port number (-1: ovs-vswitchd could not open its device). */
const IFACE_READ = [...IFACE_COLUMNS, 'ofport'];

type Updates = Awaited<ReturnType<OvsdbClient['monitor']>>;

/**
 * The desired bridges as applySwitch sees them: without the VIF ports' locking and rate, which
 * OVS realises as flows and meters (a change there needs no look at OVSDB). Building the rows
 * instead costs 5 ms for 512 VIFs; this, 1 ms; and each port's part is remembered by the port
 * (compile() gives an unchanged VIF the same PortSpec object), which leaves 0.1 ms.
 */
function switchKey(desired: DesiredHost): string {
  let key = desired.held ? JSON.stringify(desired.held) : '';
  for (const b of desired.bridges) {
    key += `${JSON.stringify({ ...b, ports: undefined })}[`;
    for (const p of b.ports) key += `${portKey(p)},`;
    key += ']';
  }
  return key;
}

const portKeys = new WeakMap<PortSpec, string>();
function portKey(p: PortSpec): string {
  let k = portKeys.get(p);
  if (k === undefined) portKeys.set(p, k = JSON.stringify(p, (f, v: unknown) => (f === 'lock' || f === 'rateKbps' ? undefined : v)));
  return k;
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
  /** Per bridge, the VIF cookies whose flows the switch refused (their quarantine is in place instead). */
  private readonly refusals = new Map<string, Map<string, Refusal>>();
  private watcher: FSWatcher | undefined;
  /**
   * Kept by an OVSDB monitor: each Interface's name and OpenFlow port number (by row uuid), and
   * whether a column applySwitch reads changed since it last looked. With that, a pass whose
   * desired bridges are the ones last found in place needs no read of every Port and Interface
   * (about 450 kB for 512 VIFs).
   */
  private readonly ifaces = new Map<string, { name: string; ofport: number }>();
  /**
   * Per Interface row, the last device index ovs-vswitchd reported (0 while the device is gone),
   * and the rows whose device was replaced under the same name (a new index): the userspace
   * datapath keeps reading the old device, and the port passes nothing until it is re-added.
   */
  private readonly ifindexes = new Map<string, number>();
  private readonly replaced = new Set<string>();
  /** Bridge names in OVSDB by row uuid (the same monitor): a table is written only to a bridge that is there. */
  private readonly bridgeRows = new Map<string, string>();
  private switchDirty = true;
  private switchClean: string | undefined;
  /** OpenFlow port numbers asked for (ofport_request) by port name, from the last desired state. */
  private requested = new Map<string, number>();
  /** Called when ovs-vswitchd numbers a port whose device it could not open before. */
  onPortNumbered: (() => void) | undefined;
  /** Table writes so far, by the way they went. */
  readonly writes: WriteCounts = { openflow: 0, ofctl: 0 };
  /** What watch() calls: a bridge's table must be written again. */
  private changed: (() => void) | undefined;
  /**
   * A persistent OpenFlow connection per bridge. When one ends, what the switch holds is no
   * longer known: the bridge's next write is its whole table (a full resync, in one bundle);
   * when it comes back, a pass is asked for.
   */
  private readonly of = new OfBridges((bridge) => join(this.opts.runDir, `${bridge}.mgmt`), {
    down: (bridge) => { this.appliedFlows.delete(bridge); this.appliedMeters.delete(bridge); this.monitors.delete(bridge); },
    up: () => this.changed?.(),
    opened: (bridge, c) => this.monitor(bridge, c),
  });
  /** Per bridge, the flow monitor on its OpenFlow connection (while it is up). */
  private readonly monitors = new Map<string, FlowMonitor>();
  /** Bridges the monitor found changed by someone else since drift() last reported. */
  private readonly tampered = new Set<string>();
  /** Per bridge, how many changes by someone else the monitor reported (a write in flight meanwhile does not count as in place). */
  private readonly tampers = new Map<string, number>();
  /** Per bridge, when drift() last started reading its table back. */
  private readonly lastDiff = new Map<string, number>();
  /** Child processes run so far (tests, benches: a monitored idle pass runs none). */
  readonly spawned = { ofctl: 0, appctl: 0 };

  constructor(readonly opts: OvsOptions) {}

  /** Whether a bridge's OpenFlow connection is up now. */
  connected(bridge: string): boolean { return this.of.isUp(bridge); }

  /** Whether a bridge's flows are watched by a flow monitor now. */
  monitored(bridge: string): boolean { return !!this.monitors.get(bridge)?.up; }

  /** A flow monitor on a bridge's new connection; without one (a switch that refuses it), drift() reads the table back. */
  private async monitor(bridge: string, c: OfConnection): Promise<void> {
    this.monitors.delete(bridge);
    if (this.opts.openflow === false || this.opts.flowMonitor === false) return;
    try {
      this.monitors.set(bridge, await FlowMonitor.start(c, () => this.drifted(bridge)));
    } catch { /* refused or failed: diff-flows stays the check for this connection */ }
  }

  /**
   * Someone else changed a bridge's flows: what the switch holds is no longer known, so its next
   * write is its whole table (one bundle), and a pass is asked for at once.
   */
  private drifted(bridge: string): void {
    this.tampers.set(bridge, (this.tampers.get(bridge) ?? 0) + 1);
    this.tampered.add(bridge);
    this.appliedFlows.delete(bridge);
    this.appliedMeters.delete(bridge);
    this.changed?.();
  }

  private async db(): Promise<OvsdbClient> {
    if (!this.client) {
      const c = await OvsdbClient.connect(this.opts.dbSocket);
      this.appliedFlows.clear();
      this.appliedMeters.clear();
      this.refusals.clear();
      this.ifaces.clear();
      this.bridgeRows.clear();
      this.ifindexes.clear();
      this.replaced.clear();
      this.switchClean = undefined;
      try {
        this.onUpdate(await c.monitor(DB, 'poolnet', {
          Open_vSwitch: { columns: ['bridges'] }, Bridge: {}, Port: {}, Interface: { columns: [...IFACE_COLUMNS, 'ofport', 'ifindex'] },
        }, (u) => this.onUpdate(u)));
      } catch (e) { c.close(); throw e; }
      this.client = c;
    }
    return this.client;
  }

  private onUpdate(u: Updates): void {
    for (const [table, rows] of Object.entries(u)) {
      for (const [uuid, r] of Object.entries(rows)) {
        // only ovs-vswitchd numbering an interface (or its device's index) leaves what applySwitch reads as it was
        if (table !== 'Interface' || !r.old || !r.new || Object.keys(r.old).some((k) => k !== 'ofport' && k !== 'ifindex')) this.switchDirty = true;
        if (table === 'Bridge') {
          if (r.new) { if (r.new.name !== undefined) this.bridgeRows.set(uuid, String(r.new.name)); } else this.bridgeRows.delete(uuid);
        }
        if (table !== 'Interface') continue;
        // ofport: a number, -1 when ovs-vswitchd could not open the device, [] (0 here) until it tried
        if (r.new) {
          const ofport = typeof r.new.ofport === 'number' ? r.new.ofport : 0;
          // a device that appeared after its port (a VIF wired, or moved here by a migration):
          // flows that name the port can go in now
          if (ofport > 0 && this.ifaces.get(uuid)?.ofport === -1) this.onPortNumbered?.();
          this.ifaces.set(uuid, { name: String(r.new.name), ofport });
          // a device replaced under the same name (a migration aborted after the destination
          // took the NIC: the source pulls it back, a new veth appears): its port is re-added
          const ifindex = typeof r.new.ifindex === 'number' ? r.new.ifindex : 0;
          const before = this.ifindexes.get(uuid);
          if (ifindex > 0) {
            if (before !== undefined && before !== ifindex) { this.replaced.add(uuid); this.switchDirty = true; this.onPortNumbered?.(); }
            this.ifindexes.set(uuid, ifindex);
          }
        } else { this.ifaces.delete(uuid); this.ifindexes.delete(uuid); this.replaced.delete(uuid); }
      }
    }
  }

  /** A round trip to ovsdb-server: it fails on a dead connection, and the monitor's updates sent before it are in. */
  private async sync(c: OvsdbClient): Promise<void> {
    try { await c.request('echo', []); } catch (e) { this.close(); throw e; }
  }

  close(): void { this.client?.close(); this.client = undefined; this.watcher?.close(); this.watcher = undefined; this.of.close(); this.monitors.clear(); }

  /**
   * Call `changed` when ovs-vswitchd (re)opens a bridge's OpenFlow socket: a restarted
   * ovs-vswitchd has empty flow tables (fail_mode=secure: it drops everything meanwhile), which
   * nothing in OVSDB shows. The bridge's table is then written whole again. The timer's drift
   * check stays as the backstop where the run directory cannot be watched.
   */
  watch(changed: () => void): void {
    this.changed = changed;
    if (this.watcher) return;
    try {
      this.watcher = watch(this.opts.runDir, (_event, file) => {
        const name = typeof file === 'string' ? file : undefined;
        if (!name?.endsWith('.mgmt')) return;
        const bridge = name.slice(0, -'.mgmt'.length);
        this.appliedFlows.delete(bridge);
        this.appliedMeters.delete(bridge);
        this.refusals.delete(bridge);
        changed();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
      this.watcher.unref();
    } catch { /* no run directory to watch (yet): the timer's drift check covers it */ }
  }

  ofTarget(bridge: string): string { return `unix:${join(this.opts.runDir, `${bridge}.mgmt`)}`; }

  private async read(): Promise<Actual> {
    const c = await this.db();
    const [root, br, po, ifc] = await c.transact(DB, [
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
      { op: 'select', table: 'Bridge', where: [] },
      { op: 'select', table: 'Port', where: [] },
      { op: 'select', table: 'Interface', where: [], columns: ['_uuid', ...IFACE_READ] },
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
  async applySwitch(input: DesiredHost): Promise<number> {
    // the same input as when OVSDB was last found in place (switchFit's result, and what is
    // asked of it, are the same): nothing to read or write
    const key = switchKey(input);
    const c = await this.db();
    await this.sync(c);
    if (!this.switchDirty && this.switchClean === key) return 0;
    // checked where the rows are built: a bridge or port with a value unfit for OVSDB is left out alone
    const desired = switchFit(input);
    this.requested = new Map(desired.bridges.flatMap((b) => b.ports.flatMap((p) => (p.ofportRequest ? [[p.name, p.ofportRequest] as const] : []))));
    this.switchDirty = false;
    this.switchClean = undefined;
    let a = await this.read();
    // ports whose device was replaced: taken off first, alone, and re-added below with the port
    // numbers they had (their flows stay valid). Deleted and added in one transaction, ovs-vswitchd
    // keeps the old device open (tried: the port stays dead); it must see the port gone first.
    const keepOfport = new Map<string, number>();
    if (this.replaced.size) {
      const held = new Set(desired.held?.ports ?? []);
      const off: { bridge: string; port: string }[] = [];
      for (const b of desired.bridges) {
        const have = a.bridges.get(b.name);
        if (!have || desired.held?.bridges.includes(b.name)) continue;
        for (const u of setMembers(have.row.ports)) {
          const port = a.ports.get(uuidOf(u));
          if (!port || held.has(String(port.row.name)) || !b.ports.some((p) => p.name === String(port.row.name))) continue;
          const mine = setMembers(port.row.interfaces).map((x) => uuidOf(x));
          if (!mine.some((x) => this.replaced.has(x))) continue;
          off.push({ bridge: have.uuid, port: port.uuid });
          for (const x of mine) {
            const i = this.ifaces.get(x);
            if (i && i.ofport > 0) keepOfport.set(i.name, i.ofport);
          }
        }
      }
      this.replaced.clear();
      if (off.length) {
        await this.detach(c, a.root, off);
        a = await this.read();
      }
    }
    const ops: Operation[] = [];
    let n = 0;
    const fresh = () => `n${n++}`;
    const rootWhere = [['_uuid', '==', ref(a.root)]] as Operation extends { where: infer W } ? W : never;

    /** Insert a port and its interfaces; returns the named-uuid of the port. */
    const insertPort = (p: PortSpec): string => {
      const ifNames = p.interfaces.map((name) => {
        const nm = fresh();
        const row = ifaceColumns(p, name);
        if (row.ofport_request === undefined && keepOfport.has(name)) row.ofport_request = keepOfport.get(name)!;
        ops.push({ op: 'insert', table: 'Interface', row, 'uuid-name': nm });
        return nm;
      });
      const pn = fresh();
      ops.push({ op: 'insert', table: 'Port', row: { name: p.name, interfaces: set(ifNames.map(named)), ...portColumns(p) }, 'uuid-name': pn });
      return pn;
    };

    const desiredNames = new Set(desired.bridges.map((b) => b.name));
    // held (a value failed its check, reported by compile()): left exactly as they are on the switch
    const heldPorts = new Set(desired.held?.ports ?? []);
    for (const b of desired.bridges) {
      if (desired.held?.bridges.includes(b.name)) continue;
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
        const broken = curIfaces.some((i) => String(i.row.type) === '' && (setMembers(i.row.error).length > 0 || i.row.ofport === -1) && existsSync(`/sys/class/net/${String(i.row.name)}`));
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
      // ports poolnet made and no longer wants; others' ports (an administrator's fake bridge, say)
      // are left alone, as xcp-networkd does: the table's last flow drops what they send
      for (const stale of existing.values()) if (mapOf(stale.row.external_ids)[MANAGED] === 'true' && !heldPorts.has(String(stale.row.name))) del.push(ref(stale.uuid));
      const where = [['_uuid', '==', ref(have.uuid)]] as typeof rootWhere;
      if (del.length) ops.push({ op: 'mutate', table: 'Bridge', where, mutations: [['ports', 'delete', set(del)]] });
      if (add.length) ops.push({ op: 'mutate', table: 'Bridge', where, mutations: [['ports', 'insert', set(add)]] });
    }
    // bridges poolnet made that are no longer wanted; bridges of others are left alone
    const gone = [...a.bridges.entries()].filter(([name, b]) => !desiredNames.has(name) && mapOf(b.row.external_ids)[MANAGED] === 'true'
      && !isHeldBridge(desired.held, name, mapOf(b.row.external_ids)['xs-network-uuids'] ?? ''));
    if (gone.length) ops.push({ op: 'mutate', table: 'Open_vSwitch', where: rootWhere, mutations: [['bridges', 'delete', set(gone.map(([, b]) => ref(b.uuid)))]] });
    if (ops.length === 0) {
      // an interface in error is looked at again on every pass (its device may appear)
      if (![...a.ifaces.values()].some((i) => setMembers(i.row.error).length > 0)) this.switchClean = key;
      return 0;
    }
    for (const [name] of gone) { this.appliedFlows.delete(name); this.appliedMeters.delete(name); this.of.forget(name); }
    await c.transact(DB, ops);
    await this.sync(c);
    return ops.length;
  }

  /**
   * Take ports off their bridges in a transaction of their own, and wait (up to 5 s) until
   * ovs-vswitchd has applied it (cur_cfg reaches the next_cfg the transaction set): only then
   * has it closed their devices.
   */
  private async detach(c: OvsdbClient, root: string, off: readonly { bridge: string; port: string }[]): Promise<void> {
    const byBridge = new Map<string, string[]>();
    for (const o of off) byBridge.set(o.bridge, [...byBridge.get(o.bridge) ?? [], o.port]);
    const rootWhere = [['_uuid', '==', ref(root)]] as Operation extends { where: infer W } ? W : never;
    const r = await c.transact(DB, [
      ...[...byBridge].map(([b, ports]): Operation => ({ op: 'mutate', table: 'Bridge', where: [['_uuid', '==', ref(b)]] as typeof rootWhere, mutations: [['ports', 'delete', set(ports.map(ref))]] })),
      { op: 'mutate', table: 'Open_vSwitch', where: rootWhere, mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: 'Open_vSwitch', where: rootWhere, columns: ['next_cfg'] },
    ]);
    const want = r[r.length - 1].rows?.[0]?.next_cfg;
    for (let i = 0; i < 200 && typeof want === 'number'; i++) {
      const [cur] = await c.transact(DB, [{ op: 'select', table: 'Open_vSwitch', where: rootWhere, columns: ['cur_cfg'] }]);
      const n = cur.rows?.[0]?.cur_cfg;
      if (typeof n === 'number' && n >= want) return;
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  private async ofctl(args: string[], input?: string): Promise<string> {
    this.spawned.ofctl++;
    const p = run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', ...args], { maxBuffer: 256 * 1024 * 1024 });
    // a child that exits before reading its input (a failed diff-flows) fails the promise; the
    // pipe's EPIPE must not become an unhandled 'error' event that ends the daemon
    if (input !== undefined) { p.child.stdin!.on('error', () => undefined); p.child.stdin!.end(input); }
    return (await p).stdout;
  }

  /** An `ovs-appctl` command to this switch's ovs-vswitchd; its output. */
  private async appctl(...args: string[]): Promise<string> {
    this.spawned.appctl++;
    return (await run('ovs-appctl', ['-t', join(this.opts.runDir, 'ovs-vswitchd.ctl'), ...args])).stdout;
  }

  /** Wait until ovs-vswitchd has opened a bridge's OpenFlow socket; returns its meters (the probe reads them). */
  private async ready(bridge: string): Promise<Map<number, string>> {
    for (let i = 0; i < 200; i++) {
      const m = await this.readMeters(bridge).catch(() => undefined);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`bridge ${bridge} never became ready`);
  }

  /** A flow write of the agent's own through ovs-ofctl: the bridge's monitor ignores the updates it causes. */
  private ownWrite<T>(bridge: string, f: () => Promise<T>): Promise<T> {
    const m = this.monitors.get(bridge);
    return m?.up ? m.quiet(f) : f();
  }

  /** The bridge's OpenFlow connection, unless it is off or down (then ovs-ofctl does the work). */
  private async conn(bridge: string) {
    return this.opts.openflow === false ? undefined : this.of.get(bridge);
  }

  /** A bridge's meters, `rate/burst` by id: over the connection, else by ovs-ofctl. */
  private async readMeters(bridge: string): Promise<Map<number, string>> {
    const c = await this.conn(bridge);
    if (c) {
      try {
        return new Map((await meterConfigs(c)).map((m) => [m.id, `${m.bands[0]?.rate ?? 0}/${m.flags & 4 ? m.bands[0]?.burst ?? '' : ''}`]));
      } catch (e) { if (!(e instanceof OfTransportError)) throw e; }
    }
    const out = await this.ofctl(['dump-meters', this.ofTarget(bridge)]);
    // "meter=N kbps burst bands=\ntype=drop rate=R burst_size=B": the band is on the next line
    const have = new Map<number, string>();
    for (const m of out.matchAll(/meter=(\d+)\s+kbps[\s\S]*?rate=(\d+)(?:\s+burst_size=(\d+))?/g)) have.set(Number(m[1]), `${m[2]}/${m[3] ?? ''}`);
    return have;
  }

  /** A meter added, modified or deleted: over the connection, else by ovs-ofctl. */
  private async meter(bridge: string, command: 'add' | 'modify' | 'delete', id: number, kbits = 0, burst = 0): Promise<void> {
    const c = await this.conn(bridge);
    if (c) {
      try { await meterChange(c, command, id, kbits, burst); return; } catch (e) {
        if (e instanceof OfTransactionRefused) throw new Error(`meter ${id}: ${e.message}`, { cause: e });
        if (!(e instanceof OfTransportError)) throw e;
      }
    }
    // a deleted meter takes its flows with it: the agent's own change, by another connection
    if (command === 'delete') { await this.ownWrite(bridge, () => this.ofctl(['del-meter', this.ofTarget(bridge), `meter=${id}`])); return; }
    const spec = meterText(id, kbits, burst);
    if (spec !== undefined) await this.ofctl([command === 'add' ? 'add-meter' : 'mod-meter', this.ofTarget(bridge), spec]);
  }

  /**
   * One bundle: the whole table (replace-flows' result), or each of `cookies`' flows deleted and
   * its wanted ones added. Over the connection when it is up and encodes every line; else by
   * ovs-ofctl. A refusal, either way, is a TableRefused naming the cookies it blames.
   */
  private async flowBundle(bridge: string, table: ReadonlyMap<string, string>, cookies?: readonly string[]): Promise<void> {
    const c = await this.conn(bridge);
    if (c) {
      try {
        await writeTable(c, table, cookies);
        this.writes.openflow++;
        return;
      } catch (e) {
        if (e instanceof TableRefused) throw e;
        if (!(e instanceof UnsupportedFlow || e instanceof OfTransportError)) throw e;
      }
    }
    const { text, owner } = cookies ? cookieBundle(cookies, table) : wholeTable(table);
    try {
      await this.ownWrite(bridge, () => this.ofctl(['--bundle', cookies ? 'add-flows' : 'replace-flows', this.ofTarget(bridge), '-'], text));
      this.writes.ofctl++;
    } catch (e) {
      const err = String((e as { stderr?: string }).stderr ?? (e as Error).message);
      throw new TableRefused(blamed(err, owner), err);
    }
  }

  /**
   * The statistics of a bridge's flows (packet and byte counts) whose cookie matches `cookie`
   * under `mask` (by default every flow): read over the bridge's OpenFlow connection.
   */
  async flowStats(bridge: string, cookie?: string, mask?: string): Promise<FlowStat[]> {
    const c = await this.of.get(bridge);
    if (!c) throw new Error(`no OpenFlow connection to ${bridge}`);
    return flowStatsOn(c, cookie === undefined ? 0n : BigInt(cookie), mask === undefined ? (cookie === undefined ? 0n : 0xffffffffffffffffn) : BigInt(mask));
  }

  /** The OpenFlow numbers of the ports `flows` name, waiting (up to 5 s) for ovs-vswitchd to number new ports. */
  private async portNumbers(groups: ReadonlyMap<string, readonly Flow[]>): Promise<Map<string, number>> {
    const names = new Set<string>();
    for (const [cookie, group] of groups) for (const n of portNamesOf(cookie, group)) names.add(n);
    if (names.size === 0) return new Map();
    await this.db();
    for (let i = 0; ; i++) {
      const byName = new Map([...this.ifaces.values()].map((x) => [x.name, x.ofport]));
      // a port numbered in advance (a migration's destination) before its device is here: by the number asked for
      if (i >= 200 || ![...names].some((n) => byName.get(n) === 0)) return portNumbersOf(names, byName, this.requested);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** One bundle: the flows of each cookie deleted and the wanted ones added (a VIF's flows share a cookie). */
  private async replaceCookies(bridge: string, cookies: readonly string[], want: ReadonlyMap<string, string>): Promise<void> {
    await this.flowBundle(bridge, want, cookies);
  }

  /**
   * Write `want` (whole, or only `cookies`) in one bundle. ovs-ofctl and the switch refuse a
   * bundle whole for one bad flow: then the VIFs it blames get their quarantine flow instead of
   * their own and the bundle is sent again, so one VIF never holds back the others (nor the pass).
   * When the failure names no VIF, each VIF's flows go in a bundle of their own. Returns the
   * table now in the switch.
   */
  private async writeFlows(bridge: string, want: ReadonlyMap<string, string>, cookies: readonly string[] | undefined,
    quarantineOf: () => ReadonlyMap<string, { line: string; port: string }>, refused: Map<string, Refusal>): Promise<Map<string, string>> {
    let built: ReadonlyMap<string, { line: string; port: string }> | undefined;
    // built only when a VIF is refused (a pass over 15,000 flows)
    const quarantine = { get: (c: string) => (built ??= quarantineOf()).get(c) };
    const table = new Map(want);
    const isolate = (c: string, reason: string) => {
      refused.set(c, { text: want.get(c) ?? '', port: quarantine.get(c)?.port ?? '', reason });
      const q = quarantine.get(c);
      if (q) table.set(c, q.line); else table.delete(c);
    };
    for (const [c, r] of [...refused]) {
      if (want.get(c) === r.text) isolate(c, r.reason); // still the text the switch refused: not tried again
      else refused.delete(c);
    }
    for (let tries = 0; tries <= want.size; tries++) {
      try {
        await this.flowBundle(bridge, table, cookies);
        return table;
      } catch (e) {
        if (!(e instanceof TableRefused)) throw e;
        const culprits = e.cookies.filter((c) => c !== '0x0' && want.has(c) && !refused.has(c));
        if (!culprits.length) break;
        const reason = e.message.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(' ').slice(0, 300);
        for (const c of culprits) isolate(c, reason);
      }
    }
    // a failure that names no VIF: every VIF in quarantine (one bundle), then each VIF's own flows alone
    const vifs = (cookies ?? [...want.keys()]).filter((c) => c !== '0x0' && !refused.has(c));
    const safe = new Map(table);
    for (const c of vifs) { const q = quarantine.get(c); if (q) safe.set(c, q.line); else safe.delete(c); }
    await this.flowBundle(bridge, safe, cookies ? vifs : undefined);
    for (const c of vifs) {
      if (!want.has(c)) { table.delete(c); continue; }
      try {
        await this.replaceCookies(bridge, [c], want);
        table.set(c, want.get(c)!);
      } catch (e) {
        if (!(e instanceof TableRefused)) throw e;
        isolate(c, e.message.trim().slice(0, 300));
      }
    }
    return table;
  }

  /** VIFs whose flows are refused, over every bridge. */
  private refusedVifs(): RefusedVif[] {
    return [...this.refusals].flatMap(([bridge, m]) => [...m.values()].map((r) => ({ bridge, port: r.port, reason: r.reason })));
  }

  /**
   * Meters first (flows point at them), then each bridge's table, then stale meters. A bridge whose
   * table poolnet wrote before gets only the flows of the cookies that changed (a VIF each), in one
   * bundle; otherwise, or when most changed, its whole table is replaced in one bundle.
   */
  async applyFlows(desired: DesiredHost, tables: OvsTables = ovsTables(desired)): Promise<{ bridges: string[]; meters: number; refused: RefusedVif[] }> {
    const changed: string[] = [];
    const failed: string[] = [];
    let meterOps = 0;
    // a held bridge keeps the table it has (an allow-list); one the switch's check holds says why, at once
    const fit = switchFit(desired);
    for (const b of desired.bridges) {
      if (desired.held?.bridges.includes(b.name)) continue;
      if (fit !== desired && fit.held?.bridges.includes(b.name)) {
        failed.push(`${b.name}: ${switchProblems(desired).filter((p) => p.startsWith(`bridge ${JSON.stringify(b.name)}`)).join('; ')}, its table is left as it is`);
        continue;
      }
      // one bridge that cannot be written (its cache is dropped: it is rewritten whole next time) holds up no other
      try { meterOps += await this.applyBridgeFlows(tables, b.name, changed); } catch (e) { failed.push(`${b.name}: ${(e as Error).message.trim().slice(0, 300)}`); }
    }
    for (const name of this.refusals.keys()) if (!desired.bridges.some((b) => b.name === name)) this.refusals.delete(name);
    for (const name of this.of.bridges()) if (!desired.bridges.some((b) => b.name === name)) this.of.forget(name);
    if (failed.length) throw new Error(`flow tables not written: ${failed.join('; ')}`);
    return { bridges: changed, meters: meterOps, refused: this.refusedVifs() };
  }

  /** applyFlows for one bridge; returns the meter operations. */
  private async applyBridgeFlows(tables: OvsTables, bridge: string, changed: string[]): Promise<number> {
    let meterOps = 0;
    const tampers = this.tampers.get(bridge);
    const flows = withTestDamage(tables.flows[bridge] ?? []);
    const meters = tables.meters[bridge] ?? [];
    const groups = byCookie(flows);
    const ports = await this.portNumbers(groups);
    const want = numberedByCookie(groups, ports);
    const refused = this.refusals.get(bridge) ?? new Map<string, Refusal>();
    const meterKey = JSON.stringify(meters);
    const have = this.appliedFlows.get(bridge);
    // a VIF whose same flows were refused before stays in quarantine (its text must change first)
    const cookies = have && [...new Set([...have.keys(), ...want.keys()])].filter((c) => have.get(c) !== want.get(c) && !(refused.has(c) && refused.get(c)!.text === want.get(c)));
    const metersChanged = this.appliedMeters.get(bridge) !== meterKey;
    if (cookies?.length === 0 && !metersChanged) return 0;
    this.appliedFlows.delete(bridge);
    this.appliedMeters.delete(bridge);
    // not in OVSDB (its transaction failed): said at once, not after waiting for its socket
    if (!have && this.client && ![...this.bridgeRows.values()].includes(bridge)) throw new Error(`bridge ${bridge} is not on the switch (the OVSDB transaction that makes it failed; see the switch step's error)`);
    const dumped = have ? undefined : await this.ready(bridge);
    const stale = metersChanged ? await this.syncMeters(bridge, meters, dumped) : { changes: 0, remove: [] };
    meterOps += stale.changes;
    let table = have ?? want;
    if (!have || !cookies || cookies.length) {
      const some = have && cookies && cookies.length <= want.size / 2 ? cookies : undefined;
      const written = await this.writeFlows(bridge, want, some, () => quarantineByCookie(flows, ports), refused);
      // what the switch holds now: the cookies written as written, the others as they were
      table = some ? new Map([...new Set([...have!.keys(), ...written.keys()])].flatMap((c) => {
        const t = some.includes(c) ? written.get(c) : have!.get(c);
        return t === undefined ? [] : [[c, t] as [string, string]];
      })) : written;
      changed.push(bridge);
    }
    if (refused.size) this.refusals.set(bridge, refused); else this.refusals.delete(bridge);
    for (const id of stale.remove) { await this.meter(bridge, 'delete', id); meterOps++; }
    // changed by someone else while this write was under way: not known to be in place (the pass it asked for writes it whole)
    if (this.tampers.get(bridge) !== tampers) return meterOps;
    this.appliedFlows.set(bridge, table);
    this.appliedMeters.set(bridge, meterKey);
    return meterOps;
  }

  /** Replace only one VIF's flows (by its cookie) in one bundle: what applyFlows does for a one-VIF change. */
  async replaceVifFlows(bridge: string, cookie: string, flows: readonly Flow[]): Promise<void> {
    const groups = byCookie(flows);
    const mine = numberedByCookie(groups, await this.portNumbers(groups));
    const have = this.appliedFlows.get(bridge);
    const tampers = this.tampers.get(bridge);
    this.appliedFlows.delete(bridge);
    await this.replaceCookies(bridge, [cookie], mine);
    if (!have || this.tampers.get(bridge) !== tampers) return;
    if (mine.has(cookie)) have.set(cookie, mine.get(cookie)!);
    else have.delete(cookie);
    this.appliedFlows.set(bridge, have);
  }

  private async syncMeters(bridge: string, meters: readonly MeterSpec[], dumped?: Map<number, string>): Promise<{ changes: number; remove: number[] }> {
    const have = new Map(dumped ?? await this.readMeters(bridge).catch(() => new Map<number, string>()));
    let changes = 0;
    for (const m of meters) {
      const burst = meterBurstKbits(m.kbits);
      const spec = meterText(m.id, m.kbits, burst);
      if (spec === undefined) continue; // no meter: the flows that name it are refused, and its VIF passes nothing
      if (!have.has(m.id)) { await this.meter(bridge, 'add', m.id, m.kbits, burst); changes++; }
      else if (have.get(m.id) !== `${m.kbits}/${burst}`) { await this.meter(bridge, 'modify', m.id, m.kbits, burst); changes++; }
      have.delete(m.id);
    }
    return { changes, remove: [...have.keys()] };
  }

  /** The whole reconcile against the switch. */
  async apply(desired: DesiredHost, tables: OvsTables = ovsTables(desired)): Promise<ApplyReport & { refused: readonly RefusedVif[] }> {
    // OVSDB's part as it was when last found in place (a VIF's lock or rate changed, say): the
    // flows go at once, beside the round trip that confirms that OVSDB has not changed meanwhile
    // (else the whole reconcile follows). A one-VIF change then waits for one process, not two.
    if (this.client && !this.switchDirty && this.switchClean === switchKey(desired)) {
      const echo = this.sync(this.client).then(() => true, () => false);
      const f = await this.applyFlows(desired, tables);
      if (await echo && !this.switchDirty) return { switchChanges: 0, filterBridges: f.bridges, rateChanges: f.meters, refused: f.refused };
    }
    // a refused OVSDB transaction (one bad value fails it whole) leaves the ports as they were:
    // their flows are still brought up to date, then the failure is raised
    let switchError: unknown;
    const switchChanges = await this.applySwitch(desired).catch((e: unknown) => { switchError = e; return 0; });
    const f = await this.applyFlows(desired, tables);
    if (switchError !== undefined) throw switchError;
    return { switchChanges, filterBridges: f.bridges, rateChanges: f.meters, refused: f.refused };
  }

  /**
   * Bridges whose flow table differs from the one written (a refused VIF's quarantine included);
   * their cached state is dropped so apply repairs them. A bridge whose flow monitor is up is not
   * read back: the monitor reported any change by someone else when it happened (and asked for a
   * pass then), and such bridges are named here once. It is read back (ovs-ofctl diff-flows) when
   * it has no monitor, once after each monitor starts (what changed before it), and every
   * driftBackstopMs (DRIFT_BACKSTOP_MS says why).
   * (diff-flows reads a bridge or a file, never `-`; nor /dev/stdin here, which is a socket under
   * Node: so the desired table goes through a file.)
   */
  async drift(desired: DesiredHost): Promise<string[]> {
    const out: string[] = [];
    const backstop = this.opts.driftBackstopMs ?? DRIFT_BACKSTOP_MS;
    for (const b of desired.bridges) {
      if (this.tampered.delete(b.name)) { out.push(b.name); continue; }
      // against what was written, not the desired table
      const applied = this.appliedFlows.get(b.name);
      if (!applied) continue; // never applied here yet: apply writes it anyway
      const now = Date.now();
      const m = this.monitors.get(b.name);
      const last = this.lastDiff.get(b.name);
      if (m?.up && last !== undefined && last >= m.since && now - last < backstop) continue;
      this.lastDiff.set(b.name, now);
      const file = join(this.opts.runDir, `${b.name}.desired-flows`);
      const diff = await writeFile(file, tableText(applied))
        .then(() => this.ofctl(['diff-flows', this.ofTarget(b.name), file]))
        .catch(() => 'unreadable')
        .finally(() => rm(file, { force: true }));
      if (diff.trim()) { out.push(b.name); this.appliedFlows.delete(b.name); this.appliedMeters.delete(b.name); }
    }
    this.tampered.clear();
    for (const name of this.lastDiff.keys()) if (!desired.bridges.some((b) => b.name === name)) this.lastDiff.delete(name);
    return out;
  }

  /**
   * Frames sent as if `port` had received them, through the bridge's table (its locks decide):
   * a migrated VM's announcements. A packet-out teaches this switch nothing, and it may still
   * hold the VM's MAC behind a tunnel (its old host), where a frame from another tunnel is never
   * sent: so each frame's source MAC is forgotten on `vlan` first, and the VM's next frame (or a
   * flood meanwhile) puts it on the port. Waits (up to 2 s) for ovs-vswitchd to have the port's device.
   */
  async inject(bridge: string, port: string, frames: readonly Uint8Array[], vlan: number): Promise<void> {
    const c = await this.db();
    let n = 0;
    // asked of ovsdb-server itself: the number ovs-vswitchd wrote once it opened the device
    for (let i = 0; i < 100 && n <= 0; i++) {
      const [r] = await c.transact(DB, [{ op: 'select', table: 'Interface', where: [['name', '==', port]], columns: ['ofport'] }]);
      n = Math.max(0, ...(r.rows ?? []).map((x) => (typeof x.ofport === 'number' ? x.ofport : 0)));
      if (n <= 0) await new Promise((res) => setTimeout(res, 20));
    }
    if (n <= 0) throw new Error(`port ${port} has no device in the switch`);
    const macs = [...new Set(frames.map((f) => [...f.slice(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':')))];
    await Promise.all([
      ...macs.map((m) => this.appctl('fdb/del', bridge, String(vlan), m).catch(() => undefined)), // none learnt: nothing to forget
      this.ofctl(['packet-out', this.ofTarget(bridge), String(n), 'table', ...frames.map((f) => Buffer.from(f).toString('hex'))]),
    ]);
  }

  /**
   * The datapath's cached flows dropped: ovs-vswitchd revalidates them on a MAC move only when its
   * main loop next runs (up to 500 ms later when nothing else wakes it), and until then a cached
   * flow sends a migrated VM's traffic to its old host.
   */
  async relearn(): Promise<void> {
    await this.appctl('revalidator/purge');
  }

  /** A bond port's members (up, active), from ovs-appctl bond/show. */
  async bondMembers(port: string): Promise<BondMember[] | undefined> {
    try {
      return parseOvsBondShow(await this.appctl('bond/show', port));
    } catch { return undefined; }
  }
}
