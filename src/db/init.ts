// A fresh pool database, initialised like a freshly installed XenServer host: one pool,
// this host, a PIF and a pool-wide network per NIC, management on the first NIC with an
// address, the control domain, and the six roles.

import { randomBytes } from 'node:crypto';
import { XapiError } from '../model/errors.ts';
import { ROLES, ROLE_DESCRIPTIONS } from '../model/roles.ts';
import type { Database, Txn } from './database.ts';
import type { BackendName } from '../domain/backend.ts';

export interface NicFacts {
  readonly device: string;
  readonly mac: string;
  readonly mtu: number;
  readonly carrier: boolean;
  readonly speed: number;
  readonly ipv4: readonly { ip: string; prefix: number }[];
  readonly gateway: string;
  /** Virtual functions an SR-IOV capable NIC offers (0 or absent: not capable). */
  readonly sriovVfs?: number;
  /** 802.1Q tags the host already carries on this NIC outside poolnet (VLAN_IN_USE): src/agent/discover.ts. */
  readonly vlans?: readonly number[];
}

export interface HostFacts {
  readonly hostname: string;
  readonly nics: readonly NicFacts[];
  readonly dns: readonly string[];
  /** The bridges the host's switch has, poolnet's and others' (undefined: not known). */
  readonly bridges?: readonly string[];
}

export const PRODUCT_VERSION = '0.1.0';
export const API_VERSION = { major: 2, minor: 23 };

export function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

export function isInitialised(db: Database): boolean {
  return db.count('host') > 0;
}

export function softwareVersion(backend: string): Record<string, string> {
  return { product_brand: 'poolnet', product_version: PRODUCT_VERSION, platform_name: 'poolnet', xapi: `${API_VERSION.major}.${API_VERSION.minor}`, network_backend: backend };
}

/** The bridge of a NIC's pool-wide network: xenbr<position> for eth<position>, else br<device> (as xapi without a position). */
export function bridgeOfDevice(device: string): string {
  const m = /^eth(\d+)$/.exec(device);
  return m ? `xenbr${Number(m[1])}` : `br${device}`;
}

/** Create the physical PIF, its metrics and its pool-wide network for one NIC. */
export function introducePhysical(tx: Txn, host: string, nic: NicFacts, opts: { managed?: boolean; disallowUnplug?: boolean; attached?: boolean } = {}): string {
  const managed = opts.managed ?? true;
  const bridge = managed ? bridgeOfDevice(nic.device) : '';
  const existing = managed ? tx.all('network').find((n) => n.rec.bridge === bridge)?.ref : undefined;
  // a network is realised on a host by at most one PIF: refuse before creating anything
  const taken = existing && tx.db.referrers(existing, 'PIF', 'network').find((r) => tx.db.getOf('PIF', r)?.rec.host === host);
  if (taken) throw new XapiError('NETWORK_ALREADY_CONNECTED', [host, taken]);
  const network = existing ?? tx.create('network', {
    name_label: `Pool-wide network associated with ${nic.device}`, MTU: 1500, bridge, managed, other_config: {},
  });
  const metrics = tx.create('PIF_metrics', { carrier: nic.carrier, speed: nic.speed, duplex: nic.carrier, device_name: nic.device, last_updated: '19700101T00:00:00Z' });
  return tx.create('PIF', {
    device: nic.device, device_name: nic.device, network, host, MAC: nic.mac, MTU: nic.mtu, VLAN: -1, metrics,
    physical: true, currently_attached: opts.attached ?? false, ip_configuration_mode: 'None', IPv6: [], ipv6_configuration_mode: 'None',
    primary_address_type: 'IPv4', managed, properties: { gro: 'on' }, capabilities: nic.sriovVfs ? ['sriov'] : [],
    igmp_snooping_status: 'disabled', disallow_unplug: opts.disallowUnplug ?? false,
    other_config: nic.sriovVfs ? { 'sriov-max-vfs': String(nic.sriovVfs) } : {},
  });
}

export function initialise(db: Database, facts: HostFacts, opts: { backend: BackendName }): void {
  db.transact((tx) => {
    for (const r of ROLES) tx.create('role', { name_label: r, name_description: ROLE_DESCRIPTIONS[r], subroles: [], is_internal: false });
    const host = tx.create('host', {
      name_label: facts.hostname, hostname: facts.hostname, name_description: 'Default install',
      software_version: softwareVersion(opts.backend), API_version_major: API_VERSION.major, API_version_minor: API_VERSION.minor,
      API_version_vendor: 'XenSource', API_version_vendor_implementation: {}, enabled: true, capabilities: [], logging: {},
      other_config: {}, address: '', allowed_operations: ['provision', 'evacuate', 'reboot', 'shutdown', 'vm_start', 'vm_resume', 'vm_migrate'],
    });
    db.setLocal('host_uuid', tx.db.getOf('host', host)!.rec.uuid);
    tx.create('pool', { name_label: '', master: host, pool_secret: randomBytes(24).toString('hex'), other_config: {}, igmp_snooping_enabled: false });
    const dom0 = tx.create('VM', {
      name_label: `Control domain on host: ${facts.hostname}`, name_description: 'The domain which manages physical devices and manages other domains',
      power_state: 'Running', is_control_domain: true, resident_on: host, domid: 0, other_config: {},
    });
    tx.update('host', host, { control_domain: dom0 });
    let management: { pif: string; nic: NicFacts } | undefined;
    facts.nics.forEach((nic) => {
      // start of day plugs every physical PIF (xapi's best-effort bring-up)
      const pif = introducePhysical(tx, host, nic, { attached: true });
      if (!management && nic.ipv4.length > 0) management = { pif, nic };
    });
    if (management) {
      const a = management.nic.ipv4[0];
      tx.update('PIF', management.pif, {
        management: true, ip_configuration_mode: 'Static', IP: a.ip, netmask: netmaskOf(a.prefix),
        gateway: management.nic.gateway, DNS: facts.dns.filter((d) => d.includes('.')).join(','),
      });
      tx.update('host', host, { address: a.ip });
    }
  });
}
