// Connection caps for the XenAPI server: a total and a per-address limit. When a new connection
// would exceed either, the oldest connection with no call in progress is closed to make room (from
// the busiest address first), so idle or slow sockets cannot lock honest clients out; a connection
// is refused only when every connection that stands in its way is serving a call.

import type { Server } from 'node:net';
import type { Socket } from 'node:net';

export interface ConnLimits {
  /** Connections open at once, all addresses together. */
  readonly maxTotal: number;
  /** Connections open at once from one address (unix sockets: not counted per address). */
  readonly maxPerAddress: number;
  /**
   * A new connection must have sent its first request's headers by then (TLS handshake
   * included). Node times out slow headers, but not a connection that sends nothing at all.
   */
  readonly firstRequestMs: number;
}

interface Conn {
  readonly socket: Socket;
  readonly address: string;
  readonly opened: number;
  /** Calls being answered on this connection. */
  busy: number;
  /** Closes a connection that never sends a request. */
  silence?: NodeJS.Timeout;
}

export class ConnectionTracker {
  private readonly conns = new Set<Conn>();
  private readonly byAddress = new Map<string, Set<Conn>>();
  private readonly bySocket = new WeakMap<Socket, Conn>();
  /** TLS sockets are not the raw sockets 'connection' saw: found again by remote address and port. */
  private readonly byPeer = new Map<string, Conn>();
  private seq = 0;
  refused = 0;
  evicted = 0;
  silent = 0;

  constructor(private readonly limits: ConnLimits) {}

  get size(): number { return this.conns.size; }

  /** Watch a server's connections (call before it listens). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const perAddress = address === '' ? undefined : this.byAddress.get(address);
    if (perAddress && perAddress.size >= this.limits.maxPerAddress && !this.evictFrom(perAddress)) return this.refuse(socket);
    if (this.conns.size >= this.limits.maxTotal && !this.evictBusiest()) return this.refuse(socket);
    const c: Conn = { socket, address, opened: this.seq++, busy: 0 };
    this.conns.add(c);
    this.bySocket.set(socket, c);
    if (socket.remotePort !== undefined) this.byPeer.set(peerKey(socket), c);
    if (address !== '') {
      let set = this.byAddress.get(address);
      if (!set) this.byAddress.set(address, (set = new Set()));
      set.add(c);
    }
    socket.once('close', () => this.forget(c));
    c.silence = setTimeout(() => { this.silent++; socket.destroy(); }, this.limits.firstRequestMs).unref();
  }

  private forget(c: Conn): void {
    clearTimeout(c.silence);
    if (!this.conns.delete(c)) return;
    if (this.byPeer.get(peerKey(c.socket)) === c) this.byPeer.delete(peerKey(c.socket));
    const set = this.byAddress.get(c.address);
    if (set) { set.delete(c); if (set.size === 0) this.byAddress.delete(c.address); }
  }

  private refuse(socket: Socket): void {
    this.refused++;
    socket.destroy();
  }

  /** Close the oldest connection of this set that serves no call; false when every one does. */
  private evictFrom(set: Set<Conn>): boolean {
    let victim: Conn | undefined;
    for (const c of set) if (c.busy === 0 && (!victim || c.opened < victim.opened)) victim = c;
    if (!victim) return false;
    this.evicted++;
    this.forget(victim);
    victim.socket.destroy();
    return true;
  }

  /** Make room from the address holding the most connections, then from the others. */
  private evictBusiest(): boolean {
    const sets = [...this.byAddress.values()].sort((a, b) => b.size - a.size);
    for (const set of sets) if (this.evictFrom(set)) return true;
    // unix-socket connections are not grouped by address
    return this.evictFrom(new Set([...this.conns].filter((c) => c.address === '')));
  }

  private find(socket: Socket): Conn | undefined {
    return this.bySocket.get(socket) ?? (socket.remotePort !== undefined ? this.byPeer.get(peerKey(socket)) : undefined);
  }

  /** A request's headers arrived on this socket: it is not silent. */
  seen(socket: Socket): void {
    const c = this.find(socket);
    if (c) clearTimeout(c.silence);
  }

  /**
   * Mark a call in progress on this socket until `done` is called: from the end of its body to
   * the end of its answer. A connection still sending its body may be closed for room.
   */
  enter(socket: Socket): () => void {
    const c = this.find(socket);
    if (!c) return () => undefined;
    c.busy++;
    let left = false;
    return () => { if (!left) { left = true; c.busy--; } };
  }
}

function peerKey(s: Socket): string {
  return `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
}
