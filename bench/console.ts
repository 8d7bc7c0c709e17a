// Web console benchmark: `node --import tsx bench/console.ts` (npm run bench:console).
//
// Two pools built directly through the daemon's Database, each served by the real daemon and
// opened by Debian's chromium (playwright-core): 16 hosts, 64 networks, 1,000 VIFs (the pool this
// benchmark used before), and XenServer's scale, 64 hosts and 5,000 VIFs (4 NICs a host, a bond,
// 48 VLANs, 4 VIFs a running VM). Printed side by side, for each:
//   - "Log in" to the first readable view (the overview), and the longest main-thread stall then
//   - a change to the picture: a network created (its row in the overview) and a VIF's locking
//     mode (its mark in its host's view), from the API call and from the event's arrival
//   - a focus switch (URL fragment -> the view drawn complete) to a host, a network, a VM
//   - the whole pool in one picture, the console's only view before
// and it saves screenshots of the overview and of each focus view at 64 hosts in artifacts/console/.
// Nothing here asserts; figures only.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDaemon } from '../src/daemon/serve.ts';
import type { HostFacts } from '../src/db/init.ts';
import type { ConsoleStats } from '../console/src/stats.ts';
import { WATCHED } from '../console/src/logic/store.ts';

/** A pool's size: hosts, networks (48 of them VLANs on every host) and VIFs (4 a VM). */
export interface PoolSize { readonly hosts: number; readonly networks: number; readonly vifs: number }
export const SMALL: PoolSize = { hosts: 16, networks: 64, vifs: 1000 };
export const LARGE: PoolSize = { hosts: 64, networks: 64, vifs: 5000 };
const VIFS_PER_VM = 4, VLANS = 48, SAMPLES = 8;
/** How long the whole-pool picture may take before the run moves on (printed as "over ..."). */
const WHOLE_POOL_WAIT_MS = 60_000;
const PASSWORD = 'bench-pw';
const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const FACTS: HostFacts = {
  hostname: 'host1',
  nics: [0, 1, 2, 3].map((i) => ({ device: `eth${i}`, mac: `02:00:00:01:00:0${i}`, mtu: 1500, carrier: true, speed: 10000, ipv4: i === 0 ? [{ ip: '10.0.0.11', prefix: 24 }] : [], gateway: i === 0 ? '10.0.0.1' : '' })),
  dns: ['10.0.0.1'],
};

const hex = (n: number) => n.toString(16).padStart(2, '0');

type Tx = Parameters<Parameters<Awaited<ReturnType<typeof startDaemon>>['db']['transact']>[0]>[0];

/** The benchmark's pool, written in one transaction. */
export function buildPool(tx: Tx, size: PoolSize = SMALL): void {
  const { hosts: HOSTS, networks: NETWORKS, vifs: VIFS } = size;
  const pifsOf = (host: string) => tx.all('PIF').filter((p) => p.rec.host === host);
  const nets = new Map(tx.all('network').map((n) => [n.rec.bridge as string, n.ref]));
  const hosts = [tx.all('host')[0].ref];
  // hosts 2..N with eth0..eth3 on the pool-wide networks, management on eth0
  for (let h = 2; h <= HOSTS; h++) {
    const host = tx.create('host', { name_label: `host${h}`, hostname: `host${h}`, address: `10.0.0.${10 + h}`, enabled: true, software_version: { network_backend: 'openvswitch' } });
    hosts.push(host);
    for (let i = 0; i < 4; i++) {
      const metrics = tx.create('PIF_metrics', { carrier: true, speed: 10000, duplex: true, device_name: `eth${i}` });
      tx.create('PIF', {
        device: `eth${i}`, device_name: `eth${i}`, network: nets.get(`xenbr${i}`), host, MAC: `02:00:00:${hex(h)}:00:0${i}`, MTU: 1500, VLAN: -1, metrics,
        physical: true, currently_attached: true, managed: true, properties: { gro: 'on' }, primary_address_type: 'IPv4', ipv6_configuration_mode: 'None',
        ...(i === 0 ? { management: true, ip_configuration_mode: 'Static', IP: `10.0.0.${10 + h}`, netmask: '255.255.255.0', gateway: '10.0.0.1' } : { ip_configuration_mode: 'None' }),
      });
    }
  }
  // a bond of eth2+eth3 on every host
  const bondNet = tx.create('network', { name_label: 'Bond 2+3', bridge: 'xapi100', MTU: 1500, managed: true, default_locking_mode: 'unlocked' });
  for (const host of hosts) {
    const [e2, e3] = ['eth2', 'eth3'].map((d) => pifsOf(host).find((p) => p.rec.device === d)!);
    const master = tx.create('PIF', { device: 'bond0', device_name: 'bond0', network: bondNet, host, MAC: e2.rec.MAC, MTU: 1500, VLAN: -1, metrics: e2.rec.metrics, physical: false, currently_attached: true, managed: true, ip_configuration_mode: 'None', primary_address_type: 'IPv4' });
    const bond = tx.create('Bond', { master, primary_slave: e2.ref, mode: 'lacp', properties: { hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow' }, links_up: 2, auto_update_mac: true });
    for (const m of [e2, e3]) tx.update(m.ref, { bond_slave_of: bond, currently_attached: false });
  }
  // 48 VLAN networks on eth1 of every host
  for (let v = 0; v < VLANS; v++) {
    const net = tx.create('network', { name_label: `VLAN ${100 + v}`, bridge: `xapi${101 + v}`, MTU: 1500, managed: true, default_locking_mode: v % 5 === 0 ? 'disabled' : 'unlocked' });
    for (const host of hosts) {
      const eth1 = pifsOf(host).find((p) => p.rec.device === 'eth1' && p.rec.VLAN === -1)!;
      const pif = tx.create('PIF', { device: 'eth1', device_name: 'eth1', network: net, host, MAC: eth1.rec.MAC, MTU: 1500, VLAN: 100 + v, metrics: eth1.rec.metrics, physical: false, currently_attached: true, managed: true, ip_configuration_mode: 'None', primary_address_type: 'IPv4' });
      tx.create('VLAN', { tagged_PIF: eth1.ref, untagged_PIF: pif, tag: 100 + v, other_config: {} });
    }
  }
  // internal networks up to 64
  const have = tx.all('network').length;
  for (let i = 0; have + i < NETWORKS; i++) tx.create('network', { name_label: `private ${i + 1}`, bridge: `xapi${200 + i}`, MTU: 1500, managed: true, default_locking_mode: 'unlocked' });
  // running VMs with 4 VIFs each, spread over the hosts
  const all = tx.all('network').map((n) => n.ref);
  for (let m = 0; m < VIFS / VIFS_PER_VM; m++) {
    const vm = tx.create('VM', { name_label: `vm${m + 1}`, power_state: 'Running', resident_on: hosts[m % hosts.length], domid: m + 1 });
    for (let i = 0; i < VIFS_PER_VM; i++) {
      const n = m * VIFS_PER_VM + i;
      tx.create('VIF', {
        device: String(i), network: all[(m * 7 + i * 13) % all.length], VM: vm, MAC: `02:16:${hex(n >> 8)}:${hex(n & 255)}:00:01`, MTU: 1500, currently_attached: true,
        locking_mode: n % 3 ? 'network_default' : 'locked', ipv4_allowed: n % 3 ? [] : [`10.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`],
        qos_algorithm_type: n % 4 ? '' : 'ratelimit', qos_algorithm_params: n % 4 ? {} : { kbps: '10000' }, MAC_autogenerated: true,
      });
    }
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${Math.round(x)} ms`);
const mm = (xs: number[]) => (xs.length ? `${ms(median(xs))} (max ${ms(Math.max(...xs))})` : '—');

/** What one run measures on one pool; times in ms. */
interface Figures {
  pool: string;
  objects?: number;
  dumpAt?: number;
  firstView?: number;
  stallToFirstView?: number;
  overviewChange: { e2e: number[]; page: number[] };
  focus: Record<'host' | 'network' | 'vm', { drawn: number[]; ready: number[] }>;
  pictureChange: { e2e: number[]; page: number[] };
  stallViews?: number;
  whole: { drawn?: number; ready?: number; stall?: number };
}

type Page = import('playwright-core').Page;
type Json = Record<string, unknown>;

/**
 * Navigate the page to `hash` and time, in the page, until the view is drawn and complete; a
 * button `confirm` that shows on the way is clicked, and the time counts from that click.
 */
async function timeRoute(page: Page, hash: string, timeoutMs = 120_000, confirm = ''): Promise<{ drawn: number; ready: number }> {
  return page.evaluate(`new Promise((resolve, reject) => {
    let t0 = performance.now();
    let drawn = 0, confirmed = false;
    const stop = setTimeout(() => reject(new Error('the view ${hash} was not drawn in time')), ${timeoutMs});
    location.hash = ${JSON.stringify(hash)};
    const check = () => {
      const button = ${JSON.stringify(confirm)} && !confirmed && document.querySelector(${JSON.stringify(confirm || 'none')});
      if (button) { confirmed = true; t0 = performance.now(); button.click(); }
      const s = window.__poolnetConsole;
      if (!drawn && s.viewDrawn && s.viewDrawn.route === ${JSON.stringify(hash)} && s.viewDrawn.at > t0) drawn = s.viewDrawn.at;
      if (s.viewReady && s.viewReady.route === ${JSON.stringify(hash)} && s.viewReady.at > t0) { clearTimeout(stop); resolve({ drawn: (drawn || s.viewReady.at) - t0, ready: s.viewReady.at - t0 }); }
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  })`) as Promise<{ drawn: number; ready: number }>;
}

/**
 * Start watching for `selector` in the page (every animation frame); resolves with when it was
 * seen and when the event batch before it arrived (both epoch ms by the page's clock).
 */
function watchFor(page: Page, selector: string): Promise<{ at: number; eventAt: number }> {
  return page.evaluate(`new Promise((resolve) => {
    const check = () => {
      if (document.querySelector(${JSON.stringify(selector)})) {
        const s = window.__poolnetConsole;
        resolve({ at: performance.timeOrigin + performance.now(), eventAt: performance.timeOrigin + (s.lastEventAt ?? NaN) });
      } else requestAnimationFrame(check);
    };
    check();
  })`) as Promise<{ at: number; eventAt: number }>;
}

async function measure(size: PoolSize, browser: import('playwright-core').Browser, shots: string | undefined): Promise<Figures> {
  const label = `${size.hosts} hosts, ${size.vifs.toLocaleString('en')} VIFs`;
  const f: Figures = { pool: label, overviewChange: { e2e: [], page: [] }, focus: { host: { drawn: [], ready: [] }, network: { drawn: [], ready: [] }, vm: { drawn: [], ready: [] } }, pictureChange: { e2e: [], page: [] }, whole: {} };
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-bench-console-'));
  const d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: PASSWORD, facts: FACTS, logLevel: 'silent' });
  const url = `http://127.0.0.1:${d.port}`;
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(180_000);
  try {
    const t = Date.now();
    d.db.transact((tx) => buildPool(tx, size));
    const count = (c: string) => [...d.db.all(c)].length;
    console.log(`[${label}] pool: ${count('host')} hosts, ${count('network')} networks, ${count('PIF')} PIFs, ${count('VM')} VMs, ${count('VIF')} VIFs (built in ${Date.now() - t} ms); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const session = (await (await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', PASSWORD], id: 1 }) })).json() as { result: string }).result;
    const api = async (method: string, ...params: unknown[]) => {
      const r = (await (await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method, params: [session, ...params], id: 1 }) })).json()) as { result?: unknown; error?: unknown };
      if (r.error) throw new Error(JSON.stringify(r.error));
      return r.result;
    };

    // A running pool's daemon has answered many calls before an administrator opens the console:
    // one event.from of everything first, so that the figure is not the daemon's own start-up.
    await api('event.from', [...WATCHED], '', 0);

    // the longest gap between animation frames since __gapFrom: how long the page could not respond
    await page.addInitScript({ content: `
      window.__maxGap = 0;
      let last = performance.now();
      const tick = (now) => { if (window.__gapFrom && now > window.__gapFrom) window.__maxGap = Math.max(window.__maxGap, now - last); last = now; requestAnimationFrame(tick); };
      requestAnimationFrame(tick);` });
    const resetGap = () => page.evaluate(() => { const w = window as unknown as { __gapFrom: number; __maxGap: number }; w.__gapFrom = performance.now(); w.__maxGap = 0; });
    const maxGap = () => page.evaluate(() => (window as unknown as { __maxGap: number }).__maxGap);

    // 1. log in: the first readable view (the overview, as the pool is large)
    await page.goto(`${url}/`);
    await page.fill('input[name=username]', 'root');
    await page.fill('input[name=password]', PASSWORD);
    await resetGap();
    const clickedAt = Date.now();
    await page.click('button[type=submit]');
    await page.waitForFunction(() => (window as unknown as { __poolnetConsole?: ConsoleStats }).__poolnetConsole?.firstViewAt !== undefined, undefined, { polling: 50 });
    const st = await page.evaluate(() => ({ origin: performance.timeOrigin, ...(window as unknown as { __poolnetConsole: ConsoleStats }).__poolnetConsole }));
    const rel = (x?: number) => (x ?? NaN) + st.origin - clickedAt;
    f.objects = st.dumpObjects;
    f.dumpAt = rel(st.dumpAt);
    f.firstView = rel(st.firstViewAt);
    f.stallToFirstView = await maxGap();
    console.log(`[${label}] first readable view ${ms(f.firstView)} after "Log in"`);
    if (shots) await page.screenshot({ path: join(shots, 'overview-64-hosts.png') });

    // 2. a change in the overview: a network created through the API, until its row is drawn
    await resetGap();
    for (let i = 0; i < SAMPLES; i++) {
      const name = `bench network ${i}`;
      const seen = watchFor(page, `[data-testid=overview-matrix] tr[data-network="${name}"]`);
      const t0 = Date.now();
      await api('network.create', { name_label: name, name_description: '', MTU: 1500, other_config: {}, tags: [] });
      const s = await seen;
      f.overviewChange.e2e.push(s.at - t0);
      f.overviewChange.page.push(s.at - s.eventAt);
    }

    console.log(`[${label}] overview changes: ${mm(f.overviewChange.page)}`);
    // 3. focus switches: a host, a network, a VM (as a click in the overview or a search does)
    const hosts = Object.values((await api('host.get_all_records')) as Record<string, Json>).sort((a, b) => String(a.name_label).localeCompare(String(b.name_label), 'en', { numeric: true }));
    const nets = Object.values((await api('network.get_all_records')) as Record<string, Json>).filter((n) => /^VLAN /.test(String(n.name_label)));
    const vmRecs = Object.entries((await api('VM.get_all_records')) as Record<string, Json>).filter(([, v]) => v.is_control_domain !== true);
    const pick = <T,>(xs: T[], i: number) => xs[(i * 7 + 1) % xs.length];
    for (let i = 0; i < SAMPLES; i++) {
      for (const [kind, rec] of [['host', pick(hosts, i)], ['network', pick(nets, i)], ['vm', pick(vmRecs, i)[1]]] as const) {
        const r = await timeRoute(page, `#/${kind}/${String(rec.uuid)}`);
        f.focus[kind].drawn.push(r.drawn);
        f.focus[kind].ready.push(r.ready);
        if (shots && i === 0) await page.screenshot({ path: join(shots, `${kind}-view-64-hosts.png`) });
      }
    }

    console.log(`[${label}] focus switches: ${(['host', 'network', 'vm'] as const).map((k) => `${k} ${mm(f.focus[k].ready)}`).join(', ')}`);
    // 4. a change to a focus picture: a VIF's locking mode, in its host's view, until its mark changes
    const vifs = (await api('VIF.get_all_records')) as Record<string, Json>;
    const vmHost = new Map(vmRecs.map(([r, v]) => [r, String(v.resident_on)]));
    const hostUuid = new Map(Object.entries((await api('host.get_all_records')) as Record<string, Json>).map(([r, h]) => [r, String(h.uuid)]));
    const vifRefs = Object.keys(vifs);
    for (let i = 0; i < SAMPLES; i++) {
      const vif = vifRefs[(i * 37 + 1) % vifRefs.length];
      await timeRoute(page, `#/host/${hostUuid.get(vmHost.get(String(vifs[vif].VM))!)}`);
      const seen = watchFor(page, `g.node.vif[data-ref="${vif}"][data-effective-mode=disabled][data-mode-source=vif]`);
      const t0 = Date.now();
      await api('VIF.set_locking_mode', vif, 'disabled');
      const s = await seen;
      f.pictureChange.e2e.push(s.at - t0);
      f.pictureChange.page.push(s.at - s.eventAt);
    }
    f.stallViews = await maxGap();

    console.log(`[${label}] picture changes: ${mm(f.pictureChange.page)}`);
    // 5. the whole pool in one picture (the console's only view before the overview)
    await resetGap();
    // (the page may be too busy to give up by itself: the wait is bounded here too)
    // (a large pool's console asks before drawing it all: the bench answers yes, timed from there)
    const w = await Promise.race([timeRoute(page, '#/pool', WHOLE_POOL_WAIT_MS, '[data-testid=draw-anyway]'), new Promise<undefined>((r) => setTimeout(() => r(undefined), WHOLE_POOL_WAIT_MS + 5000).unref())]).catch(() => undefined);
    f.whole = { drawn: w?.drawn, ready: w?.ready, stall: w ? await maxGap() : undefined };
  } finally {
    await page.close().catch(() => undefined);
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return f;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) { console.log(`bench/console: ${CHROMIUM} is not installed (apt-get install chromium); nothing measured`); return; }
  if (!existsSync(join(ROOT, 'console', 'dist', 'index.html'))) execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const shots = join(ROOT, 'artifacts', 'console');
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const runs: Figures[] = [];
  try {
    // BENCH_CONSOLE_ONLY=64 measures the large pool alone
    if (process.env.BENCH_CONSOLE_ONLY !== '64') runs.push(await measure(SMALL, browser, undefined));
    runs.push(await measure(LARGE, browser, shots));
  } finally {
    await browser.close();
  }
  const rows: [string, (f: Figures) => string, string][] = [
    ['objects in the first event.from', (f) => String(f.objects ?? '—'), ''],
    ['"Log in" -> the pool has arrived', (f) => ms(f.dumpAt), ''],
    ['"Log in" -> first readable view (overview)', (f) => ms(f.firstView), '< 1000 ms'],
    ['  longest main-thread stall until then', (f) => ms(f.stallToFirstView), ''],
    ['network.create -> its row in the overview, page part', (f) => mm(f.overviewChange.page), '< 50 ms'],
    ['  the same, from the API call', (f) => mm(f.overviewChange.e2e), ''],
    ['VIF.set_locking_mode -> mark changed in the host view, page part', (f) => mm(f.pictureChange.page), '< 50 ms'],
    ['  the same, from the API call', (f) => mm(f.pictureChange.e2e), ''],
    // a focus view is laid out in columns in the same pass: drawn is complete
    ...(['host', 'network', 'vm'] as const).map((k): [string, (f: Figures) => string, string] =>
      [`URL -> a ${k === 'vm' ? 'VM' : k}'s focus view drawn complete`, (f) => mm(f.focus[k].ready), '< 100 ms']),
    ['longest main-thread stall (overview, focus views, changes)', (f) => ms(f.stallViews), ''],
    ['whole pool in one picture (the old view): drawn', (f) => (f.whole.ready === undefined ? `over ${WHOLE_POOL_WAIT_MS / 1000} s` : ms(f.whole.drawn)), ''],
    ['  laid out by ELK', (f) => (f.whole.ready === undefined ? `over ${WHOLE_POOL_WAIT_MS / 1000} s` : ms(f.whole.ready)), ''],
    ['  longest main-thread stall meanwhile', (f) => (f.whole.ready === undefined ? '—' : ms(f.whole.stall)), ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const cols = runs.map((r) => Math.max(r.pool.length, ...rows.map(([, g]) => g(r).length)) + 2);
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padEnd(cols[i - 1] ?? 0))).join('');
  console.log('');
  console.log(line(['', ...runs.map((r) => r.pool), 'target']));
  for (const [name, get, target] of rows) console.log(line([name, ...runs.map(get), target]));
  console.log(`(${SAMPLES} samples each; "page part": from the event.from answer's arrival to the change drawn)`);
  console.log('screenshots: artifacts/console/overview-64-hosts.png, host-view-64-hosts.png, network-view-64-hosts.png, vm-view-64-hosts.png');
}

// Run when started as a program (the pool builder is also used by the console's tests).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
