// The live topology picture: SVG, laid out by layout.ts with ELK in a worker, redrawn whenever the
// cache changes (event.from), with pan and zoom. Nodes carry data-* attributes (kind, name,
// effective locking mode...) so that people's tools and the browser tests can read the picture.

import { memo } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { EMPTY_CORE, columnsCore, fullLayout, layoutCore, provisionalCore, coreSignature, type Box, type CoreLayout, type ElkLayoutFn, type Point } from '../logic/layout.ts';
import { focusScope, routeOf } from '../logic/focus.ts';
import type { FocusView } from '../logic/route.ts';
import type { Ref } from '../logic/store.ts';
import { BADGE_ROW, LINE, buildGraph, nodeId, type GEdge, type GNode, type Graph, type Scope, type VifMark } from '../logic/topology.ts';
import { stats } from '../stats.ts';
import { useApp, type Selection } from './common.tsx';

const fit = (s: string, px: number, charPx = 6.6): string => (s.length * charPx <= px ? s : `${s.slice(0, Math.max(1, Math.floor(px / charPx) - 1))}…`);

function pathOf(e: GEdge, pts: Point[]): string {
  if ((e.kind === 'net-vif' || e.kind === 'vif-vm' || pts.length === 2) && pts.length >= 2) {
    const a = pts[0], b = pts[pts.length - 1];
    const dx = Math.max(30, (b.x - a.x) / 2);
    return `M${a.x},${a.y} C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
  }
  return `M${pts.map((p) => `${p.x},${p.y}`).join(' L')}`;
}

/** A node; its words only when `detail` (zoomed in enough to read them, and on screen). */
function NodeViewImpl({ n, b, selected, detail, onPick }: { n: GNode; b: Box; selected: boolean; detail: boolean; onPick: (n: GNode) => void }) {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.data)) data[`data-${k}`] = v;
  let bx = 8;
  const badges = n.badges.map((bd) => {
    const w = bd.text.length * 6 + 10;
    const x = bx;
    bx += w + 4;
    return (
      <g class={`badge ${bd.tone}`} key={bd.text}>
        <rect x={x} y={22} width={w} height={15} rx={7} />
        <text x={x + w / 2} y={33} text-anchor="middle">{bd.text}</text>
      </g>
    );
  });
  const top = 24 + (n.badges.length ? BADGE_ROW : 0);
  return (
    <g class={`node ${n.kind} ${n.tone ?? ''} ${selected ? 'selected' : ''}`} transform={`translate(${b.x},${b.y})`} data-id={n.id} data-ref={n.ref} {...data} onClick={(e) => { e.stopPropagation(); onPick(n); }}>
      <rect class="box" width={b.w} height={b.h} rx={6} />
      {detail && (
        <>
          <title>{[n.title, ...n.badges.map((x) => x.text), ...n.lines].join('\n')}</title>
          <text class="title" x={8} y={16}>{fit(n.title, b.w - 14, 7)}</text>
          {badges}
          {n.lines.map((l, i) => <text class="line" key={i} x={8} y={top + 8 + i * LINE}>{fit(l, b.w - 14, 6)}</text>)}
        </>
      )}
    </g>
  );
}

/** What a drawn node shows: when unchanged, the node is not drawn again (big pools, frequent events). */
const nodeSig = (n: GNode): string => [n.title, n.tone, ...n.lines, ...n.badges.map((x) => x.text + x.tone), ...Object.values(n.data)].join('\u0001');
const NodeView = memo(NodeViewImpl, (a, b) => a.selected === b.selected && a.detail === b.detail && a.b.x === b.b.x && a.b.y === b.b.y && a.b.w === b.b.w && a.b.h === b.b.h && nodeSig(a.n) === nodeSig(b.n));

function EdgeViewImpl({ e, d, label }: { e: GEdge; d: string; label?: Point }) {
  return (
    <g class={`edge ${e.kind} ${e.role ?? ''}`} data-edge={e.id}>
      <path d={d} />
      {label && <text class="edge-label" x={label.x} y={label.y} text-anchor="middle">{e.label}</text>}
    </g>
  );
}
const EdgeView = memo(EdgeViewImpl, (a, b) => a.d === b.d && a.e.label === b.e.label && a.e.role === b.e.role && a.e.kind === b.e.kind && a.label?.x === b.label?.x && a.label?.y === b.label?.y);

interface View { x: number; y: number; k: number }

/** The least zoom at which words are drawn. */
const READABLE = 0.4;

/** A press that moved further than this (px) pans the picture: it is no click on what it started on. */
const DRAG_PX = 4;

const NOTHING: Scope = { hosts: new Set(), pifs: new Set(), networks: new Set(), vifs: new Set(), vms: new Set() };

/**
 * The picture of the whole pool, or with `focus` of one host, network or VM and its
 * neighbourhood; `marks` are the VIFs' spoofing drops and alarms.
 */
export function Topology({ elk, selected, focus, marks, shown = true }: { elk: ElkLayoutFn; selected?: Selection; focus?: { view: FocusView; ref: Ref }; marks?: ReadonlyMap<Ref, VifMark>; shown?: boolean }) {
  const { store, version, select, go } = useApp();
  const graph: Graph = useMemo(() => buildGraph(store, focus ? focusScope(store, focus.view, focus.ref) ?? NOTHING : {}, marks), [version, marks, focus?.view, focus?.ref]);
  const [core, setCore] = useState<CoreLayout>(EMPTY_CORE);
  const [running, setRunning] = useState(false);
  const latest = useRef(graph);
  latest.current = graph;
  const wantSig = useMemo(() => coreSignature(graph), [graph]);

  // A focus view is laid out in columns, at once; the whole pool by ELK.
  const columns = useMemo(() => (focus ? columnsCore(graph) : undefined), [focus ? wantSig : '']);

  // Run ELK whenever the infrastructure changed; one run at a time, always on the latest graph.
  useEffect(() => {
    if (focus || running || wantSig === core.signature) return;
    setRunning(true);
    const g = latest.current;
    const t0 = performance.now();
    layoutCore(g, elk).then((c) => {
      stats.elkRuns++;
      stats.lastElkMs = performance.now() - t0;
      setCore(c);
    }).catch((e: unknown) => {
      console.error('layout failed', e);
      setCore({ ...provisionalCore(core, g), signature: coreSignature(g) });
    }).finally(() => setRunning(false));
  }, [wantSig, running, core.signature]);

  const placed = useMemo(() => provisionalCore(columns ?? core, graph), [columns ?? core, graph]);
  const layout = useMemo(() => fullLayout(placed, graph), [placed, graph]);
  const done = columns ? true : !running && wantSig === core.signature;

  // Pan and zoom.
  const svgRef = useRef<SVGSVGElement>(null);
  const [view, setView] = useState<View | undefined>();
  const fitView = () => {
    const el = svgRef.current;
    if (!el || !layout.width) return;
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    const all = Math.min((r.width - 40) / layout.width, (r.height - 40) / layout.height);
    // a focus view is read in full detail: as wide as the panel (up to life size), from its top,
    // panned down by dragging, rather than shrunk until its words cannot be drawn
    const width = Math.min(1, (r.width - 40) / layout.width);
    const k = Math.min(1.2, Math.max(0.02, focus && all < READABLE ? Math.max(all, width) : all));
    // ... with the focused object in the middle of the panel when the picture is taller than it
    const b = focus ? layout.pos.get(nodeId(focus.view, focus.ref)) : undefined;
    const y = b ? Math.min(20, Math.max(r.height - 20 - layout.height * k, r.height / 2 - (b.y + b.h / 2) * k)) : 20;
    setView({ k, x: 20, y });
  };
  // Fit the picture when it is first laid out, and when the panel beside it opens or closes,
  // until the person pans or zooms it themselves.
  const moved = useRef(false);
  useEffect(() => { if (done && !moved.current && graph.nodes.length) fitView(); }, [done, core, columns]);
  const fitRef = useRef(fitView);
  fitRef.current = fitView;
  useEffect(() => {
    const el = svgRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      const r = el.getBoundingClientRect();
      if (r.width) setSize({ w: r.width, h: r.height });
      if (!moved.current) fitRef.current();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const drag = useRef<{ x: number; y: number; vx: number; vy: number } | undefined>(undefined);
  // whether the last press panned: its click (on a node or on the background) then does nothing
  const panned = useRef(false);
  const v = view ?? { x: 20, y: 20, k: 1 };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    moved.current = true;
    const r = svgRef.current!.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const k = Math.min(4, Math.max(0.02, v.k * Math.exp(-e.deltaY * 0.0015)));
    setView({ k, x: px - ((px - v.x) * k) / v.k, y: py - ((py - v.y) * k) / v.k });
  };

  // The first complete picture: every object of the first dump drawn at ELK's places.
  useEffect(() => {
    stats.nodes = graph.nodes.length;
    stats.renders++;
    if (stats.firstPaintAt === undefined && graph.nodes.length) requestAnimationFrame(() => { stats.firstPaintAt ??= performance.now(); });
    if (done && stats.firstPictureMs === undefined && core.signature !== '') {
      requestAnimationFrame(() => { if (stats.firstPictureMs === undefined) stats.firstPictureMs = performance.now(); });
    }
    if (!shown) return;
    if (graph.nodes.length) requestAnimationFrame(() => { stats.viewDrawn = { route: location.hash, at: performance.now() }; });
    if (done) {
      requestAnimationFrame(() => {
        const at = performance.now();
        stats.firstViewAt ??= at;
        stats.viewReady = { route: location.hash, at };
      });
    }
  });

  // Level of detail: words are drawn only when they can be read and only on screen, so that a
  // pool of thousands of objects stays quick to draw; boxes and lines are always there.
  const [size, setSize] = useState({ w: 1600, h: 1000 });
  const readable = v.k >= READABLE;
  const margin = 200 / v.k;
  const vis = { x: -v.x / v.k - margin, y: -v.y / v.k - margin, w: size.w / v.k + 2 * margin, h: size.h / v.k + 2 * margin };
  const inView = (b: Box) => b.x < vis.x + vis.w && vis.x < b.x + b.w && b.y < vis.y + vis.h && vis.y < b.y + b.h;
  // A click on an object opens the view that shows it, with it selected, as a link would: the
  // URL names it, and Back returns to this view (a VIF opens its VM's view, a NIC its host's).
  const selectRef = useRef(select);
  selectRef.current = select;
  const goRef = useRef(go);
  goRef.current = go;
  const onPick = useMemo(() => (n: GNode) => {
    if (panned.current) return;
    const r = routeOf(store, n.kind, n.ref);
    if (r) goRef.current(r);
    else selectRef.current({ kind: n.kind, ref: n.ref });
  }, [store]);
  return (
    <div class="topology">
      <div class="topology-tools">
        <button onClick={() => { moved.current = false; fitView(); }} data-testid="fit">Fit</button>
        <button onClick={() => { moved.current = true; setView({ ...v, k: Math.min(4, v.k * 1.25) }); }} aria-label="Zoom in">+</button>
        <button onClick={() => { moved.current = true; setView({ ...v, k: Math.max(0.02, v.k / 1.25) }); }} aria-label="Zoom out">−</button>
        <span class="muted" data-testid="layout-state">{done ? `${graph.nodes.length} objects` : 'laying out…'}</span>
        <span class="legend">
          <span class="swatch management" /> management interface
          <span class="swatch secondary" /> secondary interface
          <span class="swatch lock-locked" /> locked
          <span class="swatch lock-unlocked" /> unlocked
          <span class="swatch lock-disabled" /> disabled
          <span class="swatch alarm" /> spoofing alarm
          <span>· click: its own view</span>
        </span>
      </div>
      <svg ref={svgRef} class="picture" data-testid="topology" data-layout={done ? 'done' : 'pending'} data-nodes={graph.nodes.length}
        onWheel={onWheel}
        onPointerDown={(e) => { if (e.button === 0) { drag.current = { x: e.clientX, y: e.clientY, vx: v.x, vy: v.y }; panned.current = false; } }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || !(e.buttons & 1)) return;
          if (!panned.current && Math.hypot(e.clientX - d.x, e.clientY - d.y) < DRAG_PX) return;
          panned.current = moved.current = true;
          setView({ ...v, x: d.vx + e.clientX - d.x, y: d.vy + e.clientY - d.y });
        }}
        onPointerUp={() => { drag.current = undefined; }}
        onPointerLeave={() => { drag.current = undefined; }}
        onClick={() => { if (!panned.current) select(undefined); }}>
        <g transform={`translate(${v.x},${v.y}) scale(${v.k})`}>
          <g class="edges">
            {/* the many VIF edges as two paths; the infrastructure's one by one (classes, labels) */}
            {(['net-vif', 'vif-vm'] as const).map((kind) => (
              <g key={kind} class={`edge ${kind}`}><path d={graph.edges.filter((e) => e.kind === kind).map((e) => { const pts = layout.routes.get(e.id); return pts ? pathOf(e, pts) : ''; }).join(' ')} /></g>
            ))}
            {graph.edges.map((e) => {
              if (e.kind === 'net-vif' || e.kind === 'vif-vm') return null;
              const pts = layout.routes.get(e.id);
              if (!pts) return null;
              const lp = e.label && readable ? layout.labels.get(e.id) : undefined;
              return <EdgeView key={e.id} e={e} d={pathOf(e, pts)} label={lp && inView({ x: lp.x - 60, y: lp.y - 10, w: 120, h: 20 }) ? lp : undefined} />;
            })}
          </g>
          <g class="nodes">
            {graph.nodes.map((n) => {
              const b = layout.pos.get(n.id);
              return b ? <NodeView key={n.id} n={n} b={b} selected={selected?.ref === n.ref} detail={readable && inView(b)} onPick={onPick} /> : null;
            })}
          </g>
        </g>
      </svg>
    </div>
  );
}
