// Everything that can stop an xe invocation, as typed values. The text printed for each
// follows xapi's exception handler (xapi_cli.ml, cli_util.ml): all of it on stderr, exit 1.

import { ERRORS, isKnownError } from '../../model/index.ts';

export type XeFailure =
  /** A XenAPI failure [code, ...params] (also xe's pseudo-codes such as "Missing parameter"). */
  | { readonly kind: 'api'; readonly code: string; readonly params: readonly string[] }
  /** A failure raised by the command itself: printed as "Error: <message>". */
  | { readonly kind: 'cli'; readonly message: string }
  | { readonly kind: 'unknown-command'; readonly name: string }
  | { readonly kind: 'missing-param'; readonly name: string }
  | { readonly kind: 'syntax'; readonly detail: string }
  /** Printed verbatim (connection problems, password files, certificates). */
  | { readonly kind: 'plain'; readonly message: string };

export class XeError extends Error {
  constructor(readonly failure: XeFailure) {
    super(failure.kind === 'api' ? `${failure.code} [${failure.params.join(', ')}]` : 'message' in failure ? failure.message : failure.kind);
  }
}

export const cliError = (message: string): XeError => new XeError({ kind: 'cli', message });
export const apiError = (code: string, params: readonly string[]): XeError => new XeError({ kind: 'api', code, params });

const USAGE_HINT = "For usage run: 'xe help'";

/**
 * The stderr lines for a failure. `refText` turns an OpaqueRef parameter into
 * "uuid (name-label)" when it can (xapi's ref_convert).
 */
export function failureLines(f: XeFailure, refText: (p: string) => string = (p) => p): string[] {
  switch (f.kind) {
    case 'unknown-command': return [`Unknown command: ${f.name}`, USAGE_HINT];
    case 'missing-param': return [`Required parameter not found: ${f.name}`, USAGE_HINT];
    case 'syntax': return [f.detail ? `Syntax error: ${f.detail}` : 'Syntax error', USAGE_HINT];
    case 'cli': return [`Error: ${f.message}`];
    case 'plain': return [f.message];
    case 'api': {
      if (f.code === 'SESSION_AUTHENTICATION_FAILED') {
        // xapi sends [uname, reason]; an empty user name means none was given
        return [f.params[0] === '' ? 'Username/password must be specified' : 'Authentication failed', USAGE_HINT];
      }
      const params = f.params.map(refText);
      if (!isKnownError(f.code)) return [`Error code: ${f.code}`, `Error parameters: ${params.join(', ')}`];
      const spec = ERRORS[f.code];
      const lines = [spec.doc];
      const n = Math.max(spec.params.length, params.length);
      for (let i = 0; i < n; i++) {
        const name = i < spec.params.length ? spec.params[i] : '<extra>';
        lines.push(`${name}: ${i < params.length ? params[i] : '<unknown>'}`);
      }
      return lines;
    }
  }
}
