// The lab's VMs, made through the XenAPI only: VM and VIF records, started on a host, whose
// poolnetd (the lab's hypervisor) makes the VM's namespace and eth0; then the guest's address,
// as its OS would set it. Live migration moves a VM between hosts.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { nsExec, run, sh, sleep } from './exec.ts';
import { ovsLayout } from './ovsns.ts';
import { call, login, logout, masterSocket, type Link } from './rpc.ts';
import { readState, vmIp, vmNs, writeState, type LabHost, type LabVm } from './state.ts';

/** A VM the pool has started, whose NIC its host has yet to make. */
interface Started { vm: Omit<LabVm, 'ip'>; }

/** The records and VM.start_on, through the master (`m`): the VM starts on `target`. */
async function startVm(m: Link, target: LabHost, j: number, network?: string): Promise<Started> {
  const hostRef = (await call<string[]>(m, 'host.get_all_where', `field "hostname"="${target.name}"`))[0];
  if (!hostRef) throw new Error(`the pool has no host ${target.name}`);
  const net = network ?? (await call<string[]>(m, 'network.get_all_where', 'field "bridge"="xenbr0"'))[0];
  const vm = await call<string>(m, 'VM.create', { name_label: `vm${j}`, name_description: 'lab VM', other_config: {} });
  const vif = await call<string>(m, 'VIF.create', { device: '0', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [] });
  await call(m, 'VM.start_on', vm, hostRef, false, false);
  const [domid, mac, uuid, vifUuid] = await Promise.all([call<number>(m, 'VM.get_domid', vm), call<string>(m, 'VIF.get_MAC', vif), call<string>(m, 'VM.get_uuid', vm), call<string>(m, 'VIF.get_uuid', vif)]);
  return { vm: { name: `vm${j}`, ns: vmNs(j), host: target.name, uuid, vif: vifUuid, mac, port: `vif${domid}.0` } };
}

/** Once its host's poolnetd gave the VM its eth0: the guest's address. */
async function addressVm(s: Started, j: number): Promise<LabVm> {
  await waitNic(s.vm.ns, 'eth0', s.vm.mac);
  const ip = vmIp(j);
  await run('ip', ['-n', s.vm.ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  return { ...s.vm, ip };
}

/**
 * A VM on `target`, named vm<j>, its VIF on `network` (default: the management network).
 * `master`: a session on the pool's master to use (default: a login of its own). `api`: holds
 * the XenAPI part (so that many VMs are made side by side while few calls run at once).
 */
export async function createVm(target: LabHost, j: number, password: string, network?: string, master?: Link, api: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<LabVm> {
  // every call goes to the pool's master; the VM starts on the target host
  const m = master ?? await login(await masterSocket(), password);
  try {
    return await addressVm(await api(() => startVm(m, target, j, network)), j);
  } finally {
    if (!master) await logout(m);
  }
}

/** Until the VM's namespace has NIC `dev`, up, with the VIF's MAC (the host's poolnetd makes it). */
export async function waitNic(ns: string, dev: string, mac: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const l = (JSON.parse(await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string; flags: string[] }[])[0];
      if (l?.address === mac.toLowerCase() && l.flags.includes('UP')) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`the lab's hypervisor did not give ${ns} its ${dev} (${mac})`);
    await sleep(50);
  }
}

/**
 * Live-migrate a lab VM: the VIF's host end moves to the target host's namespace under its new
 * name vif<domid>.0 (what a hypervisor does with the backend device), VM.pool_migrate through the
 * master, and the VM announces itself once the target's switch has its port; the VM's namespace
 * keeps running throughout.
 */
export async function migrateVm(vm: LabVm, target: LabHost, password: string): Promise<LabVm> {
  const m = await login(await masterSocket(), password);
  try {
    const vmRef = await call<string>(m, 'VM.get_by_uuid', vm.uuid);
    const hostRef = (await call<string[]>(m, 'host.get_all_where', `field "hostname"="${target.name}"`))[0];
    // the domain id the VM will have there (Xen hands out the smallest free one)
    const resident = await call<Record<string, { domid: number }>>(m, 'VM.get_all_records_where', `field "resident_on"="${hostRef}"`);
    const used = new Set(Object.values(resident).map((r) => Number(r.domid)));
    let domid = 1;
    while (used.has(domid)) domid++;
    const port = `vif${domid}.0`;
    // the addresses the VM announces when it runs there (read now, out of the pause)
    const addrs = (JSON.parse(nsExec(vm.ns, 'ip', ['-j', '-4', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string }[] }[]).flatMap((a) => a.addr_info.map((i) => i.local));
    // The pool moves the VM; the hosts' hypervisors move its NIC (the target's poolnetd takes the
    // backend device over, as a destination backend does), and the target's switch takes it in.
    // The lab does not move the device itself: a pass of the source's hypervisor before the
    // migration commits would pull it back, and the two would race.
    await call(m, 'VM.pool_migrate', vmRef, hostRef, {});
    try { sh('ip', ['netns', 'exec', target.ns, 'ovs-vsctl', `--db=unix:${ovsLayout(join(target.dir, 'ovs')).dbSocket}`, '--timeout=30', 'wait-until', 'Interface', port, 'ofport>0']); } catch { /* the announcements below go on regardless */ }
    // the VM resumes there and announces its addresses (gratuitous ARP, every 50 ms, as QEMU's
    // announce rounds), so that the switches that learnt it behind the source (the fabric's, the
    // other hosts' across tunnels) relearn where it is
    const announcers = addrs.map((a) => spawn('ip', ['netns', 'exec', vm.ns, 'arping', '-q', '-U', '-c', '10', '-W', '0.05', '-I', 'eth0', a], { stdio: 'ignore' }).on('error', () => undefined));
    await sleep(600);
    for (const p of announcers) if (p.exitCode === null) p.kill();
    // a backend device carries no IPv6 of its own (see veth)
    try { nsExec(target.ns, 'sysctl', ['-qw', `net/ipv6/conf/${port}/disable_ipv6=1`]); } catch { /* the VM's traffic does not depend on it */ }
    const actual = await call<number>(m, 'VM.get_domid', vmRef);
    if (actual !== domid) throw new Error(`the VM got domain id ${actual}, not ${domid}`);
    const moved = { ...vm, host: target.name, port };
    const st = readState()!;
    st.vms = st.vms.map((v) => (v.name === vm.name ? moved : v));
    writeState(st);
    return moved;
  } finally {
    await logout(m);
  }
}
