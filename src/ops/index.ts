// Every class's semantics, one file per class; merged into one table for the dispatcher.
// The PIF ops are layered in the reference's order (xapi_pif_helpers -> xapi_pif -> xapi_vlan /
// xapi_tunnel -> xapi_bond): leaf helpers (topology, addr, pif_records, bond_mode, message), then
// pif.ts, then vlan.ts and tunnel.ts, then bond.ts; each imports only the layers under it
// (scripts/import-graph.ts checks it in `npm run lint`). So the PIF messages that make and remove
// VLANs (PIF.create_VLAN, PIF.destroy) live in vlan.ts, with pool.create_VLAN.

import type { ImplTable } from '../api/context.ts';
import { bondImpls } from './bond.ts';
import { hostImpls } from './host.ts';
import { messageImpls } from './message.ts';
import { networkImpls } from './network.ts';
import { networkSriovImpls } from './network_sriov.ts';
import { pifImpls } from './pif.ts';
import { poolImpls } from './pool.ts';
import { sdnControllerImpls } from './sdn_controller.ts';
import { tunnelImpls } from './tunnel.ts';
import { vifImpls } from './vif.ts';
import { vlanImpls } from './vlan.ts';
import { vmImpls } from './vm.ts';

export const opsImpls: ImplTable = {
  ...networkImpls, ...messageImpls, ...poolImpls, ...pifImpls, ...hostImpls, ...bondImpls, ...vlanImpls,
  ...tunnelImpls, ...sdnControllerImpls, ...networkSriovImpls, ...vifImpls, ...vmImpls,
};
