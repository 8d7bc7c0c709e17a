// `xe help`, `xe help --all` and `xe help <command>...` (cli_frontend.ml rio_help).
// Help needs no server: xapi answers it without logging in.

import type { CommandSpec } from './command.ts';
import { commandTable } from './commands.ts';
import type { Params } from './grammar.ts';
import type { Printer } from './printer.ts';

const HOST_SELECTORS_INFO = " Hosts can be specified by filtering the full list of hosts on the values of zero or more fields. For example, specifying 'uuid=<some_uuid>' will select only the host with that uuid, and 'enabled=true' will select only hosts whose 'enabled' field is equal to 'true'. The special pseudo-field 'host' matches any of hostname, name-label or uuid. Where multiple hosts are matching, and the operation can be performed on multiple hosts, the option '--multiple' must be specified to perform the operation. The full list of fields that can be matched can be obtained by the command 'xe host-list params=all'. If no parameters to select hosts are given, the operation will be performed on all hosts.";

const VM_SELECTORS_INFO = " VMs can be specified by filtering the full list of VMs on the values of zero or more fields. For example, specifying 'uuid=<some_uuid>' will select only the VM with that uuid, and 'power-state=halted' will select only VMs whose 'power-state' field is equal to 'halted'. The special pseudo-field 'vm' matches either of name-label or uuid. Where multiple VMs are matching, the option '--multiple' must be specified to perform the operation. The full list of fields that can be matched can be obtained by the command 'xe vm-list params=all'. If no parameters to select VMs are given, the operation will be performed on all VMs.";

const NOT_COMMANDS = new Set(['server', 'username', 'password', 'port', 'minimal', 'all']);

/** Names joined with ", " on lines of at most about 74 characters, indented by 4 (make_list). */
export function wrapList(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const indent = '    ';
  const lines: string[] = [];
  let cur = indent + names[0];
  for (const n of names.slice(1)) {
    if (cur.length + n.length > 74) { lines.push(cur); cur = indent + n; } else cur = `${cur}, ${n}`;
  }
  lines.push(cur);
  return lines;
}

function usage(argv0: string): string {
  return `Usage:
  ${argv0} <command>
    [ -s <server> ]            XenServer host
    [ -p <port> ]              XenServer port number
    [ -u <username> -pw <password> | -pwf <password file> ]
                               User authentication (password or file)
    [ --nossl ]                Disable SSL/TLS
    [ --debug ]                Enable debug output
    [ --debug-on-fail ]        Enable debug output only on failure
    [ --traceparent <value> ]  Distributed tracing context
    [ <other arguments> ... ]  Command-specific options

To get help on a specific command:
  ${argv0} help <command>

`;
}

function commandRecord(name: string, c: CommandSpec) {
  const optional = [...c.optn, ...(c.flags?.vmSelectors ? ['<vm-selectors>'] : []), ...(c.flags?.hostSelectors ? ['<host-selectors>'] : [])];
  return [
    ['command name        ', name],
    ['reqd params     ', c.reqd.join(', ')],
    ['optional params ', optional.join(', ')],
    ['description     ', c.help + (c.flags?.vmSelectors ? VM_SELECTORS_INFO : c.flags?.hostSelectors ? HOST_SELECTORS_INFO : '')],
  ] as const;
}

export function printHelp(params: Params, printer: Printer, minimal: boolean, argv0 = 'xe'): void {
  const table = commandTable();
  const asked = params.list.map(([k]) => k).filter((k) => !NOT_COMMANDS.has(k));
  if (asked.length > 0) {
    for (const name of asked) {
      const c = table.get(name);
      if (c) printer.print({ t: 'table', records: [commandRecord(name, c)] });
      else printer.print({ t: 'list', items: [`Unknown command '${name}'`] });
    }
    return;
  }
  const visible = [...table.values()].filter((c) => !c.flags?.hidden).map((c) => c.name).sort();
  if (params.get('all') === 'true') {
    if (minimal) { printer.print({ t: 'list', items: visible }); return; }
    const hostCmds = visible.filter((n) => n.startsWith('host-'));
    const vmCmds = visible.filter((n) => n.startsWith('vm-'));
    const other = visible.filter((n) => !n.startsWith('host-') && !n.startsWith('vm-'));
    printer.print({ t: 'list', items: [`${usage(argv0)}Full command list\n-----------------\n`] });
    printer.print({ t: 'list', items: wrapList(hostCmds) });
    printer.print({ t: 'list', items: wrapList(['']) });
    printer.print({ t: 'list', items: wrapList(vmCmds) });
    printer.print({ t: 'list', items: wrapList(['']) });
    printer.print({ t: 'list', items: wrapList(other) });
    return;
  }
  const common = visible.filter((n) => table.get(n)?.flags?.standard);
  if (minimal) { printer.print({ t: 'list', items: common }); return; }
  printer.print({ t: 'list', items: [`${usage(argv0)}To get a full listing of commands:\n  ${argv0} help --all\n\nCommon command list\n-------------------\n`] });
  printer.print({ t: 'list', items: wrapList(common) });
}
