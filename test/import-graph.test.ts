// The import-graph check that `npm run lint` runs (scripts/import-graph.ts): it finds cycles,
// static, type-only, re-exported and dynamic alike, in a tree the test writes; it holds known
// cycles to their exact files; it catches an ops file importing its own layer or above; and on
// this repository it sees the real graph and passes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCycles, checkLayers, cycles, importGraph, pathThrough, ROOTS } from '../scripts/import-graph.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A tree of source files under a fresh temporary root. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'import-graph-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const rel = (root: string, cs: string[][]) => cs.map((c) => c.map((f) => f.slice(root.length + 1)));

test('a cycle through a type-only import, a re-export or a dynamic import is found; a chain is not', () => {
  const root = tree({
    'src/a.ts': "import type { B } from './b.ts';\nexport type A = B;\n",
    'src/b.ts': "import { c } from './sub/c.ts';\nexport type B = number;\nexport const b = c;\n",
    'src/sub/c.ts': "export { a } from '../d.ts';\nexport const c = 1;\nimport type { A } from '../a.ts';\nexport type C = A;\n",
    'src/d.ts': "export const a = 1;\n",
    'src/e.ts': "export const e = () => import('./f.ts');\n",
    'src/f.ts': "import { e } from './e';\nexport const f = e;\n",
    'src/g.ts': "import { a } from './d.ts';\nimport fs from 'node:fs';\nexport const g = [a, fs];\n",
    'src/self.ts': "export type S = import('./self.ts').T;\nexport type T = number;\n",
  });
  const graph = importGraph(ROOTS.map((r) => join(root, r)));
  assert.equal(graph.size, 8);
  assert.deepEqual(rel(root, cycles(graph)), [['src/a.ts', 'src/b.ts', 'src/sub/c.ts'], ['src/e.ts', 'src/f.ts'], ['src/self.ts']]);
  const scc = cycles(graph)[0];
  assert.deepEqual(pathThrough(graph, scc).map((f) => f.slice(root.length + 1)), ['src/a.ts', 'src/b.ts', 'src/sub/c.ts', 'src/a.ts']);
});

test('a known cycle passes only with exactly its files; a known one that is gone is reported', () => {
  const root = tree({
    'src/x.ts': "import './y.ts';\n",
    'src/y.ts': "import './x.ts';\n",
    'src/p.ts': "import './q.ts';\n",
    'src/q.ts': "import './r.ts';\n",
    'src/r.ts': "import './p.ts';\n",
  });
  const graph = importGraph([join(root, 'src')]);
  const report = checkCycles(graph, root, [['src/y.ts', 'src/x.ts'], ['src/p.ts', 'src/q.ts'], ['src/gone.ts', 'src/x.ts']]);
  assert.deepEqual(report.known, [['src/x.ts', 'src/y.ts']]);
  assert.deepEqual(report.unexpected, [['src/p.ts', 'src/q.ts', 'src/r.ts']], 'a known cycle that grew a file is a new one');
  assert.deepEqual(report.gone, [['src/p.ts', 'src/q.ts'], ['src/gone.ts', 'src/x.ts']]);
});

test('an ops file importing its own layer, a layer above or an unlisted ops file is a violation; a listed file that is gone is reported', () => {
  const root = tree({
    'src/ops/leaf.ts': "export const leaf = 1;\n",
    'src/ops/pif.ts': "import { leaf } from './leaf.ts';\nimport { host } from './host.ts';\nexport const pif = leaf + host;\n",
    'src/ops/vlan.ts': "import { pif } from './pif.ts';\nimport type { T } from './tunnel.ts';\nexport const vlan: T = pif;\n",
    'src/ops/tunnel.ts': "export type T = number;\n",
    'src/ops/host.ts': "export const host = 1;\n",
    'src/ops/bond.ts': "import { vlan } from './vlan.ts';\nimport { leaf } from './leaf.ts';\nimport { x } from '../model/x.ts';\nexport const bond = vlan + leaf + x;\n",
    'src/model/x.ts': "export const x = 1;\n",
  });
  const graph = importGraph([join(root, 'src')]);
  const layers = [['src/ops/leaf.ts'], ['src/ops/pif.ts'], ['src/ops/vlan.ts', 'src/ops/tunnel.ts'], ['src/ops/bond.ts', 'src/ops/removed.ts']];
  const report = checkLayers(graph, root, layers);
  assert.deepEqual(report.violations, [
    { from: 'src/ops/pif.ts', to: 'src/ops/host.ts' },
    { from: 'src/ops/vlan.ts', to: 'src/ops/tunnel.ts' },
  ]);
  assert.deepEqual(report.missing, ['src/ops/removed.ts']);
});

test('the lint command fails on a tree with a cycle and names it', () => {
  const root = tree({ 'src/a.ts': "import './b.ts';\n", 'src/b.ts': "import './a.ts';\n" });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/import-graph.ts'), root], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^import cycle: src\/a\.ts -> src\/b\.ts -> src\/a\.ts$/m);
});

test('this repository: the real graph is read, it has no cycle but the known ones, and the PIF ops are layered', () => {
  const graph = importGraph(ROOTS.map((r) => join(REPO, r)));
  assert.ok(graph.size > 100, `${graph.size} files`);
  const deps = (f: string) => (graph.get(join(REPO, f)) ?? []).map((d) => d.slice(REPO.length + 1));
  // the edges the layers are made of are seen (an empty graph would pass trivially)
  assert.ok(deps('src/ops/bond.ts').includes('src/ops/pif.ts'));
  assert.ok(deps('src/ops/bond.ts').includes('src/ops/vlan.ts'));
  assert.ok(deps('src/ops/bond.ts').includes('src/ops/tunnel.ts'));
  assert.ok(deps('src/ops/vlan.ts').includes('src/ops/pif.ts'));
  assert.ok(deps('console/src/logic/model.ts').includes('src/model/index.ts'), 'the console reaches into src/model');
  assert.deepEqual(deps('src/ops/pif.ts').filter((d) => /ops\/(vlan|tunnel|bond)\.ts$/.test(d)), [], 'PIF imports nothing above it');
  assert.deepEqual(checkCycles(graph, REPO).unexpected, []);
  assert.deepEqual(checkLayers(graph, REPO), { violations: [], missing: [] });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/import-graph.ts')], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
