// What an xe command is: its parameters and help (as `xe help <cmd>` prints them) and what it does.

import type { Api } from './client.ts';
import type { Params } from './grammar.ts';
import type { Printer } from './printer.ts';
import type { Resolver } from './records.ts';

export interface CommandContext {
  readonly api: Api;
  /** The session `api` calls with (for the few messages that take it again, session.get_this_host). */
  readonly sessionRef: string;
  readonly res: Resolver;
  readonly printer: Printer;
  readonly params: Params;
  /** Print a line straight to stdout, even with --minimal (xapi's direct Print). */
  readonly say: (line: string) => void;
  /** Print a question, read one line of the answer (pool-eject's confirmation). */
  readonly ask: (question: string) => Promise<string>;
}

export interface CommandFlags {
  /** Left out of `xe help --all` (xapi's Hidden). */
  readonly hidden?: boolean;
  /** Shown in `xe help`'s common command list. */
  readonly standard?: boolean;
  /** Runs on the host it is sent to with a local session, never forwarded (pool-emergency-*). */
  readonly local?: boolean;
  /** Needs no server at all (help, completion). */
  readonly noSession?: boolean;
  /** Help appends xapi's host-selector text. */
  readonly hostSelectors?: boolean;
  /** Help appends xapi's VM-selector text. */
  readonly vmSelectors?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly reqd: readonly string[];
  readonly optn: readonly string[];
  readonly help: string;
  readonly flags?: CommandFlags;
  /** The class (wire name) whose objects `uuid=` names: completion offers their uuids. */
  readonly cls?: string;
  /** The values some parameters take, for completion (modes, protocols, booleans). */
  readonly values?: Readonly<Record<string, readonly string[]>>;
  /** Does the work; what it resolves to is ignored (output goes through ctx.printer). */
  run(ctx: CommandContext): Promise<unknown>;
}
