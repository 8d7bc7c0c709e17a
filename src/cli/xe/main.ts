// `xe`: one invocation from arguments to exit code. The process itself (argv, environment,
// streams, exit) is in xe.ts; everything here takes them as values so tests can drive it.

import { ERRORS, isKnownError } from '../../model/index.ts';
import { login, type Api, type Endpoint } from './client.ts';
import type { CommandContext } from './command.ts';
import { findCommand } from './commands.ts';
import { complete } from './completion.ts';
import { XeError, failureLines, type XeFailure } from './errors.ts';
import { parseCommandLine } from './grammar.ts';
import { printHelp } from './help.ts';
import { isLocalhost, parseOptions, parsePartial, portOf, usageText, usesTls, type ClientOptions, type OptionSources } from './options.ts';
import { makePrinter } from './printer.ts';
import { Resolver } from './records.ts';
import { knownServersTrust } from './trust.ts';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** One line from the terminal ('' at end of input). */
  readonly readLine: () => Promise<string>;
  readonly readFile: (path: string) => string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The on-host API socket (default: xapi's, /var/lib/xcp/xapi; tests give their own). */
  readonly localSocket?: string;
}

/** Where the real xe looks for the API of the host it runs on (newcli.ml). */
export const LOCAL_SOCKET = '/var/lib/xcp/xapi';

/** ~/.xe-known-servers: where first-use certificate fingerprints are kept (trust.ts). */
export const knownServersFile = (home: string): string => `${home}/.xe-known-servers`;

function sources(io: Io): OptionSources {
  const home = io.env.HOME ?? '';
  let rcFile: string | undefined;
  try { rcFile = io.readFile(`${home}/.xe`); } catch { rcFile = undefined; }
  return { rcFile, extraArgs: io.env.XE_EXTRA_ARGS, readFile: io.readFile };
}

/**
 * Where the calls go, by the real xe's rule (newcli.ml with_open_channels): the server named
 * `127.0.0.1` is this host, reached through its local socket, or when that cannot be connected to,
 * plain HTTP on the port (80 unless given); any other server over TLS (443 unless given) unless
 * --nossl.
 */
function endpoint(o: ClientOptions, io: Io, debug: (l: string) => void): Endpoint {
  return {
    host: o.server, port: portOf(o), tls: usesTls(o), traceparent: o.traceparent,
    local: isLocalhost(o.server) ? { path: io.localSocket ?? LOCAL_SOCKET, failed: false } : undefined,
    trust: knownServersTrust(knownServersFile(io.env.HOME ?? ''), o.fingerprint),
    warn: (l) => io.err(l + '\n'), debug,
  };
}

const noServer: Api = { call: () => Promise.reject(new XeError({ kind: 'plain', message: 'Error: this command does not talk to a server' })) };

export async function runXe(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] === '--complete') {
    const src = sources(io);
    const lines = await complete(argv[1] ?? '', {
      parse: (words) => parsePartial(words, src),
      uuids: async (cls, opts) => {
        try {
          // a server that does not answer must not hang the shell
          const ep = { ...endpoint(opts, { ...io, err: () => undefined }, () => undefined), timeoutMs: 3000 };
          const s = await login(ep, opts.username, opts.password);
          try { return Object.values((await s.call(`${cls}.get_all_records`)) as Record<string, { uuid: string }>).map((r) => r.uuid); } finally { await s.logout(); }
        } catch { return []; }
      },
    });
    for (const l of lines) io.out(l + '\n');
    return 0;
  }
  if (argv.includes('-version')) { io.out('ThinCLI protocol: 0.2\n'); return 0; }

  const parsed = parseOptions(argv, sources(io));
  if (parsed.kind === 'error') {
    io.err(parsed.message + '\n');
    if (parsed.usage) io.err(usageText());
    return 1;
  }
  for (const w of parsed.warnings) io.err(w + '\n');
  if (parsed.kind === 'usage') { io.err(usageText()); return 0; }
  const { opts, args } = parsed;

  const debugLines: string[] = [];
  const debug = (l: string) => {
    if (opts.debug) io.err(l + '\n');
    else if (opts.debugOnFail) debugLines.push(l);
  };
  let code: number;
  try {
    code = await runCommand(args, opts, io, debug);
  } catch (e) {
    // a bug in xe itself, not a failure of the command: say so rather than dump a stack
    io.err(`Error: internal error in xe: ${(e as Error)?.message ?? String(e)}\n`);
    debug((e as Error)?.stack ?? '');
    code = 1;
  }
  if (code !== 0 && opts.debugOnFail && debugLines.length > 0) io.err(`\nDebug info:\n\n${debugLines.join('\n')}\n`);
  return code;
}

async function runCommand(args: readonly string[], opts: ClientOptions, io: Io, debug: (l: string) => void): Promise<number> {
  const fail = (f: XeFailure, refText?: (p: string) => string) => { for (const l of failureLines(f, refText)) io.err(l + '\n'); return 1; };
  const cl = parseCommandLine(args);
  if (cl instanceof XeError) return fail(cl.failure);
  let minimal: boolean;
  try { minimal = cl.params.bool('minimal'); } catch { minimal = false; }
  const printer = makePrinter(minimal, io.out, io.err);

  if (cl.cmd === 'help') { printHelp(cl.params, printer, minimal); printer.flush(); return 0; }
  const spec = findCommand(cl.cmd);
  if (!spec) return fail({ kind: 'unknown-command', name: cl.cmd });
  const missing = spec.reqd.find((k) => !cl.params.has(k));
  if (missing !== undefined) return fail({ kind: 'missing-param', name: missing });

  const say = (line: string) => io.out(line + '\n');
  const ask = async (q: string) => { say(q); return io.readLine(); };
  if (spec.flags?.noSession) {
    await spec.run({ api: noServer, sessionRef: '', res: new Resolver(noServer), printer, params: cl.params, say, ask });
    printer.flush();
    return 0;
  }

  const ep = endpoint(opts, io, debug);
  let session;
  try {
    session = await login(ep, opts.username, opts.password, spec.flags?.local === true);
  } catch (e) {
    if (e instanceof XeError) return fail(e.failure);
    throw e;
  }
  const res = new Resolver(session);
  const ctx: CommandContext = { api: session, sessionRef: session.ref, res, printer, params: cl.params, say, ask };
  try {
    await spec.run(ctx);
    printer.flush();
    return 0;
  } catch (e) {
    if (!(e instanceof XeError)) throw e;
    const f = e.failure;
    // refs in a failure are shown as "uuid (name-label)", looked up while the session lives
    const names = f.kind === 'api' && isKnownError(f.code) ? ERRORS[f.code].params : [];
    const described = new Map<string, string>();
    if (f.kind === 'api') {
      for (const [i, p] of f.params.entries()) {
        if (p.startsWith('OpaqueRef:') && p !== 'OpaqueRef:NULL') described.set(p, await res.describeRef(p, names[i]));
      }
    }
    return fail(f, (p) => described.get(p) ?? p);
  } finally {
    await session.logout();
  }
}


