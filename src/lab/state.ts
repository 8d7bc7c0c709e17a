// Where a lab lives: its namespaces' names, its addresses, its directory and the state file that
// records what `lab up` made (read by status, exec, down and the tests).

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../domain/backend.ts';
import { sh } from './exec.ts';

export const LAB_DIR = process.env.POOLNET_LAB_DIR ?? '/run/poolnet-lab';
// tests run labs of their own beside a user's: another prefix and directory keep them apart
export const PREFIX = process.env.POOLNET_LAB_PREFIX ?? 'pnl-';

export const MGMT_NET = '10.77.0';
export const fabricNs = `${PREFIX}fabric`;
export const hostNs = (i: number) => `${PREFIX}host${i}`;
export const vmNs = (j: number) => `${PREFIX}vm${j}`;
export const hostIp = (i: number) => `${MGMT_NET}.${10 + i}`;
export const vmIp = (j: number) => `${MGMT_NET}.${100 + j}`;

export interface LabVm { name: string; ns: string; host: string; uuid: string; vif: string; mac: string; ip: string; port: string }
export interface LabHost { name: string; ns: string; ip: string; dir: string; socket: string; nics: number; stack: BackendName; masterTimeoutMs?: number }
export interface LabState {
  hosts: LabHost[];
  vms: LabVm[];
  stack: BackendName;
  port: number;
  password: string;
  created: string;
  /** Set when `up` finished: a state without it is the remains of a crash. */
  complete?: boolean;
}

const statePath = () => join(LAB_DIR, 'state.json');

/** The file that holds the lab's root credentials for `xe -pwf` (mode 0600). */
export const passwordPath = (): string => join(LAB_DIR, 'root-password');

export function readState(): LabState | undefined {
  try { return JSON.parse(readFileSync(statePath(), 'utf8')) as LabState; } catch { return undefined; }
}

// The state holds root's password: readable by its owner only. The credentials also sit in a file
// of the same mode in xe's -pwf format (user, then password, one a line), so that `xe -pwf` needs
// no password on a command line, where `ps` shows it.
export function writeState(s: LabState): void {
  writeFileSync(statePath(), JSON.stringify(s, null, 2), { mode: 0o600 });
  chmodSync(statePath(), 0o600);
  writeFileSync(passwordPath(), `root\n${s.password}\n`, { mode: 0o600 });
  chmodSync(passwordPath(), 0o600);
}

export function labNamespaces(): string[] {
  try { return sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX)); } catch { return []; }
}

export function hostByName(name: string): LabHost {
  const h = readState()?.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return h;
}

export function vmByName(name: string): LabVm {
  const v = readState()?.vms.find((x) => x.name === name);
  if (!v) throw new Error(`no lab VM ${name}`);
  return v;
}
