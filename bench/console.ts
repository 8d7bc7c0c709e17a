// Web console benchmark: `node --import tsx bench/console.ts` (npm run bench:console).
//
// A pool database with 16 hosts (4 NICs each, a bond, 48 VLANs), 64 networks and 1,000 VIFs on
// 250 running VMs, built directly through the daemon's Database; the real daemon serves it and the
// console, and Debian's chromium (playwright-core) opens the console. It prints:
//   - time from "Log in" to the first complete picture (every object drawn, ELK's layout applied)
//   - the longest the page's main thread stalled meanwhile (the gap between animation frames)
//   - for networks created through the API: the time until the network is in the picture
//     (event.from -> cache -> drawn at a provisional place), and until ELK has laid it out
//   - for VIF locking changes through the API: the time until the VIF's mark changes
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

const HOSTS = 16, NETWORKS = 64, VIFS = 1000, VIFS_PER_VM = 4, VLANS = 48, SAMPLES = 8;
const PASSWORD = 'bench-pw';
const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const FACTS: HostFacts = {
  hostname: 'host1',
  nics: [0, 1, 2, 3].map((i) => ({ device: `eth${i}`, mac: `02:00:00:01:00:0${i}`, mtu: 1500, carrier: true, speed: 10000, ipv4: i === 0 ? [{ ip: '10.0.0.11', prefix: 24 }] : [], gateway: i === 0 ? '10.0.0.1' : '' })),
  dns: ['10.0.0.1'],
};

const hex = (n: number) => n.toString(16).padStart(2, '0');

type Tx = Parameters<Parameters<Awaited<ReturnType<typeof startDaemon>>['db']['transact']>[0]>[0];

/** The benchmark's pool, written in one transaction. */
export function buildPool(tx: Tx): void {
  const pifsOf = (host: string) => tx.all('PIF').filter((p) => p.rec.host === host);
  const nets = new Map(tx.all('network').map((n) => [n.rec.bridge as string, n.ref]));
  const hosts = [tx.all('host')[0].ref];
  // hosts 2..16 with eth0..eth3 on the pool-wide networks, management on eth0
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
  // 250 running VMs with 4 VIFs each
  const all = tx.all('network').map((n) => n.ref);
  for (let m = 0; m < VIFS / VIFS_PER_VM; m++) {
    const vm = tx.create('VM', { name_label: `vm${m + 1}`, power_state: 'Running', resident_on: hosts[m % hosts.length], domid: m + 1 });
    for (let i = 0; i < VIFS_PER_VM; i++) {
      const n = m * VIFS_PER_VM + i;
      tx.create('VIF', {
        device: String(i), network: all[(m * 7 + i * 13) % all.length], VM: vm, MAC: `02:16:${hex(n >> 8)}:${hex(n & 255)}:00:01`, MTU: 1500, currently_attached: true,
        locking_mode: n % 3 ? 'network_default' : 'locked', ipv4_allowed: n % 3 ? [] : [`10.1.${n >> 8}.${n & 255}`],
        qos_algorithm_type: n % 4 ? '' : 'ratelimit', qos_algorithm_params: n % 4 ? {} : { kbps: '10000' }, MAC_autogenerated: true,
      });
    }
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (x: number) => `${Math.round(x)} ms`;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) { console.log(`bench/console: ${CHROMIUM} is not installed (apt-get install chromium); nothing measured`); return; }
  if (!existsSync(join(ROOT, 'console', 'dist', 'index.html'))) execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
  const dataDir = mkdtempSync(join(tmpdir(), 'poolnet-bench-console-'));
  const d = await startDaemon({ dataDir, port: 0, bind: '127.0.0.1', insecureHttp: true, rootPassword: PASSWORD, facts: FACTS, logLevel: 'silent' });
  const url = `http://127.0.0.1:${d.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const t = Date.now();
    d.db.transact((tx) => buildPool(tx));
    const count = (c: string) => [...d.db.all(c)].length;
    console.log(`pool: ${count('host')} hosts, ${count('network')} networks, ${count('PIF')} PIFs, ${count('VM')} VMs, ${count('VIF')} VIFs (built in ${Date.now() - t} ms)`);
    console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(180_000);
    // the longest gap between animation frames: how long the page could not respond
    await page.addInitScript({ content: `
      window.__maxGap = 0;
      let last = performance.now();
      const tick = (now) => { if (window.__gapFrom && now > window.__gapFrom) window.__maxGap = Math.max(window.__maxGap, now - last); last = now; requestAnimationFrame(tick); };
      requestAnimationFrame(tick);` });
    await page.goto(`${url}/`);
    await page.fill('input[name=username]', 'root');
    await page.fill('input[name=password]', PASSWORD);
    await page.evaluate(() => { (window as unknown as { __gapFrom: number }).__gapFrom = performance.now(); });
    const clickedAt = Date.now();
    await page.click('button[type=submit]');
    await page.waitForFunction(() => (window as unknown as { __poolnetConsole?: ConsoleStats }).__poolnetConsole?.firstPictureMs !== undefined, undefined, { polling: 100 });
    const st = await page.evaluate(() => ({ origin: performance.timeOrigin, ...(window as unknown as { __poolnetConsole: ConsoleStats }).__poolnetConsole, maxGap: (window as unknown as { __maxGap: number }).__maxGap }));
    const rel = (x?: number) => ms((x ?? NaN) + st.origin - clickedAt);
    const drawn = await page.locator('g.node').count();
    console.log(`first complete picture: ${rel(st.firstPictureMs)} after "Log in" (${drawn} objects drawn)`);
    console.log(`  the pool's ${st.dumpObjects} objects arrived (event.from) at ${rel(st.dumpAt)}; first paint at provisional places at ${rel(st.firstPaintAt)}; ELK on the infrastructure took ${ms(st.lastElkMs ?? NaN)} in its worker`);
    console.log(`  longest main-thread stall until then: ${ms(st.maxGap)}`);
    mkdirSync(join(ROOT, 'artifacts', 'console'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'artifacts', 'console', 'bench-first-picture.png') });

    // events: a network created through the API, until it is in the picture
    const session = (await (await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', PASSWORD], id: 1 }) })).json() as { result: string }).result;
    const api = async (method: string, ...params: unknown[]) => {
      const r = (await (await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method, params: [session, ...params], id: 1 }) })).json()) as { result?: unknown; error?: unknown };
      if (r.error) throw new Error(JSON.stringify(r.error));
      return r.result;
    };
    const shown: number[] = [], laidOut: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const name = `bench network ${i}`;
      await page.waitForFunction(() => document.querySelector('svg[data-testid=topology]')?.getAttribute('data-layout') === 'done', undefined, { polling: 50 });
      const seen = page.evaluate(`new Promise((resolve) => {
        let at = 0;
        const check = () => {
          const now = performance.timeOrigin + performance.now();
          if (!at && document.querySelector('g.node.network[data-name="${name}"]')) at = now;
          if (at && document.querySelector('svg[data-testid=topology]')?.getAttribute('data-layout') === 'done') resolve([at, now]);
          else requestAnimationFrame(check);
        };
        check();
      })`) as Promise<[number, number]>;
      const t0 = Date.now();
      await api('network.create', { name_label: name, name_description: '', MTU: 1500, other_config: {}, tags: [] });
      const [at, done] = await seen;
      shown.push(at - t0);
      laidOut.push(done - t0);
    }
    console.log(`network.create -> in the picture: median ${ms(median(shown))}, max ${ms(Math.max(...shown))}; -> laid out again by ELK: median ${ms(median(laidOut))} (${SAMPLES} networks)`);

    const vifs = (await api('VIF.get_all')) as string[];
    const lockLat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const vif = vifs[i * 37 + 1];
      const seen = page.evaluate(`new Promise((resolve) => {
        const check = () => {
          if (document.querySelector('g.node.vif[data-ref="${vif}"][data-effective-mode=disabled][data-mode-source=vif]')) resolve(performance.timeOrigin + performance.now());
          else requestAnimationFrame(check);
        };
        check();
      })`) as Promise<number>;
      const t0 = Date.now();
      await api('VIF.set_locking_mode', vif, 'disabled');
      lockLat.push((await seen) - t0);
    }
    console.log(`VIF.set_locking_mode -> mark changed in the picture: median ${ms(median(lockLat))}, max ${ms(Math.max(...lockLat))} (${SAMPLES} VIFs)`);
    const gap = await page.evaluate(() => (window as unknown as { __maxGap: number }).__maxGap);
    console.log(`longest main-thread stall over the whole run: ${ms(gap)}`);
    // zoomed in on the infrastructure, where words are drawn
    for (let i = 0; i < 6; i++) await page.click('button[aria-label="Zoom in"]');
    await page.screenshot({ path: join(ROOT, 'artifacts', 'console', 'bench-zoomed.png') });
    console.log('screenshots: artifacts/console/bench-first-picture.png, bench-zoomed.png');
  } finally {
    await browser.close();
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Run when started as a program (the pool builder is also used by the console's tests).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
