// A persistent OpenFlow connection per bridge, as ovn-controller keeps one: opened on first use,
// kept open, and reopened with backoff when it ends (ovs-vswitchd restarted, the bridge was
// remade). The owner hears of both: a connection that ended means the table may have changed
// behind it (a restarted ovs-vswitchd starts empty), so its next write is the whole table; a
// connection that came back is a reason for a pass. While a bridge has no connection, get()
// answers undefined at once and the caller uses ovs-ofctl.

import { OfConnection } from './conn.ts';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

interface Slot {
  conn?: OfConnection;
  connecting?: Promise<OfConnection | undefined>;
  backoffMs: number;
  /** No attempt before this time (ms since the epoch). */
  notBefore: number;
  timer?: NodeJS.Timeout;
}

export interface BridgeEvents {
  /** The bridge's connection ended: what the switch holds is no longer known. */
  down(bridge: string): void;
  /** A connection came up again after it had ended or failed. */
  up(bridge: string): void;
  /** A connection was just opened (first or again), before anyone uses it: a flow monitor is set up on it here. Never throws. */
  opened?(bridge: string, c: OfConnection): Promise<void>;
}

export class OfBridges {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly socketOf: (bridge: string) => string, private readonly events: BridgeEvents) {}

  /** The bridge's open connection, connecting first unless an attempt failed within the backoff. */
  async get(bridge: string): Promise<OfConnection | undefined> {
    const s = this.slot(bridge);
    if (s.conn?.open) return s.conn;
    if (s.connecting) return s.connecting;
    if (Date.now() < s.notBefore) return undefined;
    return this.connect(bridge, s, false);
  }

  /** Whether the bridge has a connection up now. */
  isUp(bridge: string): boolean { return !!this.slots.get(bridge)?.conn?.open; }

  private slot(bridge: string): Slot {
    let s = this.slots.get(bridge);
    if (!s) this.slots.set(bridge, s = { backoffMs: FIRST_BACKOFF_MS, notBefore: 0 });
    return s;
  }

  private connect(bridge: string, s: Slot, retry: boolean): Promise<OfConnection | undefined> {
    s.connecting = OfConnection.open(this.socketOf(bridge)).then(async (c) => {
      c.onClose = () => {
        s.conn = undefined;
        this.events.down(bridge);
        this.schedule(bridge, s);
      };
      // still `connecting` meanwhile: get() waits, and nothing is written before the monitor is in place
      if (this.slots.get(bridge) === s) await this.events.opened?.(bridge, c).catch(() => undefined);
      s.connecting = undefined;
      if (this.slots.get(bridge) !== s) { c.close(); return undefined; }
      if (!c.open) { this.schedule(bridge, s); return undefined; } // ended meanwhile (its retry may have found it still connecting)
      s.conn = c;
      s.backoffMs = FIRST_BACKOFF_MS;
      if (retry) this.events.up(bridge);
      return c;
    }, () => {
      s.connecting = undefined;
      this.schedule(bridge, s);
      return undefined;
    });
    return s.connecting;
  }

  /** The next attempt after the backoff, in the background (doubling up to 5 s). */
  private schedule(bridge: string, s: Slot): void {
    if (this.slots.get(bridge) !== s || s.timer) return;
    const wait = s.backoffMs;
    s.backoffMs = Math.min(MAX_BACKOFF_MS, s.backoffMs * 2);
    s.notBefore = Date.now() + wait;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (this.slots.get(bridge) === s && !s.conn && !s.connecting) void this.connect(bridge, s, true);
    }, wait);
    s.timer.unref();
  }

  /** Stop keeping a connection to a bridge (it is gone, or no longer poolnet's). */
  forget(bridge: string): void {
    const s = this.slots.get(bridge);
    if (!s) return;
    this.slots.delete(bridge);
    if (s.timer) clearTimeout(s.timer);
    s.conn?.close();
  }

  /** Bridges with a slot (connected, connecting or waiting to retry). */
  bridges(): string[] { return [...this.slots.keys()]; }

  /** Close every connection and stop retrying (a later get() connects again). */
  close(): void { for (const b of [...this.slots.keys()]) this.forget(b); }
}
