// Addresses for the ops (pure). The syntax predicates live in the datamodel (src/model/valid.ts),
// the arithmetic in src/domain/ipv4.ts; both are re-exported here for the ops that import them from this module.

export { isIpv4, isIpv6, isIpv4Cidr, isIpv6Cidr, isNetmask, isMac } from '../model/valid.ts';
// the arithmetic is the domain's (shared with the agent and the console)
export { ipv4ToInt, prefixOfNetmask, subnetOf } from '../domain/ipv4.ts';

/** A random locally administered unicast MAC, as xapi generates for VIFs and tunnel access PIFs. */
export function randomMac(rand: () => number = Math.random): string {
  const b = Array.from({ length: 6 }, () => Math.floor(rand() * 256));
  b[0] = (b[0] & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
