// On the userspace (netdev) datapath Open vSwitch reads ports through packet sockets, so the
// kernel's own stack still sees every frame a port receives: it answers ARP for the host's
// addresses on a VIF device and duplicates replies on an uplink whose MAC the bridge shares.
// A netdev-family ingress hook that drops everything hides the ports from the kernel's stack
// only (packet sockets get their copy before that hook), one atomic `nft -f` per change.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const GUARD_TABLE = 'poolnet_ports';

/** The ruleset text for a set of devices (pure). */
export function guardRuleset(devices: readonly string[]): string {
  // chain names are bare identifiers: derive one per device (device names may hold dots)
  const chains = [...new Set(devices)].sort().map((d, i) => `  chain port${i}_${d.replace(/[^A-Za-z0-9_]/g, '_')} { type filter hook ingress device ${JSON.stringify(d)} priority -500; policy drop; }`);
  // declare, delete, recreate: nft applies the whole file as one transaction
  return `table netdev ${GUARD_TABLE}\ndelete table netdev ${GUARD_TABLE}\ntable netdev ${GUARD_TABLE} {\n${chains.join('\n')}\n}\n`;
}

export class KernelGuard {
  private applied: string | undefined;

  /** Guard exactly these devices (those that exist). Returns whether nft ran. */
  async apply(devices: readonly string[], exists: (d: string) => boolean): Promise<boolean> {
    const text = guardRuleset(devices.filter(exists));
    if (text === this.applied) return false;
    const p = run('nft', ['-f', '-']);
    p.child.stdin!.on('error', () => undefined); // a child that exits early must not crash the daemon
    p.child.stdin!.end(text);
    await p;
    this.applied = text;
    return true;
  }
}
