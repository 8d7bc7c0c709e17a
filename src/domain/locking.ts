// The effective locking mode of a VIF: what the switch applies to what the VM sends. One rule for
// the API (ops), the host agent and the console.

/** A mode the switch applies. */
export type LockingMode = 'locked' | 'unlocked' | 'disabled';
/** A VIF's own setting: a mode, or its network's default. */
export type VifLockingMode = LockingMode | 'network_default';
/** A network's default_locking_mode (xapi's network_default_locking_mode enum). */
export type NetworkDefaultLockingMode = 'unlocked' | 'disabled';

export const VIF_LOCKING_MODES: readonly VifLockingMode[] = ['locked', 'unlocked', 'disabled', 'network_default'];
export const NETWORK_DEFAULT_LOCKING_MODES: readonly NetworkDefaultLockingMode[] = ['unlocked', 'disabled'];

export const isLockingMode = (v: unknown): v is LockingMode => v === 'locked' || v === 'unlocked' || v === 'disabled';
export const isVifLockingMode = (v: unknown): v is VifLockingMode => isLockingMode(v) || v === 'network_default';
export const isNetworkDefaultLockingMode = (v: unknown): v is NetworkDefaultLockingMode => v === 'unlocked' || v === 'disabled';

/** What the rule reads of a VIF's network: its default (absent when the VIF's network record is gone). */
export interface LockingNetwork { readonly default_locking_mode?: unknown }

/**
 * The mode the switch applies to a VIF: its own mode, or for `network_default` its network's
 * `default_locking_mode` (xapi: unlocked or disabled). A network default that is neither (a
 * replica or an older database may hold anything) disables the VIF: xapi's type admits no other
 * value, and a value poolnet cannot read must never let a VM send unfiltered. With no network
 * record the VIF is unlocked, xapi's default for a network.
 * Undefined when the VIF's own mode is none of xapi's: the agent then leaves it off the switch.
 */
export function effectiveLockingMode(vifMode: unknown, network: LockingNetwork | undefined): LockingMode | undefined {
  if (isLockingMode(vifMode)) return vifMode;
  if (vifMode !== 'network_default') return undefined;
  if (network === undefined) return 'unlocked';
  const d = network.default_locking_mode;
  return isNetworkDefaultLockingMode(d) ? d : 'disabled';
}
