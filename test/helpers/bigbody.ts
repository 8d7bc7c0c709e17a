// An oversized XML-RPC body, sent as fast as the socket takes it: what the body limit must refuse
// early (test/http-hardening.test.ts, bench/attack.ts).

import type { ClientRequest } from 'node:http';

/**
 * Write a call's opening, then filler up to `total` bytes in `chunkSize` pieces, until the request
 * is answered (destroyed) or complete; gives the bytes written so far.
 */
export function pumpBody(req: ClientRequest, total: number, chunkSize: number): () => number {
  let sent = 0;
  const chunk = Buffer.alloc(chunkSize, 'x');
  const pump = () => {
    while (sent < total && !req.destroyed) {
      sent += chunk.length;
      if (!req.write(chunk)) { req.once('drain', pump); return; }
    }
    if (!req.destroyed) req.end();
  };
  req.write('<?xml version="1.0"?><methodCall><methodName>');
  pump();
  return () => sent;
}
