// The host OS side of a DesiredHost: addresses on bridge devices, the default route, DNS,
// MTUs, DHCP clients. Reads `ip -j`, changes only what differs, in one `ip -batch` process.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DesiredHost, InterfaceSpec } from './desired.ts';
import { answerOrThrow, ipReads } from './ipbatch.ts';
import { KernelGuard } from './kernelguard.ts';
import { asHostname, asIfName, asIpv4, asIpv4Cidr, asIpv6Cidr, asMtu, asNameserver, asSearchDomain, CheckError, isTextIfName, line, type Hostname } from './checked.ts';

const run = promisify(execFile);

export interface IpAddr { ifname: string; mtu: number; operstate: string; flags: string[]; address?: string; addr_info?: { family: string; local: string; prefixlen: number; scope: string; dynamic?: boolean }[] }
export interface IpRoute { dst: string; gateway?: string; dev?: string }

export interface HostOsOptions {
  /** Hide switch ports from the kernel's own stack (needed on the userspace datapath). */
  readonly guardPorts?: boolean;
  /** Where DHCP client leases and pid files go. */
  readonly stateDir: string;
  /** Write /etc/resolv.conf (in a lab namespace it is the namespace's own, via `ip netns exec`). */
  readonly manageDns: boolean;
  /** Set the kernel's hostname (only where the daemon has a UTS namespace of its own, or owns the machine). */
  readonly manageHostname?: boolean;
}

/** What an interface carries now, as read from the kernel. */
export interface IfaceStatus { device: string; ipv4: { ip: string; prefix: number }[]; ipv6: string[]; mtu: number; up: boolean }

export class HostOs {
  private readonly dhcp = new Map<string, ChildProcess>();
  private readonly guard = new KernelGuard();

  constructor(readonly opts: HostOsOptions) {}

  async links(): Promise<IpAddr[]> {
    return JSON.parse((await run('ip', ['-j', 'addr', 'show'])).stdout) as IpAddr[];
  }

  /**
   * Addresses and default routes in one `ip -batch` process (a pass on an idle host reads them
   * every 10 s: one process fewer each time); two separate reads when its answer is not the two
   * JSON lines asked for.
   */
  async read(): Promise<{ links: IpAddr[]; routes: IpRoute[] }> {
    const [links, routes] = (await ipReads([['addr', 'show'], ['route', 'show', 'default']])).map(answerOrThrow);
    return { links: links as IpAddr[], routes: routes as IpRoute[] };
  }

  async status(device: string): Promise<IfaceStatus | undefined> {
    const l = (await this.links()).find((x) => x.ifname === device);
    if (!l) return undefined;
    const info = l.addr_info ?? [];
    return {
      device, mtu: l.mtu, up: l.flags.includes('UP'),
      ipv4: info.filter((a) => a.family === 'inet').map((a) => ({ ip: a.local, prefix: a.prefixlen })),
      ipv6: info.filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    };
  }

  /**
   * Bring addresses, routes, MTUs and DNS to `desired`. Returns the number of changes made.
   * The `ip -batch` lines come from hostOsCommands (pure); an object with a value that fails
   * its check is skipped alone (`skipped`), the rest goes on.
   */
  async apply(desired: DesiredHost): Promise<number> {
    const read = await this.read();
    const links = new Map(read.links.map((l) => [l.ifname, l]));
    const routes = read.routes;
    const { cmds, wantDhcp, skipped } = hostOsCommands(desired, links, routes);
    this.skipped = skipped;
    const each = (what: string, f: () => void): boolean => {
      try { f(); return true; } catch (e) {
        if (!(e instanceof CheckError)) throw e;
        this.skipped.push(`${what}: ${e.message}`);
        return false;
      }
    };
    if (cmds.length) await this.batch(cmds);
    if (this.opts.guardPorts) {
      const ports = [...desired.bridges.flatMap((b) => b.ports.filter((p) => p.type === '').flatMap((p) => p.interfaces)), ...(desired.detachedVifs ?? [])];
      // names go into nft text: only those fit for it (compile() passes no others)
      if (await this.guard.apply(ports.filter(isTextIfName), (d) => links.has(d))) cmds.push('nft guard');
    }
    await this.syncDhcp(wantDhcp);
    if (desired.dns && this.opts.manageDns) each('DNS', () => this.writeDns(resolvConf(desired.dns!)));
    // host.set_hostname_live: the control domain's hostname follows the database
    if (this.opts.manageHostname && desired.hostname && desired.hostname !== osHostname()) {
      // checked: a hostname never reads as an option of hostname(1) (`-F/etc/shadow`)
      let name: Hostname | undefined;
      each('hostname', () => { name = asHostname(desired.hostname); });
      if (name) {
        await run('hostname', [name]).catch(() => undefined);
        cmds.push('hostname');
      }
    }
    return cmds.length;
  }

  /** What the last apply skipped because a value failed its check (compile() should have left it out). */
  skipped: string[] = [];

  private async batch(cmds: string[]): Promise<void> {
    // -force: one failing line (an address already gone) must not stop the others
    const p = run('ip', ['-force', '-batch', '-']);
    p.child.stdin!.on('error', () => undefined); // a child that exits early must not crash the daemon
    p.child.stdin!.end(cmds.join('\n') + '\n');
    try { await p; } catch { /* reported per line on stderr; the next pass retries what is still missing */ }
  }

  /** One DHCP client per interface in DHCP mode (Debian's dhclient); others stopped. */
  private async syncDhcp(want: Set<string>): Promise<void> {
    for (const [dev, c] of this.dhcp) {
      if (!want.has(dev)) { c.kill('SIGTERM'); this.dhcp.delete(dev); }
    }
    for (const dev of want) {
      if (this.dhcp.has(dev)) continue;
      const child = spawn('dhclient', ['-d', '-4', '-pf', join(this.opts.stateDir, `dhclient.${dev}.pid`), '-lf', join(this.opts.stateDir, `dhclient.${dev}.leases`), dev], { stdio: 'ignore' });
      child.on('error', () => this.dhcp.delete(dev));
      child.on('exit', () => { if (this.dhcp.get(dev) === child) this.dhcp.delete(dev); });
      this.dhcp.set(dev, child);
    }
  }

  private writeDns(text: string): void {
    let cur = '';
    try { cur = readFileSync('/etc/resolv.conf', 'utf8'); } catch { /* none yet */ }
    if (cur !== text) writeFileSync('/etc/resolv.conf', text);
  }

  stop(): void {
    for (const c of this.dhcp.values()) c.kill('SIGTERM');
    this.dhcp.clear();
  }
}

/** An IPv4 address the kernel reports, as a checked a.b.c.d/len. */
function kernelCidr4(a: { local: string; prefixlen: number }): ReturnType<typeof asIpv4Cidr> {
  return asIpv4Cidr(`${a.local}/${a.prefixlen}`, 'kernel address');
}

/** resolv.conf text: one checked value per line's argument (a newline in a domain cannot add a line). */
export function resolvConf(dns: NonNullable<DesiredHost['dns']>): string {
  const search = dns.search.map((d) => asSearchDomain(d));
  const lines: string[] = [];
  if (search.length) lines.push(line`search ${search[0]}` + search.slice(1).map((d) => line` ${d}`).join(''));
  for (const n of dns.nameservers) lines.push(line`nameserver ${asNameserver(n)}`);
  return lines.join('\n') + '\n';
}

/**
 * The `ip -batch` lines that bring the kernel from `links` and default `routes` to `desired`
 * (pure). Every line is built with checked.ts `line` from checked values: an object with a value
 * that fails its check contributes no line and is listed in `skipped`.
 */
export function hostOsCommands(desired: DesiredHost, links: ReadonlyMap<string, IpAddr>, routes: readonly IpRoute[]): { cmds: string[]; wantDhcp: Set<string>; skipped: string[] } {
  const cmds: string[] = [];
  const skipped: string[] = [];
  /** Lines of one object: all of them, or none when a value fails its check. */
  const each = (what: string, build: () => string[]): boolean => {
    try { cmds.push(...build()); return true; } catch (e) {
      if (!(e instanceof CheckError)) throw e;
      skipped.push(`${what}: ${e.message}`);
      return false;
    }
  };
  // member devices of a bridge carry no address of their own, and the MTU of their network
  for (const d of desired.devices) {
    const l = links.get(d.name);
    if (!l) continue;
    each(`device ${d.name}`, () => {
      const dev = asIfName(d.name);
      const out = (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => line`addr del ${kernelCidr4(a)} dev ${dev}`);
      if (l.mtu !== d.mtu) out.push(line`link set dev ${dev} mtu ${asMtu(d.mtu)}`);
      if (!l.flags.includes('UP')) out.push(line`link set dev ${dev} up`);
      return out;
    });
  }
  const wantDhcp = new Set<string>();
  const managedDevices = new Set<string>();
  for (const i of desired.interfaces) {
    const l = links.get(i.device);
    if (!l) continue; // the bridge device is not there yet; the next pass will see it
    const done = each(`interface ${i.device}`, () => {
      const dev = asIfName(i.device);
      const out: string[] = [];
      if (!l.flags.includes('UP')) out.push(line`link set dev ${dev} up`);
      if (i.ipv4.mode === 'dhcp') {
        wantDhcp.add(dev);
        // dhclient's addresses carry the lease's lifetime (dynamic); any other is left from a static configuration
        for (const a of l.addr_info ?? []) if (a.family === 'inet' && !a.dynamic) out.push(line`addr del ${kernelCidr4(a)} dev ${dev}`);
        return out;
      }
      return [...out, ...addressChanges(i, l)];
    });
    if (done) managedDevices.add(i.device);
  }
  // devices whose configuration compile() rejected: their addresses stay as they are
  const frozen = new Set(desired.frozenDevices ?? []);
  // the bridge of a PIF without IP configuration (mode None, xapi's None4) carries no IPv4 address:
  // what a static or DHCP configuration left there goes
  for (const b of desired.bridges) {
    for (const name of [b.name, ...b.ports.filter((p) => p.kind === 'vlan').map((p) => p.name)]) {
      if (managedDevices.has(name) || frozen.has(name) || desired.interfaces.some((i) => i.device === name)) continue;
      each(`bridge ${name}`, () => {
        const dev = asIfName(name);
        return (links.get(name)?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => line`addr del ${kernelCidr4(a)} dev ${dev}`);
      });
    }
  }
  // a default route through the chosen interface only
  const want = desired.defaultRoute;
  const ok = want && routes.some((r) => r.gateway === want.gateway && r.dev === want.device);
  // the kernel drops the default route with the address that made its gateway reachable: after
  // an address change on its device, put it back in the same batch (after the new address)
  const readdressed = want && cmds.some((c) => c.startsWith('addr del ') && c.endsWith(` dev ${want.device}`));
  if (want && (!ok || readdressed) && links.has(want.device)) {
    each('default route', () => [line`route replace default via ${asIpv4(want.gateway, 'gateway')} dev ${asIfName(want.device)}`]);
  } else if (!want) {
    for (const r of routes) {
      if (r.dev && managedDevices.has(r.dev) && !wantDhcp.has(r.dev)) each(`default route on ${r.dev}`, () => [line`route del default dev ${asIfName(r.dev)}`]);
    }
  }
  return { cmds, wantDhcp, skipped };
}

function addressChanges(i: InterfaceSpec, l: IpAddr): string[] {
  const cmds: string[] = [];
  const dev = asIfName(i.device);
  const have = (l.addr_info ?? []).filter((a) => a.family === 'inet').map(kernelCidr4);
  const wantV4 = i.ipv4.mode === 'static' && i.ipv4.address ? [asIpv4Cidr(i.ipv4.address)] : [];
  for (const a of have) if (!wantV4.includes(a)) cmds.push(line`addr del ${a} dev ${dev}`);
  for (const a of wantV4) if (!have.includes(a)) cmds.push(line`addr add ${a} dev ${dev}`);
  if (i.ipv6.mode === 'static') {
    const have6 = (l.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => asIpv6Cidr(`${a.local}/${a.prefixlen}`));
    const want6 = i.ipv6.addresses.map((a) => asIpv6Cidr(a));
    // no `-6`: `ip -batch` takes no global options on a line (it refused the line: static IPv6 was never set); the address says its family
    for (const a of have6) if (!want6.includes(a)) cmds.push(line`addr del ${a} dev ${dev}`);
    for (const a of want6) if (!have6.includes(a)) cmds.push(line`addr add ${a} dev ${dev}`);
  }
  if (l.mtu !== i.mtu) cmds.push(line`link set dev ${dev} mtu ${asMtu(i.mtu)}`);
  return cmds;
}

