// Address syntax checks shared by the ops (pure).

import { isIPv4, isIPv6 } from 'node:net';

export const isIpv4 = (s: string): boolean => isIPv4(s);
export const isIpv6 = (s: string): boolean => isIPv6(s);

function cidr(s: string, ok: (ip: string) => boolean, max: number): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const len = s.slice(slash + 1);
  return ok(ip) && /^\d{1,3}$/.test(len) && Number(len) <= max;
}

export const isIpv4Cidr = (s: string): boolean => cidr(s, isIPv4, 32);
export const isIpv6Cidr = (s: string): boolean => cidr(s, isIPv6, 128);

/** A dotted netmask with contiguous ones (255.255.255.0). */
export function isNetmask(s: string): boolean {
  if (!isIPv4(s)) return false;
  const n = ipv4ToInt(s);
  const inv = ~n >>> 0;
  return (inv & (inv + 1)) === 0;
}

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
  if (!isIPv4(ip) || !isNetmask(netmask)) return undefined;
  const net = (ipv4ToInt(ip) & ipv4ToInt(netmask)) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefixOfNetmask(netmask)}`;
}

/** xx:xx:xx:xx:xx:xx with hex digits. */
export const isMac = (s: string): boolean => /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s);

/** A random locally administered unicast MAC, as xapi generates for VIFs and tunnel access PIFs. */
export function randomMac(rand: () => number = Math.random): string {
  const b = Array.from({ length: 6 }, () => Math.floor(rand() * 256));
  b[0] = (b[0] & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
