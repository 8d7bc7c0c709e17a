// The frames a migrated VM is announced with from its new port, so that every switch that learnt
// it behind its old one (the fabric's, the other hosts' across tunnels) learns its new place at
// once (pure). Only what the VIF's locks pass, with the VIF's own MAC and addresses:
//  - unlocked: a RARP request from the VM's MAC, as QEMU's self-announce and Xen's backends send
//    (no address needed, and the locks of an unlocked VIF pass any frame from it);
//  - locked: a gratuitous ARP for each allowed IPv4 address and an unsolicited neighbour
//    advertisement (override, no solicited flag) for each allowed IPv6 address: the only frames
//    naming an address that the locks let through.
// The switch sends them through the port's table anyway (ovs.ts inject), so the locks decide.

import type { VifLockSpec } from './desired.ts';
import { parsePrefix } from './bridgerules.ts';
import { isMac } from '../model/valid.ts';

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function macBytes(mac: string): number[] {
  if (!isMac(mac)) throw new Error(`not a MAC: ${JSON.stringify(mac)}`);
  return mac.split(':').map((p) => parseInt(p, 16));
}

const bigBytes = (v: bigint, n: number): number[] => [...Array(n).keys()].map((i) => Number((v >> BigInt(8 * (n - 1 - i))) & 0xffn));
const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
/** Ethernet frames shorter than 60 bytes (without FCS) are padded. */
const padded = (b: number[]): Uint8Array => Uint8Array.from(b.length >= 60 ? b : [...b, ...new Array<number>(60 - b.length).fill(0)]);

/** An address without a prefix (or with the whole one): the addresses a VM may claim as its own. */
function single(a: string, family: 4 | 6): bigint | undefined {
  const p = parsePrefix(a, family);
  return p && p.len === (family === 4 ? 32 : 128) ? p.addr : undefined;
}

/** RARP "request reverse" from the VM's MAC (QEMU's announce frame). */
export function rarp(mac: string): Uint8Array {
  const m = macBytes(mac);
  return padded([...BROADCAST, ...m, ...u16(0x8035), ...u16(1), ...u16(0x0800), 6, 4, ...u16(3), ...m, 0, 0, 0, 0, ...m, 0, 0, 0, 0]);
}

/** A gratuitous ARP request (RFC 5227's announcement: sender and target address both the VM's). */
export function garp(mac: string, ipv4: bigint): Uint8Array {
  const m = macBytes(mac), ip = bigBytes(ipv4, 4);
  return padded([...BROADCAST, ...m, ...u16(0x0806), ...u16(1), ...u16(0x0800), 6, 4, ...u16(1), ...m, ...ip, 0, 0, 0, 0, 0, 0, ...ip]);
}

/** An unsolicited neighbour advertisement to all nodes (RFC 4861 7.2.6): override set, target and source the VM's address. */
export function unsolicitedNa(mac: string, ipv6: bigint): Uint8Array {
  const m = macBytes(mac), src = bigBytes(ipv6, 16);
  const dst = bigBytes(0xff020000000000000000000000000001n, 16);
  const icmp = [136, 0, 0, 0, 0x20, 0, 0, 0, ...src, 2, 1, ...m];
  // the checksum over the pseudo-header (source, destination, length, next header 58) and the message
  const pseudo = [...src, ...dst, 0, 0, ...u16(icmp.length), 0, 0, 0, 58, ...icmp];
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i] << 8) + (pseudo[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const check = ~sum & 0xffff;
  icmp[2] = check >> 8; icmp[3] = check & 0xff;
  return padded([0x33, 0x33, 0, 0, 0, 1, ...m, ...u16(0x86dd), 0x60, 0, 0, 0, ...u16(icmp.length), 58, 255, ...src, ...dst, ...icmp]);
}

/** The announcements of a VIF with these locks (none for a disabled one). */
export function announcements(lock: VifLockSpec): Uint8Array[] {
  if (lock.mode === 'disabled') return [];
  if (lock.mode === 'unlocked') return [rarp(lock.mac)];
  const out: Uint8Array[] = [];
  for (const a of lock.ipv4) { const v = single(a, 4); if (v !== undefined) out.push(garp(lock.mac, v)); }
  for (const a of lock.ipv6) { const v = single(a, 6); if (v !== undefined) out.push(unsolicitedNa(lock.mac, v)); }
  return out;
}
