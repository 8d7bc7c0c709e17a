// xe vm-vif-list: the VIFs of the VMs chosen by VM selectors (cli_operations.ml vm_vif_list and
// do_vm_op): fields of the VM record as filters, the pseudo-field vm= matching a name-label or
// a uuid; the control domain and templates are never chosen.

import { classDef } from '../../model/index.ts';
import type { CommandContext, CommandSpec } from './command.ts';
import { cliError } from './errors.ts';
import { bindAll, filterRecords, rowsOf, selectColumns } from './generic.ts';
import { STD_PARAMS } from './grammar.ts';
import { cliFields } from './records.ts';

const VIF_COLUMNS = ['uuid', 'device', 'MAC', 'network-uuid', 'network-name-label', 'vm-name-label'];

async function vmVifList(ctx: CommandContext): Promise<void> {
  const vmCls = classDef('VM'), vifCls = classDef('VIF');
  let vms = (await bindAll(ctx, vmCls)).filter((r) => r.rec.is_control_domain !== true && r.rec.is_a_template !== true);
  for (const [k, v] of ctx.params.list) {
    if (k === 'params' || STD_PARAMS.has(k.split(':')[0])) continue;
    if (k === 'vm') {
      vms = vms.filter((r) => r.rec.name_label === v || r.rec.uuid === v);
      continue;
    }
    vms = await filterRecords(vms, [k, v]);
  }
  if (vms.length === 0) throw cliError('No matching VMs found');
  // (every matching VM: xapi runs it as if --multiple were given)
  const allVifs = await bindAll(ctx, vifCls);
  const columns = selectColumns(cliFields(vifCls), ctx.params.get('params'), VIF_COLUMNS);
  for (const vm of vms) {
    const vifs = allVifs.filter((r) => r.rec.VM === vm.ref);
    ctx.printer.print({ t: 'table', records: await Promise.all(vifs.map((r) => rowsOf(r, columns, false))) });
  }
}

export const VM_VIF_COMMANDS: readonly CommandSpec[] = [
  { name: 'vm-vif-list', reqd: [], optn: [], help: 'List the VIFs present on selected VM.', flags: { standard: true, vmSelectors: true }, run: vmVifList },
];
