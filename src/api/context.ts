// What an implementation of a message sees: the database transaction, the caller's session,
// and the services of the daemon it runs in.

import type { Database, Obj, Txn } from '../db/database.ts';
import type { NicFacts } from '../db/init.ts';
import type { ClassDef, MessageDef } from '../model/index.ts';

export interface Services {
  readonly db: Database;
  /** The host this daemon runs on. */
  readonly thisHost: () => string;
  readonly log: { info: (o: object, msg?: string) => void; warn: (o: object, msg?: string) => void; error: (o: object, msg?: string) => void };
  /** The NICs the host's kernel has now (what xapi asks networkd for in PIF.scan/introduce). */
  readonly hostNics: (host: string) => readonly NicFacts[];
  /** Called after a commit that may change what a host's switch should look like. */
  readonly kick?: () => void;
}

export interface Ctx {
  readonly svc: Services;
  readonly db: Database;
  /** The open transaction of this call (valid only synchronously). */
  readonly tx: Txn;
  readonly sessionRef: string;
  /** Undefined only for sessionless messages. */
  readonly session: Obj | undefined;
  readonly cls: ClassDef;
  readonly msg: MessageDef;
  /** The task this call reports to, when called as Async. */
  readonly task?: string;
}

/** An implementation: named arguments in, datamodel value out (or a promise of it). */
export type Impl = (ctx: Ctx, args: Record<string, unknown>) => unknown;

export type ImplTable = Record<string, Impl>;
