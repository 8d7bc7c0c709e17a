// The desired state of one host's networking, as plain data: what compile() produces and
// what the backends realise. Backend-neutral: bridges, ports and their VLAN mode, VIF locks and
// rates, tunnels, addresses. Each backend turns it into its own language: OpenFlow tables and
// meters (ovsflows.ts, the Open vSwitch backend), nftables and tc (bridgerules.ts, the Linux bridge).

import type { LockingMode } from '../domain/locking.ts';

export interface BondSpec {
  readonly mode: 'balance-slb' | 'active-backup' | 'balance-tcp';
  readonly lacp: 'off' | 'active';
  /** Port other_config: lacp-time, lacp-fallback-ab, bond-detect-mode, ... */
  readonly otherConfig: Readonly<Record<string, string>>;
  /** Per member interface other_config (lacp-aggregation-key). */
  readonly memberOtherConfig: Readonly<Record<string, string>>;
  readonly updelay: number;
  readonly downdelay: number;
}

export interface PortSpec {
  readonly name: string;
  readonly kind: 'uplink' | 'bond' | 'vlan' | 'vif' | 'tunnel';
  /** Member devices (one, or several for a bond). */
  readonly interfaces: readonly string[];
  /** OVS interface type: "" (system), internal, gre, vxlan. */
  readonly type: string;
  readonly options?: Readonly<Record<string, string>>;
  /** Access VLAN tag (VLAN networks' internal port and their VIFs). */
  readonly tag?: number;
  /** A VLAN network's internal port, shown by ovs-vsctl as a fake bridge. */
  readonly fakeBridge?: boolean;
  readonly trunks?: readonly number[];
  readonly bond?: BondSpec;
  readonly mac?: string;
  readonly mtu?: number;
  readonly externalIds?: Readonly<Record<string, string>>;
  /** VIF ports: the VIF's uuid. */
  readonly vifUuid?: string;
  /** VIF ports: the effective locking (OpenFlow flows on Open vSwitch, nftables rules on the Linux bridge). */
  readonly lock?: VifLockSpec;
  /** VIF ports: rate limit of what the VM sends, in KiB/s (the API's `kbps`, src/domain/qos.ts). */
  readonly rateKbps?: number;
  /** VIF ports migrating in: the OpenFlow port number asked for (OVS ofport_request, src/domain/migration.ts). */
  readonly ofportRequest?: number;
  /** Tunnel ports: OVS `protected`, no forwarding between them (a private network's split horizon). */
  readonly protected?: boolean;
}

export interface VifLockSpec {
  readonly mode: LockingMode;
  readonly mac: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface BridgeSpec {
  readonly name: string;
  /** other_config:hwaddr */
  readonly mac?: string;
  readonly ports: readonly PortSpec[];
  readonly externalIds: Readonly<Record<string, string>>;
  readonly mcastSnooping: boolean;
}

export interface Ipv4Config {
  readonly mode: 'none' | 'dhcp' | 'static';
  readonly address?: string; // a.b.c.d/len
  readonly gateway?: string;
}

export interface Ipv6Config {
  readonly mode: 'none' | 'dhcp' | 'static' | 'autoconf';
  readonly addresses: readonly string[];
  readonly gateway?: string;
}

/** The IP configuration of one bridge device (where xapi puts a PIF's address). */
export interface InterfaceSpec {
  readonly device: string;
  readonly pif: string; // PIF uuid, for status reports
  readonly mtu: number;
  readonly ipv4: Ipv4Config;
  readonly ipv6: Ipv6Config;
  readonly routes: readonly { subnet: string; gateway: string }[];
  readonly management: boolean;
}

/**
 * An object (or one value of it) that compile() left out because a value failed its re-check.
 * The agent turns each into a pool message, once.
 */
export interface Rejection {
  /** The datamodel class of the object: PIF, VIF, network, Bond, VLAN, tunnel, host, VM. */
  readonly cls: string;
  readonly uuid: string;
  /** The field (other_config keys as `other_config:<key>`). */
  readonly field: string;
  /** The refused value, JSON-quoted (so a newline in it shows as \n), cut to 200 characters. */
  readonly value: string;
  /** What the agent did instead, for the administrator. */
  readonly outcome: string;
}

export interface DesiredHost {
  /** '' when the database has none or a bad one (the hostname is then left as it is). */
  readonly hostname: string;
  readonly bridges: readonly BridgeSpec[];
  readonly interfaces: readonly InterfaceSpec[];
  /** The device that carries the default route, and through which gateway. */
  readonly defaultRoute?: { readonly device: string; readonly gateway: string };
  readonly dns?: { readonly nameservers: readonly string[]; readonly search: readonly string[] };
  /** Physical devices and the MTU they should carry. */
  readonly devices: readonly { readonly name: string; readonly mtu: number }[];
  /**
   * Devices of plugged VIFs that are on no bridge (disabled): no traffic either way, so the
   * host's own kernel must not take their frames either (it would answer ARP for its addresses).
   */
  readonly detachedVifs?: readonly string[];
  /**
   * Bridge devices whose IP configuration was rejected: the host OS step leaves their addresses
   * and routes as they are (neither the bad configuration nor an empty one).
   */
  readonly frozenDevices?: readonly string[];
  /** What compile() left out, and why (absent when nothing was). */
  readonly rejected?: readonly Rejection[];
  /**
   * What stays on the switch exactly as it is, because a value of it failed its check: left out
   * of `bridges`, it would otherwise be deleted with its NICs and ports (possibly the management
   * bridge). Absent when nothing is held.
   */
  readonly held?: HeldSwitch;
}

/** Bridges and ports a backend neither creates, changes nor removes (each failed a check; reported in `rejected`). */
export interface HeldSwitch {
  /** Bridges by name. */
  readonly bridges: readonly string[];
  /** Bridges by a network uuid among their xs-network-uuids (a network whose bridge name failed its check). */
  readonly networks: readonly string[];
  /** Ports by name, on whichever bridge they are. */
  readonly ports: readonly string[];
}
