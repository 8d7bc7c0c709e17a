// Host discovery: the NICs, addresses, default gateway, DNS and hostname of the host
// (or network namespace) this daemon runs in. Read from sysfs and `ip -j`. What goes into the
// pool database is checked as the API would check it: a NIC whose name is unfit for the agent's
// text is not introduced, and an address, name server or hostname of the wrong syntax is left out
// (a zone index in resolv.conf, a hostname with spaces).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { HostFacts, NicFacts } from '../db/init.ts';
import { isHostname, isIpv4, isIpv6, isMac, isMtu } from '../model/valid.ts';
import { isTextIfName } from './checked.ts';

const SYS = '/sys/class/net';

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

/** A physical NIC: an Ethernet device backed by hardware, or named like the lab's eth<N>. */
export function isPhysicalNic(dev: string): boolean {
  if (read(`${SYS}/${dev}/type`) !== '1') return false;
  if (existsSync(`${SYS}/${dev}/bridge`) || existsSync(`${SYS}/${dev}/bonding`)) return false;
  return existsSync(`${SYS}/${dev}/device`) || /^eth\d+$/.test(dev);
}

interface IpAddr { ifname: string; mtu: number; address?: string; operstate?: string; addr_info?: { family: string; local: string; prefixlen: number; scope: string }[] }

function ipJson<T>(args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' })) as T;
}

/** Natural order: eth2 before eth10. */
export function byDeviceName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function discoverHost(only?: readonly string[]): HostFacts {
  const devices = readdirSync(SYS).filter((d) => isTextIfName(d) && (only ? only.includes(d) : isPhysicalNic(d))).sort(byDeviceName);
  let addrs: IpAddr[] = [];
  let routes: { dst: string; gateway?: string; dev?: string }[] = [];
  try { addrs = ipJson<IpAddr[]>(['addr', 'show']); } catch { /* no iproute2: no addresses known */ }
  try { routes = ipJson<typeof routes>(['route', 'show', 'default']); } catch { /* none */ }
  const nics: NicFacts[] = devices.map((device) => {
    const a = addrs.find((x) => x.ifname === device);
    const speed = Number(read(`${SYS}/${device}/speed`));
    const mac = (read(`${SYS}/${device}/address`) ?? '').toLowerCase();
    const mtu = a?.mtu ?? Number(read(`${SYS}/${device}/mtu`) ?? 1500);
    const gateway = routes.find((r) => r.dev === device)?.gateway ?? '';
    return {
      device,
      mac: isMac(mac) ? mac : '',
      mtu: isMtu(mtu) ? mtu : 1500,
      carrier: read(`${SYS}/${device}/carrier`) === '1',
      speed: Number.isFinite(speed) && speed > 0 ? speed : 0,
      ipv4: (a?.addr_info ?? []).filter((x) => x.family === 'inet' && isIpv4(x.local) && Number.isInteger(x.prefixlen) && x.prefixlen >= 0 && x.prefixlen <= 32).map((x) => ({ ip: x.local, prefix: x.prefixlen })),
      gateway: isIpv4(gateway) ? gateway : '',
    };
  });
  const dns = (read('/etc/resolv.conf') ?? '').split('\n').map((l) => /^nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && (isIpv4(x) || isIpv6(x)));
  const hostname = osHostname();
  return { hostname: isHostname(hostname) ? hostname : 'localhost', nics, dns };
}
