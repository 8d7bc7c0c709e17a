// Fixture builders for database states the API cannot reach on one host (a second host, a PIF
// there, an SR-IOV logical PIF without a NIC that has one), in the manner of xapi's
// ocaml/tests/common/test_common.ml (make_host, make_pif, ...): each takes only the fields a test
// cares about; the rest is the builder's usual value, else the datamodel's default (Txn.create
// fills those from src/model). A field the model does not have is refused: Txn.create would
// drop it silently, and the test would not set up what it says.

import type { Txn } from '../../src/db/database.ts';
import { classDef } from '../../src/model/index.ts';

export type Fields = Record<string, unknown>;

function make(tx: Txn, cls: string, usual: Fields, given: Fields): string {
  const c = classDef(cls);
  for (const k of Object.keys(given)) {
    const fd = c.fieldMap.get(k);
    if (!fd || fd.reverseOf) throw new Error(`fixtures: ${cls} has no stored field ${k}`);
  }
  return tx.create(cls, { ...usual, ...given });
}

/** A host record (a pool member that a one-host daemon cannot have joined). */
export function makeHost(tx: Txn, f: Fields = {}): string {
  return make(tx, 'host', { name_label: 'host', hostname: 'host', enabled: true, software_version: { network_backend: 'openvswitch' } }, f);
}

/** A network (MTU 1500, managed: the model's defaults). */
export function makeNetwork(tx: Txn, f: Fields = {}): string {
  return make(tx, 'network', { name_label: 'net' }, f);
}

export function makePifMetrics(tx: Txn, f: Fields = {}): string {
  return make(tx, 'PIF_metrics', {}, f);
}

/** A physical PIF of `host` on `network`, plugged, with metrics of its own unless given. */
export function makePif(tx: Txn, f: Fields & { network: string; host: string }): string {
  const device = (f.device as string | undefined) ?? 'eth0';
  return make(tx, 'PIF', {
    device, device_name: device, MAC: '02:00:00:00:00:00', MTU: 1500, physical: true, currently_attached: true,
    metrics: f.metrics ?? makePifMetrics(tx),
  }, f);
}

/** A VLAN record joining `tagged_PIF` and `untagged_PIF`. */
export function makeVlan(tx: Txn, f: Fields & { tagged_PIF: string; untagged_PIF: string; tag: number }): string {
  return make(tx, 'VLAN', { other_config: {} }, f);
}

/** A VLAN on `tagged` carrying `network`: the untagged (VLAN) PIF, as VLAN.create makes it, and the VLAN record. */
export function makeVlanPif(tx: Txn, o: { tagged: string; network: string; tag: number }): { vlan: string; untagged: string } {
  const t = tx.must('PIF', o.tagged).rec;
  const untagged = make(tx, 'PIF', {
    device: t.device, device_name: t.device, network: o.network, host: t.host, MAC: 'fe:ff:ff:ff:ff:ff', MTU: t.MTU, VLAN: o.tag,
    metrics: t.metrics, physical: false, currently_attached: true, managed: true,
  }, {});
  return { vlan: makeVlan(tx, { tagged_PIF: o.tagged, untagged_PIF: untagged, tag: o.tag }), untagged };
}

/** A tunnel record (GRE, inactive) between an access PIF and a transport PIF. */
export function makeTunnel(tx: Txn, f: Fields & { access_PIF: string; transport_PIF: string }): string {
  return make(tx, 'tunnel', { protocol: 'gre', status: { active: 'false' }, other_config: {} }, f);
}

/** A bond record on `master` (the model's mode, balance-slb); slaves point to it through their bond_slave_of. */
export function makeBond(tx: Txn, f: Fields & { master: string }): string {
  return make(tx, 'Bond', { properties: {}, other_config: {} }, f);
}

/** A VM (halted, resident nowhere: the model's defaults). */
export function makeVm(tx: Txn, f: Fields = {}): string {
  return make(tx, 'VM', { name_label: 'vm', other_config: {} }, f);
}

/** A VIF of `VM` on `network`, device 0, detached, locking mode network_default (the model's). */
export function makeVif(tx: Txn, f: Fields & { VM: string; network: string }): string {
  return make(tx, 'VIF', { device: '0', MAC: '02:16:3e:00:00:01', MTU: 1500, other_config: {}, qos_algorithm_params: {} }, f);
}

/**
 * SR-IOV on a physical PIF: the logical PIF on `network` and the network_sriov record, as
 * network_sriov.create makes them.
 */
export function makeSriov(tx: Txn, physical: string, network: string): { sriov: string; logical: string } {
  const p = tx.must('PIF', physical).rec;
  const logical = make(tx, 'PIF', {
    device: p.device, device_name: p.device, network, host: p.host, MAC: 'fe:ff:ff:ff:ff:ff', MTU: p.MTU, VLAN: -1,
    metrics: p.metrics, physical: false, currently_attached: true, ip_configuration_mode: 'None', ipv6_configuration_mode: 'None',
    IPv6: [], primary_address_type: p.primary_address_type, managed: true, properties: {}, other_config: {},
  }, {});
  const sriov = make(tx, 'network_sriov', { physical_PIF: physical, logical_PIF: logical, requires_reboot: false, configuration_mode: 'sysfs', max_vfs: 8 }, {});
  return { sriov, logical };
}

/** Delete what makeSriov made (network_sriov.destroy would also check the VFs in use). */
export function dropSriov(tx: Txn, s: { sriov: string; logical: string }): void {
  tx.delete(s.sriov);
  tx.delete(s.logical);
}

/** Delete every VLAN record and its untagged PIF (what a test made with VLAN.create or makeVlanPif). */
export function dropVlans(tx: Txn): void {
  for (const v of tx.all('VLAN')) { tx.delete(v.rec.untagged_PIF as string); tx.delete(v.ref); }
}

/** Delete a host record that Net.secondHost made, with its PIFs and their metrics. */
export function dropHost(tx: Txn, h: { host: string; pifs: string[] }): void {
  for (const p of h.pifs) { tx.delete(tx.must('PIF', p).rec.metrics as string); tx.delete(p); }
  tx.delete(h.host);
}
