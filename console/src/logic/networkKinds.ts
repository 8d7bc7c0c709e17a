// The kinds of network the console tells apart, in one table: the word for each in tables and
// details, and, for the kinds the New Network wizard can make, its title, help, the XenAPI calls
// it makes (the wizard offers a kind only when the session may make them) and the default name.

import type { NetworkKind } from '../../../src/domain/pif.ts';

/** The kinds themselves, and how a network's PIFs make one, are the domain's (src/domain/pif.ts). */
export type { NetworkKind };

export interface NetworkKindInfo {
  /** The kind in a table or a sentence ("external VLAN"). */
  readonly label: string;
  /** What the wizard offers and how, for the kinds it can make. */
  readonly create?: { readonly title: string; readonly help: string; readonly calls: readonly string[]; readonly defaultName: string };
}

export const NETWORK_KINDS: Readonly<Record<NetworkKind, NetworkKindInfo>> = {
  external: { label: 'external' },
  vlan: {
    label: 'external VLAN',
    create: { title: 'External network (VLAN)', help: 'An external network on a VLAN: frames leave the chosen NIC (or bond) tagged, on every host that has it.', calls: ['network.create', 'pool.create_VLAN_from_PIF'], defaultName: 'VLAN' },
  },
  internal: {
    label: 'single-server private',
    create: { title: 'Single-server private network', help: 'A network with no NIC: VMs on the same host can reach each other, nothing else.', calls: ['network.create'], defaultName: 'Private network' },
  },
  private: {
    label: 'cross-server private',
    create: { title: 'Cross-server private network', help: 'A network spanning the pool over GRE tunnels between the hosts\' management or secondary interfaces; needs the vSwitch controller.', calls: ['network.create', 'tunnel.create'], defaultName: 'Cross-server private network' },
  },
  bonded: {
    label: 'bonded',
    create: { title: 'Bonded network', help: 'Two or more NICs joined as one, for throughput and failover.', calls: ['network.create', 'Bond.create'], defaultName: 'Bond' },
  },
  sriov: {
    label: 'SR-IOV',
    create: { title: 'SR-IOV network', help: 'VMs get a virtual function of an SR-IOV NIC directly: fastest, but no switch rules (no port locking, no QoS) and no live migration.', calls: ['network.create', 'network_sriov.create'], defaultName: 'SR-IOV network' },
  },
};

/** The kinds the wizard can make, in the order it offers them. */
export const CREATABLE_KINDS: readonly NetworkKind[] = (Object.keys(NETWORK_KINDS) as NetworkKind[]).filter((k) => NETWORK_KINDS[k].create);
