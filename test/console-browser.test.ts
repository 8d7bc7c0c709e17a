// The web console in a real browser: playwright-core drives Debian's chromium (headless, no
// sandbox as root, background networking off) against a running poolnetd. Each step is
// photographed into artifacts/console/. Skips, saying why, when chromium is not installed.
//
// Steps: log in; the picture shows host1's NICs and networks; a VLAN network and a bond made
// through the forms appear in the picture from events (no reload); a VIF locked to two addresses
// shows its effective mode; a refused change shows its XenAPI code, the model's sentence and a
// plain explanation (parameters named from the catalogue, objects as xe prints them) and Escape
// closes the dialog; after bonding, the Networks table counts no member's old network as reached;
// same-named networks are told apart and edge labels do not overlap in a four-host pool; alerts
// show readable times and can be dismissed; a read-only user is offered no change at all.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { ERRORS } from '../src/model/index.ts';
import { call, login, ROOT_PASSWORD, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { makeHost, makePif, makeVlanPif } from './helpers/fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = join(ROOT, 'artifacts', 'console');
const WAIT = 30_000;

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium; scripts/setup.sh installs it)`;
if (skip) console.log(`# console browser tests skipped: ${skip}`);

/** The flags the machine notes give for chromium here; playwright adds a fresh --user-data-dir itself. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** console/dist, built if missing (scripts/setup.sh builds it; this covers a bare `npm test`). */
function ensureConsoleBuilt(): void {
  if (existsSync(join(ROOT, 'console', 'dist', 'index.html'))) return;
  execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
}

type Rec = Record<string, unknown>;

describe('web console in chromium', { skip }, () => {
  let d: TestDaemon;
  let s: string;
  let browser: Browser;
  let page: Page;
  let vm1: string, vif1: string, vif2: string, net0: string;
  let shot = 0;
  const outside: string[] = [];
  const snap = async (p: Page, name: string) => { await p.screenshot({ path: join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`) }); };
  const c = (method: string, ...params: unknown[]) => call(d.url, method, [s, ...params]);

  before(async () => {
    ensureConsoleBuilt();
    // this test's own numbered shots only: the benchmark's screenshots live beside them
    mkdirSync(SHOTS, { recursive: true });
    for (const f of readdirSync(SHOTS)) if (/^\d\d-.*\.png$/.test(f)) rmSync(join(SHOTS, f));
    d = await startTestDaemon();
    s = await login(d.url);
    const nets = (await c('network.get_all_records')) as Record<string, Rec>;
    net0 = Object.entries(nets).find(([, n]) => n.bridge === 'xenbr0')![0];
    const net1 = Object.entries(nets).find(([, n]) => n.bridge === 'xenbr1')![0];
    // vm1 runs with a VIF on xenbr0 (an active VIF); vm2 is halted with a VIF on xenbr1.
    vm1 = (await c('VM.create', { name_label: 'vm1' })) as string;
    vif1 = (await c('VIF.create', { device: '0', network: net0, VM: vm1, MAC: '', MTU: 1500, other_config: {} })) as string;
    await c('VM.start', vm1, false, false);
    const vm2 = (await c('VM.create', { name_label: 'vm2' })) as string;
    vif2 = (await c('VIF.create', { device: '0', network: net1, VM: vm2, MAC: '', MTU: 1500, other_config: {} })) as string;
    await c('subject.create_local_user', 'olga', 'olga-pw', ['read-only']);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    page.setDefaultTimeout(WAIT);
    // Nothing may be fetched from anywhere but the pool.
    page.on('request', (r) => { if (!r.url().startsWith(`${d.url}/`) && !r.url().startsWith('data:')) outside.push(r.url()); });
  });

  after(async () => {
    await browser?.close();
    await d?.dispose();
  });

  test('log in with XenAPI credentials', async () => {
    await page.goto(`${d.url}/`);
    await page.waitForSelector('[data-testid=login]');
    await snap(page, 'login');
    // a wrong password is refused with the XenAPI code and its explanation
    await page.fill('input[name=username]', 'root');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-error-code=SESSION_AUTHENTICATION_FAILED]');
    await page.fill('input[name=password]', ROOT_PASSWORD);
    await page.click('button[type=submit]');
    const who = await page.waitForSelector('[data-testid=whoami]');
    assert.match((await who.textContent()) ?? '', /root/);
    await page.waitForSelector('[data-testid=live-state][data-state=live]');
    // a marker that survives only as long as the page is not reloaded
    await page.evaluate(() => { (window as unknown as Record<string, unknown>).__noReload = true; });
  });

  test('the picture shows the host, its NICs (carrier, speed) and its networks', async () => {
    await page.waitForSelector('svg[data-testid=topology][data-layout=done]');
    await snap(page, 'topology');
    assert.equal(await page.locator('g.node.host[data-name=host1]').count(), 1);
    for (const dev of ['eth0', 'eth1', 'eth2']) assert.equal(await page.locator(`g.node.nic[data-device=${dev}]`).count(), 1, dev);
    assert.equal(await page.locator('g.node.nic[data-device=eth2]').getAttribute('data-carrier'), 'false');
    assert.match((await page.locator('g.node.nic[data-device=eth0]').textContent()) ?? '', /link up · 1 Gb\/s/);
    for (const br of ['xenbr0', 'xenbr1', 'xenbr2']) assert.equal(await page.locator(`g.node.network[data-bridge=${br}]`).count(), 1, br);
    // the management interface is marked, on the NIC and on its edge
    assert.match((await page.locator('g.node.nic[data-device=eth0]').textContent()) ?? '', /MGMT/);
    assert.equal(await page.locator('g.edge.pif.management').count(), 1);
    // VIFs and VMs, with the VIF's effective locking mode
    assert.equal(await page.locator(`g.node.vif[data-ref="${vif1}"]`).getAttribute('data-effective-mode'), 'unlocked');
    assert.equal(await page.locator('g.node.vm[data-name=vm1]').count(), 1);
  });

  test('a VLAN network made with the New Network wizard appears from events', async () => {
    await page.click('[data-action=new-network]');
    await page.check('input[data-kind=vlan]');
    await page.click('[data-testid=next]');
    await page.fill('[data-testid=net-name]', 'storage VLAN 25');
    const eth0 = await page.locator('[data-testid=vlan-nic] option', { hasText: 'eth0' }).getAttribute('value');
    await page.selectOption('[data-testid=vlan-nic]', eth0!);
    await page.fill('[data-testid=vlan-tag]', '25');
    await snap(page, 'new-network-vlan');
    await page.click('[data-testid=new-network] [data-testid=create]');
    await page.waitForSelector('[data-testid=new-network]', { state: 'detached' });
    const node = page.locator('g.node.network[data-name="storage VLAN 25"]');
    await node.waitFor();
    assert.equal(await node.getAttribute('data-vlan'), '25');
    assert.equal(await node.getAttribute('data-network-kind'), 'vlan');
    await page.waitForSelector('svg[data-testid=topology][data-layout=done]');
    assert.ok(await page.locator('g.edge.pif text.edge-label', { hasText: 'VLAN 25' }).count() >= 1);
    assert.equal(await page.evaluate(() => (window as unknown as Record<string, unknown>).__noReload), true, 'the page was not reloaded');
    await snap(page, 'vlan-in-picture');
    const vlans = Object.values((await c('VLAN.get_all_records')) as Record<string, Rec>);
    assert.deepEqual(vlans.map((v) => v.tag), [25]);
  });

  test('a bond made through the form (mode, LACP properties) appears from events', async () => {
    await page.click('header [data-action=new-bond]');
    await page.check('[data-testid=new-bond] input[data-device=eth1]');
    await page.check('[data-testid=new-bond] input[data-device=eth2]');
    await page.selectOption('[data-testid=bond-mode]', 'lacp');
    await page.selectOption('[data-prop=hashing_algorithm]', 'src_mac');
    await page.selectOption('[data-prop=lacp-time]', 'fast');
    await snap(page, 'new-bond');
    await page.click('[data-testid=new-bond] [data-testid=create]');
    await page.waitForSelector('[data-testid=new-bond]', { state: 'detached' });
    const bond = page.locator('g.node.bond[data-mode=lacp]');
    await bond.waitFor();
    const bondPif = (await bond.getAttribute('data-ref'))!;
    for (const dev of ['eth1', 'eth2']) {
      const nic = await page.locator(`g.node.nic[data-device=${dev}]`).getAttribute('data-ref');
      await page.locator(`g.edge.nic-bond[data-edge="nb:${nic}"]`).waitFor();
    }
    await page.locator('g.node.network[data-name="Bond 1+2"]').waitFor();
    await page.waitForSelector('svg[data-testid=topology][data-layout=done]');
    await snap(page, 'bond-in-picture');
    const bonds = Object.values((await c('Bond.get_all_records')) as Record<string, Rec>);
    assert.equal(bonds.length, 1);
    assert.equal(bonds[0].master, bondPif);
    assert.equal(bonds[0].mode, 'lacp');
    assert.equal((bonds[0].properties as Record<string, string>).hashing_algorithm, 'src_mac');
    assert.equal((bonds[0].properties as Record<string, string>)['lacp-time'], 'fast');
  });

  test('IP configuration warns before two interfaces share a subnet', async () => {
    await page.click('[data-tab=nics]');
    await page.click('[data-testid=nic-table] tr[data-device=bond0]');
    await page.click('[data-testid=details] [data-action=ip-config]');
    await page.selectOption('[data-testid=ip-mode]', 'Static');
    await page.fill('[data-testid=ip]', '10.0.0.50');
    await page.fill('[data-testid=netmask]', '255.255.255.0');
    const warning = page.locator('[data-testid=subnet-warning]');
    await warning.waitFor();
    assert.match((await warning.textContent()) ?? '', /management interface eth0 \(10\.0\.0\.11\) is on 10\.0\.0\.0\/24/);
    assert.equal(await page.isDisabled('[data-testid=ip-config] [data-testid=apply]'), true);
    await snap(page, 'subnet-warning');
    // another subnet: no warning, and the change goes through
    await page.fill('[data-testid=ip]', '10.9.0.50');
    await warning.waitFor({ state: 'detached' });
    await page.click('[data-testid=ip-config] [data-testid=apply]');
    await page.waitForSelector('[data-testid=ip-config]', { state: 'detached' });
    await page.locator('[data-testid=nic-table] tr[data-device=bond0]', { hasText: '10.9.0.50/24' }).waitFor();
    await page.click('[data-tab=topology]');
    await page.locator('g.edge.pif.secondary').first().waitFor();
  });

  test('a VIF locked to two addresses shows its effective mode', async () => {
    await page.click('[data-tab=vifs]');
    await page.click(`[data-testid=vif-table] tr[data-ref="${vif2}"]`);
    await page.click('[data-testid=details] [data-action=vif-locking]');
    const eff = page.locator('[data-testid=vif-locking] [data-testid=effective]');
    assert.equal(await eff.getAttribute('data-effective-mode'), 'unlocked');
    assert.equal(await eff.getAttribute('data-source'), 'network');
    await page.selectOption('[data-testid=locking-mode]', 'locked');
    assert.equal(await eff.getAttribute('data-source'), 'vif');
    await page.fill('[data-testid=ipv4-allowed]', '10.0.0.21\n10.0.0.22');
    await snap(page, 'vif-locking');
    await page.click('[data-testid=vif-locking] [data-testid=apply]');
    await page.waitForSelector('[data-testid=vif-locking]', { state: 'detached' });
    const row = page.locator(`[data-testid=vif-table] tr[data-ref="${vif2}"]`);
    await row.locator('[data-testid=allowed]', { hasText: '10.0.0.21, 10.0.0.22' }).waitFor();
    assert.match((await row.locator('[data-testid=effective-mode]').textContent()) ?? '', /locked.*VIF setting/);
    await snap(page, 'vif-table-locked');
    await page.click('[data-tab=topology]');
    const node = page.locator(`g.node.vif[data-ref="${vif2}"][data-effective-mode=locked]`);
    await node.waitFor();
    assert.equal(await node.getAttribute('data-mode-source'), 'vif');
    await snap(page, 'vif-locked-in-picture');
    const v = (await c('VIF.get_record', vif2)) as Rec;
    assert.equal(v.locking_mode, 'locked');
    assert.deepEqual(v.ipv4_allowed, ['10.0.0.21', '10.0.0.22']);
  });

  test('a VIF rate limit is entered and shown in kB/s', async () => {
    await page.click('[data-tab=vifs]');
    await page.click(`[data-testid=vif-table] tr[data-ref="${vif1}"]`);
    await page.click('[data-testid=details] [data-action=vif-rate]');
    assert.match((await page.locator('[data-testid=vif-rate]').textContent()) ?? '', /Rate limit \(kB\/s\)/);
    await page.fill('[data-testid=rate]', '100');
    await page.click('[data-testid=vif-rate] [data-testid=apply]');
    await page.locator(`[data-testid=vif-table] tr[data-ref="${vif1}"]`, { hasText: '100 kB/s' }).waitFor();
    const v = (await c('VIF.get_record', vif1)) as Rec;
    assert.equal(v.qos_algorithm_type, 'ratelimit');
    assert.deepEqual(v.qos_algorithm_params, { kbps: '100' });
  });

  test('a refused change shows its XenAPI code, the model\'s sentence and a plain explanation', async () => {
    await page.click('[data-tab=networks]');
    await page.click(`[data-testid=network-table] tr[data-ref="${net0}"]`);
    await page.click('[data-testid=details] [data-action=network-locking]');
    await page.locator('[data-testid=vif-in-use-warning]').waitFor();
    await page.selectOption('[data-testid=default-locking-mode]', 'disabled');
    await page.click('[data-testid=network-locking] [data-testid=apply]');
    const err = page.locator('[data-testid=network-locking] [data-error-code=VIF_IN_USE]');
    await err.waitFor();
    assert.equal(await err.locator('[data-testid=error-doc]').textContent(), ERRORS.VIF_IN_USE.doc);
    assert.match((await err.locator('[data-testid=error-plain]').textContent()) ?? '', /cannot change the default-locking-mode of a network that has active VIFs/);
    assert.match((await err.textContent()) ?? '', /VIF 0 of VM "vm1"/);
    // parameters under the catalogue's names, objects as xe prints them: uuid (name label)
    const names = await err.locator('.error-params th').allTextContents();
    assert.equal(names[0], 'network');
    assert.ok(names.length >= 2 && names.slice(1).every((n) => n === 'VIF'), names.join(', '));
    const n0 = (await c('network.get_record', net0)) as Rec;
    assert.equal(await err.locator('.error-params tr[data-param=network] code').textContent(), `${n0.uuid as string} (${n0.name_label as string})`);
    assert.equal(await err.locator('.error-params tr[data-param=VIF] code').first().textContent(), await c('VIF.get_uuid', vif1));
    assert.doesNotMatch((await err.textContent()) ?? '', /OpaqueRef|param\d/);
    await snap(page, 'refused-vif-in-use');
    // Escape closes the dialog, as × does
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=network-locking]', { state: 'detached' });
    assert.equal(((await c('network.get_record', net0)) as Rec).default_locking_mode, 'unlocked');
  });

  test('the wizard undoes a half-made network when the server refuses (cross-server private without a controller)', async () => {
    const before = Object.keys((await c('network.get_all_records')) as Record<string, Rec>).length;
    await page.click('[data-action=new-network]');
    await page.check('input[data-kind=private]');
    await page.click('[data-testid=next]');
    await page.fill('[data-testid=net-name]', 'tenant private');
    await page.click('[data-testid=new-network] [data-testid=create]');
    const err = page.locator('[data-testid=new-network] .error');
    await err.waitFor();
    const code = (await err.getAttribute('data-error-code'))!;
    assert.ok(code in ERRORS, code);
    assert.equal(await err.locator('[data-testid=error-doc]').textContent(), (ERRORS as Record<string, { doc: string }>)[code].doc);
    await snap(page, 'refused-private-network');
    await page.click('[data-testid=new-network] button[aria-label=Close]');
    assert.equal(Object.keys((await c('network.get_all_records')) as Record<string, Rec>).length, before, 'the network made first was removed again');
  });

  test('moving the management interface asks for the seed\'s warning to be acknowledged', async () => {
    await page.click('[data-tab=topology]');
    assert.equal(await page.evaluate(() => location.hash), '#/pool');
    // a click on the host in the whole picture opens its view, with it selected, as a link does
    await page.locator('g.node.host[data-name=host1]').click();
    await page.locator('[data-testid=crumbs][data-view=host]').waitFor();
    const host1 = String(await c('host.get_uuid', ((await c('host.get_all')) as string[])[0]));
    assert.equal(await page.evaluate(() => location.hash), `#/host/${host1}?select=${host1}`);
    assert.equal(await page.locator('[data-testid=details]').getAttribute('data-kind'), 'host');
    await page.click('[data-testid=details] [data-action=management]');
    const warning = page.locator('[data-testid=management] [data-testid=mgmt-warning]');
    assert.match((await warning.textContent()) ?? '', /used for XenCenter connections to the host and for host-to-host communication/);
    assert.equal(await page.isDisabled('[data-testid=management] [data-testid=apply]'), true);
    await page.check('[data-testid=management] [data-testid=ack]');
    assert.equal(await page.isDisabled('[data-testid=management] [data-testid=apply]'), false);
    await snap(page, 'management-warning');
    await page.click('[data-testid=management] button[aria-label=Close]');
    // Back: the whole picture again, nothing selected
    await page.goBack();
    await page.waitForSelector('svg[data-testid=topology][data-layout=done]');
    assert.equal(await page.evaluate(() => location.hash), '#/pool');
    assert.equal(await page.locator('[data-testid=crumbs]').count(), 0);
    assert.equal(await page.locator('[data-testid=details]').count(), 0);
    assert.equal(await page.locator('g.node.vm[data-name=vm1]').count(), 1, 'the whole pool: VMs of every host');
  });

  test('after bonding, the Networks table no longer counts a member\'s old network as reached', async () => {
    // the bond above took eth1 and eth2: xenbr1 and xenbr2 keep their PIFs, which carry nothing
    await page.click('[data-tab=networks]');
    const hostsOf = (bridge: string) => page.locator(`[data-testid=network-table] tr:has(td code:text-is("${bridge}")) [data-testid=hosts]`);
    assert.equal(await hostsOf('xenbr0').textContent(), 'host1');
    assert.equal(await hostsOf('xenbr1').textContent(), 'none (its interfaces are bond members)');
    assert.equal(await hostsOf('xenbr2').textContent(), 'none (its interfaces are bond members)');
    assert.equal(await page.locator('[data-testid=network-table] tr[data-name="Bond 1+2"] [data-testid=hosts]').textContent(), 'host1');
    await snap(page, 'networks-after-bond');
  });

  test('same-named networks are told apart, and edge labels never overlap in a pool of four hosts', async () => {
    const eth0 = Object.entries((await c('PIF.get_all_records')) as Record<string, Rec>).find(([, p]) => p.device === 'eth0' && p.VLAN === -1)![0];
    for (const tag of [61, 62]) await c('pool.create_VLAN_from_PIF', eth0, await c('network.create', { name_label: 'tenant' }), tag);
    // three more hosts, as a pool's replica holds them, each with addresses and a VLAN on its NICs
    const nets = (await c('network.get_all_records')) as Record<string, Rec>;
    const nb = (bridge: string) => Object.entries(nets).find(([, n]) => n.bridge === bridge)![0];
    const v = (await c('network.create', { name_label: 'pool VLAN 5' })) as string;
    d.db.transact((tx) => {
      for (const i of [2, 3, 4]) {
        const h = makeHost(tx, { name_label: `host${i}`, hostname: `host${i}` });
        const e0 = makePif(tx, { device: 'eth0', network: nb('xenbr0'), host: h, management: true, ip_configuration_mode: 'Static', IP: `10.0.0.${10 + i}`, netmask: '255.255.255.0' });
        makePif(tx, { device: 'eth1', network: nb('xenbr1'), host: h, ip_configuration_mode: 'Static', IP: `10.1.0.${10 + i}`, netmask: '255.255.255.0' });
        makeVlanPif(tx, { tagged: e0, network: v, tag: 5 });
      }
    });
    await page.click('[data-tab=topology]');
    await page.locator('g.node.host[data-name=host4]').waitFor();
    await page.waitForSelector('svg[data-testid=topology][data-layout=done]');
    const titles = await page.locator('g.node.network[data-name=tenant] text.title').allTextContents();
    assert.deepEqual(titles.sort(), ['tenant (VLAN 61)', 'tenant (VLAN 62)']);
    // zoomed in far enough to read every label, all of them on the screen at once
    await page.setViewportSize({ width: 3000, height: 2200 });
    await page.click('[data-testid=fit]');
    const labels = page.locator('g.edge.pif text.edge-label');
    for (let i = 0; i < 8 && (await labels.count()) < 10; i++) await page.click('button[aria-label="Zoom in"]');
    const boxes = await labels.evaluateAll((els) => els.map((e) => { const b = (e as SVGGraphicsElement).getBBox(); return { t: e.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; }));
    assert.ok(boxes.length >= 10, `labels drawn: ${boxes.length}`);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        assert.ok(!(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h), `"${a.t}" and "${b.t}" overlap`);
      }
    }
    await snap(page, 'labels-apart');
    await page.setViewportSize({ width: 1500, height: 950 });
    await page.click('[data-testid=fit]');
  });

  test('alerts: readable times, and a pool operator dismisses one (message.destroy)', async () => {
    const host = (await c('host.get_all')) as string[];
    const hostUuid = await c('host.get_uuid', host[0]);
    const m1 = (await c('message.create', 'PIF_SUBNET_SHARED', 3, 'Host', hostUuid, 'two interfaces on 10.9.0.0/24')) as string;
    await c('message.create', 'TEST_ALERT', 5, 'Host', hostUuid, 'kept for the read-only user');
    await page.click('[data-tab=alerts]');
    const row = page.locator(`[data-testid=alerts] tr[data-ref="${m1}"]`);
    await row.waitFor();
    const when = (await row.locator('[data-testid=when]').textContent()) ?? '';
    assert.match(when, /^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d UTC \((just now|\d+ min ago)\)$/, when);
    await snap(page, 'alerts');
    await row.locator('[data-action=dismiss-alert]').click();
    await row.waitFor({ state: 'detached' });
    assert.ok(!((await c('message.get_all')) as string[]).includes(m1), 'the message is gone from the pool');
    assert.equal(await page.locator('[data-testid=alerts] tr[data-name=TEST_ALERT]').count(), 1, 'the other alert stays');
  });

  test('a read-only user sees no change actions', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(WAIT);
    try {
      await p.goto(`${d.url}/`);
      await p.fill('input[name=username]', 'olga');
      await p.fill('input[name=password]', 'olga-pw');
      await p.click('button[type=submit]');
      const who = await p.waitForSelector('[data-testid=whoami]');
      assert.equal(await who.getAttribute('data-roles'), 'read-only');
      await p.waitForSelector('svg[data-testid=topology][data-layout=done]');
      assert.equal(await p.locator('[data-action]').count(), 0, 'no action in the toolbar');
      // the same objects root could change: none offers anything
      for (const sel of [`g.node.vif[data-ref="${vif1}"]`, `g.node.network[data-ref="${net0}"]`, 'g.node.host[data-name=host1]', 'g.node.nic[data-device=eth0][data-host=host1]']) {
        await p.locator(sel).click();
        await p.waitForSelector('[data-testid=details]');
        assert.equal(await p.locator('[data-action]').count(), 0, sel);
      }
      await p.click('[data-tab=vifs]');
      assert.ok(await p.locator('[data-testid=vif-table] tbody tr').count() >= 2, 'a read-only user still sees everything');
      await p.click('[data-tab=alerts]');
      await p.locator('[data-testid=alerts] tr[data-name=TEST_ALERT]').waitFor();
      assert.equal(await p.locator('[data-action=dismiss-alert]').count(), 0, 'no dismissing for read-only');
      await snap(p, 'read-only');
    } finally {
      await ctx.close();
    }
    // root, in the first page, is offered them
    assert.ok(await page.locator('[data-action]').count() > 0);
  });

  test('nothing was fetched from outside the pool', () => {
    assert.deepEqual(outside, []);
  });
});
