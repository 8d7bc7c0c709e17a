// What `poolnet lab up` prints: how to reach the lab, each line a command that runs as printed.
// `poolnet` and `xe` are named so only when that name, in this PATH, is this repository's
// command (scripts/setup.sh links them into /usr/local/bin); otherwise the hint names the file
// that runs (a machine's own XenServer xe is never taken for ours).

import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = resolve(fileURLToPath(new URL('../../bin', import.meta.url)));

/** `name` when the PATH finds this repository's bin/<name>.mjs under it, else that file's path. */
export function commandName(name: 'poolnet' | 'xe', path = process.env.PATH ?? ''): string {
  const ours = join(BIN, `${name}.mjs`);
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try { accessSync(candidate, constants.X_OK); } catch { continue; }
    // the first one found is what a shell runs
    try { return realpathSync(candidate) === realpathSync(ours) ? name : ours; } catch { return ours; }
  }
  return ours;
}

export interface HintedLab {
  readonly hosts: readonly { readonly dir: string }[];
  readonly vms: readonly { readonly ip: string }[];
  readonly port: number;
  readonly password: string;
  readonly stack: string;
}

/** The lines `poolnet lab up` prints. */
export function labHints(state: HintedLab, passwordFile: string, names = { poolnet: commandName('poolnet'), xe: commandName('xe') }): string[] {
  const { poolnet, xe } = names;
  return [
    `lab up: ${state.hosts.length} hosts, ${state.vms.length} VMs (${state.stack})`,
    `  console:  http://127.0.0.1:${state.port}/  (log in as root, password ${state.password})`,
    `  XenAPI:   http://127.0.0.1:${state.port}/  (JSON-RPC at /jsonrpc, XML-RPC at /), user root, password ${state.password}`,
    `  xe:       ${poolnet} lab xe host-list      (or: ${xe} -s 127.0.0.1 -p ${state.port} --nossl -pwf ${passwordFile} host-list)`,
    `  VMs:      ${poolnet} lab vm-exec vm1 ping -c1 ${state.vms[1]?.ip ?? state.vms[0]?.ip ?? ''}`,
    `  hosts:    ${poolnet} lab host-exec host1 ovs-vsctl --db=unix:${state.hosts[0].dir}/ovs/db.sock show`,
    `            ${poolnet} lab host-exec host${state.hosts.length} hostname      (a host's own name, after xe host-set-hostname-live)`,
    `  status:   ${poolnet} lab status`,
    `  down:     ${poolnet} lab down`,
  ];
}
