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
  isBondDetectMode, isDomain, isHashingAlgorithm, isHostname, isIfName, isIpv4, isIpv4Allowed, isIpv4Cidr, isIpv6, isIpv6Allowed, isIpv6Cidr,
  isLacpAggregationKey, isLacpTime, isMac, isMeterKbps, isMillis, isMtu, isNetmask, isVlanTag,
} from '../model/valid.ts';
import type { BridgeSpec, DesiredHost, HeldSwitch, PortSpec } from './desired.ts';

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
/** An allowed address of a locked VIF: an address or a prefix without host bits (a typo must not widen the lock), no zone index. */
export const isIpv4OrCidr = (s: string): boolean => isIpv4Allowed(s);
export const isIpv6OrCidr = (s: string): boolean => isIpv6Allowed(s);
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

/** The values of a VIF's locking that go into OpenFlow or nftables text (ovsflows.ts VifLock's fields). */
export interface LockValues {
  readonly port: string;
  readonly mode: string;
  readonly mac: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly trunks?: readonly number[];
  readonly meter?: number;
}

/** Throws CheckError unless every value of a VIF's locking is fit for flow or rule text. */
export function checkLock(v: LockValues): void {
  asIfName(v.port, 'port');
  if (!['locked', 'unlocked', 'disabled'].includes(v.mode)) throw new CheckError('locking_mode', v.mode);
  if (v.mode === 'locked') {
    asMac(v.mac);
    for (const a of v.ipv4) asIpv4Match(a);
    for (const a of v.ipv6) asIpv6Match(a);
  }
  for (const t of v.trunks ?? []) asVlanTag(t, 'trunks');
  if (v.meter !== undefined) asMeterId(v.meter);
}

/** What `build` gives, or nothing when one of its values fails its check (one object's text, all or none). */
export function orNone<T>(build: () => T[]): T[] {
  try { return build(); } catch (e) {
    if (e instanceof CheckError) return [];
    throw e;
  }
}

// ---- Open vSwitch: OVSDB rows and meter text ---------------------------------------------

/** Map keys and values poolnet writes into OVSDB: printable, no whitespace (ids, settings). */
const OVSDB_WORD = /^[\x21-\x7e]{0,256}$/;

/** The bond settings compile() writes (port other_config; lacp-aggregation-key per member), each with its check. */
const BOND_SETTINGS: Readonly<Record<string, (s: string) => boolean>> = {
  'bond-detect-mode': textChecks.bondDetectMode, 'bond-miimon-interval': textChecks.millis, 'bond-rebalance-interval': textChecks.millis,
  'lacp-time': textChecks.lacpTime, 'lacp-fallback-ab': textChecks.boolText, 'lacp-aggregation-key': textChecks.lacpAggregationKey,
};

/** Throws CheckError unless every value of a port that goes into OVSDB is of its type. */
export function checkPort(p: PortSpec): void {
  asIfName(p.name, 'port');
  if (!['uplink', 'bond', 'vlan', 'vif', 'tunnel'].includes(p.kind)) throw new CheckError('kind', p.kind);
  if (p.rateKbps !== undefined && !isMeterKbps(p.rateKbps)) throw new CheckError('rateKbps', p.rateKbps);
  if (!p.interfaces.length) throw new CheckError('interfaces', p.interfaces);
  for (const i of p.interfaces) asIfName(i, 'interface');
  if (!['', 'internal', 'gre', 'vxlan'].includes(p.type)) throw new CheckError('type', p.type);
  if (p.tag !== undefined) asVlanTag(p.tag);
  for (const t of p.trunks ?? []) asVlanTag(t, 'trunks');
  if (p.mtu !== undefined) asMtu(p.mtu);
  if (p.mac) asMac(p.mac);
  if (p.vifUuid !== undefined && !isUuid(p.vifUuid)) throw new CheckError('vifUuid', p.vifUuid);
  // OVSDB's ofport_request takes 1..65279 (OFPP_MAX): a migrating VIF's number (domain/migration.ts)
  if (p.ofportRequest !== undefined) asCount(p.ofportRequest, 'ofport_request', 1, 0xfeff);
  if (p.bond) {
    if (!['balance-slb', 'active-backup', 'balance-tcp'].includes(p.bond.mode)) throw new CheckError('bond_mode', p.bond.mode);
    for (const [k, v] of [...Object.entries(p.bond.otherConfig), ...Object.entries(p.bond.memberOtherConfig)]) {
      const ok = BOND_SETTINGS[k];
      if (!ok || typeof v !== 'string' || !ok(v)) throw new CheckError(k, v);
    }
    if (!['off', 'active'].includes(p.bond.lacp)) throw new CheckError('lacp', p.bond.lacp);
    asMillis(p.bond.updelay, 'bond-updelay');
    asMillis(p.bond.downdelay, 'bond-downdelay');
  }
  if (p.options) {
    for (const k of ['remote_ip', 'local_ip']) if (p.options[k] !== undefined) asNameserver(p.options[k], k);
    if (p.options.key !== undefined) asCount(intText(p.options.key), 'key', 0, 0xffffffff);
  }
  for (const m of [p.options, p.externalIds, p.bond?.otherConfig, p.bond?.memberOtherConfig]) {
    for (const [k, v] of Object.entries(m ?? {})) if (!OVSDB_WORD.test(k) || !OVSDB_WORD.test(v)) throw new CheckError(k, v);
  }
  if (p.lock) checkLock({ ...p.lock, port: p.name });
}

export function checkBridge(b: BridgeSpec): void {
  asIfName(b.name, 'bridge');
  if (b.mac) asMac(b.mac);
  for (const [k, v] of Object.entries(b.externalIds)) if (!OVSDB_WORD.test(k) || !(k === NETWORK_UUIDS ? isUuidList(v) : OVSDB_WORD.test(v))) throw new CheckError(k, v);
}

/**
 * A bridge's networks (xapi's xs-network-uuids): the NIC's and each of its VLANs', joined by ';'.
 * Checked uuid by uuid, not as one word of at most 256 characters: that fitted 6 networks, and a
 * bridge with more (a NIC carrying VLANs) was left out, so deleted from the switch with its NIC.
 */
const NETWORK_UUIDS = 'xs-network-uuids';
const isUuidList = (v: string): boolean => v === '' || (typeof v === 'string' && v.split(';').length <= 4096 && v.split(';').every(isUuid));

const fits = <T>(check: (x: T) => void) => (x: T): boolean => { try { check(x); return true; } catch (e) { if (e instanceof CheckError) return false; throw e; } };

/**
 * The desired switch without the bridges and ports that have a value unfit for OVSDB (compile()
 * holds those already; this is the check where the rows are built). Such a bridge, or a port
 * other than a VIF's, is held: kept on the switch as it is, never deleted for it (a NIC's bridge
 * left out was deleted with the NIC). A VIF's port left out is not on the switch: it passes nothing.
 */
export function switchFit(desired: DesiredHost): DesiredHost {
  const okPort = fits(checkPort), okBridge = fits(checkBridge);
  if (desired.bridges.every((b) => okBridge(b) && b.ports.every(okPort))) return desired;
  const held = { bridges: [...desired.held?.bridges ?? []], networks: [...desired.held?.networks ?? []], ports: [...desired.held?.ports ?? []] };
  const bridges = desired.bridges.filter((b) => okBridge(b) || (held.bridges.push(b.name), false)).map((b) => ({
    ...b, ports: b.ports.filter((p) => okPort(p) || (p.kind !== 'vif' && held.ports.push(p.name), false)),
  }));
  return { ...desired, bridges, held };
}

/** Whether a switch bridge is held (`held` names it, or one of its networks). */
export function isHeldBridge(held: HeldSwitch | undefined, name: string, networkUuids: string): boolean {
  if (!held) return false;
  return held.bridges.includes(name) || (held.networks.length > 0 && networkUuids.split(';').some((u) => held.networks.includes(u)));
}

/** `ovs-ofctl add-meter` text of a VIF's meter, or undefined when a value of it fails its check. */
export function meterText(id: number, kbits: number, burst: number): string | undefined {
  try {
    return `meter=${asMeterId(id)},kbps,burst,band=type=drop,rate=${asMeterKbits(kbits)},burst_size=${asMeterKbits(burst, 'burst')}`;
  } catch (e) {
    if (e instanceof CheckError) return undefined;
    throw e;
  }
}

/** Why bridges and ports switchFit leaves out, for a backend's report. */
export function switchProblems(desired: DesiredHost): string[] {
  const out: string[] = [];
  const why = (what: string, f: () => void) => { try { f(); } catch (e) { if (!(e instanceof CheckError)) throw e; out.push(`${what}: left out, ${e.message}`); } };
  for (const b of desired.bridges) {
    why(`bridge ${JSON.stringify(b.name)}`, () => checkBridge(b));
    for (const p of b.ports) why(`port ${JSON.stringify(p.name)} on ${JSON.stringify(b.name)}`, () => checkPort(p));
  }
  return out;
}

/** Whether a built line is one line (no newline, carriage return or NUL). */
export const isOneLine = (s: string): boolean => typeof s === 'string' && !/[\n\r\0]/.test(s);
