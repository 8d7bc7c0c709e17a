// Starts a command: from its prebuilt bundle dist/NAME.mjs (scripts/build.ts, run by
// scripts/setup.sh) when the bundle is at least as new as every file it was built from (listed
// in dist/NAME.inputs), else from the TypeScript sources through tsx, so that a source edited
// since the last build never runs as stale code. POOLNET_BUNDLE=0 always takes the sources.
// The check is one stat per input, plain string paths (URL objects made it 4× dearer): about
// 0.6 ms for xe's 44 files (bench/xe.ts measures it).
import { readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The path of dist/NAME.mjs when it is fresh, else undefined. */
export function freshBundle(name) {
  if (process.env.POOLNET_BUNDLE === '0') return undefined;
  const bundle = `${ROOT}dist/${name}.mjs`;
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = readFileSync(`${ROOT}dist/${name}.inputs`, 'utf8').split('\n').filter((p) => p !== '');
    if (inputs.length === 0) return undefined; // a build lists at least its own script
    for (const p of inputs) if (statSync(ROOT + p).mtimeMs > built) return undefined;
  } catch {
    return undefined; // no bundle, no list, or an input gone: the sources decide
  }
  return bundle;
}

/** Where the command was started from, for tests and debugging: { from: 'bundle' | 'sources', path }. */
export const LAUNCHED = Symbol.for('poolnet.launched');

/** Run NAME from its bundle, or SOURCE (a path from the repository root) through tsx. */
export async function launch(name, source) {
  const bundle = freshBundle(name);
  globalThis[LAUNCHED] = bundle ? { from: 'bundle', path: bundle } : { from: 'sources', path: ROOT + source };
  if (bundle) return import(pathToFileURL(bundle).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(ROOT + source).href);
}
