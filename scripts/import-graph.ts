// The import graph of the project's own sources, and two checks on it, run by `npm run lint`
// (test/import-graph.test.ts checks the checker):
// - no cycle anywhere in src/ and console/src: the layers (model -> db -> api -> ops -> agent ->
//   daemon/lab -> cli) only hold while every arrow points one way;
// - the PIF ops in the reference's order (OPS_LAYERS below): each imports only a lower layer.
//
// Every relative import counts, `import type` too: a type-only cycle is still two modules that
// cannot be understood, changed or moved apart one at a time.
//
// Usage: node --import tsx scripts/import-graph.ts [root]   (root: the repository, by default this one)

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The source trees checked, relative to the repository root. */
export const ROOTS = ['src', 'console/src'];

/**
 * Cycles that are known and owned by open work, each as the exact set of files in it (paths from
 * the repository root). A listed cycle that grows, shrinks or changes fails the check like a new
 * one; a listed cycle that is gone is reported so that its entry is removed. Keep this list empty.
 */
export const KNOWN_CYCLES: readonly (readonly string[])[] = [];

/**
 * src/ops in the reference's order (xapi_pif_helpers -> xapi_pif -> xapi_vlan / xapi_tunnel ->
 * xapi_bond): a file listed here imports, of the ops, only files listed in a lower layer. Ops
 * files not listed (host, pool, pool_join, network, network_sriov, VIF, VM, index) build on these,
 * still without cycles.
 */
export const OPS_LAYERS: readonly (readonly string[])[] = [
  // leaf helpers: PIF kinds and the shared checks, address arithmetic, record builders, bond modes, alerts
  ['src/ops/topology.ts', 'src/ops/addr.ts', 'src/ops/pif_records.ts', 'src/ops/bond_mode.ts', 'src/ops/message.ts'],
  ['src/ops/pif.ts'],
  ['src/ops/vlan.ts', 'src/ops/tunnel.ts'],
  ['src/ops/bond.ts'],
];

const SOURCE = /\.(ts|tsx|mts)$/;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The module specifiers a file imports or re-exports, static, dynamic and `import('x').T` alike. */
export function specifiersOf(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The file a relative specifier names ('./x.ts', './x', './dir'), or undefined for a package or a non-source file. */
function resolveSpecifier(from: string, spec: string, files: ReadonlySet<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec.replace(/\?.*$/, ''));
  const candidates = [base, ...['.ts', '.tsx', '.mts'].map((e) => base + e), ...['index.ts', 'index.tsx'].map((i) => join(base, i)),
    base.replace(/\.js$/, '.ts'), base.replace(/\.jsx$/, '.tsx')];
  return candidates.find((c) => files.has(c));
}

export type Graph = ReadonlyMap<string, readonly string[]>;

/** The import graph of every source file under `roots` (absolute paths); edges stay among those files. */
export function importGraph(roots: readonly string[]): Graph {
  const files = roots.flatMap((r) => sourceFiles(r));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = specifiersOf(f, readFileSync(f, 'utf8')).map((s) => resolveSpecifier(f, s, known)).filter((d): d is string => d !== undefined);
    graph.set(f, [...new Set(deps)].sort());
  }
  return graph;
}

/** The strongly connected components with a cycle (two or more files, or a file importing itself), Tarjan's algorithm. */
export function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return out;
}

/** One closed path through a component, to show the reader where to cut: a -> b -> ... -> a. */
export function pathThrough(graph: Graph, scc: readonly string[]): string[] {
  const inside = new Set(scc);
  const start = scc[0];
  // breadth-first from start's successors back to start, inside the component
  const prev = new Map<string, string>();
  const queue = (graph.get(start) ?? []).filter((w) => inside.has(w));
  for (const w of queue) prev.set(w, start);
  while (queue.length > 0) {
    const v = queue.shift()!;
    if (v === start) break;
    for (const w of graph.get(v) ?? []) if (inside.has(w) && !prev.has(w)) { prev.set(w, v); queue.push(w); }
  }
  const path = [start];
  for (let v = prev.get(start); v !== undefined && v !== start; v = prev.get(v)) path.unshift(v);
  path.unshift(start);
  return path;
}

export interface CycleReport {
  /** Cycles not in the known list (or known ones that changed): each fails the check. */
  readonly unexpected: readonly string[][];
  /** Known cycles still there. */
  readonly known: readonly string[][];
  /** Known cycles that are gone: their entries should be removed. */
  readonly gone: readonly (readonly string[])[];
}

/** The cycles of `graph` (paths relative to `root`) against the known list. */
export function checkCycles(graph: Graph, root: string, knownCycles: readonly (readonly string[])[] = KNOWN_CYCLES): CycleReport {
  const key = (files: readonly string[]) => [...files].sort().join('\n');
  const knownKeys = new Set(knownCycles.map(key));
  const found = cycles(graph).map((scc) => scc.map((f) => relative(root, f)));
  const foundKeys = new Set(found.map(key));
  return {
    unexpected: found.filter((c) => !knownKeys.has(key(c))),
    known: found.filter((c) => knownKeys.has(key(c))),
    gone: knownCycles.filter((c) => !foundKeys.has(key(c))),
  };
}

export interface LayerReport {
  /** Imports from a layered file to one of its own layer or above (or to an unlisted file of the same tree). */
  readonly violations: readonly { readonly from: string; readonly to: string }[];
  /** Listed files that do not exist (renamed or removed: the list must follow). */
  readonly missing: readonly string[];
}

/**
 * Check that each file listed in `layers` imports, among the files under `scope`, only files of a
 * lower layer (paths relative to `root`).
 */
export function checkLayers(graph: Graph, root: string, layers: readonly (readonly string[])[] = OPS_LAYERS, scope = 'src/ops/'): LayerReport {
  const layerOf = new Map<string, number>();
  layers.forEach((files, i) => { for (const f of files) layerOf.set(f, i); });
  const violations: { from: string; to: string }[] = [];
  for (const [file, deps] of graph) {
    const from = relative(root, file);
    const mine = layerOf.get(from);
    if (mine === undefined) continue;
    for (const d of deps) {
      const to = relative(root, d);
      if (!to.startsWith(scope)) continue;
      const theirs = layerOf.get(to);
      if (theirs === undefined || theirs >= mine) violations.push({ from, to });
    }
  }
  const present = new Set([...graph.keys()].map((f) => relative(root, f)));
  return { violations, missing: [...layerOf.keys()].filter((f) => !present.has(f)) };
}

const HERE = 'scripts/import-graph.ts';

/** Check the tree at `root`; print what is wrong; true when nothing is. */
export function main(root: string): boolean {
  const graph = importGraph(ROOTS.map((r) => join(root, r)));
  const report = checkCycles(graph, root);
  const layers = checkLayers(graph, root);
  const show = (scc: readonly string[]) => pathThrough(graph, scc.map((f) => join(root, f))).map((f) => relative(root, f)).join(' -> ');
  for (const c of report.known) console.log(`import cycle (known, listed in ${HERE}): ${show(c)}`);
  for (const c of report.gone) console.log(`import cycle listed in ${HERE} is gone, remove its entry: ${c.join(', ')}`);
  for (const c of report.unexpected) console.error(`import cycle: ${show(c)}`);
  for (const v of layers.violations) console.error(`layer: ${v.from} imports ${v.to}, which is not in a lower layer of OPS_LAYERS (${HERE})`);
  for (const f of layers.missing) console.error(`layer: ${f} is listed in OPS_LAYERS (${HERE}) but does not exist`);
  const problems = report.unexpected.length + layers.violations.length + layers.missing.length;
  if (problems > 0) console.error(`${problems} import graph problem(s) among ${graph.size} files: make every import point down the layers (${HERE})`);
  return problems === 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  if (!main(root)) process.exitCode = 1;
}
