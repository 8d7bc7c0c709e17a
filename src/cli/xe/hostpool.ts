// The hand-written xe commands of hosts, the pool, SDN controllers and messages
// (xapi-cli-server/cli_frontend.ml cmdtable_data, cli_operations.ml).

import type { CommandContext, CommandSpec } from './command.ts';
import { BOOL, FUSE_TIME, NO_FORCE, byUuid, enumOf, onUuid, parseParamEnum, printUuid, uuidOf } from './cmdutil.ts';
import { XeError, cliError } from './errors.ts';

export const HOST_POOL_COMMANDS: readonly CommandSpec[] = [
  // ---- host
  {
    name: 'host-management-reconfigure', reqd: ['pif-uuid'], optn: [], help: 'Reconfigure the management interface of this node.',
    run: async (ctx) => ctx.api.call('host.management_reconfigure', await byUuid(ctx.api, 'PIF', ctx.params.req('pif-uuid'))),
  },
  {
    name: 'host-management-disable', reqd: [], optn: [], help: 'Disable the management interface of this node.', flags: { local: true },
    run: (ctx) => ctx.api.call('host.management_disable'),
  },
  {
    name: 'host-emergency-management-reconfigure', reqd: ['interface'], optn: [], help: 'Reconfigure the management interface of this node: only use if the node is in emergency mode.', flags: { local: true },
    run: (ctx) => ctx.api.call('host.local_management_reconfigure', ctx.params.req('interface')),
  },
  {
    name: 'host-set-hostname-live', reqd: ['host-uuid', 'host-name'], optn: [], help: 'Sets the host name to the specified string.  Both the API and lower-level system hostname are changed.',
    flags: { hostSelectors: true },
    run: async (ctx) => ctx.api.call('host.set_hostname_live', await byUuid(ctx.api, 'host', ctx.params.req('host-uuid')), ctx.params.req('host-name')),
  },
  {
    name: 'host-emergency-ha-disable', reqd: [], optn: ['force', 'soft'], help: 'Disable HA on the local host. Only to be used to recover a pool with a broken HA setup.', flags: { local: true },
    values: { force: BOOL, soft: BOOL },
    run: async (ctx) => {
      const soft = ctx.params.bool('soft');
      if (!ctx.params.bool('force')) throw cliError(NO_FORCE);
      await ctx.api.call('host.emergency_ha_disable', soft);
    },
  },
  {
    name: 'host-signal-networking-change', reqd: [], optn: [], help: 'Signal that networking on the host has changed', flags: { hidden: true, local: true },
    run: (ctx) => ctx.api.call('host.signal_networking_change'),
  },

  // ---- pool
  {
    name: 'pool-join', reqd: ['master-address', 'master-username', 'master-password'], optn: ['force'], help: 'Instruct host to join an existing pool.',
    values: { force: BOOL },
    run: async (ctx) => {
      const p = ctx.params;
      const method = p.bool('force') ? 'pool.join_force' : 'pool.join';
      try {
        await ctx.api.call(method, p.req('master-address'), p.req('master-username'), p.req('master-password'));
      } catch (e) {
        if (e instanceof XeError && e.failure.kind === 'api' && e.failure.code === 'JOINING_HOST_CONNECTION_FAILED') {
          ctx.printer.print({ t: 'list', items: ['Host cannot contact destination host: connection refused.', 'Check destination host has services running and accessible from this host.'] });
          return;
        }
        throw e;
      }
      ctx.printer.print({ t: 'list', items: [`Host agent will restart and attempt to join pool in ${FUSE_TIME} seconds...`] });
    },
  },
  {
    name: 'pool-eject', reqd: ['host-uuid'], optn: [], help: 'Instruct host to leave an existing pool.',
    run: async (ctx) => {
      const host = await byUuid(ctx.api, 'host', ctx.params.req('host-uuid'));
      if (!ctx.params.bool('force')) {
        ctx.say("WARNING: Ejecting a host from the pool will reinitialise that host's local SRs.");
        ctx.say('WARNING: Any data contained with the local SRs will be lost.');
        const answer = await ctx.ask("Type 'yes' to continue");
        if (answer.trim().toLowerCase() !== 'yes') {
          ctx.say(`Aborted (you typed: '${answer}')`);
          return;
        }
      }
      await ctx.api.call('pool.eject', host);
      ctx.printer.print({ t: 'list', items: [`Specified host will attempt to restart as a master of a new pool in ${FUSE_TIME} seconds...`] });
    },
  },
  {
    name: 'pool-designate-new-master', reqd: ['host-uuid'], optn: [], help: 'Request an orderly handover of the role of master to another host.',
    run: async (ctx) => ctx.api.call('pool.designate_new_master', await byUuid(ctx.api, 'host', ctx.params.req('host-uuid'))),
  },
  {
    name: 'pool-recover-slaves', reqd: [], optn: [], help: 'Instruct master to try and reset master-address of all slaves currently running in emergency mode.',
    run: async (ctx) => {
      const hosts = (await ctx.api.call('pool.recover_slaves')) as string[];
      const uuids: string[] = [];
      for (const h of hosts ?? []) uuids.push(await uuidOf(ctx.api, 'host', h));
      ctx.printer.print({ t: 'list', items: uuids });
    },
  },
  {
    name: 'pool-emergency-reset-master', reqd: ['master-address'], optn: [], help: 'Instruct slave to reset master address.', flags: { local: true },
    run: async (ctx) => {
      const addr = ctx.params.req('master-address');
      await ctx.api.call('pool.emergency_reset_master', addr);
      ctx.printer.print({ t: 'list', items: [`Host agent will restart and become slave of ${addr} in ${FUSE_TIME} seconds...`] });
    },
  },
  {
    name: 'pool-emergency-transition-to-master', reqd: [], optn: ['force'],
    help: "Instruct slave to become pool master. The operation will be ignored if this host is already master; the optional parameter '--force' will force the operation.",
    flags: { local: true }, values: { force: BOOL },
    run: async (ctx) => {
      if (!ctx.params.bool('force') && (await isMaster(ctx))) {
        ctx.printer.print({ t: 'list', items: ["Host agent is already master. Use '--force' to execute the operation anyway."] });
        return;
      }
      await ctx.api.call('pool.emergency_transition_to_master');
      ctx.printer.print({ t: 'list', items: [`Host agent will restart and transition to master in ${FUSE_TIME} seconds...`] });
    },
  },
  {
    name: 'pool-management-reconfigure', reqd: ['network-uuid'], optn: [], help: 'Reconfigure the management network interface for all Hosts in the Pool',
    run: async (ctx) => ctx.api.call('pool.management_reconfigure', await byUuid(ctx.api, 'network', ctx.params.req('network-uuid'))),
  },
  {
    name: 'pool-sync-database', reqd: [], optn: [], help: 'Synchronise the current database across all hosts in the pool.',
    run: (ctx) => ctx.api.call('pool.sync_database'),
  },
  {
    name: 'pool-set-vswitch-controller', reqd: ['address'], optn: [], help: 'Set the IP address of the vswitch controller.', flags: { hidden: true },
    run: (ctx) => ctx.api.call('pool.set_vswitch_controller', ctx.params.req('address')),
  },

  // ---- SDN controller
  {
    name: 'sdn-controller-introduce', reqd: [], optn: ['address', 'protocol', 'tcp-port'], help: 'Introduce an SDN controller',
    values: { protocol: enumOf('SDN_controller', 'introduce', 'protocol') },
    run: async (ctx) => {
      const p = ctx.params;
      const portText = p.get('tcp-port');
      if (portText !== undefined && !/^-?\d+$/.test(portText.trim())) throw cliError('port field should be an integer');
      const protocol = p.has('protocol') ? parseParamEnum('SDN_controller', 'introduce', 'protocol', p.req('protocol')) : 'ssl';
      const ref = await ctx.api.call('SDN_controller.introduce', protocol, p.opt('address', ''), portText === undefined ? 0 : Number(portText.trim()));
      printUuid(ctx, await uuidOf(ctx.api, 'SDN_controller', ref));
    },
  },
  onUuid('sdn-controller-forget', 'SDN_controller', 'forget', 'Remove an SDN controller'),

  // ---- message
  {
    name: 'message-create', reqd: ['name', 'priority', 'body'], optn: ['vm-uuid', 'host-uuid', 'sr-uuid', 'pool-uuid'],
    help: 'Create a message associated with a particular API object. Note exactly one of the optional parameters must be supplied.',
    run: async (ctx) => {
      const p = ctx.params;
      const priority = p.req('priority');
      if (!/^-?\d+$/.test(priority.trim())) throw cliError('Priority field should be an integer');
      const target = ([['vm-uuid', 'VM'], ['pool-uuid', 'Pool'], ['sr-uuid', 'SR'], ['host-uuid', 'Host']] as const).find(([k]) => p.has(k));
      if (!target) throw cliError('Need one of: vm-uuid, host-uuid, sr-uuid or pool-uuid');
      await ctx.api.call('message.create', p.req('name'), Number(priority.trim()), target[1], p.req(target[0]), p.req('body'));
    },
  },
  {
    name: 'message-destroy', reqd: [], optn: ['uuid', 'uuids'], help: 'Destroy one existing message or many', cls: 'message',
    run: async (ctx) => {
      const uuid = ctx.params.get('uuid');
      const uuids = ctx.params.get('uuids');
      if (uuid !== undefined && uuids !== undefined) throw cliError('Ambiguous arguments; need one of uuid, uuids');
      if (uuid === undefined && uuids === undefined) throw cliError('Need one of uuid, uuids');
      const refs: string[] = [];
      for (const u of uuid !== undefined ? [uuid] : uuids!.split(',')) refs.push(await byUuid(ctx.api, 'message', u));
      for (const r of refs) await ctx.api.call('message.destroy', r);
    },
  },
];

/** Whether the host this session runs on is the pool's master (unknown: false, so the call goes ahead). */
async function isMaster({ api, sessionRef }: CommandContext): Promise<boolean> {
  try {
    const me = await api.call('session.get_this_host', sessionRef);
    const pools = (await api.call('pool.get_all')) as string[];
    return pools.length > 0 && (await api.call('pool.get_master', pools[0])) === me;
  } catch {
    return false;
  }
}
