// XenAPI JSON-RPC client for daemon-to-daemon calls inside a pool (member to master, master to
// member). HTTPS to poolnet's self-signed certificates: the peer's certificate is pinned by its
// SHA-256 fingerprint when one is known (learned at pool join), otherwise trusted on first use.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { XapiError } from '../model/index.ts';

export interface Peer {
  /** host or host:port; port 443 by default. */
  readonly address: string;
  readonly fingerprint?: string;
  /** Plain HTTP (tests on loopback). */
  readonly insecure?: boolean;
}

const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
const plainAgent = new http.Agent({ keepAlive: true });

export class PeerCertificateMismatch extends Error {}

/** One call; resolves with the result, rejects with a XapiError (a failure) or an Error (could not talk). */
export function callPeer(peer: Peer, method: string, params: unknown[], timeoutMs = 70_000, signal?: AbortSignal): Promise<unknown> {
  const [host, port] = peer.address.includes(':') && !peer.address.includes('::') ? peer.address.split(':') : [peer.address, peer.insecure ? '80' : '443'];
  const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
  return new Promise((resolve, reject) => {
    const opts = { host, port: Number(port), path: '/jsonrpc', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs, signal };
    const req = peer.insecure ? http.request({ ...opts, agent: plainAgent }) : https.request({ ...opts, agent });
    req.on('socket', (sock) => {
      if (peer.insecure || !peer.fingerprint) return;
      const check = () => {
        const fp = (sock as TLSSocket).getPeerCertificate()?.fingerprint256;
        if (fp !== peer.fingerprint) req.destroy(new PeerCertificateMismatch(`the certificate of ${peer.address} is not the pool's (${fp})`));
      };
      // a kept-alive socket was checked when it connected; a new one is checked once TLS is up
      if (sock.connecting) sock.once('secureConnect', check); else check();
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${peer.address} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        try {
          const v = JSON.parse(text) as { result?: unknown; error?: { message: string; data?: string[] } };
          if (v.error) reject(new XapiError(v.error.message, v.error.data ?? []));
          else resolve(v.result);
        } catch {
          reject(new Error(`bad answer from ${peer.address}: HTTP ${res.statusCode}`));
        }
      });
    });
    req.end(body);
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
