// Every class's semantics, one file per class; merged into one table for the dispatcher.

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
