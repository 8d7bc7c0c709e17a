// The agent's re-checks: typed values that a text builder accepts. Every value that goes into a
// line for another program (`ip -batch`, `nft -f`, OpenFlow flow text, OVSDB, dnsmasq,
// resolv.conf, hostname) is checked here for its syntax at the point where the text is built,
// even when compile() checked it already: values from the replica or an older database are
// hostile too. A checked value carries a brand (a type only this module hands out), and the
// line builders below take nothing else, so an unchecked string cannot be spliced in by mistake.
//
// The predicates are the datamodel's (src/model/valid.ts). Two are stricter here, on purpose:
// an interface name for text (`isTextIfName`: letters, digits, '_', '.', '-' only, since '#'
// starts a comment for `ip -batch`, quotes group words, ',' and '=' split OpenFlow fields and
// braces and ';' are nftables syntax), and a single search domain (`isSearchDomain`).

import { XapiError } from '../model/errors.ts';
import {
  isBondDetectMode, isDomain, isHashingAlgorithm, isHostname, isIfName, isIpv4, isIpv4Cidr, isIpv6, isIpv6Cidr,
  isLacpAggregationKey, isLacpTime, isMac, isMeterKbps, isMillis, isMtu, isNetmask, isVlanTag,
} from '../model/valid.ts';

declare const CHECKED: unique symbol;
type Brand<T, K extends string> = T & { readonly [CHECKED]: K };

export type IfName = Brand<string, 'IfName'>;
export type Ipv4 = Brand<string, 'Ipv4'>;
/** a.b.c.d/len */
export type Ipv4Cidr = Brand<string, 'Ipv4Cidr'>;
export type Ipv6 = Brand<string, 'Ipv6'>;
/** An IPv6 address with a prefix length. */
export type Ipv6Cidr = Brand<string, 'Ipv6Cidr'>;
export type Mac = Brand<string, 'Mac'>;
export type Hostname = Brand<string, 'Hostname'>;
/** One DNS search domain. */
export type SearchDomain = Brand<string, 'SearchDomain'>;
export type VlanTag = Brand<number, 'VlanTag'>;
export type Mtu = Brand<number, 'Mtu'>;
export type Millis = Brand<number, 'Millis'>;
/** A non-negative integer below a bound a caller names (prefix lengths, ids, meter rates). */
export type Count = Brand<number, 'Count'>;
/** A constant word of the builder's own vocabulary (a keyword, never data). */
export type Word = Brand<string, 'Word'>;

/** What may appear as one argument of a built line. */
export type Arg = IfName | Ipv4 | Ipv4Cidr | Ipv6 | Ipv6Cidr | Mac | Hostname | SearchDomain | VlanTag | Mtu | Millis | Count | Word;

/** A value refused by a re-check: INVALID_VALUE [field, value], as the API would answer. */
export class CheckError extends XapiError {
  constructor(readonly field: string, readonly value: unknown) {
    super('INVALID_VALUE', [field, typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)]);
  }
}

/** An interface name that is also safe as one word in every text poolnet builds. */
export const isTextIfName = (s: string): boolean => isIfName(s) && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(s);
/** One search domain (valid.ts's isDomain takes a list). */
export const isSearchDomain = (s: string): boolean => typeof s === 'string' && s !== '' && !/[ ,]/.test(s) && isDomain(s);
/** An allowed address of a locked VIF: an address or a prefix, no zone index. */
export const isIpv4OrCidr = (s: string): boolean => isIpv4(s) || isIpv4Cidr(s);
export const isIpv6OrCidr = (s: string): boolean => isIpv6(s) || isIpv6Cidr(s);
/** The canonical text of a UUID (OVSDB external ids, list separators). */
export const isUuid = (s: string): boolean => typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);

const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

function must<T>(ok: boolean, field: string, value: unknown): T {
  if (!ok) throw new CheckError(field, value);
  return value as T;
}
const isStr = (v: unknown): v is string => typeof v === 'string';

export const asIfName = (v: unknown, field = 'device'): IfName => must(isStr(v) && isTextIfName(v), field, v);
export const asIpv4 = (v: unknown, field = 'IP'): Ipv4 => must(isStr(v) && isIpv4(v), field, v);
export const asIpv4Cidr = (v: unknown, field = 'IP'): Ipv4Cidr => must(isStr(v) && isIpv4Cidr(v), field, v);
export const asIpv6 = (v: unknown, field = 'IPv6'): Ipv6 => must(isStr(v) && isIpv6(v), field, v);
export const asIpv6Cidr = (v: unknown, field = 'IPv6'): Ipv6Cidr => must(isStr(v) && isIpv6Cidr(v), field, v);
/** An allowed-address entry of a locked VIF, as it will be matched (address or prefix). */
export const asIpv4Match = (v: unknown, field = 'ipv4_allowed'): Ipv4 | Ipv4Cidr => must(isStr(v) && isIpv4OrCidr(v), field, v);
export const asIpv6Match = (v: unknown, field = 'ipv6_allowed'): Ipv6 | Ipv6Cidr => must(isStr(v) && isIpv6OrCidr(v), field, v);
export const asNetmask = (v: unknown, field = 'netmask'): Ipv4 => must(isStr(v) && isNetmask(v), field, v);
export const asMac = (v: unknown, field = 'MAC'): Mac => must(isStr(v) && isMac(v), field, v);
export const asHostname = (v: unknown, field = 'hostname'): Hostname => must(isStr(v) && isHostname(v), field, v);
export const asSearchDomain = (v: unknown, field = 'other_config:domain'): SearchDomain => must(isStr(v) && isSearchDomain(v), field, v);
export const asNameserver = (v: unknown, field = 'DNS'): Ipv4 | Ipv6 => must(isStr(v) && (isIpv4(v) || isIpv6(v)), field, v);
export const asVlanTag = (v: unknown, field = 'tag'): VlanTag => must(isInt(v) && isVlanTag(v), field, v);
export const asMtu = (v: unknown, field = 'MTU'): Mtu => must(isInt(v) && isMtu(v), field, v);
export const asMillis = (v: unknown, field: string): Millis => must(isInt(v) && isMillis(v), field, v);
/** An integer in [min, max]. */
export const asCount = (v: unknown, field: string, min: number, max: number): Count => must(isInt(v) && v >= min && v <= max, field, v);
/** A keyword of the builder itself (constants, enumerations it chose). */
export const word = (w: string): Word => must(/^[a-z][a-z0-9_+.-]*$/.test(w), 'keyword', w);

/** The largest OpenFlow meter rate, kbit/s (an unsigned 32-bit field). */
export const MAX_METER_KBITS = 0xffffffff;
/** A meter rate or burst in kbit/s: 1 .. 2^32-1. */
export const asMeterKbits = (v: unknown, field = 'kbits'): Count => asCount(v, field, 1, MAX_METER_KBITS);
/** An OpenFlow meter id (1 .. 2^31, as compile's meterIds hands out). */
export const asMeterId = (v: unknown, field = 'meter'): Count => asCount(v, field, 1, 0x7fffffff);

/** Integers from text (other_config values): decimal digits only. */
export function intText(s: unknown): number | undefined {
  return typeof s === 'string' && /^\d{1,16}$/.test(s) ? Number(s) : undefined;
}

/** Predicates by name, for the compile-time checks of text values. */
export const textChecks = {
  mac: isMac, hostname: isHostname, domain: isDomain, meterKbps: (s: string) => isMeterKbps(s),
  millis: (s: string) => isMillis(s), mtu: (s: string) => isMtu(s), lacpTime: isLacpTime,
  hashingAlgorithm: isHashingAlgorithm, lacpAggregationKey: isLacpAggregationKey, bondDetectMode: isBondDetectMode,
  boolText: (s: string) => s === 'true' || s === 'false',
} as const;

const ONE_WORD = /^[A-Za-z0-9_.:/+-]+$/;

/**
 * One line of a command language whose words are split on whitespace (`ip -batch`, `tc -batch`,
 * resolv.conf): each argument must be a checked value, and is checked once more to be exactly
 * one word that does not read as an option. Throws CheckError otherwise.
 */
export function line(strings: TemplateStringsArray, ...args: readonly Arg[]): string {
  let out = strings[0];
  args.forEach((a, i) => {
    const s = String(a);
    if (!ONE_WORD.test(s) || s.startsWith('-')) throw new CheckError('argument', s);
    out += s + strings[i + 1];
  });
  if (/[\n\r\0]/.test(out)) throw new CheckError('line', out);
  return out;
}

/** A line built elsewhere, asserted to be one line (no newline, carriage return or NUL). */
export function oneLine(s: string, field = 'line'): string {
  if (typeof s !== 'string' || /[\n\r\0]/.test(s)) throw new CheckError(field, s);
  return s;
}
