// Address arithmetic shared by the ops (pure). The syntax predicates live in the datamodel
// (src/model/valid.ts) and are re-exported here for the ops that import them from this module.

import { isIpv4, isNetmask } from '../model/valid.ts';

export { isIpv4, isIpv6, isIpv4Cidr, isIpv6Cidr, isNetmask, isMac } from '../model/valid.ts';

export function ipv4ToInt(s: string): number {
  return s.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

export function prefixOfNetmask(mask: string): number {
  let n = ipv4ToInt(mask), bits = 0;
  while (n & 0x80000000) { bits++; n = (n << 1) >>> 0; }
  return bits;
}

/** The network address of ip/netmask, e.g. 10.0.0.0/24, or undefined when either is not IPv4. */
export function subnetOf(ip: string, netmask: string): string | undefined {
  if (!isIpv4(ip) || !isNetmask(netmask)) return undefined;
  const net = (ipv4ToInt(ip) & ipv4ToInt(netmask)) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefixOfNetmask(netmask)}`;
}

/** A random locally administered unicast MAC, as xapi generates for VIFs and tunnel access PIFs. */
export function randomMac(rand: () => number = Math.random): string {
  const b = Array.from({ length: 6 }, () => Math.floor(rand() * 256));
  b[0] = (b[0] & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
