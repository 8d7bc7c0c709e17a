// The switch backends by name (the names: src/domain/backend.ts): the one place a backend is
// added. The daemon picks one from here; the agent sees only switch.ts's SwitchBackend.

import { join } from 'node:path';
import type { BackendName } from '../domain/backend.ts';
import { LinuxBridgeBackend } from './linuxbridge.ts';
import { OvsBackend } from './ovs.ts';
import type { SwitchBackend } from './switch.ts';

type Log = { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };

/** What the daemon knows when it starts a backend. */
export interface BackendSetup {
  /** Open vSwitch's run directory (db.sock, <bridge>.mgmt). */
  readonly ovsRunDir: string;
  readonly datapath: 'netdev' | 'system';
  readonly log: { child(bindings: { svc: string }): Log };
}

export interface BackendEntry {
  make(o: BackendSetup): SwitchBackend;
  /** Whether the switch's ports show to the host kernel's stack (the host OS step then keeps the kernel off them). */
  portsInKernel(o: BackendSetup): boolean;
}

export const BACKENDS: Readonly<Record<BackendName, BackendEntry>> = {
  openvswitch: {
    make: (o) => new OvsBackend({ dbSocket: join(o.ovsRunDir, 'db.sock'), runDir: o.ovsRunDir, datapathType: o.datapath }),
    // only the userspace datapath shows switch ports to the host kernel's stack
    portsInKernel: (o) => o.datapath === 'netdev',
  },
  bridge: {
    make: (o) => new LinuxBridgeBackend({ log: o.log.child({ svc: 'linuxbridge' }) }),
    portsInKernel: () => false,
  },
};
