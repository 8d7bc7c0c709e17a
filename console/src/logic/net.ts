// Address arithmetic for the forms: IPv4 subnets (to warn before two interfaces share one),
// allowed-address lists, rate limits. Pure.

import { isIpv4Text, subnetOf as domainSubnetOf, subnetsOverlap } from '../../../src/domain/ipv4.ts';
import { vifRateKbps } from '../../../src/domain/qos.ts';
import { NULL_REF, str, type Rec, type Ref, type Store } from './store.ts';

export { intToIpv4, ipv4ToInt, prefixOfNetmask, subnetsOverlap } from '../../../src/domain/ipv4.ts';
export const isIpv4 = (s: string): boolean => isIpv4Text(s);

/** "10.0.0.0/24" for 10.0.0.11 / 255.255.255.0; undefined when either is missing or invalid, or the mask is 0.0.0.0 (no subnet to warn about). */
export function subnetOf(ip: string, netmask: string): string | undefined {
  const s = domainSubnetOf(ip, netmask);
  return s?.endsWith('/0') ? undefined : s;
}

export interface SharedSubnet {
  readonly other: Ref;
  readonly otherDevice: string;
  readonly otherRole: 'management' | 'secondary';
  readonly otherIp: string;
  readonly subnet: string;
}

/**
 * The other IP-configured interfaces (PIFs) of the same host whose IPv4 subnet overlaps the one
 * `pif` would get with `ip`/`netmask`. The seed: "If any management or secondary interfaces are
 * on the same subnet, traffic will be routed incorrectly."
 */
export function sharedSubnets(store: Store, pif: Ref, ip: string, netmask: string): SharedSubnet[] {
  const me = store.get('pif', pif);
  const subnet = subnetOf(ip, netmask);
  if (!me || !subnet) return [];
  const out: SharedSubnet[] = [];
  for (const [ref, p] of store.all('pif')) {
    if (ref === pif || p.host !== me.host || p.host === NULL_REF) continue;
    const theirs = subnetOf(str(p, 'IP'), str(p, 'netmask'));
    if (!theirs || str(p, 'ip_configuration_mode') === 'None') continue;
    if (subnetsOverlap(subnet, theirs)) {
      out.push({ other: ref, otherDevice: pifName(store, p), otherRole: p.management ? 'management' : 'secondary', otherIp: str(p, 'IP'), subnet: theirs });
    }
  }
  return out;
}

/** "eth1", "bond0", "eth1.5" (VLAN 5 on eth1): how administrators name an interface. */
export function pifName(_store: Store, p: Rec): string {
  const vlan = Number(p.VLAN ?? -1);
  return vlan >= 0 ? `${str(p, 'device')}.${vlan}` : str(p, 'device');
}

/** Split a list typed by a person: commas, spaces or new lines. */
export function splitList(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

const V6 = /^[0-9a-f:.]+$/i;
/** A loose IPv6 check for the form (the server checks exactly and answers INVALID_IP_ADDRESS_SPECIFIED). */
export const looksIpv6 = (s: string): boolean => s.includes(':') && V6.test(s);

/** The rate limit of a VIF in kB/s (qos_algorithm_type=ratelimit, qos_algorithm_params:kbps), if set (the rule: src/domain/qos.ts). */
export function vifRateKBs(vif: Rec): number | undefined {
  return vifRateKbps(vif.qos_algorithm_type, vif.qos_algorithm_params);
}
