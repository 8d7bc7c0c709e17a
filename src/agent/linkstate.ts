// The link state the agent reports into PIF_metrics (carrier, speed, duplex) and Bond.links_up,
// computed as the reference's network daemon does (xapi's networkd, network_monitor_thread):
// - a NIC: its carrier; speed and duplex only while it has carrier (0 and unknown otherwise);
// - a bond: carrier when any member is up, speed the sum of the active members' speeds, duplex
//   the active members' duplex combined (full only when every known one is full), links_up the
//   members that are up. A member is active when it carries traffic: every member that is up,
//   except in active-backup, where only the current active member is.
// Pure: the agent reads /sys and the switch, these functions only compute.

export type Duplex = 'full' | 'half' | 'unknown';

export interface LinkState { readonly carrier: boolean; readonly speed: number; readonly duplex: Duplex }

/** A bond member as the switch reports it. */
export interface BondMember { readonly device: string; readonly up: boolean; readonly active: boolean }

/** Speed in Mbit/s from /sys/class/net/<dev>/speed (absent, -1 or garbage: 0). */
export function speedOf(text: string | undefined): number {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isInteger(n) && n > 0 ? n : 0;
}

/** Duplex from /sys/class/net/<dev>/duplex. */
export function duplexOf(text: string | undefined): Duplex {
  return text === 'full' || text === 'half' ? text : 'unknown';
}

/** A NIC's state from its sysfs texts (carrier, speed, duplex). */
export function nicLinkState(carrier: string | undefined, speed: string | undefined, duplex: string | undefined): LinkState {
  const up = carrier === '1';
  return up ? { carrier: true, speed: speedOf(speed), duplex: duplexOf(duplex) } : { carrier: false, speed: 0, duplex: 'unknown' };
}

/** Two members' duplex together: unknown gives way to the other; any half makes the bond half. */
export function combineDuplex(a: Duplex, b: Duplex): Duplex {
  if (a === 'unknown') return b;
  if (b === 'unknown') return a;
  return a === 'full' && b === 'full' ? 'full' : 'half';
}

/** A bond's state from its members and each member's own speed and duplex (read from sysfs). */
export function bondLinkState(members: readonly BondMember[], link: (device: string) => { speed: number; duplex: Duplex }): LinkState & { readonly linksUp: number } {
  let speed = 0;
  let duplex: Duplex = 'unknown';
  for (const m of members) {
    if (!m.active) continue;
    const l = link(m.device);
    speed += l.speed;
    duplex = combineDuplex(duplex, l.duplex);
  }
  const linksUp = members.filter((m) => m.up).length;
  return { carrier: linksUp > 0, speed, duplex, linksUp };
}

/** The PIF_metrics fields of a state (the datamodel's duplex is a bool: full duplex). */
export function metricsOf(s: LinkState): { carrier: boolean; speed: number; duplex: boolean } {
  return { carrier: s.carrier, speed: s.speed, duplex: s.duplex === 'full' };
}

/**
 * Members of an Open vSwitch bond from `ovs-appctl bond/show <port>`: `member <dev>: enabled`
 * (`slave` before Open vSwitch 2.15), and the current one marked `active member`.
 */
export function parseOvsBondShow(text: string): BondMember[] {
  const mode = /^bond_mode:\s*(\S+)/m.exec(text)?.[1] ?? '';
  const out: { device: string; up: boolean; current: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:member|slave) (\S+): (enabled|disabled)/.exec(line);
    if (m) { out.push({ device: m[1], up: m[2] === 'enabled', current: false }); continue; }
    if (/^\s+active (?:member|slave)\s*$/.test(line) && out.length) out[out.length - 1].current = true;
  }
  const ab = mode === 'active-backup';
  return out.map((m) => ({ device: m.device, up: m.up, active: ab ? m.current : m.up }));
}
