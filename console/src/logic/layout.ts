// Laying out the topology graph. The infrastructure (hosts, NICs, bonds, networks) goes through
// ELK's layered algorithm (elkjs, in a web worker in the page); VIFs and VMs, which can number
// thousands, are placed in two columns beside it, each VIF next to its network and each VM at the
// barycentre of its VIFs (what a layered layout does for a bipartite tail, without its cost).
//
// Until ELK answers for a changed graph, new nodes get a provisional place next to a neighbour,
// so that an event shows at once; the full layout then replaces it.

import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GEdge, GNode, Graph } from './topology.ts';

export interface Box { x: number; y: number; w: number; h: number }
export interface Point { x: number; y: number }

export interface CoreLayout {
  /** Positions of infrastructure nodes. */
  readonly pos: ReadonlyMap<string, Box>;
  /** ELK's routes of infrastructure edges, valid while both ends stay where ELK put them. */
  readonly routes: ReadonlyMap<string, Point[]>;
  /** The structure this layout was computed for (see coreSignature). */
  readonly signature: string;
  /** Nodes placed provisionally (not by ELK). */
  readonly provisional: ReadonlySet<string>;
}

export interface Layout {
  readonly pos: ReadonlyMap<string, Box>;
  readonly routes: ReadonlyMap<string, Point[]>;
  /** Where each labelled edge's label goes (the middle of its text's baseline), no two overlapping. */
  readonly labels: ReadonlyMap<string, Point>;
  readonly width: number;
  readonly height: number;
}

export type ElkLayoutFn = (graph: ElkNode) => Promise<ElkNode>;

const CORE_KINDS = new Set(['host', 'nic', 'bond', 'network']);
export const isCore = (n: GNode): boolean => CORE_KINDS.has(n.kind);
const coreEdge = (e: GEdge): boolean => e.kind === 'host-nic' || e.kind === 'nic-bond' || e.kind === 'pif';

/** ELK's options: chosen for speed on pools of dozens of hosts (see bench/console.ts). */
export const ELK_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.layered.thoroughness': '1',
  'elk.layered.layering.strategy': 'LONGEST_PATH',
  'elk.layered.nodePlacement.strategy': 'SIMPLE',
  'elk.edgeRouting': 'POLYLINE',
  'elk.layered.mergeEdges': 'true',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  'elk.spacing.nodeNode': '14',
  'elk.layered.spacing.nodeNodeBetweenLayers': '150',
  'elk.spacing.componentComponent': '30',
  // pack unconnected parts (internal networks) in a column rather than a row
  'elk.aspectRatio': '0.4',
};

/** The structure of the infrastructure graph: when it is unchanged, so is ELK's answer. */
export function coreSignature(g: Graph): string {
  const parts: string[] = [];
  for (const n of g.nodes) if (isCore(n)) parts.push(`${n.id}:${n.width}x${n.height}`);
  for (const e of g.edges) if (coreEdge(e)) parts.push(`${e.source}>${e.target}`);
  return parts.join('|');
}

export function coreElkGraph(g: Graph): ElkNode {
  const children = g.nodes.filter(isCore).map((n) => ({ id: n.id, width: n.width, height: n.height }));
  const edges: ElkExtendedEdge[] = g.edges.filter(coreEdge).map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] }));
  return { id: 'root', layoutOptions: ELK_OPTIONS, children, edges };
}

/** Run ELK on the infrastructure of `g`. */
export async function layoutCore(g: Graph, elk: ElkLayoutFn): Promise<CoreLayout> {
  const signature = coreSignature(g);
  const out = await elk(coreElkGraph(g));
  const pos = new Map<string, Box>();
  for (const c of out.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
  const routes = new Map<string, Point[]>();
  for (const e of out.edges ?? []) {
    const s = e.sections?.[0];
    if (s) routes.set(e.id, [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => ({ x: p.x, y: p.y })));
  }
  return { pos, routes, signature, provisional: new Set() };
}

export const EMPTY_CORE: CoreLayout = { pos: new Map(), routes: new Map(), signature: '', provisional: new Set() };

/**
 * Keep the places `prev` has for nodes still there, and give new infrastructure nodes a
 * provisional one: right of a node they come from, left of one they lead to, or under the rest.
 */
export function provisionalCore(prev: CoreLayout, g: Graph): CoreLayout {
  const pos = new Map<string, Box>();
  const provisional = new Set<string>();
  const core = g.nodes.filter(isCore);
  for (const n of core) {
    const p = prev.pos.get(n.id);
    if (p) {
      pos.set(n.id, { ...p, w: n.width, h: n.height });
      if (prev.provisional.has(n.id)) provisional.add(n.id);
    }
  }
  const edges = g.edges.filter(coreEdge);
  let bottom = 0;
  for (const b of pos.values()) bottom = Math.max(bottom, b.y + b.h);
  const columnBottom = (x: number, w: number): number => {
    let y = -Infinity;
    for (const b of pos.values()) if (b.x < x + w && x < b.x + b.w) y = Math.max(y, b.y + b.h);
    return y;
  };
  const networkX = (() => {
    const xs = core.filter((n) => n.kind === 'network').map((n) => pos.get(n.id)?.x).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  })();
  for (const n of core) {
    if (pos.has(n.id)) continue;
    let x: number | undefined;
    const from = edges.find((e) => e.target === n.id && pos.has(e.source));
    const to = edges.find((e) => e.source === n.id && pos.has(e.target));
    if (from) { const s = pos.get(from.source)!; x = s.x + s.w + 150; }
    else if (to) { const t = pos.get(to.target)!; x = t.x - n.width - 150; }
    else x = n.kind === 'network' && networkX !== undefined ? networkX : 0;
    const colBottom = columnBottom(x, n.width);
    const y = Number.isFinite(colBottom) ? colBottom + 14 : bottom + 30;
    pos.set(n.id, { x, y, w: n.width, h: n.height });
    provisional.add(n.id);
    bottom = Math.max(bottom, y + n.height);
  }
  const routes = new Map<string, Point[]>();
  for (const [id, r] of prev.routes) routes.set(id, r);
  return { pos, routes, signature: prev.signature, provisional };
}

const GAP = 90;
const VSPACE = 10;

/** The whole picture: the infrastructure as placed, plus the VIF and VM columns, and every edge's route. */
export function fullLayout(core: CoreLayout, g: Graph): Layout {
  const pos = new Map<string, Box>(core.pos);
  let right = 0, bottom = 0;
  for (const b of pos.values()) { right = Math.max(right, b.x + b.w); bottom = Math.max(bottom, b.y + b.h); }
  const vifX = right + GAP;
  const vifs = g.nodes.filter((n) => n.kind === 'vif');
  const vifW = vifs.length ? vifs[0].width : 0;

  // VIFs next to their network, networks taken from top to bottom; in a pool with many VIFs each
  // network's VIFs form a block of several columns, so that the picture stays about as tall as
  // the infrastructure instead of one VIF-high column of thousands.
  const netOfVif = new Map<string, string>();
  const vmOfVif = new Map<string, string>();
  for (const e of g.edges) {
    if (e.kind === 'net-vif') netOfVif.set(e.target, e.source);
    else if (e.kind === 'vif-vm') vmOfVif.set(e.source, e.target);
  }
  const centre = (id: string | undefined): number => {
    const b = id ? pos.get(id) : undefined;
    return b ? b.y + b.h / 2 : Infinity;
  };
  const groups = new Map<string, GNode[]>();
  for (const v of vifs) {
    const net = netOfVif.get(v.id) ?? '';
    let l = groups.get(net);
    if (!l) groups.set(net, (l = []));
    l.push(v);
  }
  const rowPitch = (vifs[0]?.height ?? 0) + VSPACE;
  const colPitch = vifW + 24;
  const target = Math.max(bottom, 600);
  const cols = Math.max(1, Math.ceil((vifs.length * rowPitch) / target));
  const order = [...groups.keys()].sort((a, b) => centre(a) - centre(b));
  let cursor = 0;
  for (const net of order) {
    const list = groups.get(net)!;
    const rows = Math.ceil(list.length / cols);
    const block = rows * rowPitch - VSPACE;
    const c = centre(net);
    const y0 = Math.max(cursor, Number.isFinite(c) ? c - block / 2 : cursor);
    list.forEach((v, i) => pos.set(v.id, { x: vifX + (i % cols) * colPitch, y: y0 + Math.floor(i / cols) * rowPitch, w: v.width, h: v.height }));
    cursor = y0 + block + VSPACE;
  }
  const vifBottom = cursor;

  // VMs at the barycentre of their VIFs, keeping that order without overlaps, in as many columns
  // as it takes to stay about as tall as the rest.
  const vmStart = vifX + (vifs.length ? cols * colPitch - 24 : 0) + GAP;
  const vms = g.nodes.filter((n) => n.kind === 'vm');
  const sum = new Map<string, { s: number; n: number }>();
  for (const [vif, vm] of vmOfVif) {
    const b = pos.get(vif);
    if (!b) continue;
    const a = sum.get(vm) ?? { s: 0, n: 0 };
    a.s += b.y + b.h / 2;
    a.n++;
    sum.set(vm, a);
  }
  const bary = (id: string) => { const a = sum.get(id); return a ? a.s / a.n : Infinity; };
  const vmHeight = Math.max(target, vifBottom);
  const vmW = vms[0]?.width ?? 0;
  let col = 0;
  cursor = 0;
  for (const vm of [...vms].sort((a, b) => bary(a.id) - bary(b.id))) {
    const c = bary(vm.id);
    let y = Math.max(cursor, Number.isFinite(c) ? c - vm.height / 2 : cursor);
    if (y + vm.height > vmHeight && cursor > 0) { col++; y = 0; }
    pos.set(vm.id, { x: vmStart + col * (vmW + 24), y, w: vm.width, h: vm.height });
    cursor = y + vm.height + VSPACE;
  }

  // Routes: ELK's where both ends are where ELK put them, otherwise from side to side.
  const routes = new Map<string, Point[]>();
  for (const e of g.edges) {
    const s = pos.get(e.source), t = pos.get(e.target);
    if (!s || !t) continue;
    const elk = coreEdge(e) && !core.provisional.has(e.source) && !core.provisional.has(e.target) ? core.routes.get(e.id) : undefined;
    routes.set(e.id, elk ?? [{ x: s.x + s.w, y: s.y + s.h / 2 }, { x: t.x, y: t.y + t.h / 2 }]);
  }
  const labels = placeLabels(g.edges.filter((e) => e.label && routes.has(e.id)).map((e) => ({ id: e.id, text: e.label!, at: labelAt(routes.get(e.id)!) })), [...pos.values()]);
  for (const b of pos.values()) { right = Math.max(right, b.x + b.w); bottom = Math.max(bottom, b.y + b.h); }
  return { pos, routes, labels, width: right, height: bottom };
}

/** Where an edge's label would go: the middle of its longest segment. */
export function labelAt(pts: readonly Point[]): Point {
  let best = 0, at = 0;
  for (let i = 1; i < pts.length; i++) {
    const d = Math.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y);
    if (d > best) { best = d; at = i; }
  }
  const a = pts[Math.max(0, at - 1)], b = pts[at] ?? a;
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4 };
}

/** Edge labels are 10px text (style.css .edge-label) with a 3px halo: a generous box per character. */
const LABEL_CHAR = 6.5;
const LABEL_H = 14;

/** The box a label drawn centred on `at` (its baseline) covers. */
export function labelBox(text: string, at: Point): Box {
  const w = text.length * LABEL_CHAR + 8;
  return { x: at.x - w / 2, y: at.y - 11, w, h: LABEL_H };
}

const hits = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Labels placed so that no two overlap: each at its edge's own place when that is free,
 * otherwise moved up or down by whole label heights, to the nearest place (within three steps)
 * clear of the other labels and of the nodes; failing that, to the nearest one clear of labels.
 */
export function placeLabels(items: readonly { id: string; text: string; at: Point }[], nodes: readonly Box[]): Map<string, Point> {
  const placed: Box[] = [];
  const out = new Map<string, Point>();
  const sorted = [...items].sort((a, b) => a.at.x - b.at.x || a.at.y - b.at.y || (a.id < b.id ? -1 : 1));
  const free = (b: Box, alsoNodes: boolean) => !placed.some((p) => hits(p, b)) && (!alsoNodes || !nodes.some((n) => hits(n, b)));
  for (const it of sorted) {
    const at = (dy: number): Point => ({ x: it.at.x, y: it.at.y + dy });
    let chosen: Point | undefined;
    for (let i = 0; i <= 6 && !chosen; i++) {
      const dy = (i % 2 === 1 ? -1 : 1) * Math.ceil(i / 2) * (LABEL_H + 1);
      if (free(labelBox(it.text, at(dy)), true)) chosen = at(dy);
    }
    for (let i = 0; !chosen; i++) {
      const dy = (i % 2 === 1 ? -1 : 1) * Math.ceil(i / 2) * (LABEL_H + 1);
      if (free(labelBox(it.text, at(dy)), false)) chosen = at(dy);
    }
    placed.push(labelBox(it.text, chosen));
    out.set(it.id, chosen);
  }
  return out;
}

/** The columns of the infrastructure in a layered picture, left to right. */
const COLUMN: Readonly<Record<string, number>> = { host: 0, nic: 1, bond: 2, network: 3 };
const COLUMN_GAP = 150;
const ROW_GAP = 14;

/**
 * The infrastructure in columns (hosts, NICs, bonds, networks) without ELK, for focus views: each
 * node as near the barycentre of the nodes it comes from as the ones above it allow, so that edges
 * run mostly level. Linear in the size of the picture and synchronous: a focus view is drawn in
 * one pass, at its final places.
 */
export function columnsCore(g: Graph): CoreLayout {
  const core = g.nodes.filter(isCore);
  const preds = new Map<string, string[]>();
  for (const e of g.edges) {
    if (!coreEdge(e)) continue;
    const l = preds.get(e.target);
    if (l) l.push(e.source); else preds.set(e.target, [e.source]);
  }
  const columns: GNode[][] = [[], [], [], []];
  for (const n of core) columns[COLUMN[n.kind]].push(n);
  const pos = new Map<string, Box>();
  let x = 0;
  for (const col of columns) {
    if (!col.length) continue;
    const bary = new Map<string, number>();
    for (const n of col) {
      let s = 0, k = 0;
      for (const p of preds.get(n.id) ?? []) { const b = pos.get(p); if (b) { s += b.y + b.h / 2; k++; } }
      bary.set(n.id, k ? s / k : Infinity);
    }
    // stable: nodes keep the graph's order (names) among equals
    const order = col.map((n, i) => ({ n, i })).sort((a, b) => bary.get(a.n.id)! - bary.get(b.n.id)! || a.i - b.i);
    let cursor = 0;
    for (const { n } of order) {
      const c = bary.get(n.id)!;
      const y = Math.max(cursor, Number.isFinite(c) ? c - n.height / 2 : cursor);
      pos.set(n.id, { x, y, w: n.width, h: n.height });
      cursor = y + n.height + ROW_GAP;
    }
    x += Math.max(...col.map((n) => n.width)) + COLUMN_GAP;
  }
  return { pos, routes: new Map(), signature: coreSignature(g), provisional: new Set() };
}
