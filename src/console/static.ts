// Serving the web console (console/dist, built by `npm run build:console`) on GET / and /assets/*
// of the XenAPI server. The page speaks only XenAPI (POST /jsonrpc) to the server that served
// it, and the Content-Security-Policy lets it load nothing from anywhere else.

import type http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Same origin only: scripts, styles, the layout worker and XenAPI calls; no frames, no plugins. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

const SECURITY = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

interface Cached { mtimeMs: number; body: Buffer; gz?: Buffer }

const NOT_BUILT = `<!doctype html><html><head><meta charset="utf-8"><title>poolnet console</title></head><body>
<h1>The poolnet console is not built</h1><p>Run <code>npm run build:console</code> (scripts/setup.sh does it) and reload.</p>
<p>The XenAPI is served here all the same: <code>POST /jsonrpc</code> (JSON-RPC) and <code>POST /</code> (XML-RPC).</p></body></html>
`;

/**
 * A GET handler for listen()'s onGet: `/` and `/index.html` give the console's page, `/assets/...`
 * its hashed files (cached for a year); anything else is left to the caller (404).
 */
export function consoleHandler(distDir: string = CONSOLE_DIST): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  const root = resolve(distDir);
  const cache = new Map<string, Cached>();

  async function load(file: string): Promise<Cached | undefined> {
    let st;
    try { st = await stat(file); } catch { return undefined; }
    if (!st.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit;
    const entry: Cached = { mtimeMs: st.mtimeMs, body: await readFile(file) };
    cache.set(file, entry);
    return entry;
  }

  return async (req, res) => {
    let path: string;
    try { path = decodeURIComponent((req.url ?? '/').split('?')[0]); } catch { return false; }
    const isIndex = path === '/' || path === '/index.html';
    if (!isIndex && !path.startsWith('/assets/')) return false;
    const file = resolve(join(root, isIndex ? 'index.html' : path));
    if (!file.startsWith(root + sep)) return false; // no way out of the dist directory
    const entry = await load(file);
    if (!entry) {
      if (!isIndex) return false;
      res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(NOT_BUILT), 'Cache-Control': 'no-store', ...SECURITY });
      res.end(req.method === 'HEAD' ? undefined : NOT_BUILT);
      return true;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && entry.body.length > 1024 && !/^image\/png|font\//.test(type);
    if (gzip && !entry.gz) entry.gz = gzipSync(entry.body);
    const body = gzip ? entry.gz! : entry.body;
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': body.length,
      'Cache-Control': isIndex ? 'no-cache' : 'public, max-age=31536000, immutable',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      ...SECURITY,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
