// IPv4 address arithmetic (pure, no Node modules: the console bundles it).

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted quad with decimal octets and no leading zeros. */
export const isIpv4Text = (s: unknown): s is string => typeof s === 'string' && V4.test(s);

export function ipv4ToInt(s: string): number {
  return s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The prefix length of a dotted netmask, or undefined when it is not a contiguous mask. */
export function prefixOfNetmask(mask: string): number | undefined {
  if (!isIpv4Text(mask)) return undefined;
  const n = ipv4ToInt(mask);
  for (let p = 0; p <= 32; p++) if (n === 2 ** 32 - 2 ** (32 - p)) return p;
  return undefined;
}

/** The dotted netmask of a prefix length (0..32). */
export function netmaskOfPrefix(prefix: number): string {
  return intToIpv4(2 ** 32 - 2 ** (32 - prefix));
}

/** "10.0.0.0/24" for 10.0.0.11 and 255.255.255.0; undefined when either is not IPv4 (or the mask not contiguous). */
export function subnetOf(ip: string, netmask: string): string | undefined {
  const p = prefixOfNetmask(netmask);
  if (!isIpv4Text(ip) || p === undefined) return undefined;
  const size = 2 ** (32 - p);
  return `${intToIpv4(Math.floor(ipv4ToInt(ip) / size) * size)}/${p}`;
}

/** Two subnets ("a.b.c.d/len") overlap when one contains the other's network address. */
export function subnetsOverlap(a: string, b: string): boolean {
  const [na, pa] = a.split('/'), [nb, pb] = b.split('/');
  const size = 2 ** (32 - Math.min(Number(pa), Number(pb)));
  return Math.floor(ipv4ToInt(na) / size) === Math.floor(ipv4ToInt(nb) / size);
}
