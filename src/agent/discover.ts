// Host discovery: the NICs, addresses, default gateway, DNS and hostname of the host
// (or network namespace) this daemon runs in. Read from sysfs and `ip -j`. What goes into the
// pool database is checked as the API would check it: a NIC whose name is unfit for the agent's
// text is not introduced, and an address, name server or hostname of the wrong syntax is left out
// (a zone index in resolv.conf, a hostname with spaces).
//
// Also what xapi's checks ask its network daemon about the switch: the VLANs the host already
// carries on each NIC outside poolnet (Interface.has_vlan, for VLAN_IN_USE): kernel 802.1Q devices
// over the NIC (or over a bond or bridge holding it), and Open vSwitch fake bridges on a bridge
// whose port is the NIC (or a bond of it); devices and ports poolnet made itself carry its mark and
// are left out, so that a VLAN destroyed a moment ago and not yet removed does not count. And the
// bridges there are (Bridge.get_all, for an unmanaged network's BRIDGE_NOT_AVAILABLE).

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { HostFacts, NicFacts } from '../db/init.ts';
import { isHostname, isIpv4, isIpv6, isMac, isMtu } from '../model/valid.ts';
import { isTextIfName } from './checked.ts';
import { answerOrNone, ipReads } from './ipbatch.ts';

const SYS = '/sys/class/net';

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

/** A physical NIC: an Ethernet device backed by hardware, or named like the lab's eth<N>. */
export function isPhysicalNic(dev: string): boolean {
  if (read(`${SYS}/${dev}/type`) !== '1') return false;
  if (existsSync(`${SYS}/${dev}/bridge`) || existsSync(`${SYS}/${dev}/bonding`)) return false;
  return existsSync(`${SYS}/${dev}/device`) || /^eth\d+$/.test(dev);
}

interface IpAddr { ifname: string; mtu: number; address?: string; operstate?: string; addr_info?: { family: string; local: string; prefixlen: number; scope: string }[] }

const run = promisify(execFile);

function ipJson<T>(args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' })) as T;
}

/** ipJson without blocking the event loop (a member's daemon discovers every few seconds). */
async function ipJsonAsync<T>(args: string[]): Promise<T> {
  return JSON.parse((await run('ip', ['-j', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout) as T;
}

/** Natural order: eth2 before eth10. */
export function byDeviceName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The NICs under a device: itself, or through its lower devices (bond slaves, bridge ports, a VLAN's parent). */
function nicsUnder(dev: string, nics: readonly string[], depth = 0): string[] {
  if (nics.includes(dev)) return [dev];
  if (depth > 4 || !isTextIfName(dev)) return [];
  let lower: string[] = [];
  try { lower = readdirSync(`${SYS}/${dev}`).filter((e) => e.startsWith('lower_')).map((e) => e.slice('lower_'.length)); } catch { /* gone */ }
  return lower.flatMap((l) => nicsUnder(l, nics, depth + 1));
}

const isTag = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4095;

/** The mark poolnet puts on what it makes (ifalias of Linux devices; external_ids key in OVSDB). */
const MARK = 'poolnet';

interface IpLink { ifname: string; link?: string; ifalias?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number } } }

const VLAN_LINKS = ['-d', 'link', 'show', 'type', 'vlan'];

/** Kernel 802.1Q devices not made by poolnet, as [parent device, tag]. */
function kernelVlans(): [string, number][] {
  let links: IpLink[];
  try { links = ipJson<IpLink[]>(VLAN_LINKS); } catch { return []; } // no iproute2, or no 8021q
  return vlansOfLinks(links);
}

async function kernelVlansAsync(): Promise<[string, number][]> {
  let links: IpLink[];
  try { links = await ipJsonAsync<IpLink[]>(VLAN_LINKS); } catch { return []; } // no iproute2, or no 8021q
  return vlansOfLinks(links);
}

function vlansOfLinks(links: IpLink[]): [string, number][] {
  if (!Array.isArray(links)) return [];
  return links.flatMap((l) => {
    const tag = l.linkinfo?.info_data?.id;
    return l.linkinfo?.info_kind === 'vlan' && l.ifalias !== MARK && typeof l.link === 'string' && isTag(tag) ? [[l.link, tag] as [string, number]] : [];
  });
}

type OvsTable = { headings: string[]; data: unknown[][] };
const ovsUuid = (v: unknown): string => (Array.isArray(v) && v[0] === 'uuid' && typeof v[1] === 'string' ? v[1] : '');
const ovsSet = (v: unknown): unknown[] => (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1]) ? v[1] : [v]);
const ovsMapHas = (v: unknown, k: string, want: string): boolean => Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1]) && v[1].some((e) => Array.isArray(e) && e[0] === k && e[1] === want);
function ovsRows(t: OvsTable | undefined): Record<string, unknown>[] {
  if (!t || !Array.isArray(t.headings) || !Array.isArray(t.data)) return [];
  return t.data.filter(Array.isArray).map((row) => Object.fromEntries(t.headings.map((h, i) => [h, row[i]])));
}

/**
 * Open vSwitch fake bridges not made by poolnet, by the NICs of their parent bridge: from the
 * JSON output of `ovs-vsctl -f json -d json list Bridge (name, ports) -- list Port (_uuid, name,
 * tag, fake_bridge, external_ids, interfaces) -- list Interface (_uuid, name)`, one table a line.
 */
export function ovsForeignVlans(output: string, nics: readonly string[]): Map<string, number[]> {
  const tables = output.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as OvsTable);
  const [bridges, ports, ifaces] = [ovsRows(tables[0]), ovsRows(tables[1]), ovsRows(tables[2])];
  const ifName = new Map(ifaces.map((i) => [ovsUuid(i._uuid), String(i.name)]));
  const port = new Map(ports.map((p) => [ovsUuid(p._uuid), p]));
  const out = new Map<string, number[]>();
  for (const b of bridges) {
    const its = ovsSet(b.ports).map((u) => port.get(ovsUuid(u))).filter((p): p is Record<string, unknown> => !!p);
    const tags = its.filter((p) => p.fake_bridge === true && isTag(p.tag) && !ovsMapHas(p.external_ids, MARK, 'true')).map((p) => p.tag as number);
    if (tags.length === 0) continue;
    const devices = its.filter((p) => p.fake_bridge !== true).flatMap((p) => ovsSet(p.interfaces).map((u) => ifName.get(ovsUuid(u)) ?? '')).filter((d) => nics.includes(d));
    for (const d of devices) out.set(d, [...new Set([...(out.get(d) ?? []), ...tags])].sort((x, y) => x - y));
  }
  return out;
}

/** Bridge names from the same output: every Bridge, and every fake bridge (as `ovs-vsctl list-br` shows them). */
export function ovsBridgeNames(output: string): string[] {
  const tables = output.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as OvsTable);
  const names = [...ovsRows(tables[0]).map((b) => b.name), ...ovsRows(tables[1]).filter((p) => p.fake_bridge === true).map((p) => p.name)];
  return names.filter((n): n is string => typeof n === 'string' && isTextIfName(n)).sort();
}

const ovsArgs = (socket: string): string[] => [`--db=unix:${socket}`, '--timeout=2', '-f', 'json', '-d', 'json',
  '--columns=name,ports', 'list', 'Bridge', '--', '--columns=_uuid,name,tag,fake_bridge,external_ids,interfaces', 'list', 'Port',
  '--', '--columns=_uuid,name', 'list', 'Interface'];

/** What `ovs-vsctl` shows of the switch at `socket` (the tables above), or undefined when it does not answer. */
function readOvs(socket: string): string | undefined {
  if (!existsSync(socket)) return undefined;
  try {
    return execFileSync('ovs-vsctl', ovsArgs(socket), { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
  } catch { return undefined; }
}

async function readOvsAsync(socket: string): Promise<string | undefined> {
  if (!existsSync(socket)) return undefined;
  const stamp = dbStamp(socket);
  const last = ovsRead.get(socket);
  if (stamp && last?.stamp === stamp && Date.now() - last.at < OVS_REREAD_MS) return last.text;
  let text: string | undefined;
  try {
    text = (await run('ovs-vsctl', ovsArgs(socket), { encoding: 'utf8', timeout: 3000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch { text = undefined; }
  // kept only when the file did not change while it was read (else its stamp would not say what was read)
  if (stamp && text !== undefined && dbStamp(socket) === stamp) ovsRead.set(socket, { stamp, at: Date.now(), text }); else ovsRead.delete(socket);
  return text;
}

/**
 * An idle member read the whole switch with `ovs-vsctl` every 5 s. ovsdb-server appends every
 * committed transaction to its database file (the lab's lies beside the socket): while that file is
 * as it was, the last answer stands, for at most a minute (a file elsewhere is not looked for:
 * then every call reads).
 */
const ovsRead = new Map<string, { stamp: string; at: number; text: string }>();
const OVS_REREAD_MS = 60_000;
function dbStamp(socket: string): string | undefined {
  try {
    const s = statSync(join(dirname(socket), 'conf.db'));
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch { return undefined; }
}

/**
 * The host's switch as the toolstack's checks need it: the VLAN tags in use on each of `nics`
 * outside poolnet (kernel devices; Open vSwitch at `ovsDbSocket`), and the bridges there are
 * (Linux bridges, and Open vSwitch's; undefined when the Open vSwitch asked about does not answer).
 */
export function switchFacts(nics: readonly string[], ovsDbSocket?: string): SwitchFacts {
  return switchFactsOf(nics, kernelVlans(), ovsDbSocket, ovsDbSocket ? readOvs(ovsDbSocket) : undefined);
}

/** switchFacts without blocking the event loop. */
export async function switchFactsAsync(nics: readonly string[], ovsDbSocket?: string): Promise<SwitchFacts> {
  const [kernel, text] = await Promise.all([kernelVlansAsync(), ovsDbSocket ? readOvsAsync(ovsDbSocket) : undefined]);
  return switchFactsOf(nics, kernel, ovsDbSocket, text);
}

export interface SwitchFacts { vlans: Map<string, number[]>; bridges: string[] | undefined }

/** switchFacts from what was read: kernel VLAN devices, and `ovs-vsctl`'s output (undefined: no answer). */
function switchFactsOf(nics: readonly string[], kernel: [string, number][], ovsDbSocket: string | undefined, text: string | undefined): SwitchFacts {
  const vlans = new Map<string, number[]>();
  const add = (dev: string, tag: number) => { vlans.set(dev, [...new Set([...(vlans.get(dev) ?? []), tag])].sort((x, y) => x - y)); };
  for (const [parent, tag] of kernel) for (const d of nicsUnder(parent, nics)) add(d, tag);
  let linux: string[] = [];
  try { linux = readdirSync(SYS).filter((d) => isTextIfName(d) && existsSync(`${SYS}/${d}/bridge`)); } catch { /* no sysfs */ }
  if (!ovsDbSocket) return { vlans, bridges: linux.sort() };
  if (text === undefined) return { vlans, bridges: undefined };
  try {
    for (const [d, tags] of ovsForeignVlans(text, nics)) for (const t of tags) add(d, t);
    return { vlans, bridges: [...new Set([...linux, ...ovsBridgeNames(text)])].sort() };
  } catch { return { vlans, bridges: undefined }; } // output poolnet cannot read: nothing known there
}

/** The VLAN tags in use on each of `nics` outside poolnet. */
export function foreignVlans(nics: readonly string[], ovsDbSocket?: string): Map<string, number[]> {
  return switchFacts(nics, ovsDbSocket).vlans;
}

export interface DiscoverOptions {
  /** Open vSwitch's database socket: its bridges, and the VLANs made on it outside poolnet. */
  readonly ovsDbSocket?: string;
}

interface IpRoute { dst: string; gateway?: string; dev?: string }

const nicDevices = (only?: readonly string[]): string[] =>
  readdirSync(SYS).filter((d) => isTextIfName(d) && (only ? only.includes(d) : isPhysicalNic(d))).sort(byDeviceName);

/**
 * The host's facts, read with synchronous child processes: for the API's checks that need them
 * at once (PIF.scan, VLAN_IN_USE on the master). A daemon's periodic report uses discoverHostAsync.
 */
export function discoverHost(only?: readonly string[], opts: DiscoverOptions = {}): HostFacts {
  const devices = nicDevices(only);
  let addrs: IpAddr[] = [];
  let routes: IpRoute[] = [];
  try { addrs = ipJson<IpAddr[]>(['addr', 'show']); } catch { /* no iproute2: no addresses known */ }
  try { routes = ipJson<IpRoute[]>(['route', 'show', 'default']); } catch { /* none */ }
  return hostFactsOf(devices, addrs, routes, switchFacts(devices, opts.ovsDbSocket));
}

/**
 * discoverHost without blocking the event loop, and in two processes instead of four (a member
 * reads this every 5 s): the kernel's addresses, default routes and VLAN devices in one
 * `ip -batch`, beside `ovs-vsctl`. The same facts.
 */
export async function discoverHostAsync(only?: readonly string[], opts: DiscoverOptions = {}): Promise<HostFacts> {
  const devices = nicDevices(only);
  const [ip, text] = await Promise.all([readIpAsync(), opts.ovsDbSocket ? readOvsAsync(opts.ovsDbSocket) : undefined]);
  return hostFactsOf(devices, ip.addrs, ip.routes, switchFactsOf(devices, vlansOfLinks(ip.vlanLinks), opts.ovsDbSocket, text));
}

/**
 * `ip -j addr show`, `ip -j route show default` and `ip -j -d link show type vlan` in one process
 * (-d adds fields, and only the ones read here are used); the three apart when it does not answer
 * each (a line iproute2 refused), each failing alone as in discoverHost.
 */
async function readIpAsync(): Promise<{ addrs: IpAddr[]; routes: IpRoute[]; vlanLinks: IpLink[] }> {
  const [addrs, routes, vlanLinks] = (await ipReads([['addr', 'show'], ['route', 'show', 'default'], VLAN_LINKS.filter((a) => a !== '-d')], { details: true }))
    .map(answerOrNone); // no iproute2: no addresses known; no 8021q: no VLAN devices
  return { addrs: addrs as IpAddr[], routes: routes as IpRoute[], vlanLinks: vlanLinks as IpLink[] };
}

/** A host's facts from what was read (pure but for sysfs and resolv.conf). */
function hostFactsOf(devices: string[], addrs: IpAddr[], routes: IpRoute[], sw: SwitchFacts): HostFacts {
  if (!Array.isArray(addrs)) addrs = [];
  if (!Array.isArray(routes)) routes = [];
  const vlans = sw.vlans;
  const nics: NicFacts[] = devices.map((device) => {
    const a = addrs.find((x) => x.ifname === device);
    const speed = Number(read(`${SYS}/${device}/speed`));
    const mac = (read(`${SYS}/${device}/address`) ?? '').toLowerCase();
    const mtu = a?.mtu ?? Number(read(`${SYS}/${device}/mtu`) ?? 1500);
    const gateway = routes.find((r) => r.dev === device)?.gateway ?? '';
    return {
      device,
      mac: isMac(mac) ? mac : '',
      mtu: isMtu(mtu) ? mtu : 1500,
      carrier: read(`${SYS}/${device}/carrier`) === '1',
      speed: Number.isFinite(speed) && speed > 0 ? speed : 0,
      ipv4: (a?.addr_info ?? []).filter((x) => x.family === 'inet' && isIpv4(x.local) && Number.isInteger(x.prefixlen) && x.prefixlen >= 0 && x.prefixlen <= 32).map((x) => ({ ip: x.local, prefix: x.prefixlen })),
      gateway: isIpv4(gateway) ? gateway : '',
      ...(vlans.has(device) ? { vlans: vlans.get(device) } : {}),
    };
  });
  const dns = (read('/etc/resolv.conf') ?? '').split('\n').map((l) => /^nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && (isIpv4(x) || isIpv6(x)));
  const hostname = osHostname();
  return { hostname: isHostname(hostname) ? hostname : 'localhost', nics, dns, ...(sw.bridges ? { bridges: sw.bridges } : {}) };
}
