// Starts a command: from its prebuilt bundle dist/NAME.mjs (scripts/build.ts, run by
// scripts/setup.sh) when the bundle is at least as new as every file it was built from (listed
// in dist/NAME.inputs), else from the TypeScript sources through tsx, so that a source edited
// since the last build never runs as stale code. POOLNET_BUNDLE=0 always takes the sources.
// The check is one stat per input (about 0.1 ms for xe's 50 files).
import { readFileSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);

/** dist/NAME.mjs when it is fresh, else undefined. */
export function freshBundle(name) {
  if (process.env.POOLNET_BUNDLE === '0') return undefined;
  const bundle = new URL(`dist/${name}.mjs`, ROOT);
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = readFileSync(new URL(`dist/${name}.inputs`, ROOT), 'utf8').split('\n');
    for (const p of inputs) if (p !== '' && statSync(new URL(p, ROOT)).mtimeMs > built) return undefined;
  } catch {
    return undefined; // no bundle, no list, or an input gone: the sources decide
  }
  return bundle;
}

/** Run NAME from its bundle, or SOURCE (a path from the repository root) through tsx. */
export async function launch(name, source) {
  const bundle = freshBundle(name);
  if (bundle) return import(bundle.href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(new URL(source, ROOT).href);
}
