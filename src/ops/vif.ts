// VIF: creation, hot(un)plug, move, switch-port locking, QoS, guest IP settings and trunks
// (xapi_vif.ml, xapi_vif_helpers.ml).

import { createHash } from 'node:crypto';
import { BlockList } from 'node:net';
import type { Ctx, ImplTable } from '../api/context.ts';
import type { Database, Obj, ObjOf } from '../db/database.ts';
import { NULL_REF, XapiError, type ArgsOf } from '../model/index.ts';
import { effectiveLockingMode as domainLockingMode, type LockingMode } from '../domain/locking.ts';
import { isIpv4, isIpv4Cidr, isIpv6, isIpv6Cidr, isMac } from './addr.ts';
import { isIpv4Allowed, isIpv6Allowed } from '../model/valid.ts';
import { isSriovNetwork } from './network_sriov.ts';
import { hostCanSeeNetwork } from './topology.ts';
import { refreshVifOperations, SRIOV_HOTPLUG, vifRefusal } from './vm.ts';

// ---------------------------------------------------------------- pure helpers

export type EffectiveLockingMode = LockingMode;

type Vif = ObjOf<'VIF'>;

/**
 * The locking mode the switch applies to a VIF (the rule is src/domain/locking.ts). `mode`
 * defaults to the VIF's own. A mode the rule does not know is disabled: the agent leaves such a
 * VIF off the switch, so it passes nothing.
 */
export function effectiveLockingMode(db: Database, vif: Vif | Obj, mode: unknown = vif.rec.locking_mode): EffectiveLockingMode {
  // any VIF object will do (tests read loose ones): the rule takes the mode as it finds it
  const network = vif.rec.network;
  return domainLockingMode(mode, typeof network === 'string' ? db.getOf('network', network)?.rec : undefined) ?? 'disabled';
}

/**
 * An external (third-party / vSwitch Controller) SDN controller: one introduced with protocol
 * "ssl", i.e. a controller the switches connect out to. The seed: switch-port locking is not
 * supported while such a controller is in use, because it programs the flow tables itself.
 *
 * poolnet's built-in controller for cross-server private networks is introduced with protocol
 * "pssl" (the switches listen and the master connects to them). It does not block locking:
 * port-locking rules are compiled by poolnet's own agent into the same flow tables, so the two
 * never fight over them. xapi refuses with any controller; poolnet only with an external one.
 */
export function externalControllerActive(db: Database): boolean {
  for (const c of db.all('SDN_controller')) if (c.rec.protocol === 'ssl') return true;
  return false;
}

/** xapi's gen_mac: MD5 chained 2*device+1 times over the VM's mac_seed, locally administered unicast. */
export function macFromSeed(device: number, seed: string): string {
  let d: Buffer = Buffer.from(seed, 'utf8');
  for (let i = 0; i <= 2 * device; i++) d = createHash('md5').update(d).digest();
  const d2 = createHash('md5').update(d).digest();
  const b = [d[0], d[1], d[2], d[3], d2[1], d2[2]];
  b[0] = (b[0] | 0x02) & ~0x01;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An unsigned decimal integer (xapi: int_of_string, which would also take 0x.., -1, 1_0). */
const isDevice = (s: string): boolean => /^\d{1,9}$/.test(s);

const isPositiveInt = (s: string): boolean => /^\d+$/.test(s) && Number(s) > 0 && Number.isSafeInteger(Number(s));

export function assertQosType(v: string): void {
  if (v !== '' && v !== 'ratelimit') throw new XapiError('INVALID_VALUE', ['qos_algorithm_type', v]);
}

/** kbps: kilobytes per second, a positive integer; timeslice_us: microseconds, a positive integer. */
export function assertQosParam(key: string, value: string): void {
  if ((key === 'kbps' || key === 'timeslice_us') && !isPositiveInt(value)) {
    throw new XapiError('INVALID_VALUE', ['qos_algorithm_params', `${key} = ${value}`]);
  }
}

export function assertQosParams(params: Record<string, string>): void {
  for (const [k, v] of Object.entries(params)) assertQosParam(k, v);
}

type Family = 'ipv4' | 'ipv6';

/**
 * One allowed entry: an address or a CIDR of the family. A CIDR with host bits set is refused
 * (INVALID_CIDR_ADDRESS_SPECIFIED), unlike xapi: the switch would match the whole prefix.
 */
function assertAllowedEntry(family: Family, s: string): void {
  const field = `${family}_allowed`;
  if (family === 'ipv4' ? isIpv4Allowed(s) : isIpv6Allowed(s)) return;
  if (family === 'ipv4' ? isIpv4Cidr(s) : isIpv6Cidr(s)) throw new XapiError('INVALID_CIDR_ADDRESS_SPECIFIED', [field]);
  throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', [field]);
}

/** Each entry an address or a CIDR of the family, de-duplicated in order. */
function checkedAllowed(family: Family, list: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of list) {
    assertAllowedEntry(family, s);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** Whether `ip` is one of the allowed entries (an equal address, or inside an allowed CIDR). */
function allowedBy(family: Family, allowed: readonly string[], ip: string): boolean {
  const bl = new BlockList();
  for (const e of allowed) {
    const slash = e.indexOf('/');
    try {
      if (slash < 0) bl.addAddress(e, family);
      else bl.addSubnet(e.slice(0, slash), Number(e.slice(slash + 1)), family);
    } catch {
      // an entry BlockList cannot parse (an IPv6 zone index) matches nothing
    }
  }
  try {
    return bl.check(ip, family);
  } catch {
    return false;
  }
}

const VLAN_MAX = 4094;

function assertTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > VLAN_MAX) throw new XapiError('VLAN_TAG_INVALID', [tag]);
}

/** A network carried by VLAN PIFs cannot take a trunk port (its VIFs are access ports of that VLAN). */
function assertTrunksAllowed(db: Database, network: string): void {
  const vlanPif = db.referrers(network, 'PIF', 'network').some((r) => (db.getOf('PIF', r)?.rec.VLAN ?? -1) >= 0);
  if (vlanPif) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_TRUNKS', [network]);
}

/** Attached, and its VM not suspended: the switch has a port for it (xapi's device_active). */
function isActive(db: Database, vif: Vif): boolean {
  const vm = db.getOf('VM', vif.rec.VM);
  return vif.rec.currently_attached === true && vm?.rec.power_state !== 'Suspended';
}


/** xapi_vif_helpers.valid_operations for plug and unplug, first error wins. */
function assertHotplug(db: Database, vif: Vif, op: 'plug' | 'unplug'): ObjOf<'VM'> {
  const refusal = vifRefusal(db, vif, op);
  if (refusal) throw refusal;
  return db.must('VM', vif.rec.VM);
}

// ---------------------------------------------------------------- implementations

const vifOf = (ctx: Ctx, a: { readonly self: string }): Vif => ctx.tx.must('VIF', a.self);

function create(ctx: Ctx, a: ArgsOf<'VIF.create'>): string {
  const { db, tx } = ctx;
  const f = { ...a.args };
  const vm = tx.must('VM', f.VM ?? NULL_REF);
  const network = tx.must('network', f.network ?? NULL_REF);
  // No licence checks (xapi: LICENCE_RESTRICTION for SR-IOV networks and for locking): poolnet has no licences.
  const device = f.device ?? '';
  if (!isDevice(device)) throw new XapiError('INVALID_DEVICE', [device]);
  // MAC "": generated from the VM's other_config:mac_seed (VM.create gives every VM one), as xapi;
  // without a seed "" stays and is MAC_INVALID, as there
  let mac = f.MAC ?? '';
  let autogenerated = false;
  const seed = vm.rec.other_config.mac_seed;
  if (mac === '' && seed !== undefined) {
    mac = macFromSeed(Number(device), seed);
    autogenerated = true;
  }
  if (!isMac(mac)) throw new XapiError('MAC_INVALID', [mac]);
  const trunks = [...new Set(f.trunks ?? [])];
  trunks.forEach(assertTag);
  if (trunks.length > 0) assertTrunksAllowed(db, network.ref);
  // poolnet checks the allowed addresses and the QoS settings at creation too (xapi stores
  // whatever it is given and ignores what it cannot use at plug time).
  const ipv4 = checkedAllowed('ipv4', f.ipv4_allowed ?? []);
  const ipv6 = checkedAllowed('ipv6', f.ipv6_allowed ?? []);
  const qosType = f.qos_algorithm_type ?? '';
  assertQosType(qosType);
  const qosParams = f.qos_algorithm_params ?? {};
  assertQosParams(qosParams);
  const dup = db.referrers(vm.ref, 'VIF', 'VM').some((r) => Number(db.getOf('VIF', r)?.rec.device) === Number(device));
  if (dup) throw new XapiError('DEVICE_ALREADY_EXISTS', [device]);
  const ref = tx.create('VIF', {
    device, network: network.ref, VM: vm.ref, MAC: mac, MAC_autogenerated: autogenerated,
    MTU: typeof f.MTU === 'number' && f.MTU > 0 ? f.MTU : network.rec.MTU,
    other_config: f.other_config ?? {},
    // attached at creation only for a suspended VM (its device exists in the saved image)
    currently_attached: vm.rec.power_state === 'Suspended' && f.currently_attached === true,
    reserved: false,
    qos_algorithm_type: qosType, qos_algorithm_params: qosParams, qos_supported_algorithms: [],
    locking_mode: f.locking_mode ?? 'network_default', ipv4_allowed: ipv4, ipv6_allowed: ipv6,
    ipv4_configuration_mode: 'None', ipv4_addresses: [], ipv4_gateway: '',
    ipv6_configuration_mode: 'None', ipv6_addresses: [], ipv6_gateway: '',
    trunks, allowed_operations: [], current_operations: {}, status_code: 0, status_detail: '', runtime_properties: {},
  });
  refreshVifOperations(tx, db, vm.ref);
  return ref;
}

function setAllowed(ctx: Ctx, vif: Vif, family: Family, list: readonly string[]): void {
  ctx.tx.update(vif, { [`${family}_allowed`]: checkedAllowed(family, list) });
}

function addAllowed(ctx: Ctx, vif: Vif, family: Family, value: string): void {
  assertAllowedEntry(family, value);
  const cur = vif.rec[`${family}_allowed`];
  if (!cur.includes(value)) ctx.tx.update(vif, { [`${family}_allowed`]: [...cur, value] });
}

function removeAllowed(ctx: Ctx, vif: Vif, family: Family, value: string): void {
  const cur = vif.rec[`${family}_allowed`];
  if (cur.includes(value)) ctx.tx.update(vif, { [`${family}_allowed`]: cur.filter((x) => x !== value) });
}

/**
 * Guest IP settings (configure_ipv4/6). xapi hands them to the guest agent through xenstore and
 * requires the agent to advertise "feature-static-ip-setting" = "1" in the VM's guest metrics.
 * poolnet has no guest agent and no guest metrics: the advertisement is read from the VM's
 * other_config key "feature-static-ip-setting" (the lab sets it on the VMs it builds, whose
 * addresses it configures itself). Without it the call fails with VM_LACKS_FEATURE [vm], as
 * it does in xapi for a guest without the agent. The syntax and locking checks come first.
 */
function configureIp(ctx: Ctx, a: ArgsOf<'VIF.configure_ipv4'> | ArgsOf<'VIF.configure_ipv6'>, family: Family): void {
  const { db, tx } = ctx;
  const vif = vifOf(ctx, a);
  const mode = a.mode;
  const address = a.address ?? '';
  const gateway = a.gateway ?? '';
  const isCidr = family === 'ipv4' ? isIpv4Cidr : isIpv6Cidr;
  const isIp = family === 'ipv4' ? isIpv4 : isIpv6;
  if (mode === 'Static') {
    if (!isCidr(address)) throw new XapiError('INVALID_CIDR_ADDRESS_SPECIFIED', ['address']);
    if (effectiveLockingMode(db, vif) === 'locked') {
      const ip = address.slice(0, address.indexOf('/'));
      if (!allowedBy(family, vif.rec[`${family}_allowed`], ip)) throw new XapiError('ADDRESS_VIOLATES_LOCKING_CONSTRAINT', [address]);
    }
  }
  if (gateway !== '' && !isIp(gateway)) throw new XapiError('INVALID_IP_ADDRESS_SPECIFIED', ['gateway']);
  const vm = db.must('VM', vif.rec.VM);
  if (vm.rec.other_config['feature-static-ip-setting'] !== '1') throw new XapiError('VM_LACKS_FEATURE', [vm.ref]);
  tx.update(vif, {
    [`${family}_configuration_mode`]: mode,
    [`${family}_addresses`]: address === '' ? [] : [address],
    [`${family}_gateway`]: gateway,
  });
}

export const vifImpls: ImplTable = {
  'VIF.create': create,

  'VIF.destroy': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const vm = ctx.db.getOf('VM', vif.rec.VM);
    if (vm?.rec.power_state === 'Running' && vif.rec.currently_attached) {
      throw new XapiError('OPERATION_NOT_ALLOWED', ['VIF currently attached to a running VM']);
    }
    ctx.tx.delete(vif.ref); // a VF it held goes with it
  },

  'VIF.plug': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const vm = assertHotplug(ctx.db, vif, 'plug');
    const host = vm.rec.resident_on;
    const network = vif.rec.network;
    if (!hostCanSeeNetwork(ctx.db, host, network)) throw new XapiError('HOST_CANNOT_ATTACH_NETWORK', [host, network]);
    ctx.tx.update(vif, { currently_attached: true });
    refreshVifOperations(ctx.tx, ctx.db, vm.ref);
  },

  'VIF.unplug': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const vm = assertHotplug(ctx.db, vif, 'unplug');
    ctx.tx.update(vif, { currently_attached: false, reserved: false });
    refreshVifOperations(ctx.tx, ctx.db, vm.ref);
  },

  'VIF.unplug_force': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const vm = assertHotplug(ctx.db, vif, 'unplug');
    ctx.tx.update(vif, { currently_attached: false, reserved: false });
    refreshVifOperations(ctx.tx, ctx.db, vm.ref);
  },

  'VIF.move': (ctx, a) => {
    const { db, tx } = ctx;
    const vif = vifOf(ctx, a);
    const network = tx.must('network', a.network);
    const busy = vifRefusal(db, vif, 'attach'); // only another operation in progress refuses it
    if (busy) throw busy;
    const active = isActive(db, vif);
    if (active) {
      const host = db.getOf('VM', vif.rec.VM)?.rec.resident_on;
      if (!hostCanSeeNetwork(db, host, network.ref)) throw new XapiError('HOST_CANNOT_ATTACH_NETWORK', [host, network.ref]);
    }
    if (vif.rec.trunks.length > 0) assertTrunksAllowed(db, network.ref);
    // poolnet: a live VIF cannot move onto or off an SR-IOV network. Its VF would have to be
    // taken or given back, which is a plug or unplug, and those are refused for SR-IOV VIFs
    // (xapi lets the move through and leaves the VF reservation inconsistent).
    const old = vif.rec.network;
    if (active && old !== network.ref && (isSriovNetwork(db, old) || isSriovNetwork(db, network.ref))) {
      throw new XapiError('OPERATION_NOT_ALLOWED', [SRIOV_HOTPLUG]);
    }
    tx.update(vif, { network: network.ref });
    refreshVifOperations(tx, db, vif.rec.VM);
  },

  'VIF.set_locking_mode': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const value = a.value;
    if (effectiveLockingMode(ctx.db, vif, value) === 'locked' && externalControllerActive(ctx.db)) {
      throw new XapiError('OPERATION_NOT_ALLOWED', ['A vswitch controller is active']);
    }
    ctx.tx.update(vif, { locking_mode: value });
  },
  'VIF.set_ipv4_allowed': (ctx, a) => setAllowed(ctx, vifOf(ctx, a), 'ipv4', a.value),
  'VIF.add_ipv4_allowed': (ctx, a) => addAllowed(ctx, vifOf(ctx, a), 'ipv4', a.value),
  'VIF.remove_ipv4_allowed': (ctx, a) => removeAllowed(ctx, vifOf(ctx, a), 'ipv4', a.value),
  'VIF.set_ipv6_allowed': (ctx, a) => setAllowed(ctx, vifOf(ctx, a), 'ipv6', a.value),
  'VIF.add_ipv6_allowed': (ctx, a) => addAllowed(ctx, vifOf(ctx, a), 'ipv6', a.value),
  'VIF.remove_ipv6_allowed': (ctx, a) => removeAllowed(ctx, vifOf(ctx, a), 'ipv6', a.value),

  // QoS: xapi validates nothing here and ignores a bad setting at the next plug; poolnet refuses it.
  'VIF.set_qos_algorithm_type': (ctx, a) => {
    const vif = vifOf(ctx, a);
    assertQosType(a.value);
    ctx.tx.update(vif, { qos_algorithm_type: a.value });
  },
  'VIF.set_qos_algorithm_params': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const params = a.value;
    assertQosParams(params);
    ctx.tx.update(vif, { qos_algorithm_params: params });
  },
  'VIF.add_to_qos_algorithm_params': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const map = vif.rec.qos_algorithm_params;
    const key = a.key;
    const value = a.value;
    if (Object.prototype.hasOwnProperty.call(map, key)) throw new XapiError('MAP_DUPLICATE_KEY', ['VIF', 'qos_algorithm_params', vif.rec.uuid, key]);
    assertQosParam(key, value);
    ctx.tx.update(vif, { qos_algorithm_params: { ...map, [key]: value } });
  },

  'VIF.configure_ipv4': (ctx, a) => configureIp(ctx, a, 'ipv4'),
  'VIF.configure_ipv6': (ctx, a) => configureIp(ctx, a, 'ipv6'),

  'VIF.add_trunks': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const tag = a.value;
    assertTag(tag);
    assertTrunksAllowed(ctx.db, vif.rec.network);
    const cur = vif.rec.trunks;
    if (!cur.includes(tag)) ctx.tx.update(vif, { trunks: [...cur, tag] });
  },
  'VIF.remove_trunks': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const cur = vif.rec.trunks;
    if (cur.includes(a.value)) ctx.tx.update(vif, { trunks: cur.filter((x) => x !== a.value) });
  },
  'VIF.set_trunks': (ctx, a) => {
    const vif = vifOf(ctx, a);
    const tags = [...new Set(a.value)];
    tags.forEach(assertTag);
    if (tags.length > 0) assertTrunksAllowed(ctx.db, vif.rec.network);
    ctx.tx.update(vif, { trunks: tags });
  },
};
