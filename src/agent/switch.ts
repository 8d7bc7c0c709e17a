// What the agent asks of a switch backend and what a backend answers, the same for every backend
// (Open vSwitch: ovs.ts; the Linux bridge: linuxbridge.ts; the registry: backends.ts).

import type { DesiredHost } from './desired.ts';
import type { BondMember } from './linkstate.ts';

/** A VIF whose filter the switch refused: it passes nothing until the switch takes it (the rest was applied). */
export interface RefusedFilter { readonly bridge: string; readonly port: string; readonly reason: string }

/** What one apply changed, in terms every backend has. */
export interface ApplyReport {
  /** Changes to bridges and ports (OVSDB operations; link commands on the Linux bridge). 0: the switch already matched. */
  readonly switchChanges: number;
  /** Bridges whose VIF filtering changed (an OpenFlow table; nftables rules). */
  readonly filterBridges: readonly string[];
  /** Rate-limit changes (OpenFlow meters; tc policers, when nftables does not police). */
  readonly rateChanges: number;
  /** VIF ports whose filter the switch refused: they pass nothing until it takes them (the rest was applied). */
  readonly refused?: readonly RefusedFilter[];
}

export interface SwitchBackend {
  apply(desired: DesiredHost): Promise<ApplyReport>;
  /** Bridges whose filtering differs from the desired one (drift), without changing anything. */
  drift?(desired: DesiredHost): Promise<string[]>;
  /** A bond port's members, each up or not and active or not (undefined: unknown now). */
  bondMembers?(port: string): Promise<readonly BondMember[] | undefined>;
  /** Call `changed` when the switch lost state behind the agent's back (a restarted ovs-vswitchd). */
  watch?(changed: () => void): void;
  /** Send frames as if a port (on `vlan`) had received them, through its locks, the switch forgetting where their senders were (a migrated VM's announcements). */
  inject?(bridge: string, port: string, frames: readonly Uint8Array[], vlan: number): Promise<void>;
  /** Drop the forwarding decisions the switch has cached, so that its MAC table (which learnt a VM's new place) decides again. */
  relearn?(): Promise<void>;
  close(): void;
}
