// The agent's OpenFlow connection against hostile or broken peers on a unix socket of the test's
// own (what the parser must survive; what the switch does is test/openflow-equivalence's): a
// peer that offers no OpenFlow 1.4, one that sends garbage or messages too short for their type,
// one that splits its messages at every byte. The daemon never throws; the connection ends or
// answers, and a request waiting on an ended connection fails with a transport error.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OfConnection, OfTransportError } from '../src/agent/openflow/conn.ts';
import { flowStatsOn, roundTrip } from '../src/agent/openflow/transact.ts';

const HELLO14 = Buffer.from('05000010000000000001000800000020', 'hex');
const HELLO13 = Buffer.from('04000010000000000001000800000010', 'hex');

/** A unix-socket peer that answers each connection with `script`. */
const sockets: Socket[] = [];
function peer(dir: string, name: string, script: (s: Socket) => void): Promise<{ path: string; server: Server }> {
  const path = join(dir, name);
  const server = createServer((s) => { sockets.push(s); s.on('error', () => undefined); script(s); });
  return new Promise((resolve) => server.listen(path, () => resolve({ path, server })));
}

/** Reads whole OpenFlow messages from a socket. */
function messages(s: Socket, on: (type: number, xid: number, msg: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
      const len = buf.readUInt16BE(2);
      on(buf[1], buf.readUInt32BE(4), buf.subarray(0, len));
      buf = buf.subarray(len);
    }
  });
}

describe('OpenFlow connection: hostile peers', () => {
  let dir: string;
  const servers: Server[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'poolnet-ofconn-')); });
  after(() => { for (const s of sockets) s.destroy(); for (const s of servers) s.close(); rmSync(dir, { recursive: true, force: true }); });
  const start = async (name: string, script: (s: Socket) => void) => { const p = await peer(dir, name, script); servers.push(p.server); return p.path; };

  it('refuses a peer that offers no OpenFlow 1.4, or that closes, or sends no HELLO', async () => {
    for (const [name, script] of [
      ['v13', (s: Socket) => s.write(HELLO13)],
      ['closes', (s: Socket) => s.end()],
      ['echo-first', (s: Socket) => s.write(Buffer.from('0502000800000001', 'hex'))],
      ['zero-length', (s: Socket) => s.write(Buffer.from('0500000000000000', 'hex'))],
    ] as const) {
      const path = await start(name, script);
      await assert.rejects(OfConnection.open(path, 1_000), (e: unknown) => e instanceof OfTransportError, name);
    }
  });

  it('survives garbage and short messages after the HELLO: the connection ends, waiting requests fail', async () => {
    const shorts = ['0501000800000007', '0513000800000007', '05130008000000ff', '0501000a00000007ffff'];
    for (const [i, bad] of shorts.entries()) {
      const path = await start(`short-${i}`, (s) => { s.write(HELLO14); messages(s, (type) => { if (type === 20) s.write(Buffer.from(bad, 'hex')); }); });
      const c = await OfConnection.open(path, 1_000);
      let ended = false;
      c.onClose = () => { ended = true; };
      // a reply that is too short for its type ends the connection; one for nobody is dropped
      await Promise.race([roundTrip(c).catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
      if (!ended) c.close();
    }
    const path = await start('garbage', (s) => { s.write(HELLO14); setTimeout(() => s.write(Buffer.from('ffffffffffffffffffff', 'hex')), 20); });
    const c = await OfConnection.open(path, 1_000);
    await assert.rejects(flowStatsOn(c), (e: unknown) => e instanceof OfTransportError);
    assert.equal(c.open, false);
  });

  it('reads messages split at every byte, and answers ECHO', async () => {
    let echoed: Buffer | undefined;
    const path = await start('bytewise', (s) => {
      // one message after the other, each a byte at a time
      let queue = Promise.resolve();
      const send = (b: Buffer) => { queue = queue.then(async () => { for (const byte of b) { s.write(Buffer.from([byte])); await new Promise((r) => setImmediate(r)); } }); return queue; };
      void send(HELLO14);
      void send(Buffer.from('050200080000abcd', 'hex'));
      messages(s, (type, xid, msg) => {
        if (type === 3) echoed = msg;
        if (type === 20) void send(Buffer.from(`05150008${xid.toString(16).padStart(8, '0')}`, 'hex'));
      });
    });
    const c = await OfConnection.open(path, 2_000);
    try {
      await roundTrip(c);
      for (let i = 0; i < 50 && !echoed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(echoed?.toString('hex'), '050300080000abcd');
    } finally { c.close(); }
  });
});
