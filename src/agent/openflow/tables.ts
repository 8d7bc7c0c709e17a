// A flow table as ovs.ts keeps it (per cookie, ovs-ofctl lines with ports numbered) written
// through a bridge's OpenFlow connection in one bundle: the whole table (every flow deleted, then
// every flow added: replace-flows' result, atomic) or some cookies (each cookie's flows deleted,
// then its flows added). A refusal names the cookies whose messages the switch refused.

import type { OfConnection } from './conn.ts';
import { addFlowMod } from './flowtext.ts';
import { bundle, deleteAll, deleteCookie, OfTransactionRefused } from './transact.ts';
import { errorName } from './errors.ts';

/**
 * Encoded ADD flow_mods by their text (xid 0; the bundle writes each one's own): a whole-table
 * write re-encodes nothing unchanged. At most about 4 tables of 512 VIFs (some 12 MB); it starts
 * again when full.
 */
const encoded = new Map<string, Buffer>();
const ENCODED_MAX = 65_536;

/** The ADD flow_mod of one flow line; UnsupportedFlow when the line is outside the vocabulary. */
export function addMessage(line: string): Buffer {
  let m = encoded.get(line);
  if (m === undefined) {
    m = addFlowMod(line);
    if (encoded.size >= ENCODED_MAX) encoded.clear();
    encoded.set(line, m);
  }
  return m;
}

/** The switch refused a table write: the cookies it blames (none when the refusal names no flow), and what it said. */
export class TableRefused extends Error {
  constructor(readonly cookies: readonly string[], reason: string) { super(reason); }
}

/** The messages of a table write, their xids, and whose each is. Throws UnsupportedFlow before anything is sent. */
export function tableMessages(c: OfConnection, table: ReadonlyMap<string, string>, cookies?: readonly string[]): { messages: Buffer[]; xids: number[]; owner: Map<number, string> } {
  const messages: Buffer[] = [], xids: number[] = [];
  const owner = new Map<number, string>();
  const push = (m: Buffer, cookie?: string) => { const x = c.xid(); messages.push(m); xids.push(x); if (cookie !== undefined) owner.set(x, cookie); };
  const adds = (cookie: string) => { const t = table.get(cookie); if (t) for (const l of t.split('\n')) push(addMessage(l), cookie); };
  if (!cookies) {
    push(deleteAll(0));
    for (const cookie of table.keys()) adds(cookie);
  } else {
    for (const cookie of cookies) { push(deleteCookie(0, BigInt(cookie)), cookie); adds(cookie); }
  }
  return { messages, xids, owner };
}

/** Write a table (whole, or only `cookies`) in one bundle; TableRefused names the cookies the switch blamed. */
export async function writeTable(c: OfConnection, table: ReadonlyMap<string, string>, cookies?: readonly string[]): Promise<void> {
  const { messages, xids, owner } = tableMessages(c, table, cookies);
  try {
    await bundle(c, messages, xids);
  } catch (e) {
    if (!(e instanceof OfTransactionRefused)) throw e;
    const blamed = [...new Set(e.failures.map((f) => owner.get(f.xid)).filter((x): x is string => x !== undefined))];
    const what = e.failures.map((f) => {
      const cookie = owner.get(f.xid);
      const i = xids.indexOf(f.xid);
      const inner = i >= 0 ? ` (flow_mod #${i + 1}${cookie ? `, cookie:${cookie}` : ''})` : '';
      return `OFPT_ERROR ${errorName(f.error.type, f.error.code)}${inner}`;
    });
    throw new TableRefused(blamed, what.join('; '));
  }
}
