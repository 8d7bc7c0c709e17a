// Connection options, as the real xe client takes them (xe-cli/newcli.ml parse_args, options.ml).
// Sources, later wins: ~/.xe, then XE_EXTRA_ARGS, then the command line. Keys that are not
// connection options are passed on to the command (e.g. `minimal=true` in ~/.xe), after the
// command line's own arguments, so that the command line wins there too.

import { parseCliBool } from './grammar.ts';

export interface ClientOptions {
  server: string;
  port: number | undefined;
  username: string;
  password: string;
  passwordFile: string;
  nossl: boolean;
  debug: boolean;
  debugOnFail: boolean;
  traceparent: string | undefined;
  /** poolnet: pin the server certificate's SHA-256 fingerprint instead of trusting on first use. */
  fingerprint: string | undefined;
}

export type ParsedOptions =
  | { readonly kind: 'run'; readonly opts: ClientOptions; readonly args: readonly string[]; readonly warnings: readonly string[] }
  | { readonly kind: 'usage'; readonly warnings: readonly string[] }
  | { readonly kind: 'error'; readonly message: string; readonly usage: boolean };

export function defaultOptions(): ClientOptions {
  return {
    server: '127.0.0.1', port: undefined, username: 'root', password: 'null', passwordFile: '',
    nossl: false, debug: false, debugOnFail: false, traceparent: undefined, fingerprint: undefined,
  };
}

/**
 * The server named exactly `127.0.0.1` is this host, as the real xe decides it (newcli.ml
 * is_localhost: the string, not what it resolves to; `localhost` or `127.0.0.2` are not).
 */
export const isLocalhost = (server: string): boolean => server === '127.0.0.1';

/** TLS unless --nossl, and never on-host (the real xe: "never use SSL on-host"). */
export const usesTls = (o: ClientOptions): boolean => !o.nossl && !isLocalhost(o.server);

/** The port: as given, else 443 with TLS and 80 without (so 80 on-host, --nossl or not). */
export const portOf = (o: ClientOptions): number => o.port ?? (usesTls(o) ? 443 : 80);

class OptionError extends Error {
  constructor(message: string, readonly usage: boolean) { super(message); }
}

/** Apply a connection option; false when `key` is not one (the argument goes to the command). */
function setKeyword(o: ClientOptions, key: string, value: string): boolean {
  switch (key) {
    case 'server': o.server = value; return true;
    case 'port': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 0 && n <= 65535)) throw new OptionError('Port number must be an integer (0-65535)', true);
      o.port = n;
      return true;
    }
    case 'username': o.username = value; return true;
    case 'password': o.password = value; return true;
    case 'passwordfile': o.passwordFile = value; return true;
    case 'nossl': o.nossl = parseCliBool(value) ?? badBool(key, value); return true;
    case 'debug': o.debug = parseCliBool(value) ?? false; return true;
    case 'debugonfail': o.debugOnFail = parseCliBool(value) ?? false; return true;
    case 'traceparent': o.traceparent = value; return true;
    case 'fingerprint': o.fingerprint = value; return true;
    default: return false;
  }
}

function badBool(key: string, value: string): never {
  throw new OptionError(`Failed to parse parameter '${key}': Expected 'true','t','yes','y','1','false','f','no','n','0' got ${value}`, false);
}

const SWITCHES: Readonly<Record<string, { key: string; takesValue: boolean }>> = {
  '-s': { key: 'server', takesValue: true },
  '-h': { key: 'server', takesValue: true },
  '-p': { key: 'port', takesValue: true },
  '-u': { key: 'username', takesValue: true },
  '-pw': { key: 'password', takesValue: true },
  '-pwf': { key: 'passwordfile', takesValue: true },
  '--traceparent': { key: 'traceparent', takesValue: true },
  '--nossl': { key: 'nossl', takesValue: false },
  '--debug': { key: 'debug', takesValue: false },
  '--debug-on-fail': { key: 'debugonfail', takesValue: false },
};

/** Consume the connection options in `args`; the rest, in order, goes to the command. */
function processArgs(o: ClientOptions, args: readonly string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const sw = SWITCHES[a];
    if (sw && (!sw.takesValue || i + 1 < args.length)) {
      setKeyword(o, sw.key, sw.takesValue ? args[++i] : 'true');
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0 && setKeyword(o, a.slice(0, eq), a.slice(eq + 1))) continue;
    rest.push(a);
  }
  return rest;
}

/** ~/.xe: `key=value` lines; blank lines skipped; any other line invalidates the whole file. */
export function parseRcFile(text: string): { pairs: [string, string][]; warning?: string } {
  const pairs: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) return { pairs: [], warning: 'Error parsing rc file. No defaults loaded' };
    pairs.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return { pairs };
}

/**
 * XE_EXTRA_ARGS: comma-separated arguments; `\,` keeps a comma inside one, and every
 * backslash is then removed (the same loop as newcli.ml).
 */
export function splitExtraArgs(s: string): string[] {
  const out: string[] = [];
  let pos = 0;
  let i = 0;
  while (pos < s.length) {
    if (s[pos] === ',') { pos++; i = pos; } else if (i >= s.length || (s[i] === ',' && s[i - 1] !== '\\')) {
      out.push(s.slice(pos, i).replace(/\\/g, ''));
      i++;
      pos = i;
    } else i++;
  }
  return out;
}

export interface OptionSources {
  /** Contents of ~/.xe, if it exists. */
  readonly rcFile?: string;
  readonly extraArgs?: string;
  readonly readFile: (path: string) => string;
}

interface Collected {
  readonly opts: ClientOptions;
  /** Arguments for the command, from the command line, XE_EXTRA_ARGS and ~/.xe in that order. */
  readonly argsRest: readonly string[];
  readonly extrasRest: readonly string[];
  readonly rcRest: readonly string[];
  readonly help: boolean;
  readonly warnings: readonly string[];
}

/** Apply the three sources in order; throws OptionError. */
function collect(argv: readonly string[], src: OptionSources): Collected {
  const opts = defaultOptions();
  const warnings: string[] = [];
  const rc = src.rcFile !== undefined ? parseRcFile(src.rcFile) : { pairs: [] };
  if (rc.warning) warnings.push(rc.warning);
  const rcRest = rc.pairs.filter(([k, v]) => !setKeyword(opts, k, v)).map(([k, v]) => `${k}=${v}`);
  const extrasRest = processArgs(opts, splitExtraArgs(src.extraArgs ?? ''));
  const help = argv.some((a) => a === '-help' || a === '--help');
  const argsRest = processArgs(opts, argv.filter((a) => a !== '-help' && a !== '--help'));
  return { opts, argsRest, extrasRest, rcRest, help, warnings };
}

export function parseOptions(argv: readonly string[], src: OptionSources): ParsedOptions {
  let c: Collected;
  try { c = collect(argv, src); } catch (e) {
    if (e instanceof OptionError) return { kind: 'error', message: e.message, usage: e.usage };
    throw e;
  }
  const { opts: o, warnings } = c;
  if (c.help) return { kind: 'usage', warnings };
  if (o.passwordFile !== '') {
    let text: string;
    try { text = src.readFile(o.passwordFile); } catch { return { kind: 'error', message: `Error opening password file '${o.passwordFile}'`, usage: false }; }
    const lines = text.split('\n');
    // two lines are needed; a lone "user\n" has no second line
    if (lines.length < 2 || (lines.length === 2 && lines[1] === '')) return { kind: 'error', message: 'Error: password file format: expecting username on the first line, password on the second line', usage: false };
    o.username = lines[0];
    o.password = lines[1];
  }
  const args = [...c.argsRest, ...c.extrasRest, ...c.rcRest];
  if (args.length === 0) return { kind: 'usage', warnings };
  return { kind: 'run', opts: o, args, warnings };
}

/** For completion: the options so far and the command-line words that belong to the command. */
export function parsePartial(argv: readonly string[], src: OptionSources): { opts: ClientOptions; commandArgs: readonly string[] } | undefined {
  try {
    const c = collect(argv, src);
    if (c.opts.passwordFile !== '') {
      const [u, p] = src.readFile(c.opts.passwordFile).split('\n');
      if (p !== undefined) { c.opts.username = u; c.opts.password = p; }
    }
    return { opts: c.opts, commandArgs: c.argsRest };
  } catch {
    return undefined;
  }
}

export function usageText(argv0 = 'xe'): string {
  return `Usage:
  ${argv0} <command>
    [ -s <server> ]            XenServer host
    [ -p <port> ]              XenServer port number
    [ -u <username> -pw <password> | -pwf <password file> ]
                               User authentication (password or file)
    [ --nossl ]                Disable SSL/TLS
    [ --debug ]                Enable debug output
    [ --debug-on-fail ]        Enable debug output only on failure
    [ --minimal ]              Output only values in a comma-separated lists
    [ --traceparent <value> ]  Distributed tracing context
    [ --trace ]                Show task stacktrace on failure
    [ <other arguments> ... ]  Command-specific options

A full list of commands can be obtained by running
  ${argv0} help -s <server> -p <port>
`;
}
