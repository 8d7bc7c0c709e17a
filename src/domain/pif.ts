// What a PIF is, and what kind of network its PIFs make (xapi_pif_helpers.ml): one rule for the
// API (ops, reading the database), the agent and the console (reading its object cache). Each
// caller says what it knows of a PIF; the order in which that is read is decided here.

/** A PIF's type, tested in xapi's order. */
export type PifKind = 'tunnel_access' | 'vlan' | 'sriov_logical' | 'bond_master' | 'physical';

/** What a PIF is the top of: a tunnel's access PIF, a VLAN's untagged PIF, an SR-IOV logical PIF, a bond master. */
export interface PifFacts {
  readonly tunnelAccess: boolean;
  readonly vlan: boolean;
  readonly sriovLogical: boolean;
  readonly bondMaster: boolean;
  readonly physical: boolean;
}

/** The PIF's type in xapi's order (tunnel, VLAN, SR-IOV, bond, physical), or undefined when it is none. */
export function pifKind(f: PifFacts): PifKind | undefined {
  if (f.tunnelAccess) return 'tunnel_access';
  if (f.vlan) return 'vlan';
  if (f.sriovLogical) return 'sriov_logical';
  if (f.bondMaster) return 'bond_master';
  if (f.physical) return 'physical';
  return undefined;
}

/** A PIF on a network: its kind, and for a VLAN PIF the kind of the PIF it is tagged on. */
export interface NetworkPif {
  readonly kind: PifKind | undefined;
  readonly taggedKind?: PifKind | undefined;
}

/** An SR-IOV logical PIF, or a VLAN on one (xapi's is_sriov_based_network, per PIF). */
export const isSriovPif = (p: NetworkPif): boolean => p.kind === 'sriov_logical' || (p.kind === 'vlan' && p.taggedKind === 'sriov_logical');

/** A network is an SR-IOV network when one of its PIFs is SR-IOV (VIFs on it get a VF, not a switch port). */
export const isSriovNetwork = (pifs: Iterable<NetworkPif>): boolean => [...pifs].some(isSriovPif);

/** The kinds of network, as administrators tell them apart. */
export type NetworkKind = 'external' | 'bonded' | 'vlan' | 'private' | 'internal' | 'sriov';

/**
 * What kind of network the PIFs on it make: none, single-server private (internal); then SR-IOV,
 * cross-server private (tunnels), VLAN, bonded, external.
 */
export function networkKind(pifs: readonly NetworkPif[]): NetworkKind {
  if (pifs.length === 0) return 'internal';
  if (pifs.some(isSriovPif)) return 'sriov';
  if (pifs.some((p) => p.kind === 'tunnel_access')) return 'private';
  if (pifs.some((p) => p.kind === 'vlan')) return 'vlan';
  if (pifs.some((p) => p.kind === 'bond_master')) return 'bonded';
  return 'external';
}
