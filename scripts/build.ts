// The prebuilt JavaScript of the two commands: dist/xe.mjs and dist/poolnet.mjs, one esbuild
// bundle each, so that `xe` and `poolnet` start without compiling TypeScript (bin/launch.mjs
// picks a bundle only while it is at least as new as every file it was built from).
//
// Beside each bundle, dist/NAME.inputs lists those files (paths from the repository root, one a
// line): the project's own sources from esbuild's metafile, package-lock.json standing for the
// npm packages bundled in, and this script. The bundle's mtime is set to the moment the build
// began, so that a source saved while esbuild ran still counts as newer.
//
// Usage: node --import tsx scripts/build.ts [--if-stale]

import { mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { builtinModules } from 'node:module';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DIST = join(ROOT, 'dist');

/** name → entry point; bin/NAME.mjs starts dist/NAME.mjs. */
export const BUNDLES: Readonly<Record<string, string>> = {
  xe: 'src/cli/xe/xe.ts',
  poolnet: 'src/cli/poolnet.ts',
};

/** Native addons cannot be bundled: Node loads them from node_modules at run time. */
const EXTERNAL = ['better-sqlite3'];

/** What every bundle also depends on, besides the sources esbuild reports. */
const ALWAYS = ['package-lock.json', 'scripts/build.ts'];

/**
 * `import.meta.url` inside a bundle would name dist/NAME.mjs, not the source file, and paths made
 * from it (`new URL('../../console/dist', import.meta.url)`) would point elsewhere. Each source's
 * `import.meta.url` becomes its own file's URL, computed from the bundle's location so that the
 * checkout can move.
 */
const sourceUrls: Plugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromDist = relative(DIST, args.path).split('\\').join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

/**
 * Node's own modules and the native addons, required where they are used: an `import` of them
 * would be hoisted to the top of the bundle and loaded at every start, also by commands that never
 * reach the module importing them (`poolnet lab status` loads no SQLite, `xe --nossl` no TLS).
 * Each becomes a CommonJS module `module.exports = require(...)` (the banner's require, resolved
 * from dist/ like the sources' imports), initialised with the module that imports it.
 */
const requiredWhereUsed: Plugin = {
  name: 'required-where-used',
  setup(b) {
    const names = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...EXTERNAL]);
    b.onResolve({ filter: /^[@a-z]/ }, (args) => (args.kind === 'import-statement' || args.kind === 'dynamic-import') && names.has(args.path) ? { path: args.path, namespace: 'required' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'required' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** dist/NAME.inputs as written by the last build, or undefined. */
function readInputs(name: string): string[] | undefined {
  try { return readFileSync(join(DIST, `${name}.inputs`), 'utf8').split('\n').filter(Boolean); } catch { return undefined; }
}

/** Whether dist/NAME.mjs is missing or older than one of its inputs (bin/launch.mjs's test). */
export function isStale(name: string): boolean {
  const inputs = readInputs(name);
  if (!inputs) return true;
  let built: number;
  try { built = statSync(join(DIST, `${name}.mjs`)).mtimeMs; } catch { return true; }
  return inputs.some((p) => {
    try { return statSync(join(ROOT, p)).mtimeMs > built; } catch { return true; }
  });
}

export async function buildBundle(name: string): Promise<{ bytes: number; inputs: number }> {
  const started = new Date();
  mkdirSync(DIST, { recursive: true });
  const out = join(DIST, `${name}.mjs`);
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await build({
    entryPoints: [join(ROOT, BUNDLES[name])],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    plugins: [sourceUrls, requiredWhereUsed],
    // CommonJS packages bundled into an ES module still call require() for Node's own modules
    banner: { js: `import { createRequire as __poolnetRequire } from 'node:module';\nconst require = __poolnetRequire(import.meta.url);` },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    write: true,
  });
  const sources = Object.keys(r.metafile.inputs).filter((p) => !p.includes('node_modules/') && !p.startsWith('required:')).map((p) => relative(ROOT, resolve(ROOT, p)));
  const inputs = [...new Set([...sources, ...ALWAYS])].sort();
  // each file appears whole or not at all: a launcher never reads a half-written one
  writeFileSync(`${tmp}.inputs`, inputs.join('\n') + '\n');
  renameSync(`${tmp}.inputs`, join(DIST, `${name}.inputs`));
  utimesSync(tmp, started, started);
  renameSync(tmp, out);
  return { bytes: statSync(out).size, inputs: inputs.length };
}

async function main(argv: readonly string[]): Promise<void> {
  const ifStale = argv.includes('--if-stale');
  for (const name of Object.keys(BUNDLES)) {
    if (ifStale && !isStale(name)) continue;
    const t0 = performance.now();
    const r = await buildBundle(name);
    process.stdout.write(`build: dist/${name}.mjs (${(r.bytes / 1024).toFixed(0)} KiB, ${r.inputs} inputs) in ${(performance.now() - t0).toFixed(0)} ms\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main(process.argv.slice(2));
