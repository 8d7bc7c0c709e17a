// XenAPI JSON-RPC client for daemon-to-daemon calls inside a pool (member to master, master to
// member). HTTPS to poolnet's self-signed certificates, pinned by SHA-256 fingerprint: a call to
// a pinned peer sends nothing (no request line, no body, so no pool secret) until the peer's
// certificate is one of the pins. Only pool.join learns a master's certificate on first use.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { XapiError } from '../model/index.ts';

export interface Peer {
  /** host or host:port; port 443 by default. */
  readonly address: string;
  /** The certificates this peer may present (SHA-256 fingerprints); empty or absent: not pinned. */
  readonly fingerprints?: readonly string[];
  /** Plain HTTP (tests on loopback). */
  readonly insecure?: boolean;
  /**
   * A connection of its own, closed after the call: for the master's rare calls to members, where
   * a kept-alive connection may have died unnoticed (the master's address changed meanwhile).
   */
  readonly fresh?: boolean;
}

// no TLS session resumption: a resumed session shows no certificate, and every new connection
// must show the pinned one
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxCachedSessions: 0 });
const plainAgent = new http.Agent({ keepAlive: true });
const freshAgent = new https.Agent({ keepAlive: false, rejectUnauthorized: false, maxCachedSessions: 0 });
const freshPlainAgent = new http.Agent({ keepAlive: false });

export class PeerCertificateMismatch extends Error {}

/** One call; resolves with the result, rejects with a XapiError (a failure) or an Error (could not talk). */
export function callPeer(peer: Peer, method: string, params: unknown[], timeoutMs = 70_000, signal?: AbortSignal): Promise<unknown> {
  const [host, port] = peer.address.includes(':') && !peer.address.includes('::') ? peer.address.split(':') : [peer.address, peer.insecure ? '80' : '443'];
  const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
  const pins = peer.fingerprints ?? [];
  if (!peer.insecure && pins.length === 0) return Promise.reject(new PeerCertificateMismatch(`no certificate is pinned for ${peer.address}`));
  return new Promise((resolve, reject) => {
    const opts = { host, port: Number(port), path: '/jsonrpc', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs, signal };
    const req = peer.insecure ? http.request({ ...opts, agent: peer.fresh ? freshPlainAgent : plainAgent }) : https.request({ ...opts, agent: peer.fresh ? freshAgent : agent });
    if (peer.insecure) req.end(body);
    else {
      req.on('socket', (sock) => {
        const tls = sock as TLSSocket;
        const check = () => {
          const fp = tls.getPeerCertificate()?.fingerprint256;
          if (fp && pins.includes(fp)) req.end(body);
          else req.destroy(new PeerCertificateMismatch(`the certificate of ${peer.address} (${fp ?? 'none'}) is not the one pinned for it`));
        };
        // a kept-alive socket is past its handshake; a new one is checked once TLS is up
        if (tls.getPeerCertificate?.()?.fingerprint256) check(); else tls.once('secureConnect', check);
      });
    }
    req.on('timeout', () => req.destroy(new Error(`no answer from ${peer.address} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        try {
          const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data?: string[] } };
          if (v.error) reject(XapiError.relayed(v.error.message, v.error.data ?? []));
          else resolve(v.result);
        } catch {
          reject(new Error(`bad answer from ${peer.address}: HTTP ${res.statusCode}`));
        }
      });
    });
  });
}

/** The SHA-256 fingerprint of a peer's certificate (trust on first use at pool join). */
export function peerFingerprint(address: string): Promise<string> {
  const [host, port] = address.includes(':') ? address.split(':') : [address, '443'];
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port: Number(port), path: '/', method: 'GET', rejectUnauthorized: false, agent: false, timeout: 10_000 }, (res) => {
      const fp = (res.socket as TLSSocket).getPeerCertificate()?.fingerprint256;
      res.resume();
      if (fp) resolve(fp); else reject(new Error(`no certificate from ${address}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address}`)));
    req.on('error', reject);
    req.end();
  });
}
