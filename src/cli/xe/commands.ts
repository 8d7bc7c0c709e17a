// The command table: the hand-written commands, the generated per-class commands, and the
// client-side ones (help, completion).

import type { CommandSpec } from './command.ts';
import { genericCommands } from './generic.ts';
import { HOST_POOL_COMMANDS } from './hostpool.ts';
import { NETWORKING_COMMANDS } from './networking.ts';
import { VM_VIF_COMMANDS } from './vmvifs.ts';
import { cliClasses } from './records.ts';
import { bashCompletionScript } from './completion-script.ts';

/** Commands that never talk to a server; `help` itself is handled before the table. */
const CLIENT_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'completion', reqd: [], optn: ['bash'], help: "Print the bash completion script for xe: eval \"$(xe completion bash)\" (poolnet).",
    flags: { noSession: true },
    run: async (ctx) => { ctx.printer.print({ t: 'msg', text: bashCompletionScript() }); },
  },
];

let table: ReadonlyMap<string, CommandSpec> | undefined;

export function commandTable(): ReadonlyMap<string, CommandSpec> {
  if (!table) {
    const all = [...NETWORKING_COMMANDS, ...VM_VIF_COMMANDS, ...HOST_POOL_COMMANDS, ...cliClasses().flatMap(genericCommands), ...CLIENT_COMMANDS];
    table = new Map(all.map((c) => [c.name, c]));
  }
  return table;
}

export function findCommand(name: string): CommandSpec | undefined {
  return commandTable().get(name);
}

/** The visible command names, sorted. */
export function visibleCommands(): string[] {
  return [...commandTable().values()].filter((c) => !c.flags?.hidden).map((c) => c.name).sort();
}
