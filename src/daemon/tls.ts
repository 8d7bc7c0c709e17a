// The daemon's self-signed certificate, generated once into the data directory.

import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Tls { key: string; cert: string; fingerprint: string }

export async function ensureCertificate(dataDir: string, hostname: string): Promise<Tls> {
  const keyPath = join(dataDir, 'server.key');
  const certPath = join(dataDir, 'server.crt');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    // loaded only to make a certificate (once per host): the library is a good part of a daemon's memory
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: hostname }], {
      keySize: 2048, algorithm: 'sha256', notAfterDate: new Date(Date.now() + 10 * 365 * 86400_000),
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert, { mode: 0o644 });
  }
  chmodSync(keyPath, 0o600); // a key copied in or left by an older version
  const key = readFileSync(keyPath, 'utf8');
  const cert = readFileSync(certPath, 'utf8');
  return { key, cert, fingerprint: new X509Certificate(cert).fingerprint256 };
}
