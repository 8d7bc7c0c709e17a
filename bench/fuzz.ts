// A million hostile inputs: `node --import tsx bench/fuzz.ts` (npm run bench:fuzz).
//
// Generated XML-RPC and JSON-RPC bodies (bench/fuzz-inputs.ts: broken, mutated, misnested,
// deep, invalid UTF-8, random bytes, calls with hostile parameters) and `xe` command lines
// (hostile commands, parameter names and values). Bodies go through the server's own request
// path (bodyAnswerer: decode, parse, login throttle, dispatch, print) on a real pool database,
// in-process rather than over a million sockets (test/fuzz.test.ts covers the sockets); a share
// of them carries a valid root session and real object references, so the implementations run
// on hostile values. `xe` lines go through xe's option and command-line parsers and its
// command code, with calls made in-process on the same API. The database is made afresh every
// CHUNK inputs so that what the fuzz creates does not pile up.
//
// Every answer must be a XenAPI error, a proper result, or (for bodies that do not parse) the
// reference's HTTP 500 page. It prints counts per kind of answer; INTERNAL_ERROR answers and
// anything else are listed as findings. Runs on worker threads, one per CPU.

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { Api } from '../src/api/dispatch.ts';
import { bodyAnswerer, type Reply } from '../src/api/http.ts';
import { DEFAULT_THROTTLE, LoginThrottle } from '../src/api/login-throttle.ts';
import { setRootPassword } from '../src/api/sessions.ts';
import { parseMethodResponse } from '../src/api/xmlrpc.ts';
import { findCommand, visibleCommands } from '../src/cli/xe/commands.ts';
import type { Api as XeApi } from '../src/cli/xe/client.ts';
import { XeError, apiError } from '../src/cli/xe/errors.ts';
import { parseCommandLine } from '../src/cli/xe/grammar.ts';
import { parseOptions } from '../src/cli/xe/options.ts';
import { makePrinter } from '../src/cli/xe/printer.ts';
import { Resolver } from '../src/cli/xe/records.ts';
import { Database } from '../src/db/database.ts';
import { initialise, type HostFacts } from '../src/db/init.ts';
import { opsImpls } from '../src/ops/index.ts';
import { anyText, jsonBody, xmlBody } from './fuzz-inputs.ts';

const TOTAL = Number(process.env.FUZZ_TOTAL ?? 1_000_000);
/** Shares of the inputs: XML-RPC, JSON-RPC, xe. */
const SHARES = { xml: 0.4, json: 0.4, xe: 0.2 };
const CHUNK = 20_000;
const BATCH = 500;
const LANES = 8;
const ANSWER_MS = 10_000;
const PASSWORD = 'fuzz-root-pw';

const FACTS: HostFacts = {
  hostname: 'fuzz1',
  nics: [0, 1, 2].map((i) => ({ device: `eth${i}`, mac: `02:00:00:00:0f:0${i}`, mtu: 1500, carrier: true, speed: 1000, ipv4: i === 0 ? [{ ip: '10.7.0.11', prefix: 24 }] : [], gateway: i === 0 ? '10.7.0.1' : '' })),
  dns: ['10.7.0.1'],
};

type Kind = 'xml' | 'json' | 'xe';
interface Counts { inputs: Record<Kind, number>; answers: Record<string, number>; findings: Record<string, number>; crashes: number; ms: number }

// ---------------------------------------------------------------- a pool to fuzz

interface Pool { api: Api; db: Database; session: string; refs: string[]; answer: (path: string, raw: Buffer, address: string) => Promise<Reply>; dir: string }

async function freshPool(): Promise<Pool> {
  const dir = mkdtempSync(join(tmpdir(), 'poolnet-fuzz-'));
  const db = new Database(join(dir, 'pool.db'));
  initialise(db, FACTS, { backend: 'openvswitch' });
  db.transact((tx) => setRootPassword(tx, PASSWORD));
  const thisHost = () => db.all('host').next().value!.ref;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const api = new Api({ db, thisHost, log, hostNics: () => FACTS.nics }, opsImpls);
  const r = await api.call('session.login_with_password', ['root', PASSWORD]);
  if (!r.ok) throw new Error(`login: ${r.error.description.join(' ')}`);
  const session = r.value as string;
  // a VM with a VIF, so that VIF and VM calls have something real to act on
  const vm = await api.call('VM.create', [session, { name_label: 'fuzz-vm' }]);
  const net = [...db.all('network')][0].ref;
  if (vm.ok) await api.call('VIF.create', [session, { device: '0', network: net, VM: vm.value as string, MAC: '02:00:00:00:0f:99', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }]);
  const refs = [...db.all('network'), ...db.all('PIF'), ...db.all('VIF'), ...db.all('VM'), ...db.all('host'), ...db.all('pool')].map((o) => o.ref);
  // refusals at once: the fuzz is about what is answered, not when
  const answer = bodyAnswerer(api, { throttle: new LoginThrottle({ ...DEFAULT_THROTTLE, refusalDelayMs: 0 }) });
  return { api, db, session, refs, answer, dir };
}

/** Close the pool once the Async calls it started have finished (they write their task's end). */
async function dispose(p: Pool): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < 10_000 && [...p.db.all('task')].some((t) => t.rec.status === 'pending' || t.rec.status === 'cancelling');) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
  p.db.close();
  rmSync(p.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- judging answers

/** The kind of an answer, or a finding (a string starting with '!') when it is not a proper one. */
function judge(isJson: boolean, r: Reply): string {
  const text = typeof r.body === 'string' ? r.body : Buffer.concat(r.body).toString('utf8');
  if (r.status === 500) return r.type === 'text/html' && text.includes('Parse_error(') ? 'HTTP 500 parse error' : `!HTTP 500 without a parse error`;
  if (r.status !== 200) return `!HTTP ${r.status}`;
  if (isJson) {
    if (r.type !== 'application/json') return `!content-type ${r.type}`;
    let v: { result?: unknown; error?: unknown; jsonrpc?: string };
    try { v = JSON.parse(text) as typeof v; } catch { return '!unparsable JSON answer'; }
    const e = v.error as { message?: unknown; data?: unknown } | unknown[] | null | undefined;
    if (e && !Array.isArray(e) && typeof e.message === 'string' && Array.isArray(e.data)) return e.message === 'INTERNAL_ERROR' ? `!INTERNAL_ERROR ${String(e.data[0]).slice(0, 80)}` : e.message;
    if (Array.isArray(e) && typeof e[0] === 'string') return e[0] === 'INTERNAL_ERROR' ? `!INTERNAL_ERROR ${String(e[1]).slice(0, 80)}` : e[0];
    if ('result' in v && !e) return 'result';
    return '!not a JSON-RPC answer';
  }
  if (r.type !== 'text/xml') return `!content-type ${r.type}`;
  let v: unknown;
  try { v = parseMethodResponse(text); } catch (e) { return `!unparsable XML answer: ${(e as Error).message}`; }
  const s = v as { Status?: unknown; ErrorDescription?: unknown };
  if (s.Status === 'Failure' && Array.isArray(s.ErrorDescription) && typeof s.ErrorDescription[0] === 'string') {
    const code = s.ErrorDescription[0];
    return code === 'INTERNAL_ERROR' ? `!INTERNAL_ERROR ${String(s.ErrorDescription[1]).slice(0, 80)}` : code;
  }
  if (s.Status === 'Success' || Array.isArray(v)) return 'result';
  return '!not a methodResponse';
}

// ---------------------------------------------------------------- xe command lines

const XE_KEYS = ['uuid', 'name-label', 'name-description', 'network-uuid', 'host-uuid', 'pif-uuid', 'vm-uuid', 'vif-uuid', 'device', 'mac', 'MTU', 'mtu', 'vlan', 'mode',
  'params', 'other-config:mtu', 'other-config:domain', 'other-config:k', 'ipv4-allowed', 'ipv6-allowed', 'locking-mode', 'IP', 'netmask', 'gateway', 'DNS', 'bridge',
  'properties:mode', 'trunks', 'qos_algorithm_type', 'qos_algorithm_params:kbps', 'hostname', 'master-address', 'protocol', 'transport-pif', 'force', 'minimal', 'all'];

function xeArgv(uuids: readonly string[]): fc.Arbitrary<string[]> {
  const cmd = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...visibleCommands()) }, { weight: 1, arbitrary: anyText }, { weight: 1, arbitrary: fc.constantFrom('help', '', '-', '--', 'help=x', 'vif-list--') });
  const value = fc.oneof(anyText, fc.constantFrom(...uuids), fc.integer({ min: -5, max: 70_000 }).map(String), fc.constantFrom('true', 'false', 'yes', 'locked', 'active-backup', '10.0.0.1', 'fe80::1%eth0', '1.5', '', ',', 'a,b', 'uuid,name-label', '\n', '-F/etc/shadow'));
  const param = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...XE_KEYS), anyText), value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: fc.constantFrom('--minimal', '--force', '--multiple', '-u', '-pw', '-s', '--debug', '--nossl', '-p', '=', 'x=', '=y') },
    { weight: 1, arbitrary: anyText },
  );
  // most lines name the command's required parameters, so that the command itself runs
  return fc.tuple(cmd, fc.array(param, { maxLength: 6 }), fc.array(value, { minLength: 4, maxLength: 4 }), fc.nat(9)).map(([c, ps, vs, coin]) => {
    const reqd = coin < 8 ? (findCommand(c)?.reqd ?? []) : [];
    return [c, ...reqd.map((k, i) => `${k}=${vs[i % vs.length]}`), ...ps];
  });
}

/** xe without its process and without a server round trip: options, command line, the command, calls in-process. */
async function runXe(p: Pool, argv: readonly string[]): Promise<string> {
  const parsed = parseOptions(argv, { rcFile: undefined, extraArgs: undefined, readFile: () => { throw new Error('no files here'); } });
  if (parsed.kind === 'error') return 'xe: option error';
  if (parsed.kind === 'usage') return 'xe: usage';
  const cl = parseCommandLine(parsed.args);
  if (cl instanceof XeError) return `xe: ${cl.failure.kind}`;
  const printer = makePrinter(false, () => undefined, () => undefined);
  const spec = cl.cmd === 'help' ? undefined : findCommand(cl.cmd);
  if (cl.cmd !== 'help' && !spec) return 'xe: unknown-command';
  if (spec && spec.reqd.some((k) => !cl.params.has(k))) return 'xe: missing-param';
  if (!spec) return 'xe: help';
  const api: XeApi = {
    call: async (method, ...args) => {
      const r = await p.api.call(method, [p.session, ...args] as never[]);
      if (!r.ok) throw apiError(r.error.code, r.error.params);
      // what the JSON-RPC transport would hand xe
      return JSON.parse(JSON.stringify(r.value ?? ''));
    },
  };
  try {
    await spec.run({ api, sessionRef: p.session, res: new Resolver(api), printer, params: cl.params, say: () => undefined, ask: async () => 'no' });
    printer.flush();
    return 'xe: done';
  } catch (e) {
    if (!(e instanceof XeError)) return `!xe threw ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message).slice(0, 80)}`;
    const f = e.failure;
    if (f.kind === 'api') return f.code === 'INTERNAL_ERROR' ? `!xe INTERNAL_ERROR ${String(f.params[0]).slice(0, 80)}` : `xe: ${f.code}`;
    return `xe: ${f.kind}`;
  }
}

// ---------------------------------------------------------------- a worker's share

/** A body of a valid session (sometimes) and real references: the implementations run, not only the checks. */
function withRealRefs(p: Pool, body: Uint8Array, rnd: number): Buffer {
  const text = Buffer.from(body).toString('latin1');
  // a valid session would make these wait for events up to their timeout: left with a bogus one
  if (/event\.(from|next)/.test(text)) return Buffer.from(body);
  let i = 0;
  const out = text.replace(/OpaqueRef:[0-9a-f-]{36}/g, () => (i++ === 0 ? p.session : p.refs[(rnd + i) % p.refs.length]));
  return Buffer.from(out, 'latin1');
}

async function work(share: Record<Kind, number>, seed: number): Promise<Counts> {
  const counts: Counts = { inputs: { xml: 0, json: 0, xe: 0 }, answers: {}, findings: {}, crashes: 0, ms: 0 };
  const t0 = Date.now();
  const bump = (m: Record<string, number>, k: string) => { m[k] = (m[k] ?? 0) + 1; };
  const record = (kind: Kind, answer: string) => {
    counts.inputs[kind]++;
    if (answer.startsWith('!')) bump(counts.findings, `${kind}: ${answer.slice(1)}`); else bump(counts.answers, `${kind}: ${answer}`);
  };
  let p = await freshPool();
  let sinceFresh = 0;
  let s = seed;
  const left: Record<Kind, number> = { ...share };
  // batches of the three kinds in turn
  const plan: Kind[] = [];
  for (const l = { ...share }; l.xml + l.json + l.xe > 0;) for (const k of ['xml', 'json', 'xe'] as const) if (l[k] > 0) { plan.push(k); l[k] -= BATCH; }
  for (const kind of plan) {
    const n = Math.min(BATCH, left[kind]);
    left[kind] -= n;
    if (sinceFresh >= CHUNK) { await dispose(p); p = await freshPool(); sinceFresh = 0; }
    sinceFresh += n;
    s++;
    try {
      if (kind === 'xe') {
        for (const argv of fc.sample(xeArgv(p.refs.map((r) => p.db.get(r)?.rec.uuid as string).filter(Boolean)), { numRuns: n, seed: s })) record('xe', await runXe(p, argv));
      } else {
        const isJson = kind === 'json';
        const bodies = fc.sample(isJson ? jsonBody : xmlBody, { numRuns: n, seed: s });
        const path = isJson ? '/jsonrpc' : '/';
        // a few at a time, as connections would; an answer that takes longer than ANSWER_MS is a finding
        let next = 0;
        const lane = async () => {
          for (let i = next++; i < bodies.length; i = next++) {
            const raw = i % 3 === 0 ? withRealRefs(p, bodies[i], s + i) : Buffer.from(bodies[i]);
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<string>((resolve) => { timer = setTimeout(() => resolve(`!no answer within ${ANSWER_MS} ms`), ANSWER_MS); });
            record(kind, await Promise.race([p.answer(path, raw, '10.99.0.1').then((r) => judge(isJson, r)), late]));
            clearTimeout(timer);
          }
        };
        await Promise.all(Array.from({ length: LANES }, lane));
      }
    } catch (e) {
      counts.crashes++;
      bump(counts.findings, `${kind}: crash ${(e as Error)?.message?.slice(0, 100)}`);
    }
  }
  await dispose(p);
  counts.ms = Date.now() - t0;
  return counts;
}

// ---------------------------------------------------------------- main

if (!isMainThread) {
  const uncaught: string[] = [];
  process.on('uncaughtException', (e) => { uncaught.push(`uncaught: ${(e as Error)?.stack ?? String(e)}`.slice(0, 400)); });
  process.on('unhandledRejection', (e) => { uncaught.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`.slice(0, 400)); });
  const { share, seed } = workerData as { share: Record<Kind, number>; seed: number };
  const c = await work(share, seed);
  c.crashes += uncaught.length;
  for (const u of uncaught) c.findings[u] = (c.findings[u] ?? 0) + 1;
  parentPort!.postMessage(c);
} else {
  const workers = Math.max(1, Math.min(cpus().length, 8));
  const per = (k: Kind) => Math.ceil((TOTAL * SHARES[k]) / workers);
  process.stderr.write(`fuzz: ${TOTAL} inputs on ${workers} workers\n`);
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<Counts>((resolve, reject) => {
    // a worker does not inherit `--import tsx`: it registers tsx itself, then loads this file
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { share: { xml: per('xml'), json: per('json'), xe: per('xe') }, seed: 1000 * (w + 1) } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker ${w} exited with ${code}`)); });
  })));
  const sum: Counts = { inputs: { xml: 0, json: 0, xe: 0 }, answers: {}, findings: {}, crashes: 0, ms: Date.now() - t0 };
  for (const r of results) {
    for (const k of ['xml', 'json', 'xe'] as const) sum.inputs[k] += r.inputs[k];
    for (const [a, n] of Object.entries(r.answers)) sum.answers[a] = (sum.answers[a] ?? 0) + n;
    for (const [a, n] of Object.entries(r.findings)) sum.findings[a] = (sum.findings[a] ?? 0) + n;
    sum.crashes += r.crashes;
  }
  const total = sum.inputs.xml + sum.inputs.json + sum.inputs.xe;
  const findings = Object.values(sum.findings).reduce((a, b) => a + b, 0);
  const lines = [
    `${total} hostile inputs in ${(sum.ms / 1000).toFixed(0)} s: ${sum.inputs.xml} XML-RPC, ${sum.inputs.json} JSON-RPC, ${sum.inputs.xe} xe command lines (${workers} workers)`,
    `crashes: ${sum.crashes}; answers that are not a XenAPI error, a result or xapi's parse-error page: ${findings}`,
    '',
    'answers:',
    ...Object.entries(sum.answers).sort((a, b) => b[1] - a[1]).map(([a, n]) => `  ${String(n).padStart(8)}  ${a}`),
  ];
  if (findings) lines.push('', 'findings:', ...Object.entries(sum.findings).sort((a, b) => b[1] - a[1]).map(([a, n]) => `  ${String(n).padStart(8)}  ${a}`));
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = sum.crashes || findings ? 1 : 0;
}
