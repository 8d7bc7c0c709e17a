// ELK in a web worker (elkjs's own worker script, bundled as an asset of the console), so that
// laying out a large pool never blocks the page.
import ELK from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';
import type { ElkLayoutFn } from './logic/layout.ts';

const elk = new ELK({ workerUrl });

export const elkLayout: ElkLayoutFn = (g) => elk.layout(g);
