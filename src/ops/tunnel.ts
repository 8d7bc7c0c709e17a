// tunnel: the access PIF of a cross-server private network on a host, carried by a transport
// PIF's IP (xapi_tunnel.ml). The switch side comes from the pool's SDN controller.
// Above the PIF layer, beside vlan.ts.

import type { Ctx, ImplTable } from '../api/context.ts';
import type { ObjOf, Txn } from '../db/database.ts';
import { XapiError, type RecordOf } from '../model/index.ts';
import { randomMac } from './addr.ts';
import { virtualPif } from './pif_records.ts';
import { destroyPif, plug, unplug } from './pif.ts';
import { assertManaged, assertNetworkManaged, assertNoOtherLocalPifs, isBondSlave, isSriovNetwork, pifKind, pifsOfHost, sriovOfLogical, tunnelOfAccess, vlanOf } from './topology.ts';

function nextTunnelDevice(ctx: Ctx, host: string): string {
  const used = new Set(pifsOfHost(ctx.db, host).filter((p) => tunnelOfAccess(ctx.db, p)).map((p) => p.rec.device));
  for (let n = 0; ; n++) if (!used.has(`tunnel${n}`)) return `tunnel${n}`;
}

/** The records of a tunnel: its access PIF `access` and the tunnel on `transport` (no checks, no plug): xapi's create_internal. */
export function createTunnelRecords(
  tx: Txn, access: Partial<RecordOf<'PIF'>>, transport: string, tunnel: Pick<RecordOf<'tunnel'>, 'status' | 'other_config' | 'protocol'>,
): { tunnel: string; access: string } {
  const accessRef = tx.create('PIF', access);
  const ref = tx.create('tunnel', { access_PIF: accessRef, transport_PIF: transport, ...tunnel });
  return { tunnel: ref, access: accessRef };
}

export function createTunnel(ctx: Ctx, transport: ObjOf<'PIF'>, network: ObjOf<'network'>, protocol: RecordOf<'tunnel'>['protocol']): string {
  const db = ctx.db, tx = ctx.tx;
  const host = transport.rec.host;
  assertNetworkManaged(network);
  assertNoOtherLocalPifs(db, host, network.ref);
  assertManaged(transport);
  const kind = pifKind(db, transport);
  if (kind === 'physical' && isBondSlave(transport)) throw new XapiError('CANNOT_ADD_TUNNEL_TO_BOND_SLAVE', [transport.ref]);
  if (kind === 'tunnel_access') throw new XapiError('IS_TUNNEL_ACCESS_PIF', [transport.ref]);
  if (kind === 'sriov_logical') throw new XapiError('CANNOT_ADD_TUNNEL_TO_SRIOV_LOGICAL', [transport.ref]);
  if (kind === 'vlan' && sriovOfLogical(db, db.getOf('PIF', vlanOf(db, transport)!.rec.tagged_PIF)!)) throw new XapiError('CANNOT_ADD_TUNNEL_TO_VLAN_ON_SRIOV_LOGICAL', [transport.ref]);
  if (isSriovNetwork(db, network.ref)) throw new XapiError('NETWORK_INCOMPATIBLE_WITH_TUNNEL', [network.ref]);
  // the seed: every host must run the vSwitch, and the pool must have a controller
  if ([...db.all('host')].some((h) => h.rec.software_version.network_backend !== 'openvswitch')) throw new XapiError('OPENVSWITCH_NOT_ACTIVE', []);
  if (db.count('SDN_controller') === 0) throw new XapiError('OPERATION_NOT_ALLOWED', ['A cross-server private network needs an SDN controller: introduce one with sdn-controller-introduce first']);
  if (transport.rec.ip_configuration_mode === 'None') throw new XapiError('TRANSPORT_PIF_NOT_CONFIGURED', [transport.ref]);
  const { tunnel, access } = createTunnelRecords(tx, virtualPif({
    device: nextTunnelDevice(ctx, host), network: network.ref, host, MAC: randomMac(), MTU: network.rec.MTU, metrics: transport.rec.metrics,
    primary_address_type: transport.rec.primary_address_type, // as xapi: the transport's
  }), transport.ref, { status: { active: 'false' }, other_config: {}, protocol });
  plug(ctx, db.getOf('PIF', access)!);
  return tunnel;
}

export function destroyTunnel(ctx: Ctx, tunnel: ObjOf<'tunnel'>): void {
  const access = ctx.db.getOf('PIF', tunnel.rec.access_PIF);
  if (access) unplug(ctx, access);
  ctx.tx.delete(tunnel.ref);
  if (access) destroyPif(ctx.tx, ctx.db.getOf('PIF', access.ref)!);
}

export const tunnelImpls: ImplTable = {
  'tunnel.create': (ctx, a) => createTunnel(ctx, ctx.tx.must('PIF', a.transport_PIF), ctx.tx.must('network', a.network), a.protocol),
  'tunnel.destroy': (ctx, a) => { destroyTunnel(ctx, ctx.tx.must('tunnel', a.self)); },
};
