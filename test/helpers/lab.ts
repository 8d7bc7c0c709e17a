// A lab of the test's own (its own namespace prefix and directory, so that it never touches
// a user's lab), brought up through src/lab and torn down by dispose(), also after a failure.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpOptions } from '../../src/lab/lab.ts';
import { switchNsSkipReason } from './netns.ts';

export type LabModule = typeof import('../../src/lab/lab.ts');

/** Why lab tests cannot run here, or false when they can (the fabric is an Open vSwitch, whatever a host's stack). */
export function labSkip(): string | false {
  const missing = switchNsSkipReason();
  if (missing) return missing;
  for (const bin of ['dnsmasq', 'ethtool', 'nft']) if (spawnSync('which', [bin]).status !== 0) return `${bin} is not installed`;
  return false;
}

export interface TestLab {
  readonly lab: LabModule;
  readonly state: Awaited<ReturnType<LabModule['up']>>;
  /** A XenAPI call on a host's unix socket, as root. */
  call(host: number, method: string, params: unknown[]): Promise<unknown>;
  session(host: number): Promise<string>;
  /** Run a command in a VM namespace (by VM number, 1-based). */
  vm(j: number, cmd: string, args: string[], input?: string): string;
  host(i: number, cmd: string, args: string[], input?: string): string;
  dispose(): Promise<void>;
}

export async function startLab(o: Partial<UpOptions> & { tag: string; progress?: (msg: string) => void }): Promise<TestLab> {
  process.env.POOLNET_LAB_PREFIX = `pn${o.tag}${process.pid % 1000}-`;
  const dir = mkdtempSync(join(tmpdir(), `poolnet-lab-${o.tag}-`));
  process.env.POOLNET_LAB_DIR = dir;
  const lab: LabModule = await import('../../src/lab/lab.ts');
  // the directory too: a second lab in the same process runs where the module was first pointed, leaving this one empty
  const dispose = async () => { lab.down(() => undefined); rmSync(dir, { recursive: true, force: true }); };
  try {
    const state = await lab.up({ hosts: o.hosts ?? 1, nics: o.nics ?? 3, vms: o.vms ?? 2, stack: o.stack ?? 'openvswitch', port: o.port ?? 0, password: 'lab-pw', pool: o.pool, masterTimeoutMs: o.masterTimeoutMs }, o.progress ?? (() => undefined));
    const sessions = new Map<number, string>();
    const session = async (i: number) => {
      if (!sessions.has(i)) sessions.set(i, (await lab.rpc(state.hosts[i - 1].socket, 'session.login_with_password', ['root', state.password])) as string);
      return sessions.get(i)!;
    };
    return {
      lab, state, session, dispose,
      call: (i, method, params) => lab.rpc(state.hosts[i - 1].socket, method, params),
      vm: (j, cmd, args, input) => lab.inNs(state.vms[j - 1].ns, cmd, args, input),
      host: (i, cmd, args, input) => lab.inNs(state.hosts[i - 1].ns, cmd, args, input),
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}
