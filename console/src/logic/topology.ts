// The pool's network as a graph: hosts -> NICs (carrier, speed) -> bonds -> networks (external,
// VLAN, single-server private, cross-server private, SR-IOV) -> VIFs -> VMs. Pure: built from the
// object cache, laid out by layout.ts, drawn by ui/Topology.tsx, and tested without a browser.

import {
  effectiveLockingMode, isLockingMode, networkKind as domainNetworkKind, pifKind as domainPifKind, prefixOfNetmask,
  type LockingMode, type NetworkKind, type NetworkPif, type PifKind as DomainPifKind,
} from '../../../src/domain/index.ts';
import { NETWORK_KINDS } from './networkKinds.ts';
import { pifName, vifRateKBs } from './net.ts';
import { cmp, isRef, natural, num, str, strs, type Rec, type Ref, type Store } from './store.ts';

/** A VM record of a guest: neither the control domain nor a template. */
export const isGuest = (vm: Rec | undefined): vm is Rec => !!vm && vm.is_control_domain !== true && vm.is_a_template !== true;

// ---------------------------------------------------------------- what things are

/** A PIF's type, tested in xapi's order (the rule: src/domain/pif.ts), or unknown when it is none. */
export type PifKind = DomainPifKind | 'unknown';

export function pifKind(p: Rec): PifKind {
  return domainPifKind({
    tunnelAccess: strs(p, 'tunnel_access_PIF_of').length > 0, vlan: isRef(p.VLAN_master_of), sriovLogical: strs(p, 'sriov_logical_PIF_of').length > 0,
    bondMaster: strs(p, 'bond_master_of').length > 0, physical: p.physical === true,
  }) ?? 'unknown';
}

/** A PIF as the domain's network rules read it: its kind, and for a VLAN the kind of the PIF it is tagged on. */
function networkPif(store: Store, p: Rec): NetworkPif {
  const k = pifKind(p);
  const kind = k === 'unknown' ? undefined : k;
  if (kind !== 'vlan') return { kind };
  const tagged = store.get('pif', store.get('vlan', p.VLAN_master_of)?.tagged_PIF);
  const tk = tagged ? pifKind(tagged) : undefined;
  return { kind, taggedKind: tk === 'unknown' ? undefined : tk };
}

/** What kind of network this is, from the PIFs that carry it on the hosts (the rule: src/domain/pif.ts). */
export function networkKind(store: Store, net: Rec): NetworkKind {
  return domainNetworkKind(strs(net, 'PIFs').map((r) => store.get('pif', r)).filter((p): p is Rec => !!p).map((p) => networkPif(store, p)));
}

/** The VLAN tag a network is carried on (from its VLAN PIFs), if any. */
export function networkVlan(store: Store, net: Rec): number | undefined {
  for (const r of strs(net, 'PIFs')) {
    const p = store.get('pif', r);
    if (p && num(p, 'VLAN') >= 0) return num(p, 'VLAN');
  }
  return undefined;
}

/**
 * The hosts that reach the network through a PIF; empty for an internal network. A bond
 * member's PIF stays on its old network but carries nothing once bonded: it does not count.
 */
export function networkHosts(store: Store, net: Rec): Ref[] {
  const carrying = strs(net, 'PIFs').map((r) => store.get('pif', r)).filter((p): p is Rec => !!p && !isRef(p.bond_slave_of));
  return [...new Set(carrying.map((p) => str(p, 'host')).filter(isRef))];
}

const titleCache = new WeakMap<Store, { version: number; titles: Map<Ref, string> }>();

/**
 * Every network's name as people tell networks apart: the name, and where another network has
 * the same name, its VLAN (when that tells them apart) or its bridge beside it ("Pool (VLAN 5)",
 * "Pool (xenbr1)"). Computed once per version of the cache.
 */
export function networkTitles(store: Store): ReadonlyMap<Ref, string> {
  const hit = titleCache.get(store);
  if (hit && hit.version === store.version) return hit.titles;
  const byName = new Map<string, [Ref, Rec][]>();
  for (const e of store.all('network')) {
    const name = str(e[1], 'name_label') || str(e[1], 'bridge');
    const l = byName.get(name);
    if (l) l.push(e); else byName.set(name, [e]);
  }
  const titles = new Map<Ref, string>();
  for (const [name, group] of byName) {
    if (group.length === 1) { titles.set(group[0][0], name); continue; }
    const vlans = group.map(([, n]) => networkVlan(store, n));
    group.forEach(([ref, n], i) => {
      const v = vlans[i];
      const unique = v !== undefined && vlans.filter((x) => x === v).length === 1;
      titles.set(ref, `${name} (${unique ? `VLAN ${v}` : str(n, 'bridge') || ref})`);
    });
  }
  titleCache.set(store, { version: store.version, titles });
  return titles;
}

/** One network's name, told apart from others of the same name (networkTitles). */
export const networkTitle = (store: Store, ref: unknown): string =>
  (typeof ref === 'string' ? networkTitles(store).get(ref) : undefined) ?? str(store.get('network', ref), 'name_label');

/** The PIF whose switch carries `pif`: the NIC or bond under a VLAN, tunnel or SR-IOV PIF. */
export function carrierPif(store: Store, ref: Ref): Ref | undefined {
  let cur: Ref | undefined = ref;
  for (let i = 0; i < 6 && cur; i++) {
    const p = store.get('pif', cur);
    if (!p) return undefined;
    switch (pifKind(p)) {
      case 'tunnel_access': cur = str(store.get('tunnel', strs(p, 'tunnel_access_PIF_of')[0]), 'transport_PIF'); break;
      case 'vlan': cur = str(store.get('vlan', p.VLAN_master_of), 'tagged_PIF'); break;
      case 'sriov_logical': cur = str(store.get('network_sriov', strs(p, 'sriov_logical_PIF_of')[0]), 'physical_PIF'); break;
      case 'bond_master': case 'physical': return cur;
      default: return undefined;
    }
  }
  return undefined;
}

/** The interface role of a PIF: management, secondary (has an IP configuration), or none. */
export function interfaceRole(p: Rec): 'management' | 'secondary' | undefined {
  if (p.management === true) return 'management';
  const v4 = str(p, 'ip_configuration_mode'), v6 = str(p, 'ipv6_configuration_mode');
  if ((v4 && v4 !== 'None') || (v6 && v6 !== 'None')) return 'secondary';
  return undefined;
}

/** "10.0.0.11/24", "DHCP 10.0.0.50", "DHCP", or IPv6 addresses. */
export function ipSummary(p: Rec): string {
  const mode = str(p, 'ip_configuration_mode');
  const ip = str(p, 'IP');
  const prefix = prefixOfNetmask(str(p, 'netmask'));
  const v4 = mode === 'Static' ? `${ip}${prefix !== undefined ? `/${prefix}` : ''}` : mode === 'DHCP' ? `DHCP${ip ? ` ${ip}` : ''}` : '';
  const v6m = str(p, 'ipv6_configuration_mode');
  const v6 = v6m && v6m !== 'None' ? (strs(p, 'IPv6').join(' ') || v6m) : '';
  return [v4, v6].filter(Boolean).join(' · ');
}

export type EffectiveMode = LockingMode;

export interface EffectiveLocking {
  readonly mode: EffectiveMode;
  /** Whose setting applies: the VIF's own mode, or its network's default. */
  readonly source: 'vif' | 'network';
  /** Why, in words. */
  readonly why: string;
}

/**
 * The locking mode the switch applies to a VIF, and why: the VIF's own mode, or for
 * `network_default` its network's `default_locking_mode` (the rule: src/domain/locking.ts).
 * `mode` overrides the VIF's own (to preview an edit).
 */
export function effectiveLocking(store: Store, vif: Rec, mode: string = str(vif, 'locking_mode')): EffectiveLocking {
  const net = store.get('network', vif.network);
  const netName = str(net, 'name_label') || 'its network';
  if (isLockingMode(mode)) {
    return { mode, source: 'vif', why: `The VIF's own locking mode is ${mode}; it overrides the default of network "${netName}".` };
  }
  const def = effectiveLockingMode('network_default', net) ?? 'disabled';
  return { mode: def, source: 'network', why: `The VIF's locking mode is network_default, so it follows network "${netName}", whose default locking mode is ${def}.` };
}

/** What an effective mode lets through, in the seed's words. */
export function lockingMeaning(vif: Rec, mode: EffectiveMode): string {
  switch (mode) {
    case 'unlocked': return 'All network traffic can pass through the VIF: no filters are applied.';
    case 'disabled': return 'No traffic is allowed to pass through the VIF: it drops everything the VM sends.';
    case 'locked': {
      const addrs = [...strs(vif, 'ipv4_allowed'), ...strs(vif, 'ipv6_allowed')];
      return addrs.length
        ? `Only traffic from MAC ${str(vif, 'MAC')} and ${addrs.join(', ')} may leave the VIF.`
        : 'Locked with no allowed addresses: the VM cannot send any IP traffic through this VIF.';
    }
  }
}

/** A VIF on an SR-IOV network is backed by a VF: its traffic bypasses the switch (no locking, no QoS). */
export function isSriovVif(store: Store, vif: Rec): boolean {
  const net = store.get('network', vif.network);
  return !!net && networkKind(store, net) === 'sriov';
}

export function linkText(metrics: Rec | undefined): { up: boolean; text: string } {
  if (!metrics) return { up: false, text: 'link unknown' };
  const up = metrics.carrier === true;
  const speed = num(metrics, 'speed');
  const sp = speed >= 1000 ? `${speed / 1000} Gb/s` : speed > 0 ? `${speed} Mb/s` : '';
  return { up, text: up ? `link up${sp ? ` · ${sp}` : ''}` : 'no link' };
}

// ---------------------------------------------------------------- the graph

export type NodeKind = 'host' | 'nic' | 'bond' | 'network' | 'vif' | 'vm';
export type EdgeKind = 'host-nic' | 'nic-bond' | 'pif' | 'net-vif' | 'vif-vm';

export interface Badge { readonly text: string; readonly tone: string }

export interface GNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly ref: Ref;
  readonly title: string;
  readonly lines: readonly string[];
  readonly badges: readonly Badge[];
  readonly width: number;
  readonly height: number;
  /** data-* attributes on the drawn node (for people's tools and the tests). */
  readonly data: Readonly<Record<string, string>>;
  /** Extra CSS classes. */
  readonly tone?: string;
}

export interface GEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly kind: EdgeKind;
  readonly label?: string;
  readonly role?: 'management' | 'secondary';
}

export interface Graph {
  readonly nodes: readonly GNode[];
  readonly edges: readonly GEdge[];
}

/** Node widths and least heights; a node is as tall as its title, badge row and lines need. */
export const SIZE: Record<NodeKind, { w: number; h: number }> = {
  host: { w: 180, h: 40 },
  nic: { w: 190, h: 40 },
  bond: { w: 190, h: 40 },
  network: { w: 250, h: 40 },
  vif: { w: 190, h: 40 },
  vm: { w: 170, h: 36 },
};
export const LINE = 13;
export const BADGE_ROW = 18;

const byName = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'name_label'), str(b[1], 'name_label')) || cmp(a[0], b[0]);
const byDevice = (a: [Ref, Rec], b: [Ref, Rec]) => natural(str(a[1], 'device'), str(b[1], 'device')) || num(a[1], 'VLAN') - num(b[1], 'VLAN');

export const nodeId = (kind: NodeKind, ref: Ref): string => `${kind}:${ref}`;

function node(kind: NodeKind, ref: Ref, title: string, lines: string[], badges: Badge[], data: Record<string, string> = {}, tone?: string): GNode {
  const height = Math.max(SIZE[kind].h, 24 + (badges.length ? BADGE_ROW : 0) + lines.length * LINE);
  return { id: nodeId(kind, ref), kind, ref, title, lines, badges, width: SIZE[kind].w, height, data: { kind, name: title, ...data }, tone };
}

/**
 * The objects a picture is limited to (a focus view); a class left out is not limited. Edges are
 * drawn only between objects that are both in the picture.
 */
export interface Scope {
  readonly hosts?: ReadonlySet<Ref>;
  readonly pifs?: ReadonlySet<Ref>;
  readonly networks?: ReadonlySet<Ref>;
  readonly vifs?: ReadonlySet<Ref>;
  readonly vms?: ReadonlySet<Ref>;
}

/** The marks a VIF carries beside its record: spoofing drops (alarms.ts), given by the caller. */
export interface VifMark { readonly total: number; readonly alarm: boolean }

export function buildGraph(store: Store, scope: Scope = {}, marks: ReadonlyMap<Ref, VifMark> = new Map()): Graph {
  const nodes: GNode[] = [];
  // the records in scope, read through the scope's sets (a focus view costs what it shows)
  const pick = (cls: string, set: ReadonlySet<Ref> | undefined): [Ref, Rec][] => {
    if (!set) return store.all(cls);
    const out: [Ref, Rec][] = [];
    for (const ref of set) { const r = store.get(cls, ref); if (r) out.push([ref, r]); }
    return out;
  };
  const edges: GEdge[] = [];
  const have = new Set<string>();
  const addEdge = (e: GEdge) => { if (have.has(e.source) && have.has(e.target)) edges.push(e); };

  const hosts = pick('host', scope.hosts).sort(byName);
  const pifs = pick('pif', scope.pifs).sort(byDevice);
  const hostName = (h: unknown) => str(store.get('host', h), 'name_label');

  // a host's management interface, even when a focus view leaves its PIF out
  const mgmtOf = new Map(store.all('pif').filter(([, p]) => p.management === true).map((e) => [str(e[1], 'host'), e]));
  for (const [ref, h] of hosts) {
    const mgmt = mgmtOf.get(ref);
    nodes.push(node('host', ref, str(h, 'name_label') || str(h, 'hostname'), [mgmt ? `management ${ipSummary(mgmt[1]) || str(mgmt[1], 'device')}` : 'no management interface'], []));
  }

  // NICs (physical PIFs) and bonds (their master PIFs), marked with their interface role.
  const roleBadge = (p: Rec): Badge[] => {
    const role = interfaceRole(p);
    return role === 'management' ? [{ text: 'MGMT', tone: 'management' }] : role === 'secondary' ? [{ text: 'IP', tone: 'secondary' }] : [];
  };
  for (const [ref, p] of pifs) {
    const k = pifKind(p);
    if (k === 'physical') {
      const link = linkText(store.get('pif_metrics', p.metrics));
      const bond = store.get('bond', p.bond_slave_of);
      const inBond = bond ? `in ${str(store.get('pif', bond.master), 'device')}` : '';
      const sriov = strs(p, 'sriov_physical_PIF_of').length ? 'SR-IOV' : '';
      nodes.push(node('nic', ref, `${str(p, 'device')} · ${hostName(p.host)}`, [[link.text, inBond, sriov].filter(Boolean).join(' · '), str(p, 'MAC')], roleBadge(p),
        { device: str(p, 'device'), carrier: String(link.up), host: hostName(p.host) }, link.up ? 'up' : 'down'));
    } else if (k === 'bond_master') {
      const bondRef = strs(p, 'bond_master_of')[0];
      const b = store.get('bond', bondRef);
      const members = strs(b, 'slaves').length;
      nodes.push(node('bond', ref, `${str(p, 'device')} · ${hostName(p.host)}`, [`${str(b, 'mode')} · ${num(b, 'links_up')}/${members} links up`, str(p, 'MAC')], roleBadge(p),
        { device: str(p, 'device'), mode: str(b, 'mode'), bond: bondRef ?? '', host: hostName(p.host) }));
    }
  }

  const netsInScope = pick('network', scope.networks);
  const kinds = new Map(netsInScope.map(([r, n]) => [r, networkKind(store, n)]));
  const ORDER = ['external', 'bonded', 'vlan', 'private', 'sriov', 'internal'];
  const networks = netsInScope.sort((a, b) => ORDER.indexOf(kinds.get(a[0])!) - ORDER.indexOf(kinds.get(b[0])!) || byName(a, b));
  for (const [ref, n] of networks) {
    const kind = kinds.get(ref)!;
    const vlan = networkVlan(store, n);
    const lock = str(n, 'default_locking_mode');
    const badges: Badge[] = [{ text: NETWORK_KINDS[kind].label, tone: `net-${kind}` }];
    if (lock === 'disabled') badges.push({ text: 'default: disabled', tone: 'disabled' });
    nodes.push(node('network', ref, networkTitle(store, ref), [[str(n, 'bridge'), vlan !== undefined ? `VLAN ${vlan}` : '', `MTU ${num(n, 'MTU')}`].filter(Boolean).join(' · ')], badges,
      { 'network-kind': kind, bridge: str(n, 'bridge'), vlan: vlan === undefined ? '' : String(vlan), 'default-locking': lock, name: str(n, 'name_label') || str(n, 'bridge') }));
  }

  const vms = pick('vm', scope.vms).filter(([, v]) => isGuest(v)).sort(byName);
  const vifs = pick('vif', scope.vifs).filter(([, v]) => store.get('vm', v.VM)?.is_control_domain !== true).sort((a, b) => {
    const va = str(store.get('vm', a[1].VM), 'name_label'), vb = str(store.get('vm', b[1].VM), 'name_label');
    return natural(va, vb) || natural(str(a[1], 'device'), str(b[1], 'device')) || cmp(a[0], b[0]);
  });
  for (const [ref, v] of vifs) {
    const eff = effectiveLocking(store, v);
    const rate = vifRateKBs(v);
    const vm = store.get('vm', v.VM);
    const lines = [`${str(v, 'MAC')}${rate ? ` · ≤ ${rate} kB/s` : ''}`];
    const mark = marks.get(ref);
    const badges: Badge[] = [{ text: eff.source === 'network' ? `${eff.mode} (network)` : eff.mode, tone: `lock-${eff.mode}` }];
    if (mark && mark.total > 0) badges.push({ text: `${mark.total} dropped`, tone: mark.alarm ? 'alarm' : 'drops' });
    nodes.push(node('vif', ref, `VIF ${str(v, 'device')} · ${str(vm, 'name_label')}`, lines, badges,
      { 'effective-mode': eff.mode, 'mode-source': eff.source, attached: String(v.currently_attached === true), drops: String(mark?.total ?? 0), alarm: String(mark?.alarm === true) },
      [v.currently_attached === true ? 'up' : 'down', mark?.alarm ? 'alarm' : ''].filter(Boolean).join(' ')));
  }
  for (const [ref, v] of vms) {
    const host = store.get('host', v.resident_on);
    const alarm = strs(v, 'VIFs').some((r) => marks.get(r)?.alarm);
    nodes.push(node('vm', ref, str(v, 'name_label'), [`${str(v, 'power_state')}${host ? ` on ${str(host, 'name_label')}` : ''}`], alarm ? [{ text: 'spoofing', tone: 'alarm' }] : [],
      { 'power-state': str(v, 'power_state'), alarm: String(alarm) }, [str(v, 'power_state') === 'Running' ? 'up' : 'down', alarm ? 'alarm' : ''].filter(Boolean).join(' ')));
  }

  for (const n of nodes) have.add(n.id);

  for (const [ref, p] of pifs) {
    const k = pifKind(p);
    if (k === 'physical') addEdge({ id: `hn:${ref}`, source: nodeId('host', str(p, 'host')), target: nodeId('nic', ref), kind: 'host-nic' });
    if (k === 'bond_master') {
      const b = store.get('bond', strs(p, 'bond_master_of')[0]);
      for (const s of strs(b, 'slaves')) addEdge({ id: `nb:${s}`, source: nodeId('nic', s), target: nodeId('bond', ref), kind: 'nic-bond' });
    }
    // The PIF joins its carrier device (NIC or bond) to its network; a bond member's own PIF is idle.
    if (isRef(p.bond_slave_of)) continue;
    const carrier = carrierPif(store, ref);
    const cp = carrier ? store.get('pif', carrier) : undefined;
    if (!cp || !isRef(p.network)) continue;
    const src = nodeId(pifKind(cp) === 'bond_master' ? 'bond' : 'nic', carrier!);
    const label = k === 'vlan' ? `VLAN ${num(p, 'VLAN')}` : k === 'tunnel_access' ? `${str(store.get('tunnel', strs(p, 'tunnel_access_PIF_of')[0]), 'protocol') || 'gre'} tunnel` : k === 'sriov_logical' ? 'SR-IOV' : '';
    const role = interfaceRole(p);
    const full = [label, role ? `${role === 'management' ? 'mgmt' : 'IP'} ${ipSummary(p)}`.trim() : ''].filter(Boolean).join(' · ');
    addEdge({ id: `pif:${ref}`, source: src, target: nodeId('network', str(p, 'network')), kind: 'pif', label: full || undefined, role });
  }
  for (const [ref, v] of vifs) {
    addEdge({ id: `nv:${ref}`, source: nodeId('network', str(v, 'network')), target: nodeId('vif', ref), kind: 'net-vif' });
    addEdge({ id: `vv:${ref}`, source: nodeId('vif', ref), target: nodeId('vm', str(v, 'VM')), kind: 'vif-vm' });
  }
  return { nodes, edges };
}

/** A short, human name for any object in the cache (for error parameters and tables). */
export function describeRef(store: Store, ref: unknown): string | undefined {
  const hit = store.find(ref);
  if (!hit) return undefined;
  const r = hit.rec;
  switch (hit.cls) {
    case 'network': return `network "${networkTitle(store, ref)}"`;
    case 'pif': return `interface ${pifName(store, r)} on ${str(store.get('host', r.host), 'name_label')}`;
    case 'vif': return `VIF ${str(r, 'device')} of VM "${str(store.get('vm', r.VM), 'name_label')}"`;
    case 'vm': return `VM "${str(r, 'name_label')}"`;
    case 'host': return `host "${str(r, 'name_label')}"`;
    case 'bond': return `bond ${str(store.get('pif', r.master), 'device')}`;
    case 'vlan': return `VLAN ${num(r, 'tag')}`;
    default: return `${hit.cls} ${str(r, 'uuid')}`;
  }
}

/**
 * An object as `xe` names it in an error (xapi's ref_convert): its uuid, and its name label in
 * brackets when it has one; undefined when the reference is not in the cache.
 */
export function xeRefText(store: Store, ref: unknown): string | undefined {
  const hit = store.find(ref);
  if (!hit) return undefined;
  const uuid = str(hit.rec, 'uuid');
  if (!uuid) return undefined;
  return typeof hit.rec.name_label === 'string' ? `${uuid} (${hit.rec.name_label})` : uuid;
}
