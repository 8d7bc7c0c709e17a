// The fabric: a namespace with its own Open vSwitch (bridge `fabric`, the physical switches,
// trunking every VLAN), the management network's gateway address and a DHCP server; and the
// cables: veth pairs from each host's NICs to the fabric's ports, made in batches.

import { join } from 'node:path';
import { guardRuleset } from '../agent/kernelguard.ts';
import { daemon, run, sh } from './exec.ts';
import { ovsLayout } from './ovsns.ts';
import { LAB_DIR, MGMT_NET, fabricNs } from './state.ts';
import { startSwitch } from './switch.ts';

export const fabricDir = (): string => join(LAB_DIR, 'fabric');
const fabricDb = () => `--db=unix:${ovsLayout(fabricDir()).dbSocket}`;

/** ovs-vsctl on the fabric's switch. */
export function fabricVsctl(...args: string[]): string {
  return sh('ovs-vsctl', [fabricDb(), ...args]);
}

/** The fabric's port facing NIC k of host i. */
export const fabricPort = (i: number, k: number): string => `h${i}e${k}`;

/** The fabric namespace, its switch, its address and its DHCP server. */
export async function makeFabric(): Promise<void> {
  await run('ip', ['netns', 'add', fabricNs]);
  await run('ip', ['-n', fabricNs, 'link', 'set', 'lo', 'up']);
  const dir = fabricDir();
  await startSwitch(fabricNs, dir);
  await run('ovs-vsctl', [fabricDb(), '--may-exist', 'add-br', 'fabric', '--', 'set', 'bridge', 'fabric', 'datapath_type=netdev']);
  // the fabric's own address on the management network: the gateway and the DHCP server
  await waitDevice(fabricNs, 'fabric');
  await run('ip', ['-n', fabricNs, '-batch', '-'], { input: `addr add ${MGMT_NET}.1/24 dev fabric\nlink set fabric up\n` });
  daemon(fabricNs, ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces', '--interface=fabric', '--except-interface=lo',
    `--dhcp-range=${MGMT_NET}.200,${MGMT_NET}.250,255.255.255.0,1h`, `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`],
    join(dir, 'dnsmasq.log'), join(dir, 'dnsmasq.cpid'));
}

async function waitDevice(ns: string, dev: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try { await run('ip', ['-n', ns, 'link', 'show', dev]); return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${dev} did not appear in ${ns}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Cabling { host: number; ns: string; nics: number }

/**
 * Every host's NICs, cabled to the fabric at once: veth pairs made straight in their namespaces
 * (one `ip -batch`), the fabric's kernel kept off the switch ports (one nft ruleset for them all:
 * it must not answer for its own address there), the ports in the fabric's switch (one
 * transaction), both ends up, transmit checksum offload off (the userspace datapath needs it:
 * without, ping works and TCP stalls). `all`: every host of the lab, these and those made before.
 */
export async function cable(hosts: readonly Cabling[], all: readonly Cabling[]): Promise<void> {
  if (hosts.length === 0) return;
  const nics = (h: Cabling) => Array.from({ length: h.nics }, (_, k) => k);
  const pairs = hosts.flatMap((h) => nics(h).map((k) => `link add eth${k} netns ${h.ns} type veth peer name ${fabricPort(h.host, k)} netns ${fabricNs}\n`));
  await run('ip', ['-batch', '-'], { input: pairs.join('') });
  const guarded = all.flatMap((h) => nics(h).map((k) => fabricPort(h.host, k)));
  await run('ip', ['netns', 'exec', fabricNs, 'nft', '-f', '-'], { input: guardRuleset(guarded) });
  const ports = hosts.flatMap((h) => nics(h).map((k) => fabricPort(h.host, k)));
  await run('ovs-vsctl', [fabricDb(), ...ports.flatMap((p) => ['--', '--may-exist', 'add-port', 'fabric', p])]);
  await run('ip', ['-n', fabricNs, '-batch', '-'], { input: ports.map((p) => `link set ${p} up\n`).join('') });
  await offloadOff(fabricNs, ports);
}

/** Transmit checksum offload off on these devices of a namespace, in one shell. */
export async function offloadOff(ns: string, devices: readonly string[]): Promise<void> {
  // device names are the lab's own (ethK, hIeK): nothing from outside reaches this line
  const script = devices.map((d) => `ethtool -K ${d} tx off >/dev/null 2>&1`).join('; ');
  try { await run('ip', ['netns', 'exec', ns, 'sh', '-c', script || 'true']); } catch { /* ethtool missing: TCP may stall, ping still works */ }
}

/** Bond the fabric ports facing some of a host's NICs (the physical switch side of a host bond). */
export function fabricBond(hostIndex: number, nics: number[], mode: 'lacp' | 'active-backup' | 'balance-slb'): string {
  const name = `h${hostIndex}bond`;
  const ports = nics.map((k) => fabricPort(hostIndex, k));
  const args = ['--if-exists', 'del-port', 'fabric', name];
  for (const p of ports) args.push('--', '--if-exists', 'del-port', 'fabric', p);
  args.push('--', 'add-bond', 'fabric', name, ...ports);
  if (mode === 'lacp') args.push('lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast');
  else args.push(`bond_mode=${mode === 'active-backup' ? 'active-backup' : 'balance-slb'}`);
  args.push('--', 'set', 'port', name, 'other_config:bond-detect-mode=carrier', 'bond_updelay=0', 'bond_downdelay=0');
  fabricVsctl(...args);
  return name;
}

/** Undo fabricBond: the ports are plain switch ports again. */
export function fabricUnbond(hostIndex: number, nics: number[]): void {
  const args = ['--if-exists', 'del-port', 'fabric', `h${hostIndex}bond`];
  for (const k of nics) args.push('--', '--may-exist', 'add-port', 'fabric', fabricPort(hostIndex, k));
  fabricVsctl(...args);
}
