// The drop poller: about once a second, read how many frames each VIF's locking rules dropped on
// this host (Open vSwitch: the drop flows' packet counts; the Linux bridge: nftables' named
// counters; a disabled VIF, which is on no bridge: what its device received), and report the VIFs
// whose counts rose: their `locking_drops` and `locking_drops_changed` through the path a member
// reports its status by (the master's pool.replica_write, which checks them again), and the pool
// message VIF_LOCKING_DROPS, rate-limited (dropstats.ts). Only bridges with VIFs are read.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Commit, Database } from '../db/database.ts';
import { now } from '../api/marshal.ts';
import { LOCKING_DROP_REASONS } from '../model/classes/vif.ts';
import type { BackendName } from '../domain/backend.ts';
import type { Alert } from '../ops/message.ts';
import { counterName, TABLE } from './bridgerules.ts';
import { compile, vifPortName } from './compile.ts';
import {
  AlertLimiter, alertBody, cleanLockingDrops, DropCounter, flowReadings, parseFlowDump, plus, VIF_LOCKING_DROPS,
  type DropCounts, type FlowStat, type Reading,
} from './dropstats.ts';
import type { FlowStat as OfFlowStat } from './openflow/transact.ts';
import { cookieOf, DROP_REASON } from './ovsflows.ts';
import { referrers, str } from './raw.ts';

const run = promisify(execFile);

export interface DropPollerOptions {
  readonly db: Database;
  readonly host: () => string;
  readonly backend: BackendName;
  /** Open vSwitch's run directory (<bridge>.mgmt). */
  readonly ovsRunDir: string;
  /** Where the counts go: the local database (master) or pool.replica_write on the master (member). */
  readonly write: (updates: [string, Record<string, unknown>][]) => Promise<void>;
  /** Where the messages go. */
  readonly raise: (alerts: Alert[]) => Promise<void>;
  readonly log: { warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void };
  readonly intervalMs?: number;
  /**
   * The statistics of a bridge's flows whose cookie has the lowest bit set (the VIFs'), over the
   * backend's OpenFlow connection (OvsBackend.flowStats); ovs-ofctl when it fails or is absent.
   */
  readonly flowStats?: (bridge: string) => Promise<readonly OfFlowStat[]>;
}

/** This host's VIFs as the switch has them: by bridge and port, and the disabled ones' devices. */
interface Layout {
  readonly generation: number;
  /** bridge -> (cookie -> VIF uuid), bridges with VIFs only. */
  readonly cookies: Map<string, Map<string, string>>;
  /** port -> VIF uuid (VIFs on a bridge). */
  readonly ports: Map<string, string>;
  /** device -> VIF uuid (disabled VIFs: on no bridge). */
  readonly detached: Map<string, string>;
}

/** The fields the poller writes: a commit that changes only them needs no agent pass. */
const OWN_FIELDS = new Set(['locking_drops', 'locking_drops_changed']);

export class DropPoller {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private layout: Layout | undefined;
  private readonly counter = new DropCounter();
  private readonly limiter = new AlertLimiter();
  /** Per VIF uuid, the cumulative counts as this host last reported them. */
  private readonly totals = new Map<string, { counts: DropCounts; written: boolean }>();
  /** Per bridge, when its flows were last read (ms). */
  private readonly lastRead = new Map<string, number>();
  /** Per VIF ref, a digest of its record apart from the poller's fields (onlyCounts). */
  private readonly digests = new Map<string, string>();
  private lastError = '';
  /** Ticks and their cost, for benches. */
  readonly stats = { ticks: 0, ms: 0, reports: 0 };

  constructor(private readonly o: DropPollerOptions) {}

  /**
   * Read about once a second; a read that takes long (thousands of flows or counters) spaces the
   * next one out, so that reading takes at most a tenth of the time (and never waits over 30 s).
   */
  start(): this {
    const every = this.o.intervalMs ?? 1000;
    const next = (delay: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        const t0 = performance.now();
        void this.tick().finally(() => next(Math.min(30_000, Math.max(every, 10 * (performance.now() - t0)))));
      }, delay);
      this.timer.unref();
    };
    next(every);
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Whether a commit changed nothing but the poller's own fields of VIFs (the agent then needs no
   * pass: nothing it realises changed). Every VIF the commit touched is remembered as it is now.
   */
  onlyCounts(c: Commit): boolean {
    let only = c.touched.length > 0;
    for (const ref of c.touched) {
      const o = this.o.db.get(ref);
      if (!o || o.cls !== 'VIF') { this.digests.delete(ref); only = false; continue; }
      const rest = Object.entries(o.rec).filter(([k]) => !OWN_FIELDS.has(k));
      const d = createHash('sha1').update(JSON.stringify(rest)).digest('base64');
      if (this.digests.get(ref) !== d) only = false;
      this.digests.set(ref, d);
    }
    return only;
  }

  /** One read and report; returns the increases it found (tests). */
  async tick(): Promise<Map<string, DropCounts>> {
    if (this.busy || this.stopped) return new Map();
    this.busy = true;
    const t0 = performance.now();
    try {
      const layout = this.currentLayout();
      const { readings, unread } = await this.read(layout);
      const increases = this.counter.add(readings, unread);
      if (this.stopped) return increases;
      await this.report(layout, increases);
      if (this.lastError) { this.o.log.warn({}, 'drop counters readable again'); this.lastError = ''; }
      return increases;
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.lastError) this.o.log.error({ err: msg }, 'could not read or report the VIFs\' locking drops; will retry');
      this.lastError = msg;
      return new Map();
    } finally {
      this.busy = false;
      this.stats.ticks++;
      this.stats.ms += performance.now() - t0;
    }
  }

  /** Where this host's VIFs are, from compile() (once per change of the database). */
  private currentLayout(): Layout {
    const db = this.o.db;
    if (this.layout?.generation === db.generation) return this.layout;
    const desired = compile(db, this.o.host());
    const cookies = new Map<string, Map<string, string>>();
    const ports = new Map<string, string>();
    for (const b of desired.bridges) {
      for (const p of b.ports) {
        if (p.kind !== 'vif' || !p.vifUuid) continue;
        ports.set(p.name, p.vifUuid);
        const m = cookies.get(b.name) ?? new Map<string, string>();
        m.set(cookieOf(p.vifUuid), p.vifUuid);
        cookies.set(b.name, m);
      }
    }
    const detached = new Map<string, string>();
    const names = new Set(desired.detachedVifs ?? []);
    if (names.size) {
      for (const vm of referrers(db, this.o.host(), 'VM', 'resident_on')) {
        for (const vif of referrers(db, vm.ref, 'VIF', 'VM')) {
          const dev = vifPortName(vm.rec.domid as number, str(vif, 'device'));
          if (names.has(dev)) detached.set(dev, str(vif, 'uuid'));
        }
      }
    }
    this.layout = { generation: db.generation, cookies, ports, detached };
    return this.layout;
  }

  /** Every counter of this host's VIFs; `unread`: key prefixes of sources that could not be read now. */
  private async read(l: Layout): Promise<{ readings: Reading[]; unread: string[] }> {
    const readings: Reading[] = [];
    const unread: string[] = [];
    if (this.o.backend === 'openvswitch') {
      for (const [bridge, cookies] of l.cookies) {
        const at = Date.now();
        const last = this.lastRead.get(bridge);
        const since = last === undefined ? undefined : (at - last) / 1000;
        try {
          const of = await this.o.flowStats?.(bridge).catch(() => undefined);
          if (of) readings.push(...flowReadings(bridge, of.flatMap(fromOpenFlow), cookies, since, 1));
          else {
            // VIF cookies have their lowest bit set (ovsflows.ts cookieOf); the bridge's own flows are 0
            const { stdout } = await run('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', 'dump-flows', `unix:${join(this.o.ovsRunDir, `${bridge}.mgmt`)}`, 'cookie=0x1/0x1'], { maxBuffer: 64 * 1024 * 1024 });
            readings.push(...flowReadings(bridge, parseFlowDump(stdout), cookies, since));
          }
          this.lastRead.set(bridge, at);
        } catch {
          unread.push(`${bridge} `);
        }
      }
      for (const b of this.lastRead.keys()) if (!l.cookies.has(b)) this.lastRead.delete(b);
    } else if (l.ports.size) {
      try {
        const { stdout } = await run('nft', ['-j', 'list', 'counters', 'table', ...TABLE.split(' ')], { maxBuffer: 64 * 1024 * 1024 });
        readings.push(...nftReadings(stdout, l.ports));
      } catch {
        unread.push('nft ');
      }
    }
    for (const [dev, vif] of l.detached) {
      // a disabled VIF is on no bridge: everything its device receives from the VM is dropped
      const n = await readFile(`/sys/class/net/${dev}/statistics/rx_packets`, 'utf8').then((t) => Number(t.trim()), () => undefined);
      if (n !== undefined && Number.isSafeInteger(n)) readings.push({ key: `sys ${dev}`, vif, reason: 'disabled', packets: n, made: false });
    }
    return { readings, unread };
  }

  /** The new totals of the VIFs whose counts rose, and the messages due. */
  private async report(l: Layout, increases: Map<string, DropCounts>): Promise<void> {
    const db = this.o.db;
    const present = new Set([...l.ports.values(), ...l.detached.values()]);
    for (const vif of this.totals.keys()) if (!present.has(vif)) this.totals.delete(vif);
    const stamp = now();
    const updates: [string, Record<string, unknown>][] = [];
    for (const [uuid, inc] of increases) {
      const t = this.totals.get(uuid);
      // a VIF first seen here continues from what the pool holds (it may have run elsewhere)
      const base = t?.counts ?? cleanLockingDrops(db.byUuidOf('VIF', uuid)?.rec.locking_drops) ?? {};
      this.totals.set(uuid, { counts: plus(base, inc), written: false });
    }
    for (const [uuid, t] of this.totals) {
      if (t.written) continue;
      const ref = db.byUuidOf('VIF', uuid)?.ref;
      if (ref) updates.push([ref, { locking_drops: t.counts, locking_drops_changed: stamp }]);
    }
    if (updates.length) {
      await this.o.write(updates);
      for (const t of this.totals.values()) t.written = true;
      this.stats.reports += updates.length;
    }
    const due = this.limiter.due(increases, present, Date.now());
    if (!due.length) return;
    const alerts = due.flatMap(({ vif, counts, seconds }) => {
      const v = db.byUuidOf('VIF', vif);
      if (!v) return [];
      const vm = db.get(str(v, 'VM'));
      const net = db.get(str(v, 'network'));
      const names = { vm: vm ? str(vm, 'name_label') : '', device: str(v, 'device'), mac: str(v, 'MAC'), network: net ? str(net, 'name_label') || str(net, 'bridge') : '' };
      return [{ name: VIF_LOCKING_DROPS, priority: 3, cls: 'VIF' as const, obj_uuid: vif, body: alertBody(names, counts, seconds) }];
    });
    try {
      await this.o.raise(alerts);
    } catch (e) {
      const at = Date.now();
      for (const d of due) this.limiter.retry(d.vif, d.counts, at - d.seconds * 1000);
      throw e;
    }
  }
}

/**
 * A flow-stats entry as dropstats reads it. Over OpenFlow the actions are not decoded: a VIF's flow
 * at a drop priority is a drop flow (no allow flow shares those priorities, ovsflows.ts).
 */
function fromOpenFlow(f: OfFlowStat): FlowStat[] {
  const packets = Number(f.packet_count);
  if (!Number.isSafeInteger(packets)) return [];
  return [{ cookie: f.cookie, priority: f.priority, match: f.match, packets, ageSec: f.duration_sec, drop: DROP_REASON.has(f.priority) }];
}

/** nftables' named counters (`nft -j list counters`) as readings of the VIFs on these ports. */
export function nftReadings(json: string, ports: ReadonlyMap<string, string>): Reading[] {
  const byName = new Map<string, { vif: string; reason: (typeof LOCKING_DROP_REASONS)[number] }>();
  for (const [port, vif] of ports) for (const reason of LOCKING_DROP_REASONS) byName.set(counterName(port, reason), { vif, reason });
  let doc: { nftables?: unknown[] };
  try { doc = JSON.parse(json) as { nftables?: unknown[] }; } catch { throw new Error('nft printed no JSON'); }
  const out: Reading[] = [];
  for (const item of doc.nftables ?? []) {
    const c = (item as { counter?: { name?: unknown; packets?: unknown } }).counter;
    if (!c || typeof c.name !== 'string' || typeof c.packets !== 'number') continue;
    const who = byName.get(c.name);
    if (who) out.push({ key: `nft ${c.name}`, vif: who.vif, reason: who.reason, packets: c.packets });
  }
  return out;
}
