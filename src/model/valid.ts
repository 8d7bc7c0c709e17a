// Value syntax of the datamodel: pure predicates for every kind of value that reaches another
// program (ip, nft, ovs-ofctl, OVSDB, resolv.conf, hostname), and the catalogue that fields and
// parameters name in their declarations (`valueType`). The API refuses a bad value with the
// catalogue's XenAPI error; the agent checks again with the same predicates before it builds text.

import { isIPv4, isIPv6 } from 'node:net';
import { XapiError } from './errors.ts';

/** A dotted quad with decimal octets and no leading zeros (node's isIPv4 refuses those). */
export const isIpv4 = (s: string): boolean => typeof s === 'string' && isIPv4(s);

/** An IPv6 address: no zone index (`%eth0`), no brackets, nothing but hex, ':' and a dotted tail. */
export const isIpv6 = (s: string): boolean =>
  typeof s === 'string' && /^[0-9a-fA-F:.]+$/.test(s) && isIPv6(s);

function cidr(s: string, ok: (ip: string) => boolean, max: number): boolean {
  if (typeof s !== 'string') return false;
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const len = s.slice(slash + 1);
  return ok(s.slice(0, slash)) && /^\d{1,3}$/.test(len) && Number(len) <= max;
}

export const isIpv4Cidr = (s: string): boolean => cidr(s, isIpv4, 32);
export const isIpv6Cidr = (s: string): boolean => cidr(s, isIpv6, 128);

const ipv4Bits = (s: string): number => s.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);

/** The 128 bits of an address isIpv6 accepts ('::' expanded, a dotted tail as two groups). */
function ipv6Bits(s: string): bigint {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let text = s;
  if (dotted) {
    const v = ipv4Bits(dotted[1]);
    text = `${s.slice(0, dotted.index)}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const hs = groups(head);
  const ts = groups(tail);
  const all = tail === undefined ? hs : [...hs, ...new Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Whether the address bits past the prefix length are all zero. */
function hostBitsClear(bits: bigint, width: number, len: number): boolean {
  const hostMask = (1n << BigInt(width - len)) - 1n;
  return (bits & hostMask) === 0n;
}

/**
 * A CIDR that names a network: no bit set past the prefix (10.77.0.0/24, not 10.77.0.104/24).
 * xapi accepts either in a VIF's allowed list; poolnet refuses host bits there, since the switch
 * matches the whole prefix and a typo for one address would unlock the subnet.
 */
export const isIpv4Prefix = (s: string): boolean => {
  if (!isIpv4Cidr(s)) return false;
  const [a, l] = s.split('/');
  return hostBitsClear(BigInt(ipv4Bits(a)), 32, Number(l));
};
export const isIpv6Prefix = (s: string): boolean => {
  if (!isIpv6Cidr(s)) return false;
  const [a, l] = s.split('/');
  return hostBitsClear(ipv6Bits(a), 128, Number(l));
};

/** An entry of VIF.ipv4_allowed / ipv6_allowed: an address, or a prefix without host bits. */
export const isIpv4Allowed = (s: string): boolean => isIpv4(s) || isIpv4Prefix(s);
export const isIpv6Allowed = (s: string): boolean => isIpv6(s) || isIpv6Prefix(s);

/** A dotted netmask with contiguous ones (255.255.255.0). */
export function isNetmask(s: string): boolean {
  if (!isIpv4(s)) return false;
  const inv = ~ipv4Bits(s) >>> 0;
  return (inv & (inv + 1)) === 0;
}

/** xx:xx:xx:xx:xx:xx with hex digits. */
export const isMac = (s: string): boolean => typeof s === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s);

/**
 * A network interface name: within the kernel's rules (dev_valid_name: 1..15 bytes, no whitespace,
 * '/' or ':', not '.' or '..') and narrower, letters, digits, '_', '.' and '-' only, not starting
 * with '-' or '.': names go into OpenFlow flows (',' '=' separate fields there), nft rules and
 * command lines (a leading '-' reads as an option).
 */
export const isIfName = (s: string): boolean => typeof s === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(s);

const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** RFC 1123 host name: dot-separated labels of letters, digits and inner '-', at most 253 characters. */
export const isHostname = (s: string): boolean =>
  typeof s === 'string' && s.length >= 1 && s.length <= 253 && s.split('.').every((l) => LABEL.test(l));

/**
 * A host name as xapi's host.set_hostname_live takes it: 1..255 characters of letters, digits,
 * '-' and '.', not starting or ending with '-'. Looser than RFC 1123 (label lengths), never an option.
 */
export const isXapiHostname = (s: string): boolean =>
  typeof s === 'string' && s.length >= 1 && s.length <= 255 && /^[A-Za-z0-9.-]+$/.test(s) && !s.startsWith('-') && !s.endsWith('-');

/** RFC 1123 name that may end with a root dot (a search domain). */
const isDomainName = (s: string): boolean => isHostname(s.endsWith('.') ? s.slice(0, -1) : s);

/** A DNS search list as xapi stores it in other_config:domain: names separated by commas or spaces. */
export const isDomain = (s: string): boolean =>
  typeof s === 'string' && s.length <= 1024 && /^[^\r\n\0]*$/.test(s)
  && s.split(/[ ,]+/).filter(Boolean).every(isDomainName);

/** Comma-separated IPv4/IPv6 name-server addresses (PIF.DNS); '' is the empty list. */
export const isDnsList = (s: string): boolean =>
  typeof s === 'string' && (s === '' || s.split(',').every((a) => isIpv4(a) || isIpv6(a)));

const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);
/** A number, or a string of decimal digits (other_config values), as an integer; NaN otherwise. */
const intOf = (v: unknown): number => (isInt(v) ? v : typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : NaN);

/** A VLAN tag: 0..4094, as VLAN.create accepts (VLAN_TAG_INVALID otherwise). */
export const isVlanTag = (n: unknown): boolean => { const v = intOf(n); return v >= 0 && v <= 4094; };

/** An MTU the kernel can set on an IPv4 interface: 68..65535. */
export const isMtu = (n: unknown): boolean => { const v = intOf(n); return v >= 68 && v <= 65535; };

/**
 * A QoS rate (the API's kbps, KiB/s) an OpenFlow meter can carry: meter rates are kbit/s in an
 * unsigned 32-bit field, and the agent sets kbps * 1024 * 8 / 1000 kbit/s (ovsflows.ts meterKbits).
 */
export const isMeterKbps = (n: unknown): boolean => {
  const v = intOf(n);
  return v > 0 && Math.round((v * 1024 * 8) / 1000) <= 0xffffffff;
};

/** Milliseconds as Open vSwitch and networkd read them into a C int (bond up/down delays, intervals). */
export const isMillis = (n: unknown): boolean => { const v = intOf(n); return v >= 0 && v <= 0x7fffffff; };

// ---- bond properties (Bond.properties, xapi's requirements_of_mode) and master PIF other_config:bond-* ----

export const BOND_MODES = ['balance-slb', 'active-backup', 'lacp'] as const;
export const isBondMode = (s: string): boolean => (BOND_MODES as readonly string[]).includes(s);
export const isHashingAlgorithm = (s: string): boolean => s === 'src_mac' || s === 'tcpudp_ports';
export const isLacpTime = (s: string): boolean => s === 'fast' || s === 'slow';
export const isBoolText = (s: string): boolean => s === 'true' || s === 'false';
export const isLacpAggregationKey = (s: string): boolean => typeof s === 'string' && /^\d{1,5}$/.test(s) && Number(s) <= 65535;
export const isBondDetectMode = (s: string): boolean => s === 'carrier' || s === 'miimon';

/** A network's other_config:static-routes: comma-separated `subnet/prefix/gateway` (IPv4). */
export const isStaticRoutes = (s: string): boolean =>
  typeof s === 'string' && (s === '' || s.split(',').every((r) => {
    const [subnet, len, gw, ...rest] = r.split('/');
    return rest.length === 0 && gw !== undefined && isIpv4Cidr(`${subnet}/${len}`) && isIpv4(gw);
  }));

/** A VLAN tag, or -1 for "no VLAN" (PIF.VLAN of a physical, bond or tunnel PIF). */
export const isVlanOrNone = (n: unknown): boolean => intOf(n) === -1 || isVlanTag(n);

/** A VIF device index: the N of vif<domid>.<N>, decimal, short enough for a 15-byte port name. */
export const isDeviceIndex = (s: string): boolean => typeof s === 'string' && /^\d{1,6}$/.test(s);

/** A setting the agent passes on without knowing it (other bond-* keys): one token of letters, digits, '_', '.', ':', '-'. */
export const isWord = (s: string): boolean => typeof s === 'string' && /^[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,254}$/.test(s);

/**
 * A DNS list as PIF.reconfigure_ip takes it: xapi splits it on commas, trims and keeps the
 * addresses of the family, so other words are dropped, but no control character may come in.
 */
export const isDnsInput = (s: string): boolean => typeof s === 'string' && s.length <= 1024 && /^[\x20-\x7e]*$/.test(s);

/** A TCP port 0..65535 (0: none, as SDN_controller.introduce takes it for pssl). */
export const isPort = (n: unknown): boolean => { const v = intOf(n); return v >= 0 && v <= 65535; };

// ---- the catalogue ----

/** What a declaration names; `field` is the wire name of the field or parameter (for the error). */
export interface ValueType {
  readonly check: (v: unknown) => boolean;
  readonly error: (field: string, value: unknown) => XapiError;
}

const str = (p: (s: string) => boolean) => (v: unknown): boolean => typeof v === 'string' && p(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const badIp = (field: string): XapiError => new XapiError('INVALID_IP_ADDRESS_SPECIFIED', [field]);
const badCidr = (field: string): XapiError => new XapiError('INVALID_CIDR_ADDRESS_SPECIFIED', [field]);
const invalid = (field: string, value: unknown): XapiError => new XapiError('INVALID_VALUE', [field, text(value)]);

const CATALOGUE = {
  ipv4: { check: str(isIpv4), error: badIp },
  ipv4Cidr: { check: str(isIpv4Cidr), error: badCidr },
  /** VIF.ipv4_allowed entries: an address or a CIDR without host bits (a CIDR with them: INVALID_CIDR). */
  ipv4OrCidr: { check: str(isIpv4Allowed), error: (f: string, v: unknown) => (typeof v === 'string' && isIpv4Cidr(v) ? badCidr(f) : badIp(f)) },
  netmask: { check: str(isNetmask), error: badIp },
  ipv6: { check: str(isIpv6), error: badIp },
  ipv6Cidr: { check: str(isIpv6Cidr), error: badCidr },
  /** VIF.ipv6_allowed entries: an address or a CIDR without host bits (a CIDR with them: INVALID_CIDR). */
  ipv6OrCidr: { check: str(isIpv6Allowed), error: (f: string, v: unknown) => (typeof v === 'string' && isIpv6Cidr(v) ? badCidr(f) : badIp(f)) },
  /** An IPv4 or IPv6 address (tunnel/SDN endpoints). */
  ipAny: { check: str((s) => isIpv4(s) || isIpv6(s)), error: badIp },
  dnsList: { check: str(isDnsList), error: badIp },
  mac: { check: str(isMac), error: (_f: string, v: unknown) => new XapiError('MAC_INVALID', [text(v)]) },
  ifName: { check: str(isIfName), error: invalid },
  /** The API takes what xapi takes; the agent applies only RFC 1123 names (isHostname). */
  hostname: {
    check: str(isXapiHostname),
    error: (_f: string, v: unknown) => new XapiError('HOST_NAME_INVALID', [
      v === '' ? 'hostname empty' : text(v).length > 255 ? 'hostname is too long' : 'hostname contains invalid characters',
    ]),
  },
  domain: { check: str(isDomain), error: invalid },
  vlanTag: { check: isVlanTag, error: (_f: string, v: unknown) => new XapiError('VLAN_TAG_INVALID', [text(v)]) },
  mtu: { check: isMtu, error: invalid },
  meterKbps: { check: isMeterKbps, error: invalid },
  millis: { check: isMillis, error: invalid },
  bondMode: { check: str(isBondMode), error: invalid },
  hashingAlgorithm: { check: str(isHashingAlgorithm), error: invalid },
  lacpTime: { check: str(isLacpTime), error: invalid },
  boolText: { check: str(isBoolText), error: invalid },
  lacpAggregationKey: { check: str(isLacpAggregationKey), error: invalid },
  bondDetectMode: { check: str(isBondDetectMode), error: invalid },
  staticRoutes: { check: str(isStaticRoutes), error: invalid },
  port: { check: isPort, error: invalid },
  vlanOrNone: { check: isVlanOrNone, error: (_f: string, v: unknown) => new XapiError('VLAN_TAG_INVALID', [text(v)]) },
  deviceIndex: { check: str(isDeviceIndex), error: (_f: string, v: unknown) => new XapiError('INVALID_DEVICE', [text(v)]) },
  word: { check: str(isWord), error: invalid },
  dnsInput: { check: str(isDnsInput), error: badIp },
} satisfies Record<string, ValueType>;

export type ValueTypeName = keyof typeof CATALOGUE;

/** Every value type a field or parameter can declare (`valueType: 'ipv4'`), by name. */
export const VALUE_TYPES: Readonly<Record<ValueTypeName, ValueType>> = CATALOGUE;

export const isValueTypeName = (s: string): s is ValueTypeName => Object.hasOwn(VALUE_TYPES, s);

/** Check `value` against `type`; throws the catalogue's XenAPI error. '' passes when `emptyOk`. */
export function checkValue(type: ValueTypeName, field: string, value: unknown, emptyOk = false): void {
  if (emptyOk && value === '') return;
  const vt = VALUE_TYPES[type];
  if (!vt.check(value)) throw vt.error(field, value);
}
