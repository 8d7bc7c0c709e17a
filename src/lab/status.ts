// `lab status`: each host's poolnetd running or not, and how its XenAPI answers.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from './exec.ts';
import { rpc } from './rpc.ts';
import { labNamespaces, readState, type LabVm } from './state.ts';

/** How a host's XenAPI answers: as the master, as a member (HOST_IS_SLAVE, naming its master), or not at all. */
export type LabHostRole = { role: 'master' } | { role: 'member'; master: string } | { role: 'not answering'; error: string };
export interface LabStatus { up: boolean; namespaces: string[]; hosts: ({ name: string; ip: string; poolnetd: boolean; api: boolean } & LabHostRole)[]; vms: LabVm[]; port?: number }

/** The role a host's answer to a call with a made-up session shows. */
export function roleOf(answer: { code?: string; message?: string } | undefined): LabHostRole {
  // a master checks the session (SESSION_INVALID); a member sends every client to its master
  if (answer?.code === 'SESSION_INVALID') return { role: 'master' };
  if (answer?.code === 'HOST_IS_SLAVE') return { role: 'member', master: String(answer.message ?? '').split(' ')[1] ?? '' };
  return { role: 'not answering', error: answer?.message ?? 'no answer' };
}

export async function status(): Promise<LabStatus> {
  const s = readState();
  const namespaces = labNamespaces();
  if (!s) return { up: false, namespaces, hosts: [], vms: [] };
  const hosts = await Promise.all(s.hosts.map(async (h) => {
    let pid = 0;
    try { pid = Number(readFileSync(join(h.dir, 'poolnetd.pid'), 'utf8')); } catch { /* never started */ }
    const role = await rpc(h.socket, 'pool.get_all', ['x']).then(() => roleOf(undefined), (e: { code?: string; message?: string }) => roleOf(e));
    return { name: h.name, ip: h.ip, poolnetd: pid > 1 && pidAlive(pid), api: role.role !== 'not answering', ...role };
  }));
  return { up: namespaces.length > 0, namespaces, hosts, vms: s.vms, port: s.port };
}
