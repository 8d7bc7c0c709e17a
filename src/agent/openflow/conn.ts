// One OpenFlow 1.4 connection to a bridge's management socket (ovs-vswitchd's
// `<run dir>/<bridge>.mgmt`): the HELLO exchange, ECHO answered, requests matched to replies by
// xid, errors handed to whoever sent the message they name. One transaction at a time (a
// bundle, a meter change, a statistics read): they are queued, so that the errors that arrive
// during one belong to it.

import { createConnection, type Socket } from 'node:net';
import { errorName } from './errors.ts';
import {
  echoReply, header, hello, helloVersions, HEADER_LEN, multipartReply, OFP_VERSION, OFPT, parseError, type OfError,
} from './wire.ts';

/** The socket failed, closed or did not answer: nothing is known about what the switch did. */
export class OfTransportError extends Error {}

/** The switch answered a message with OFPT_ERROR. */
export class OfRefused extends Error {
  constructor(readonly xid: number, readonly error: OfError) { super(errorName(error.type, error.code)); }
}

interface Waiter { resolve: (m: Buffer) => void; reject: (e: Error) => void; parts?: Buffer[] }

export class OfConnection {
  private buf: Buffer = Buffer.alloc(0);
  private nextXid = 1;
  private readonly waiters = new Map<number, Waiter>();
  /** Errors for messages nobody waits on (a bundle's inner messages): the running transaction reads them. */
  private stray: { xid: number; error: OfError }[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closedWith: Error | undefined;
  /** Called once when the connection ends, unless close() ended it. */
  onClose: ((err: Error) => void) | undefined;
  /**
   * Messages no request waits for (a flow monitor's updates, xid 0), in the order they came.
   * What it throws ends the connection as any malformed message does.
   */
  onAsync: ((type: number, msg: Buffer) => void) | undefined;

  private constructor(private readonly sock: Socket) {}

  /** Connect and agree on OpenFlow 1.4, within `timeoutMs`. */
  static open(path: string, timeoutMs = 2_000): Promise<OfConnection> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const c = new OfConnection(sock);
      const timer = setTimeout(() => fail(new OfTransportError(`no OpenFlow HELLO from ${path} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (e: Error) => { clearTimeout(timer); sock.destroy(); reject(e); };
      sock.once('error', (e) => fail(new OfTransportError(`${path}: ${e.message}`)));
      sock.once('connect', () => sock.write(hello(0)));
      sock.once('close', () => fail(new OfTransportError(`${path}: closed before its HELLO`)));
      const onHello = (chunk: Buffer) => {
        c.buf = Buffer.concat([c.buf, chunk]);
        if (c.buf.length < HEADER_LEN) return;
        const h = header(c.buf);
        if (h.length < HEADER_LEN) return fail(new OfTransportError(`${path}: malformed OpenFlow message`));
        if (c.buf.length < h.length) return;
        sock.off('data', onData);
        const msg = c.buf.subarray(0, h.length);
        c.buf = c.buf.subarray(h.length);
        if (h.type !== OFPT.HELLO) return fail(new OfTransportError(`${path}: first message is type ${h.type}, not HELLO`));
        if (!helloVersions(msg).includes(OFP_VERSION)) return fail(new OfTransportError(`${path}: the bridge does not allow OpenFlow 1.4 (its protocols column)`));
        clearTimeout(timer);
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        c.attach();
        resolve(c);
      };
      const onData = (chunk: Buffer) => { try { onHello(chunk); } catch { fail(new OfTransportError(`${path}: malformed OpenFlow HELLO`)); } };
      sock.on('data', onData);
    });
  }

  private attach(): void {
    this.sock.setNoDelay?.(true);
    this.sock.on('data', (chunk: Buffer) => { this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk; this.drain(); });
    this.sock.on('error', (e) => this.end(new OfTransportError(e.message)));
    this.sock.on('close', () => this.end(new OfTransportError('the switch closed the OpenFlow connection')));
    if (this.buf.length) this.drain();
  }

  private drain(): void {
    while (this.buf.length >= HEADER_LEN) {
      const h = header(this.buf);
      if (h.length < HEADER_LEN || h.version !== OFP_VERSION) { this.end(new OfTransportError('malformed OpenFlow message')); return; }
      if (this.buf.length < h.length) return;
      const msg = this.buf.subarray(0, h.length);
      this.buf = this.buf.subarray(h.length);
      // a message too short for its type ends the connection (it reconnects), never the daemon
      try { this.dispatch(h.type, h.xid, msg); } catch { this.end(new OfTransportError(`malformed OpenFlow message of type ${h.type}`)); return; }
    }
  }

  private dispatch(type: number, xid: number, msg: Buffer): void {
    if (type === OFPT.ECHO_REQUEST) { this.sock.write(echoReply(msg)); return; }
    const w = this.waiters.get(xid);
    if (type === OFPT.ERROR) {
      const error = parseError(msg);
      if (w) { this.waiters.delete(xid); w.reject(new OfRefused(xid, error)); } else this.stray.push({ xid, error });
      return;
    }
    // a flow monitor's update, or a reply nobody waits for (its waiter gave up): dropped unless onAsync reads it
    if (!w) { this.onAsync?.(type, msg); return; }
    if (type === OFPT.MULTIPART_REPLY) {
      const r = multipartReply(msg);
      (w.parts ??= []).push(r.body);
      if (r.more) return;
      this.waiters.delete(xid);
      w.resolve(Buffer.concat(w.parts));
      return;
    }
    this.waiters.delete(xid);
    w.resolve(msg);
  }

  private end(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.sock.destroy();
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    this.onClose?.(err);
  }

  get open(): boolean { return !this.closedWith; }

  close(): void { this.onClose = undefined; this.end(new OfTransportError('closed')); }

  /** End the connection for a reply found malformed above this layer (as a malformed message does: onClose hears of it). */
  abort(reason: string): void { this.end(new OfTransportError(reason)); }

  xid(): number { const x = this.nextXid; this.nextXid = (this.nextXid % 0x7fffffff) + 1; return x; }

  /** Send messages as one write (each already carries its xid). */
  send(msgs: readonly Buffer[]): void {
    if (this.closedWith) throw this.closedWith;
    this.sock.write(msgs.length === 1 ? msgs[0] : Buffer.concat(msgs));
  }

  /** The reply to message `xid` (sent by the caller after this call), or OfRefused, or OfTransportError after `timeoutMs`. */
  reply(xid: number, timeoutMs: number): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(xid);
        // a switch that does not answer is in an unknown state: this connection is not used again
        const e = new OfTransportError(`no OpenFlow reply within ${timeoutMs} ms`);
        reject(e);
        this.end(e);
      }, timeoutMs);
      this.waiters.set(xid, {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }

  /** Errors that arrived for messages nobody waited on, since the last call. */
  takeStray(): { xid: number; error: OfError }[] { const s = this.stray; this.stray = []; return s; }

  /** Run `f` alone on this connection (transactions never interleave). */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => { this.stray = []; return f(); });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
