// Trust on first use for poolnetd's self-signed certificate.
//
// The real xe does not verify the server's certificate at all (stunnel with verify_cert:None).
// poolnet's xe does better without asking for a CA: the first time it meets a server it
// remembers the certificate's SHA-256 fingerprint (warning on stderr), and afterwards refuses
// a server whose certificate changed, before it sends the password. A fingerprint can also be
// pinned in advance with `fingerprint=<sha256>` (in ~/.xe, XE_EXTRA_ARGS or on the command line).

import { appendFileSync, readFileSync } from 'node:fs';

export type TrustVerdict =
  | { readonly ok: true; readonly warning?: string }
  | { readonly ok: false; readonly message: string };

export interface Trust {
  check(hostPort: string, fingerprint: string): TrustVerdict;
}

const normalise = (fp: string): string => fp.replace(/:/g, '').toUpperCase();

/** Parse the known-servers file: `<host>:<port> <SHA-256 fingerprint>` per line. */
export function parseKnownServers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [hp, fp] = line.trim().split(/\s+/);
    if (hp && fp && !hp.startsWith('#')) out.set(hp, fp);
  }
  return out;
}

export function knownServersTrust(file: string, pinned?: string): Trust {
  // one xe command makes several calls: decide (and warn) once per server
  const decided = new Map<string, TrustVerdict>();
  return {
    check(hostPort, fingerprint) {
      const key = `${hostPort} ${fingerprint}`;
      const seen = decided.get(key);
      if (seen) return seen.ok ? { ok: true } : seen;
      const v = decide(hostPort, fingerprint);
      decided.set(key, v);
      return v;
    },
  };

  function decide(hostPort: string, fingerprint: string): TrustVerdict {
    if (pinned) {
      return normalise(pinned) === normalise(fingerprint)
        ? { ok: true }
        : { ok: false, message: `Error: the certificate of ${hostPort} does not match the pinned fingerprint.\n  server:  ${fingerprint}\n  pinned:  ${pinned}` };
    }
    let known: Map<string, string>;
    try { known = parseKnownServers(readFileSync(file, 'utf8')); } catch { known = new Map(); }
    const seen = known.get(hostPort);
    if (seen !== undefined) {
      return normalise(seen) === normalise(fingerprint)
        ? { ok: true }
        : { ok: false, message: `Error: the certificate of ${hostPort} has changed since it was first trusted.\n  server:  ${fingerprint}\n  trusted: ${seen} (${file})\nIf the server's certificate was replaced on purpose, delete that line from ${file}.` };
    }
    try {
      appendFileSync(file, `${hostPort} ${fingerprint}\n`, { mode: 0o600 });
      return { ok: true, warning: `Warning: trusting the certificate of ${hostPort} on first use (SHA-256 ${fingerprint}); remembered in ${file}.` };
    } catch (e) {
      return { ok: true, warning: `Warning: trusting the certificate of ${hostPort} (SHA-256 ${fingerprint}) for this command only: cannot write ${file} (${(e as Error).message}).` };
    }
  }
}
