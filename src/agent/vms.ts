// The lab's hypervisor: on a lab host, poolnetd plays xenopsd and netback for the VMs resident
// on it. A VM that runs has a network namespace (the lab's prefix + the VM's name); each attached
// VIF is a veth pair, vif<domid>.<device> here and eth<device> in the VM, with the VIF's MAC and
// MTU. Level-triggered, like the switch backends: desiredVms() reads the database, observe()
// reads the kernel, planVms() (pure) says what differs, and the executor runs `ip` with checked
// arguments (execFile, never a shell). Never on a real host: the daemon makes one only when the
// lab asks for it (--lab-vms).

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Database, Obj } from '../db/database.ts';
import { asIfName, asMac, asMtu, isTextIfName, isUuid, type IfName, type Mac, type Mtu } from './checked.ts';
import { migrationOrder } from '../domain/migration.ts';
import { answerOrNone, answerOrThrow, ipReads, type IpAnswer } from './ipbatch.ts';

/** One NIC of a running VM: the host's end and the guest's. */
export interface NicWant {
  readonly host: IfName;
  readonly guest: IfName;
  readonly mac: Mac;
  readonly mtu: Mtu;
}

export interface VmWant {
  readonly ns: NsName;
  readonly uuid: string;
  readonly nics: readonly NicWant[];
  /** Being migrated away (its destination may take its NICs before this host's copy of the database says so): a NIC gone is not brought back. */
  readonly leaving?: boolean;
}

export interface VmsWanted {
  /** The VMs running here. */
  readonly vms: readonly VmWant[];
  /** Namespaces of VMs that run on another host (leave them; their devices may be pulled from here). */
  readonly elsewhere: readonly NsName[];
  /** VMs left out, and why (logged by the agent). */
  readonly problems: readonly string[];
}

declare const NS: unique symbol;
/** A lab VM's namespace name: the lab's prefix and a VM name that cannot be a lab host's or the fabric's. */
export type NsName = string & { readonly [NS]: true };

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
// the lab's own namespaces (src/lab/lab.ts): a VM of such a name would take over a host
const LAB_NAMES = /^(fabric|host\d+)$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export const isLabPrefix = (p: string): boolean => PREFIX.test(p);

/** The namespace of a VM named `name`, or undefined when the name cannot be one. */
export function vmNamespace(prefix: string, name: unknown): NsName | undefined {
  if (!isLabPrefix(prefix) || typeof name !== 'string' || !VM_NAME.test(name) || LAB_NAMES.test(name)) return undefined;
  return `${prefix}${name}` as NsName;
}

const isNs = (prefix: string, s: string): s is NsName => s.startsWith(prefix) && vmNamespace(prefix, s.slice(prefix.length)) !== undefined;

const running = (vm: Obj) => vm.rec.power_state === 'Running' && !vm.rec.is_control_domain;

/** What the database wants of this host's VMs (pure: reads only the database). */
export function desiredVms(db: Database, host: string, prefix: string): VmsWanted {
  const problems: string[] = [];
  const vms: VmWant[] = [];
  const elsewhere: NsName[] = [];
  const taken = new Set<string>();
  const all = [...db.all('VM')].filter(running).sort((a, b) => String(a.rec.uuid).localeCompare(String(b.rec.uuid)));
  for (const vm of all) {
    const ns = vmNamespace(prefix, vm.rec.name_label);
    const here = vm.rec.resident_on === host;
    if (!ns) { if (here) problems.push(`VM ${String(vm.rec.uuid)}: its name ${JSON.stringify(vm.rec.name_label)} cannot name a lab namespace`); continue; }
    if (taken.has(ns)) { if (here) problems.push(`VM ${String(vm.rec.uuid)}: another running VM is named ${JSON.stringify(vm.rec.name_label)}`); continue; }
    taken.add(ns);
    // a live migration's switch phase (src/domain/migration.ts): the destination takes the NICs
    // over under the VM's domain id there, and the source leaves them to it
    const order = migrationOrder(vm.rec.migration);
    const switching = order?.phase === 'switch';
    if (switching ? order.destination !== host : !here) { elsewhere.push(ns); continue; }
    const domid = switching ? order.domid : vm.rec.domid;
    if (typeof domid !== 'number' || !Number.isSafeInteger(domid) || domid < 1 || !isUuid(String(vm.rec.uuid))) { problems.push(`VM ${String(vm.rec.uuid)}: no domain id`); continue; }
    const nics: NicWant[] = [];
    for (const r of db.referrers(vm.ref, 'VIF', 'VM')) {
      const vif = db.get(r);
      if (!vif?.rec.currently_attached) continue;
      const device = String(vif.rec.device);
      try {
        if (!/^\d{1,4}$/.test(device)) throw new Error(`device ${JSON.stringify(device)}`);
        const net = db.get(String(vif.rec.network));
        const mtuRaw = typeof vif.rec.MTU === 'number' && vif.rec.MTU > 0 ? vif.rec.MTU : net?.rec.MTU;
        nics.push({ host: asIfName(`vif${domid}.${device}`), guest: asIfName(`eth${device}`), mac: asMac(vif.rec.MAC), mtu: asMtu(mtuRaw) });
      } catch (e) {
        problems.push(`VIF ${String(vif.rec.uuid)}: ${(e as Error).message}; not given to the VM`);
      }
    }
    nics.sort((a, b) => a.host.localeCompare(b.host));
    vms.push({ ns, uuid: String(vm.rec.uuid), nics, ...(order && order.destination !== host ? { leaving: true } : {}) });
  }
  return { vms, elsewhere, problems };
}

/** A link as `ip -j link show` reports it, with its veth peer resolved to a namespace name. */
export interface Link {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** The namespace of its veth peer (by name), when it has one in a named namespace. */
  readonly peerNs?: string;
  readonly peerIndex?: number;
}

export interface Observed {
  /** Named namespaces on the machine. */
  readonly namespaces: ReadonlySet<string>;
  /** This host's vif<domid>.<device> links. */
  readonly here: readonly Link[];
  /** Links in each VM namespace looked at. */
  readonly guests: ReadonlyMap<string, readonly Link[]>;
  /** Host ends without IPv6 (a backend device carries none of its own). */
  readonly noIpv6: ReadonlySet<string>;
}

export type Step =
  | { readonly op: 'add-ns'; readonly ns: NsName }
  | { readonly op: 'del-ns'; readonly ns: NsName }
  | { readonly op: 'del-here'; readonly dev: IfName }
  | { readonly op: 'del-guest'; readonly ns: NsName; readonly dev: IfName }
  /** Move the host end of a VM's NIC from another host (migration), under this host's name for it. */
  | { readonly op: 'pull'; readonly from: NsName; readonly fromIndex: number; readonly nic: NicWant }
  | { readonly op: 'create'; readonly ns: NsName; readonly nic: NicWant }
  | { readonly op: 'set-guest'; readonly ns: NsName; readonly nic: NicWant }
  | { readonly op: 'host-end'; readonly nic: NicWant };

const VIF_DEV = /^vif(\d+)\.\d+$/;

/**
 * The steps from what is to what the database wants (pure). `owned`: namespaces this host ran
 * (a VM that stops anywhere else is another host's to remove). `prefix` bounds what it touches:
 * only namespaces of lab VMs, only vif<domid>.<device> devices here.
 */
export function planVms(want: VmsWanted, seen: Observed, owned: ReadonlySet<string>, prefix: string): Step[] {
  const steps: Step[] = [];
  const wanted = new Map<string, VmWant>(want.vms.map((v) => [v.ns, v]));
  const elsewhere = new Set<string>(want.elsewhere);
  const byName = new Map(seen.here.map((l) => [l.name, l]));
  const runningDomids = new Set(want.vms.flatMap((v) => v.nics.map((n) => VIF_DEV.exec(n.host)![1])));
  const wantedHere = new Set(want.vms.flatMap((v) => v.nics.map((n) => n.host as string)));
  // VMs that stopped (or were destroyed) after running here: their namespace goes, NICs with it
  for (const ns of owned) if (!wanted.has(ns) && !elsewhere.has(ns) && seen.namespaces.has(ns) && isNs(prefix, ns)) steps.push({ op: 'del-ns', ns });
  // NICs unplugged, destroyed or moved off while the VM runs here. A device of a domain that does
  // not run here is left alone: it is one being moved in by a migration not yet committed.
  for (const l of seen.here) {
    const m = VIF_DEV.exec(l.name);
    if (m && !wantedHere.has(l.name) && (runningDomids.has(m[1]) || (l.peerNs !== undefined && wanted.has(l.peerNs)))) steps.push({ op: 'del-here', dev: asIfName(l.name) });
  }
  for (const vm of want.vms) {
    if (!seen.namespaces.has(vm.ns)) steps.push({ op: 'add-ns', ns: vm.ns });
    const guest = seen.guests.get(vm.ns) ?? [];
    const guestBy = new Map(guest.map((l) => [l.name, l]));
    for (const nic of vm.nics) {
      const h = byName.get(nic.host);
      const g = guestBy.get(nic.guest);
      const paired = h && g && h.peerNs === vm.ns && h.peerIndex === g.ifindex;
      if (paired) {
        if (g.mac !== nic.mac || g.mtu !== nic.mtu || !g.up) steps.push({ op: 'set-guest', ns: vm.ns, nic });
        if (!h.up || !seen.noIpv6.has(h.name)) steps.push({ op: 'host-end', nic });
        continue;
      }
      // a VM leaving: its NIC may be on its destination already (this host's copy lags)
      if (vm.leaving) continue;
      // the guest's NIC is another host's end (a migration): move that end here, as a
      // hypervisor's destination backend takes over the device; the guest keeps its NIC
      if (!h && g?.peerNs && g.peerIndex !== undefined && g.peerNs !== vm.ns && isHostNs(prefix, g.peerNs, wanted, elsewhere)) {
        steps.push({ op: 'pull', from: g.peerNs as NsName, fromIndex: g.peerIndex, nic });
        if (g.mac !== nic.mac || g.mtu !== nic.mtu || !g.up) steps.push({ op: 'set-guest', ns: vm.ns, nic });
        continue;
      }
      if (h) steps.push({ op: 'del-here', dev: nic.host });
      if (g) steps.push({ op: 'del-guest', ns: vm.ns, dev: nic.guest });
      steps.push({ op: 'create', ns: vm.ns, nic });
    }
    // guest NICs of this VM that no attached VIF asks for (unplugged while this host was away)
    const guestWanted = new Set(vm.nics.map((n) => n.guest as string));
    for (const l of guest) if (/^eth\d+$/.test(l.name) && !guestWanted.has(l.name)) steps.push({ op: 'del-guest', ns: vm.ns, dev: asIfName(l.name) });
  }
  return steps;
}

/** Another lab host's namespace: the lab's prefix, and not a VM's. */
function isHostNs(prefix: string, ns: string, wanted: ReadonlyMap<string, unknown>, elsewhere: ReadonlySet<string>): boolean {
  return ns.startsWith(prefix) && /^host\d+$/.test(ns.slice(prefix.length)) && !wanted.has(ns) && !elsewhere.has(ns);
}

// ---------------------------------------------------------------- the executor

/**
 * poolnetd runs in its host's namespace through `ip netns exec`, in a mount namespace of its own
 * (a slave of the machine's, for the host's /sys): a namespace it named there would not show to
 * the machine. The lab hands it the machine's mount namespace as an open file descriptor; names
 * are made and removed there, and reach this one by propagation.
 */
const inMachine = (mountNsFd: number | undefined, args: readonly string[]): [readonly string[], 'ip' | 'nsenter'] =>
  mountNsFd === undefined ? [args, 'ip'] : [['--mount=/proc/' + String(process.pid) + '/fd/' + String(mountNsFd), '--', 'ip', ...args], 'nsenter'];

const run = (args: readonly string[], cmd: 'ip' | 'ethtool' | 'nsenter' = 'ip'): Promise<string> => new Promise((resolve, reject) => {
  execFile(cmd, [...args], { encoding: 'utf8', timeout: 10_000 }, (e, out, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || e.message}`)) : resolve(out)));
});

interface IpLink { ifname: string; ifindex: number; address?: string; mtu: number; flags?: string[]; link_index?: number; link_netnsid?: number }

/** A namespace's links and the names of the namespaces their peers are in (`read`: both already read). */
async function links(ns?: string, read?: readonly IpAnswer[]): Promise<Link[]> {
  const [raw, ids] = read ?? await ipReads([['link', 'show'], ['netns', 'list-id']], { netns: ns });
  const names = new Map((answerOrNone(ids) as { nsid: number; name?: string }[]).map((i) => [i.nsid, i.name]));
  return (answerOrThrow(raw) as IpLink[]).map((l) => ({
    name: l.ifname, ifindex: l.ifindex, mac: l.address ?? '', mtu: l.mtu, up: l.flags?.includes('UP') ?? false,
    peerNs: l.link_netnsid !== undefined ? names.get(l.link_netnsid) : undefined, peerIndex: l.link_netnsid !== undefined ? l.link_index : undefined,
  }));
}

// a kernel without IPv6 has none to disable
const ipv6Off = (dev: string): boolean => {
  try { return readFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, 'utf8').trim() === '1'; } catch { return !existsSync('/proc/sys/net/ipv6'); }
};

export interface VmLog { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void }

export class VmBackend {
  /** Namespaces of VMs that ran here (in this process, or found wired to this host). */
  private readonly owned = new Set<string>();
  private readonly told = new Set<string>();

  /** `mountNsFd`: an open descriptor of the machine's mount namespace, where namespaces are named. */
  constructor(private readonly prefix: string, private readonly log: VmLog, private readonly mountNsFd?: number) {
    if (!isLabPrefix(prefix)) throw new Error(`not a lab namespace prefix: ${JSON.stringify(prefix)}`);
    if (mountNsFd !== undefined && !(Number.isInteger(mountNsFd) && mountNsFd >= 3 && mountNsFd < 1024)) throw new Error(`not a descriptor: ${mountNsFd}`);
  }

  desired(db: Database, host: string): VmsWanted { return desiredVms(db, host, this.prefix); }

  /** The namespace of a VM named `name` here, or undefined. */
  namespaceOf(name: unknown): NsName | undefined { return vmNamespace(this.prefix, name); }

  /** Host ends of the NICs of VMs running here that the last pass left wired (found so, or made or pulled in without a failure). */
  private wired = new Set<string>();

  /** Whether each of `devs` was wired here by the last pass (a migration's NICs have arrived). */
  arrived(devs: readonly string[]): boolean { return devs.every((d) => this.wired.has(d)); }

  async observe(want: VmsWanted): Promise<Observed> {
    // an idle pass's reads of this host in one process
    const three = await ipReads([['netns', 'list'], ['link', 'show'], ['netns', 'list-id']]);
    const namespaces = new Set((answerOrThrow(three[0]) as { name: string }[]).map((n) => n.name));
    const here = (await links(undefined, three.slice(1))).filter((l) => VIF_DEV.test(l.name));
    // a VM whose NICs end here ran here (also before a restart of this daemon)
    for (const l of here) if (l.peerNs && isNs(this.prefix, l.peerNs)) this.owned.add(l.peerNs);
    const guests = new Map<string, Link[]>();
    await Promise.all(want.vms.filter((v) => namespaces.has(v.ns)).map(async (v) => { guests.set(v.ns, await links(v.ns)); }));
    return { namespaces, here, guests, noIpv6: new Set(here.filter((l) => ipv6Off(l.name)).map((l) => l.name)) };
  }

  /** Whether the last apply made every step it planned (else the next pass plans again). */
  complete = false;

  /** One pass: returns the number of changes made. A step that fails is logged; the rest go on. */
  async apply(want: VmsWanted): Promise<number> {
    for (const p of want.problems) if (!this.told.has(p)) { this.told.add(p); this.log.warn({ problem: p }, 'a VM or VIF is left out of the lab hypervisor'); }
    const seen = await this.observe(want);
    const steps = planVms(want, seen, this.owned, this.prefix);
    for (const v of want.vms) this.owned.add(v.ns);
    let changes = 0;
    const failed = new Set<string>();
    this.complete = false;
    let failures = 0;
    for (const s of steps) {
      try {
        await this.step(s);
        changes++;
        if (s.op === 'del-ns') this.owned.delete(s.ns);
      } catch (e) {
        failures++;
        if ('nic' in s) failed.add(s.nic.host);
        if (s.op === 'add-ns') for (const n of want.vms.find((v) => v.ns === s.ns)?.nics ?? []) failed.add(n.host);
        this.log.warn({ step: s.op, err: (e as Error).message }, 'the lab hypervisor could not make a change; will retry');
      }
    }
    this.wired = new Set(want.vms.flatMap((v) => v.nics.map((n) => n.host as string)).filter((h) => !failed.has(h)));
    for (const ns of want.elsewhere) this.owned.delete(ns);
    this.complete = failures === 0;
    if (changes) this.log.info({ changes: steps.map((s) => `${s.op} ${'ns' in s ? s.ns : ''}${'dev' in s ? ` ${s.dev}` : ''}${'nic' in s ? ` ${s.nic.host}` : ''}`) }, 'lab VMs wired');
    return changes;
  }

  private async step(s: Step): Promise<void> {
    switch (s.op) {
      case 'add-ns':
        await run(...inMachine(this.mountNsFd, ['netns', 'add', s.ns]));
        await run(['-n', s.ns, 'link', 'set', 'lo', 'up']);
        return;
      case 'del-ns':
        await run(...inMachine(this.mountNsFd, ['netns', 'del', s.ns]));
        return;
      case 'del-here':
        await run(['link', 'del', s.dev]);
        return;
      case 'del-guest':
        await run(['-n', s.ns, 'link', 'del', s.dev]);
        return;
      case 'pull': {
        const from = (await links(s.from)).find((l) => l.ifindex === s.fromIndex);
        if (!from) throw new Error(`no device ${s.fromIndex} in ${s.from}`);
        // into this process's namespace, renamed on the way (one netlink request)
        await run(['-n', s.from, 'link', 'set', asIfName(from.name), 'netns', String(process.pid), 'name', s.nic.host]);
        this.log.info({ dev: s.nic.host, from: s.from, at: Date.now() }, 'live migration: a NIC pulled in from its source');
        await this.hostEnd(s.nic, true);
        return;
      }
      case 'create': {
        // the guest's end is made with the VIF's MAC: it never shows another
        await run(['link', 'add', s.nic.host, 'mtu', String(s.nic.mtu), 'type', 'veth', 'peer', 'name', s.nic.guest, 'address', s.nic.mac, 'mtu', String(s.nic.mtu), 'netns', s.ns]);
        // the host's end first: when the guest sees its NIC up, the host's end is ready (no IPv6 of its own)
        await this.hostEnd(s.nic);
        await this.guestEnd(s.ns, s.nic);
        return;
      }
      case 'set-guest':
        await this.guestEnd(s.ns, s.nic);
        return;
      case 'host-end':
        await this.hostEnd(s.nic);
        return;
    }
  }

  private async guestEnd(ns: NsName, nic: NicWant): Promise<void> {
    await run(['-n', ns, 'link', 'set', nic.guest, 'address', nic.mac, 'mtu', String(nic.mtu), 'up']);
    // the userspace datapath does not fill in checksums: the VM must (DESIGN.md)
    await run(['netns', 'exec', ns, 'ethtool', '-K', nic.guest, 'tx', 'off']).catch(() => undefined);
  }

  /**
   * The host's end carries no IPv6 of its own (else the host's kernel sends router
   * solicitations, neighbour discovery and MLD straight into the VM, past the switch and its locks).
   */
  private async hostEnd(nic: NicWant, offloadLater = false): Promise<void> {
    if (!isTextIfName(nic.host)) throw new Error(`bad device ${nic.host}`);
    try { writeFileSync(`/proc/sys/net/ipv6/conf/${nic.host}/disable_ipv6`, '1'); } catch { /* no IPv6 in this kernel */ }
    await run(['link', 'set', nic.host, 'up']);
    const offload = run(['-K', nic.host, 'tx', 'off'], 'ethtool').catch(() => undefined);
    // a migrated NIC: its traffic is under way again before this (TCP's checksums follow within milliseconds)
    if (!offloadLater) await offload;
  }
}
