// A small OVSDB client (RFC 7047): JSON-RPC over a unix socket, with `transact` and `monitor`.
// The stream carries concatenated JSON values with no delimiter, so a framer splits them.

import { connect, type Socket } from 'node:net';

export type OvsdbValue = string | number | boolean | ['uuid', string] | ['named-uuid', string] | ['set', OvsdbValue[]] | ['map', [OvsdbValue, OvsdbValue][]];
export type Row = Record<string, OvsdbValue>;

export type Operation =
  | { op: 'insert'; table: string; row: Row; 'uuid-name'?: string }
  | { op: 'select'; table: string; where: Condition[]; columns?: string[] }
  | { op: 'update'; table: string; where: Condition[]; row: Row }
  | { op: 'mutate'; table: string; where: Condition[]; mutations: [string, string, OvsdbValue][] }
  | { op: 'delete'; table: string; where: Condition[] }
  | { op: 'wait'; table: string; where: Condition[]; columns: string[]; until: '==' | '!='; rows: Row[]; timeout?: number }
  | { op: 'comment'; comment: string };

export type Condition = [string, '==' | '!=' | 'includes' | 'excludes' | '<' | '<=' | '>' | '>=', OvsdbValue];

export interface OpResult { uuid?: ['uuid', string]; rows?: Row[]; count?: number; error?: string; details?: string }

export class OvsdbError extends Error {
  constructor(message: string, readonly results?: OpResult[]) { super(message); }
}

/** Splits a byte stream into complete top-level JSON texts (objects), respecting strings. */
export class JsonFramer {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escape = false;
  private start = 0;
  private scanned = 0;

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === '\\') this.escape = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') { if (this.depth === 0) this.start = i; this.depth++; }
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) out.push(this.buf.slice(this.start, i + 1));
        if (this.depth < 0) throw new Error('unbalanced JSON from ovsdb-server');
      }
    }
    if (this.depth === 0) { this.buf = ''; this.scanned = 0; }
    else { this.buf = this.buf.slice(this.start); this.scanned = this.buf.length; this.start = 0; }
    return out;
  }
}

type TableUpdates = Record<string, Record<string, { old?: Row; new?: Row }>>;

export class OvsdbClient {
  private readonly sock: Socket;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly monitors = new Map<string, (u: TableUpdates) => void>();
  private closed = false;

  private constructor(sock: Socket) {
    this.sock = sock;
    const framer = new JsonFramer();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const text of framer.push(chunk)) this.onMessage(JSON.parse(text) as Record<string, unknown>);
    });
    sock.on('close', () => this.fail(new OvsdbError('connection to ovsdb-server closed')));
    sock.on('error', (e) => this.fail(e));
  }

  static connect(path: string): Promise<OvsdbClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      sock.once('connect', () => { sock.off('error', reject); resolve(new OvsdbClient(sock)); });
      sock.once('error', reject);
    });
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onMessage(m: Record<string, unknown>): void {
    if (m.method === 'echo') { this.send({ id: m.id, result: m.params, error: null }); return; }
    if (m.method === 'update') {
      const [id, updates] = m.params as [string, TableUpdates];
      this.monitors.get(JSON.stringify(id))?.(updates);
      return;
    }
    const p = this.pending.get(m.id as number);
    if (!p) return;
    this.pending.delete(m.id as number);
    if (m.error) p.reject(new OvsdbError(typeof m.error === 'string' ? m.error : JSON.stringify(m.error)));
    else p.resolve(m.result);
  }

  private send(m: unknown): void { this.sock.write(JSON.stringify(m)); }

  request<T>(method: string, params: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new OvsdbError('connection to ovsdb-server closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ id, method, params });
    });
  }

  listDbs(): Promise<string[]> { return this.request('list_dbs', []); }

  /** One atomic transaction; fails as a whole if any operation fails. */
  async transact(db: string, ops: Operation[]): Promise<OpResult[]> {
    const results = await this.request<(OpResult | null)[]>('transact', [db, ...ops]);
    const bad = results.find((r) => r && r.error);
    if (bad || results.length > ops.length) {
      throw new OvsdbError(`ovsdb transaction failed: ${bad?.error ?? 'error'}${bad?.details ? `: ${bad.details}` : ''}`, results as OpResult[]);
    }
    return results as OpResult[];
  }

  /** Start a monitor: the initial contents come back, later changes through `onUpdate`. */
  async monitor(db: string, id: string, requests: Record<string, { columns?: string[] }>, onUpdate: (u: TableUpdates) => void): Promise<TableUpdates> {
    this.monitors.set(JSON.stringify(id), onUpdate);
    return this.request<TableUpdates>('monitor', [db, id, requests]);
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}

// ---- value helpers ----

export const ovsSet = (xs: OvsdbValue[]): OvsdbValue => (xs.length === 1 ? xs[0] : ['set', xs]);
export const ovsMap = (m: Record<string, string>): OvsdbValue => ['map', Object.entries(m).sort(([a], [b]) => a.localeCompare(b))];

/** The members of an OVSDB set value (a bare atom is a one-element set). */
export function setMembers(v: OvsdbValue | undefined): OvsdbValue[] {
  if (v === undefined) return [];
  if (Array.isArray(v) && v[0] === 'set') return v[1] as OvsdbValue[];
  return [v];
}

export function mapOf(v: OvsdbValue | undefined): Record<string, string> {
  if (!Array.isArray(v) || v[0] !== 'map') return {};
  return Object.fromEntries((v[1] as [OvsdbValue, OvsdbValue][]).map(([k, x]) => [String(k), String(x)]));
}
