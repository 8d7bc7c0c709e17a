// What an implementation of a message sees: the database transaction, the caller's session,
// and the services of the daemon it runs in.

import type { Database, ObjOf, Txn } from '../db/database.ts';
import type { NicFacts } from '../db/init.ts';
import type { ArgsOf, ClassDef, MessageDef, MessageName, ResultOf } from '../model/index.ts';

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
  readonly session: ObjOf<'session'> | undefined;
  readonly cls: ClassDef;
  readonly msg: MessageDef;
  /** The task this call reports to, when called as Async. */
  readonly task?: string;
}

/** An implementation: named arguments in, datamodel value out (or a promise of it). */
export type ImplOf<K extends MessageName> = (ctx: Ctx, args: ArgsOf<K>) => ResultOf<K> | Promise<ResultOf<K>>;

/**
 * Implementations keyed by the model's message names ('PIF.plug'): a key the model lacks is a
 * compile error, and each implementation's arguments are typed from the message's parameters.
 */
export type ImplTable = { readonly [K in MessageName]?: ImplOf<K> };

/** An implementation as the dispatcher calls it: by a name known at run time, arguments unmarshalled. */
export type Impl = (ctx: Ctx, args: Readonly<Record<string, unknown>>) => unknown;

/**
 * The table as the dispatcher indexes it. The one cast that forgets the argument types: the
 * dispatcher unmarshals each argument by its parameter's type (marshal.ts fromWire) and fills
 * omitted defaults, so an implementation gets what ArgsOf promises.
 */
export const byWireName = (table: ImplTable): Readonly<Record<string, Impl | undefined>> => table as Readonly<Record<string, Impl | undefined>>;
