// The Linux bridge backend (host.software_version.network_backend=bridge): realise a DesiredHost's
// bridges and ports with `ip` (one `ip -batch` process for all link changes), VIF port locking
// and QoS with nftables (one `nft -f -` transaction per change, see bridgerules.ts), or QoS with
// tc ingress policing where the kernel has the police action.
//
// Level-triggered: links are read back (`ip -j -d link show`) on every apply and only what
// differs is changed. The nftables table is replaced whole on the first apply of a process (one
// atomic transaction: no frame ever sees a half-built table) unless it already holds exactly
// what is wanted (a restart changes nothing), and afterwards only the difference is sent; the
// second apply of the same state runs no nft process at all. drift() reads the table back.
//
// Kernel features are probed once, in a throwaway network namespace (unshare -n): 802.1Q VLAN
// devices, bonding, and tc's police action. What the kernel lacks is reported as unrealisable
// and skipped (VLAN networks, bonds), or replaced (QoS: nftables `limit` instead of tc police).
//
// Bridges poolnet made carry the interface alias "poolnet", as OVS bridges carry external_ids:
// only those are removed when no longer wanted; others are left alone.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { changedPorts, deltaScript, fullScript, nftState, summarize, summarizeListing, TABLE, type NftState, type VifFilter } from './bridgerules.ts';
import type { BondSpec, DesiredHost } from './desired.ts';
import type { ApplyReport } from './switch.ts';
import type { BondMember } from './linkstate.ts';
import { bitsPerSecond } from '../domain/qos.ts';
import { isOneLine, switchFit, switchProblems } from './checked.ts';

const run = promisify(execFile);
const MARK = 'poolnet';

export interface KernelFeatures {
  /** 802.1Q VLAN devices (8021q). */
  readonly vlan: boolean;
  /** Bonding devices. */
  readonly bond: boolean;
  /** The tc classifier that can carry a police action on an ingress qdisc, if any. */
  readonly police?: 'matchall' | 'u32';
  /** Why features are missing, for the log. */
  readonly notes: readonly string[];
}

export interface LinuxBridgeOptions {
  /** Run every command in this network namespace (tests; the lab runs the daemon inside it instead). */
  readonly netns?: string;
  /** Override the probe (tests), e.g. to force nftables QoS. */
  readonly features?: Partial<KernelFeatures>;
  readonly log?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
}

export interface LinuxBridgeReport extends ApplyReport {
  readonly linkChanges: number;
  /** nft processes run (0 or 1; 2 only when a difference failed and the whole table was rewritten). */
  readonly nftRuns: number;
  /** VIF ports whose filtering changed. */
  readonly filterPorts: readonly string[];
  /** What this kernel cannot realise, and why. */
  readonly unrealisable: readonly string[];
  /** Devices the desired state names that do not exist (yet): skipped. */
  readonly missing: readonly string[];
  readonly qos: 'tc' | 'nftables';
}

interface Link {
  ifname: string;
  ifindex: number;
  flags: string[];
  mtu: number;
  address?: string;
  master?: string;
  ifalias?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** A bridge as the kernel should have it. */
interface PlanBridge {
  name: string;
  mac?: string;
  mcastSnooping: boolean;
  members: PlanMember[];
}

interface PlanMember {
  dev: string;
  kind: 'uplink' | 'vif' | 'vlan' | 'bond';
  mtu?: number;
  vlan?: { parent: string; tag: number };
  bond?: { members: readonly string[]; spec: BondSpec; mac?: string };
}

interface Plan {
  bridges: PlanBridge[];
  vifs: VifFilter[];
  /** VIF port -> bridge, for the report. */
  vifBridge: Map<string, string>;
  /** VIF port -> KiB/s, when tc does the policing. */
  tcRates: Map<string, number>;
  unrealisable: string[];
  /** Bridges left as they are (a value of theirs, or of their VLAN, failed its check): never deleted for it. */
  held: Set<string>;
}

/** Linux bonding modes for xapi's (xapi passes balance-slb through unchanged, which Linux refuses: map it). */
function linuxBondMode(s: BondSpec): { mode: string; hash?: string } {
  if (s.lacp === 'active') return { mode: '802.3ad', hash: s.mode === 'balance-tcp' ? 'layer3+4' : 'layer2' };
  if (s.mode === 'active-backup') return { mode: 'active-backup' };
  return { mode: 'balance-alb' }; // source-MAC load balancing without switch support, as SLB
}

/** A VLAN device's name: <uplink>.<tag>, as xapi's Linux bridge backend, shortened to fit IFNAMSIZ. */
export function vlanDevice(uplink: string, tag: number): string {
  const n = `${uplink}.${tag}`;
  return n.length <= 15 ? n : `${uplink.slice(0, 14 - String(tag).length)}.${tag}`;
}

/** Translate the desired state into bridges and members this kernel can have, and the VIF filters. */
export function plan(input: DesiredHost, f: KernelFeatures): Plan {
  // checked where the text is built: a bridge or port with a value unfit for `ip` or nft is left out alone
  const desired = switchFit(input);
  const bridges: PlanBridge[] = [];
  const vifs: VifFilter[] = [];
  const vifBridge = new Map<string, string>();
  const tcRates = new Map<string, number>();
  const unrealisable: string[] = switchProblems(input);
  const vlanBridge = new Map<string, string | undefined>(); // "<parent bridge>/<tag>" -> VLAN bridge
  const used = new Set<string>();
  const take = (dev: string, where: string): boolean => {
    if (used.has(dev)) { unrealisable.push(`${dev} on ${where}: the device is already a member elsewhere`); return false; }
    used.add(dev);
    return true;
  };

  for (const b of desired.bridges) {
    const br: PlanBridge = { name: b.name, mac: b.mac, mcastSnooping: b.mcastSnooping, members: [] };
    bridges.push(br);
    for (const p of b.ports) {
      if (p.kind === 'uplink') {
        if (take(p.interfaces[0], b.name)) br.members.push({ dev: p.interfaces[0], kind: 'uplink' });
      } else if (p.kind === 'bond') {
        if (!f.bond) { unrealisable.push(`bond ${p.name} (${p.interfaces.join(', ')}) on ${b.name}: this kernel has no bonding driver`); continue; }
        if (p.interfaces.every((m) => take(m, p.name)) && take(p.name, b.name)) br.members.push({ dev: p.name, kind: 'bond', mtu: p.mtu, bond: { members: p.interfaces, spec: p.bond!, mac: p.mac } });
      } else if (p.kind === 'tunnel') {
        unrealisable.push(`tunnel ${p.name} on ${b.name}: the Linux bridge stack has no GRE tunnels (Open vSwitch only)`);
      }
    }
  }
  // VLAN networks: a bridge of their own, its uplink the VLAN device on the parent's uplink
  for (const b of desired.bridges) {
    for (const p of b.ports) {
      if (p.kind !== 'vlan' || p.tag === undefined) continue;
      const key = `${b.name}/${p.tag}`;
      vlanBridge.set(key, undefined);
      const parent = bridges.find((x) => x.name === b.name)!.members.find((m) => m.kind === 'uplink' || m.kind === 'bond');
      if (!f.vlan) { unrealisable.push(`VLAN network ${p.name} (tag ${p.tag} on ${b.name}): this kernel has no 802.1Q VLAN support (8021q)`); continue; }
      if (!parent) { unrealisable.push(`VLAN network ${p.name} (tag ${p.tag} on ${b.name}): the parent bridge has no uplink here`); continue; }
      const dev = vlanDevice(parent.dev, p.tag);
      if (!take(dev, p.name)) continue;
      bridges.push({ name: p.name, mac: b.mac, mcastSnooping: b.mcastSnooping, members: [{ dev, kind: 'vlan', mtu: p.mtu, vlan: { parent: parent.dev, tag: p.tag } }] });
      vlanBridge.set(key, p.name);
    }
  }
  // VIFs: on their network's bridge (a VLAN network's own bridge when tagged)
  for (const b of desired.bridges) {
    for (const p of b.ports) {
      if (p.kind !== 'vif') continue;
      const dev = p.interfaces[0];
      const target = p.tag === undefined ? b.name : vlanBridge.get(`${b.name}/${p.tag}`);
      if (!target) { unrealisable.push(`VIF ${dev}: its VLAN network (tag ${p.tag} on ${b.name}) is not realised here`); continue; }
      if (p.trunks?.length) unrealisable.push(`VIF ${dev}: trunks are not supported on the Linux bridge: its tagged frames are dropped (xapi's Linux bridge backend ignores trunks too)`);
      // no locking data would be a bug upstream: fail closed rather than open
      const lock = p.lock ?? { mode: 'locked' as const, mac: '', ipv4: [], ipv6: [] };
      if (!p.lock) unrealisable.push(`VIF ${dev}: no locking data; everything it sends is dropped`);
      const rate = p.rateKbps && p.rateKbps > 0 ? p.rateKbps : undefined;
      vifs.push({ port: dev, mac: lock.mac, mode: lock.mode, ipv4: lock.ipv4, ipv6: lock.ipv6, rateKBps: f.police ? undefined : rate });
      vifBridge.set(dev, target);
      if (lock.mode === 'disabled') continue; // off every bridge: nothing in either direction, as xapi
      if (rate && f.police) tcRates.set(dev, rate);
      if (take(dev, target)) bridges.find((x) => x.name === target)!.members.push({ dev, kind: 'vif', mtu: p.mtu });
    }
  }
  return { bridges, vifs, vifBridge, tcRates, unrealisable, held: new Set([...desired.held?.bridges ?? [], ...desired.held?.ports ?? []]) };
}

const PROBE = `
ip link add pnp0 type veth peer name pnp1 || exit 0
ip link add link pnp0 name pnp0.5 type vlan id 5 2>/dev/null && echo vlan
ip link add pnb0 type bond 2>/dev/null && echo bond
tc qdisc add dev pnp0 handle ffff: ingress 2>/dev/null || exit 0
tc filter add dev pnp0 parent ffff: prio 1 protocol all matchall action police rate 1mbit burst 16k drop 2>/dev/null && echo police-matchall
tc filter add dev pnp0 parent ffff: prio 2 protocol all u32 match u32 0 0 police rate 1mbit burst 16k drop 2>/dev/null && echo police-u32
exit 0
`;

/** What this kernel can do, tried in a throwaway network namespace (loading a module is the only trace). */
export async function probeKernel(): Promise<KernelFeatures> {
  try {
    const { stdout } = await run('unshare', ['--net', 'sh', '-c', PROBE]);
    const has = new Set(stdout.split('\n').map((s) => s.trim()));
    const notes: string[] = [];
    if (!has.has('vlan')) notes.push('no 802.1Q VLAN devices (8021q): VLAN networks are not realised');
    if (!has.has('bond')) notes.push('no bonding driver: bonds are not realised');
    const police = has.has('police-matchall') ? 'matchall' as const : has.has('police-u32') ? 'u32' as const : undefined;
    if (!police) notes.push('no tc police action (act_police): VIF rate limits are nftables limit rules');
    return { vlan: has.has('vlan'), bond: has.has('bond'), police, notes };
  } catch (e) {
    return { vlan: false, bond: false, notes: [`could not probe the kernel (${(e as Error).message.split('\n')[0]}): assuming no VLANs, bonds or tc police`] };
  }
}

const bridgeAttrs = (b: PlanBridge) => `forward_delay 0 stp_state 0 mcast_snooping ${b.mcastSnooping ? 1 : 0}`;

export class LinuxBridgeBackend {
  private features: KernelFeatures | undefined;
  /** What the nftables table holds, as last written or verified (undefined: unknown; the next apply checks). */
  private applied: NftState | undefined;
  /** VIF port -> "<ifindex>:<rate>" of the tc policer last installed. */
  private readonly policers = new Map<string, string>();
  /** Processes run, by command (tests count them). */
  readonly runs = { ip: 0, nft: 0, tc: 0 };
  /** The last drift check: when, and how long the listing took. */
  private lastDrift = { at: 0, ms: 0 };
  /** What was last reported unrealisable (logged when it changes, not on every pass). */
  private lastUnrealisable = '';

  constructor(readonly opts: LinuxBridgeOptions = {}) {}

  private async exec(cmd: 'ip' | 'nft' | 'tc', args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
    this.runs[cmd]++;
    const [file, argv] = this.opts.netns ? ['ip', ['netns', 'exec', this.opts.netns, cmd, ...args]] : [cmd, args];
    const p = run(file, argv, { maxBuffer: 256 * 1024 * 1024 });
    if (input !== undefined) p.child.stdin!.end(input);
    return p;
  }

  /** Run a batch of commands in one process, going on past failures; the failures come back. */
  private async batch(cmd: 'ip' | 'tc', all: string[]): Promise<string[]> {
    // each command one line: a value with a newline can never add a command of its own
    const lines = all.filter(isOneLine);
    const refused = all.filter((l) => !isOneLine(l)).map((l) => `${cmd}: refused a command that is not one line: ${JSON.stringify(l)}`);
    if (refused.length) return [...refused, ...await this.batch(cmd, lines)];
    if (!lines.length) return [];
    try {
      await this.exec(cmd, ['-force', '-batch', '-'], lines.join('\n') + '\n');
      return [];
    } catch (e) {
      const err = (e as { stderr?: string }).stderr ?? (e as Error).message;
      return err.split('\n').map((s) => s.trim()).filter(Boolean).map((s) => `${cmd}: ${s}`);
    }
  }

  async kernelFeatures(): Promise<KernelFeatures> {
    if (!this.features) {
      const probed = await probeKernel();
      this.features = { ...probed, ...this.opts.features, notes: probed.notes };
      for (const n of this.features.notes) this.opts.log?.info({ backend: 'bridge' }, n);
    }
    return this.features;
  }

  private async links(): Promise<Map<string, Link>> {
    const { stdout } = await this.exec('ip', ['-j', '-d', 'link', 'show']);
    return new Map((JSON.parse(stdout) as Link[]).map((l) => [l.ifname, l]));
  }

  async apply(desired: DesiredHost): Promise<LinuxBridgeReport> {
    const f = await this.kernelFeatures();
    const p = plan(desired, f);
    const errors: string[] = [];
    const state = nftState(p.vifs);
    // filtering first: a VIF about to join a bridge is already covered by its rules
    const nft = await this.applyFilters(state).catch((e: Error) => { errors.push(e.message); return undefined; });
    const links = await this.links();
    if (!nft) {
      // the rules did not go in (the old ones are intact: nft is atomic): no VIF joins a bridge unfiltered
      for (const b of p.bridges) b.members = b.members.filter((m) => m.kind !== 'vif' || links.get(m.dev)?.master === b.name);
    }
    const missing: string[] = [];
    const cmds = this.linkCommands(p, links, missing);
    errors.push(...await this.batch('ip', cmds));
    const qos = f.police ? await this.applyPolicers(p.tcRates, f.police, errors) : 0;
    const report: LinuxBridgeReport = {
      switchChanges: cmds.length, linkChanges: cmds.length, rateChanges: qos, nftRuns: nft?.runs ?? 1, filterPorts: nft?.ports ?? [],
      filterBridges: [...new Set((nft?.ports ?? []).map((x) => p.vifBridge.get(x)).filter((x): x is string => !!x))].sort(),
      unrealisable: [...p.unrealisable, ...state.rejected], missing, qos: f.police ? 'tc' : 'nftables',
    };
    const unrealisable = JSON.stringify(report.unrealisable);
    if (unrealisable !== this.lastUnrealisable && report.unrealisable.length) this.opts.log?.warn({ unrealisable: report.unrealisable }, 'not realised on this host (skipped)');
    this.lastUnrealisable = unrealisable;
    if (errors.length) throw new Error(`the Linux bridge backend could not apply everything: ${errors.join('; ')}`);
    return report;
  }

  /** `ip -batch` lines that bring links to the plan; stale members and bridges poolnet made go. */
  private linkCommands(p: Plan, links: Map<string, Link>, missing: string[]): string[] {
    const cmds: string[] = [];
    const wanted = new Set(p.bridges.map((b) => b.name));
    const wantedDevs = new Set(p.bridges.flatMap((b) => b.members.map((m) => m.dev)));
    const planned = new Set(p.bridges.flatMap((b) => b.members.filter((m) => m.kind === 'bond').map((m) => m.dev)));
    const kind = (l: Link | undefined) => l?.linkinfo?.info_kind;
    const ours = (l: Link) => l.ifalias === MARK;
    // what poolnet made and no longer wants: bridges, VLAN devices, bonds
    for (const l of links.values()) {
      if (!ours(l) || p.held.has(l.ifname)) continue;
      if ((kind(l) === 'bridge' && !wanted.has(l.ifname)) || ((kind(l) === 'vlan' || kind(l) === 'bond') && !wantedDevs.has(l.ifname))) cmds.push(`link del dev ${l.ifname}`);
    }
    for (const b of p.bridges) {
      const cur = links.get(b.name);
      if (cur && kind(cur) !== 'bridge') { missing.push(`${b.name}: exists and is not a bridge (${kind(cur) ?? 'unknown kind'})`); continue; }
      if (!cur) {
        cmds.push(`link add name ${b.name} type bridge ${bridgeAttrs(b)}`, `link set dev ${b.name} alias ${MARK}`);
        if (b.mac) cmds.push(`link set dev ${b.name} address ${b.mac}`);
        cmds.push(`link set dev ${b.name} up`);
      } else {
        const d = cur.linkinfo?.info_data ?? {};
        if (d.forward_delay !== 0 || d.stp_state !== 0 || d.mcast_snooping !== (b.mcastSnooping ? 1 : 0)) cmds.push(`link set dev ${b.name} type bridge ${bridgeAttrs(b)}`);
        if (!ours(cur)) cmds.push(`link set dev ${b.name} alias ${MARK}`);
        if (b.mac && cur.address?.toLowerCase() !== b.mac.toLowerCase()) cmds.push(`link set dev ${b.name} address ${b.mac}`);
        if (!cur.flags.includes('UP')) cmds.push(`link set dev ${b.name} up`);
      }
      const members = new Set(b.members.map((m) => m.dev));
      // members that should not be here (a disabled VIF, a NIC now in a bond, a stale VIF)
      for (const l of links.values()) if (l.master === b.name && !members.has(l.ifname)) cmds.push(`link set dev ${l.ifname} nomaster`);
      for (const m of b.members) cmds.push(...this.memberCommands(b, m, links, planned, missing));
    }
    return cmds;
  }

  /** `planned`: bonds this batch creates (a VLAN device may sit on one). */
  private memberCommands(b: PlanBridge, m: PlanMember, links: Map<string, Link>, planned: Set<string>, missing: string[]): string[] {
    const cmds: string[] = [];
    let cur = links.get(m.dev);
    if (m.kind === 'vlan') {
      const v = m.vlan!;
      const d = cur?.linkinfo?.info_data;
      if (cur && (cur.linkinfo?.info_kind !== 'vlan' || d?.id !== v.tag || cur.link !== v.parent)) { cmds.push(`link del dev ${m.dev}`); cur = undefined; }
      if (!cur) {
        if (!links.has(v.parent) && !planned.has(v.parent)) { missing.push(v.parent); return cmds; }
        cmds.push(`link add link ${v.parent} name ${m.dev} type vlan id ${v.tag}`, `link set dev ${m.dev} alias ${MARK}`);
      }
    } else if (m.kind === 'bond') {
      const bond = m.bond!;
      const mode = linuxBondMode(bond.spec);
      if (cur && (cur.linkinfo?.info_kind !== 'bond' || cur.linkinfo.info_data?.mode !== mode.mode)) { cmds.push(`link del dev ${m.dev}`); cur = undefined; }
      if (!cur) {
        cmds.push(`link add name ${m.dev} type bond mode ${mode.mode} miimon 100 updelay ${bond.spec.updelay} downdelay ${bond.spec.downdelay}${mode.hash ? ` xmit_hash_policy ${mode.hash}` : ''}`, `link set dev ${m.dev} alias ${MARK}`);
      }
      if (bond.mac && cur?.address?.toLowerCase() !== bond.mac.toLowerCase()) cmds.push(`link set dev ${m.dev} address ${bond.mac}`);
      for (const s of bond.members) {
        const l = links.get(s);
        if (!l) { missing.push(s); continue; }
        // a bond takes only members that are down
        if (l.master !== m.dev || !cur) cmds.push(`link set dev ${s} down`, `link set dev ${s} master ${m.dev}`, `link set dev ${s} up`);
      }
      for (const l of links.values()) if (cur && l.master === m.dev && !bond.members.includes(l.ifname)) cmds.push(`link set dev ${l.ifname} nomaster`);
    } else if (!cur) {
      missing.push(m.dev); // a NIC that is not there, or a VIF whose VM has no device yet
      return cmds;
    }
    if (!cur || cur.master !== b.name) cmds.push(`link set dev ${m.dev} master ${b.name}`);
    if (m.mtu && m.kind !== 'uplink' && cur?.mtu !== m.mtu) cmds.push(`link set dev ${m.dev} mtu ${m.mtu}`);
    if (!cur?.flags.includes('UP')) cmds.push(`link set dev ${m.dev} up`);
    return cmds;
  }

  /** Bring the table to the filters in one nft transaction, or none when it already holds them. */
  private async applyFilters(next: NftState): Promise<{ runs: number; ports: string[] }> {
    if (!this.applied) {
      // first apply of this process: leave a table that is already right alone (a restart changes nothing)
      const listing = await this.exec('nft', ['-j', 'list', 'table', ...TABLE.split(' ')]).then((r) => r.stdout, () => '');
      if (summarizeListing(listing) === summarize(next)) { this.applied = next; return { runs: 0, ports: [] }; }
    }
    const prev = this.applied;
    const script = prev ? deltaScript(prev, next) : fullScript(next);
    if (!script) return { runs: 0, ports: [] };
    const ports = changedPorts(prev, next);
    this.applied = undefined; // unknown until nft says it worked
    try {
      await this.exec('nft', ['-f', '-'], script);
      this.applied = next;
      return { runs: 1, ports };
    } catch (e) {
      if (!prev) throw new Error(`nft: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
      // the table was not what we thought (someone changed it): replace it whole
      this.opts.log?.warn({ err: (e as { stderr?: string }).stderr }, 'nftables table differed from what was applied; rewriting it');
      await this.exec('nft', ['-f', '-'], fullScript(next));
      this.applied = next;
      return { runs: 2, ports: changedPorts(undefined, next) };
    }
  }

  /** tc ingress policing of what each VIF's VM sends (only where the kernel has the police action). */
  private async applyPolicers(rates: Map<string, number>, classifier: 'matchall' | 'u32', errors: string[]): Promise<number> {
    const links = await this.links();
    const lines: string[] = [];
    const next = new Map<string, string>();
    const ports = new Set([...rates.keys(), ...this.policers.keys()]);
    for (const port of ports) {
      const l = links.get(port);
      if (!l) continue; // gone with its device
      const rate = rates.get(port);
      const key = rate ? `${l.ifindex}:${rate}` : undefined;
      if (key) next.set(port, key);
      if (this.policers.get(port) === key) continue;
      lines.push(`qdisc del dev ${port} ingress`);
      if (!rate) continue;
      const match = classifier === 'matchall' ? 'matchall action' : 'u32 match u32 0 0';
      // bucket: a tenth of a second of the rate, and at least a 64 KiB GSO super-frame (see LIMIT_BURST_BYTES)
      lines.push(`qdisc add dev ${port} handle ffff: ingress`, `filter add dev ${port} parent ffff: prio 1 protocol all ${match} police rate ${bitsPerSecond(rate)}bit burst ${Math.max(64, Math.ceil(rate / 10))}k drop`);
    }
    // "qdisc del" of an absent qdisc fails harmlessly; only the adds count
    const failed = (await this.batch('tc', lines)).filter((e) => !/Cannot find|Invalid handle|No such file/.test(e));
    errors.push(...failed);
    this.policers.clear();
    for (const [k, v] of next) this.policers.set(k, v);
    return lines.filter((x) => !x.startsWith('qdisc del')).length;
  }

  /**
   * Whether the table still holds what was applied; if not, forget it so the next apply rewrites it.
   * Listing a big table is slow (seconds for 512 locked VIFs), so at most 5% of the time goes to it:
   * calls sooner than 20 times the last listing's duration return at once.
   */
  async drift(_desired?: DesiredHost): Promise<string[]> {
    if (Date.now() - this.lastDrift.at < this.lastDrift.ms * 20) return [];
    return this.verify();
  }

  /** drift() without the time budget. */
  async verify(): Promise<string[]> {
    if (!this.applied) return [];
    const t0 = Date.now();
    const listing = await this.exec('nft', ['-j', 'list', 'table', ...TABLE.split(' ')]).then((r) => r.stdout, () => '');
    this.lastDrift = { at: Date.now(), ms: Date.now() - t0 };
    if (summarizeListing(listing) === summarize(this.applied)) return [];
    this.applied = undefined;
    return [`nftables table ${TABLE}`];
  }

  /** A bond's members: up when they have carrier; active when up, in active-backup only the current one. */
  async bondMembers(port: string): Promise<BondMember[] | undefined> {
    try {
      type Detailed = Link & { linkinfo?: { info_data?: { mode?: string }; info_slave_data?: { state?: string } } };
      const bond = (JSON.parse((await this.exec('ip', ['-j', '-d', 'link', 'show', 'dev', port])).stdout) as Detailed[])[0];
      const ab = bond?.linkinfo?.info_data?.mode === 'active-backup';
      const members = JSON.parse((await this.exec('ip', ['-j', '-d', 'link', 'show', 'master', port])).stdout) as Detailed[];
      return members.map((l) => {
        const up = l.flags.includes('LOWER_UP');
        return { device: l.ifname, up, active: ab ? up && l.linkinfo?.info_slave_data?.state === 'ACTIVE' : up };
      });
    } catch { return undefined; }
  }

  close(): void { /* no connection to close */ }
}
