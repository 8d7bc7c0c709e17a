// The xe argument grammar (xapi-cli-server/cli_frontend.ml parse_commandline): the first word
// is the command; `--flag` is flag=true; `-x value` is one of the known two-word switches;
// everything else is key=value split at the first `=`. Keys are case-sensitive and kept in order.

import { XeError, cliError } from './errors.ts';

export type Param = readonly [key: string, value: string];

export interface CommandLine {
  readonly cmd: string;
  readonly params: Params;
}

const SWITCH_KEYS: Readonly<Record<string, string>> = { '-u': 'username', '-pw': 'password', '-s': 'server', '-h': 'server', '-p': 'port' };

export function parseCommandLine(args: readonly string[]): CommandLine | XeError {
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd.includes('=')) return new XeError({ kind: 'syntax', detail: 'command name is missing' });
  const out: Param[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a.startsWith('--')) out.push([a.slice(2), 'true']);
    else if (a.startsWith('-')) {
      const key = SWITCH_KEYS[a];
      if (!key) return new XeError({ kind: 'syntax', detail: `Unknown switch: ${a}` });
      if (i + 1 >= rest.length) return new XeError({ kind: 'syntax', detail: `Switch ${a} requires a parameter` });
      out.push([key, rest[++i]]);
    } else {
      const eq = a.indexOf('=');
      out.push(eq < 0 ? [a, ''] : [a.slice(0, eq), a.slice(eq + 1)]);
    }
  }
  return { cmd, params: new Params(out) };
}

/** xe's boolean words (record_util.ml bool_of_string); undefined when `s` is none of them. */
export function parseCliBool(s: string): boolean | undefined {
  switch (s.toLowerCase()) {
    case 'true': case 't': case 'yes': case 'y': case '1': return true;
    case 'false': case 'f': case 'no': case 'n': case '0': return false;
    default: return undefined;
  }
}

/** Parameters that never act as list filters or field settings (cli_operations.ml stdparams). */
export const STD_PARAMS: ReadonlySet<string> = new Set(['server', 'password', 'port', 'username', 'minimal', 'force', 'multiple', 'all', 'message-priority', 'trace']);

/** The parameters of one command line; lookups use the first occurrence, as xapi's List.assoc. */
export class Params {
  constructor(readonly list: readonly Param[]) {}

  get(key: string): string | undefined {
    return this.list.find(([k]) => k === key)?.[1];
  }

  has(key: string): boolean {
    return this.list.some(([k]) => k === key);
  }

  /** A required parameter (its presence is checked before the command runs). */
  req(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw new XeError({ kind: 'missing-param', name: key });
    return v;
  }

  opt(key: string, fallback: string): string {
    return this.get(key) ?? fallback;
  }

  /** Optional, matching the key case-insensitively (pif-reconfigure-ip IP=, DNS=). */
  optNoCase(key: string, fallback: string): string {
    const k = key.toLowerCase();
    return this.list.find(([x]) => x.toLowerCase() === k)?.[1] ?? fallback;
  }

  bool(key: string, fallback = false): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const b = parseCliBool(v);
    if (b === undefined) throw cliError(`Failed to parse parameter '${key}': Expected 'true','t','yes','y','1','false','f','no','n','0' got ${v}`);
    return b;
  }

  /**
   * `name:key=value` parameters as a map (cli_operations.ml read_map_params, which skips one
   * separator character after the name, so the legacy `name-key=value` works too).
   */
  map(name: string): Record<string, string> {
    const out: Record<string, string> = {};
    const skip = name.length + 1;
    for (const [k, v] of this.list) if (k.startsWith(name) && k.length > skip && !(k.slice(skip) in out)) out[k.slice(skip)] = v;
    return out;
  }

  without(keys: ReadonlySet<string>): Param[] {
    return this.list.filter(([k]) => !keys.has(k));
  }
}
