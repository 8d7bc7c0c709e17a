// Address arithmetic for the forms: IPv4 subnets (to warn before two interfaces share one),
// allowed-address lists, rate limits. Pure.

import { NULL_REF, str, type Rec, type Ref, type Store } from './store.ts';

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export const isIpv4 = (s: string): boolean => V4.test(s);

export function ipv4ToInt(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The prefix length of a dotted netmask, or undefined if it is not a contiguous mask. */
export function prefixOfNetmask(mask: string): number | undefined {
  if (!isIpv4(mask)) return undefined;
  const n = ipv4ToInt(mask);
  for (let p = 0; p <= 32; p++) {
    const m = p === 0 ? 0 : (2 ** 32 - 2 ** (32 - p));
    if (m === n) return p;
  }
  return undefined;
}

/** "10.0.0.0/24" for 10.0.0.11 / 255.255.255.0; undefined when either is missing or invalid. */
export function subnetOf(ip: string, netmask: string): string | undefined {
  if (!isIpv4(ip)) return undefined;
  const p = prefixOfNetmask(netmask);
  if (p === undefined || p === 0) return undefined;
  const size = 2 ** (32 - p);
  return `${intToIpv4(Math.floor(ipv4ToInt(ip) / size) * size)}/${p}`;
}

/** Two subnets overlap when one contains the other's network address. */
export function subnetsOverlap(a: string, b: string): boolean {
  const [na, pa] = a.split('/'), [nb, pb] = b.split('/');
  const p = Math.min(Number(pa), Number(pb));
  const size = 2 ** (32 - p);
  return Math.floor(ipv4ToInt(na) / size) === Math.floor(ipv4ToInt(nb) / size);
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

/** The rate limit of a VIF in kB/s (qos_algorithm_type=ratelimit, qos_algorithm_params:kbps), if set. */
export function vifRateKBs(vif: Rec): number | undefined {
  if (vif.qos_algorithm_type !== 'ratelimit') return undefined;
  const kbps = (vif.qos_algorithm_params as Record<string, string> | undefined)?.kbps;
  return kbps && /^\d+$/.test(kbps) && Number(kbps) > 0 ? Number(kbps) : undefined;
}
