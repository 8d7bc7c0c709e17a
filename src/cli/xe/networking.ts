// The hand-written xe commands of networks, PIFs, bonds, VLANs, tunnels, SR-IOV and VIFs
// (xapi-cli-server/cli_frontend.ml cmdtable_data, cli_operations.ml): each resolves its uuids,
// makes its API call and prints what xapi prints. Help texts are xapi's; enum parameters are
// parsed against the model's enums.

import type { CommandSpec } from './command.ts';
import { BOOL, bondMode, byUuid, enumOf, intParam, onUuid, parseParamEnum, printUuid, uuidOf } from './cmdutil.ts';
import { XeError, cliError } from './errors.ts';

export const NETWORKING_COMMANDS: readonly CommandSpec[] = [
  // ---- network
  {
    name: 'network-create', reqd: ['name-label'], optn: ['name-description', 'MTU', 'bridge', 'managed'], help: 'Create a new network.',
    values: { managed: BOOL },
    run: async (ctx) => {
      const p = ctx.params;
      const mtuText = p.get('MTU');
      if (mtuText !== undefined && !/^-?\d+$/.test(mtuText.trim())) throw cliError("Failed to parse parameter 'MTU': expecting an integer");
      const ref = await ctx.api.call('network.create', {
        name_label: p.req('name-label'), name_description: p.opt('name-description', ''), MTU: mtuText === undefined ? 1500 : Number(mtuText.trim()),
        other_config: {}, bridge: p.opt('bridge', ''), managed: p.bool('managed', true), tags: [],
      });
      printUuid(ctx, await uuidOf(ctx.api, 'network', ref));
    },
  },
  onUuid('network-destroy', 'network', 'destroy', 'Delete an existing network.'),
  {
    name: 'network-attach', reqd: ['uuid', 'host-uuid'], optn: [], help: 'Make a network appear on a particular host.', cls: 'network', flags: { hidden: true },
    run: async (ctx) => ctx.api.call('network.attach', await byUuid(ctx.api, 'network', ctx.params.req('uuid')), await byUuid(ctx.api, 'host', ctx.params.req('host-uuid'))),
  },
  {
    name: 'network-sriov-create', reqd: ['pif-uuid', 'network-uuid'], optn: [], help: 'Create a new network-sriov on a PIF.',
    run: async (ctx) => {
      const pif = await byUuid(ctx.api, 'PIF', ctx.params.req('pif-uuid'));
      const net = await byUuid(ctx.api, 'network', ctx.params.req('network-uuid'));
      printUuid(ctx, await uuidOf(ctx.api, 'network_sriov', await ctx.api.call('network_sriov.create', pif, net)));
    },
  },
  onUuid('network-sriov-destroy', 'network_sriov', 'destroy', 'Destroy a network-sriov.'),

  // ---- PIF
  onUuid('pif-unplug', 'PIF', 'unplug', 'Attempt to bring down a network interface.'),
  onUuid('pif-plug', 'PIF', 'plug', 'Attempt to bring up a network interface.'),
  {
    name: 'pif-reconfigure-ip', reqd: ['uuid', 'mode'], optn: ['IP', 'netmask', 'gateway', 'DNS'], help: 'Reconfigure the IP address settings on a PIF.', cls: 'PIF',
    values: { mode: enumOf('PIF', 'reconfigure_ip', 'mode') },
    run: async (ctx) => {
      const p = ctx.params;
      const pif = await byUuid(ctx.api, 'PIF', p.req('uuid'));
      const mode = parseParamEnum('PIF', 'reconfigure_ip', 'mode', p.req('mode'));
      // poolnet: a static PIF stays on its address when only DNS is given, as the manual's
      // `pif-reconfigure-ip uuid=... mode=static DNS=...` expects (xapi's xe sends "" and fails)
      let keep = { IP: '', netmask: '', gateway: '' };
      if (mode === 'Static' && (await ctx.api.call('PIF.get_ip_configuration_mode', pif)) === 'Static') {
        const rec = (await ctx.api.call('PIF.get_record', pif)) as Record<string, string>;
        keep = { IP: rec.IP ?? '', netmask: rec.netmask ?? '', gateway: rec.gateway ?? '' };
      }
      await ctx.api.call('PIF.reconfigure_ip', pif, mode, p.optNoCase('IP', keep.IP), p.opt('netmask', keep.netmask), p.opt('gateway', keep.gateway), p.optNoCase('DNS', ''));
    },
  },
  {
    name: 'pif-reconfigure-ipv6', reqd: ['uuid', 'mode'], optn: ['IPv6', 'gateway', 'DNS'], help: 'Reconfigure the IPv6 address settings on a PIF.', cls: 'PIF',
    values: { mode: enumOf('PIF', 'reconfigure_ipv6', 'mode') },
    run: async (ctx) => {
      const p = ctx.params;
      const pif = await byUuid(ctx.api, 'PIF', p.req('uuid'));
      const mode = parseParamEnum('PIF', 'reconfigure_ipv6', 'mode', p.req('mode'));
      await ctx.api.call('PIF.reconfigure_ipv6', pif, mode, p.optNoCase('IPv6', ''), p.opt('gateway', ''), p.optNoCase('DNS', ''));
    },
  },
  {
    name: 'pif-set-primary-address-type', reqd: ['uuid', 'primary_address_type'], optn: [], help: 'Change the primary address type used by this PIF.', cls: 'PIF',
    values: { primary_address_type: enumOf('PIF', 'set_primary_address_type', 'primary_address_type') },
    run: async (ctx) => {
      const pif = await byUuid(ctx.api, 'PIF', ctx.params.req('uuid'));
      await ctx.api.call('PIF.set_primary_address_type', pif, parseParamEnum('PIF', 'set_primary_address_type', 'primary_address_type', ctx.params.req('primary_address_type')));
    },
  },
  {
    name: 'pif-scan', reqd: ['host-uuid'], optn: [], help: 'Scan for new physical interfaces on a host.',
    run: async (ctx) => ctx.api.call('PIF.scan', await byUuid(ctx.api, 'host', ctx.params.req('host-uuid'))),
  },
  {
    name: 'pif-introduce', reqd: ['host-uuid', 'device'], optn: ['mac', 'managed'], help: 'Create a new PIF object representing a physical interface on a host.',
    values: { managed: BOOL },
    run: async (ctx) => {
      const p = ctx.params;
      const host = await byUuid(ctx.api, 'host', p.req('host-uuid'));
      const ref = await ctx.api.call('PIF.introduce', host, p.opt('mac', ''), p.req('device'), p.bool('managed', true));
      printUuid(ctx, await uuidOf(ctx.api, 'PIF', ref));
    },
  },
  onUuid('pif-forget', 'PIF', 'forget', 'Destroy a PIF object on a particular host.'),
  onUuid('pif-db-forget', 'PIF', 'db_forget', 'Destroy the database object representing a PIF on a particular host.', { flags: { hidden: true } }),

  // ---- Bond
  {
    name: 'bond-create', reqd: ['network-uuid', 'pif-uuids'], optn: ['mac', 'mode', 'properties:'], help: 'Create a bonded interface from a list of existing PIF objects.',
    values: { mode: enumOf('Bond', 'create', 'mode') },
    run: async (ctx) => {
      const p = ctx.params;
      const net = await byUuid(ctx.api, 'network', p.req('network-uuid'));
      const pifs: string[] = [];
      for (const u of p.req('pif-uuids').split(',')) pifs.push(await byUuid(ctx.api, 'PIF', u));
      const ref = await ctx.api.call('Bond.create', net, pifs, p.opt('mac', ''), bondMode(p.opt('mode', '')), p.map('properties'));
      printUuid(ctx, await uuidOf(ctx.api, 'Bond', ref));
    },
  },
  onUuid('bond-destroy', 'Bond', 'destroy', 'Destroy a bonded interface.'),
  {
    name: 'bond-set-mode', reqd: ['uuid', 'mode'], optn: [], help: 'Change the bond mode.', cls: 'Bond',
    values: { mode: enumOf('Bond', 'create', 'mode') },
    run: async (ctx) => {
      const bond = await byUuid(ctx.api, 'Bond', ctx.params.req('uuid'));
      await ctx.api.call('Bond.set_mode', bond, bondMode(ctx.params.opt('mode', '')));
    },
  },

  // ---- VLAN
  {
    name: 'vlan-create', reqd: ['pif-uuid', 'vlan', 'network-uuid'], optn: [], help: 'Create a new VLAN on a host.',
    run: async (ctx) => {
      const net = await byUuid(ctx.api, 'network', ctx.params.req('network-uuid'));
      const pif = await byUuid(ctx.api, 'PIF', ctx.params.req('pif-uuid'));
      const tag = intParam(ctx, 'vlan', "Failed to parse parameter 'vlan': expecting an integer");
      const vlan = await ctx.api.call('VLAN.create', pif, tag, net);
      // xe prints the new VLAN PIF, not the VLAN object
      printUuid(ctx, await uuidOf(ctx.api, 'PIF', await ctx.api.call('VLAN.get_untagged_PIF', vlan)));
    },
  },
  {
    name: 'pool-vlan-create', reqd: ['pif-uuid', 'vlan', 'network-uuid'], optn: [], help: 'Create a new VLAN on each host in a pool.',
    run: async (ctx) => {
      const net = await byUuid(ctx.api, 'network', ctx.params.req('network-uuid'));
      const pif = await byUuid(ctx.api, 'PIF', ctx.params.req('pif-uuid'));
      const tag = intParam(ctx, 'vlan', "Failed to parse parameter 'vlan': expecting an integer");
      const pifs = (await ctx.api.call('pool.create_VLAN_from_PIF', pif, net, tag)) as string[];
      const uuids: string[] = [];
      for (const r of pifs ?? []) uuids.push(await uuidOf(ctx.api, 'PIF', r));
      ctx.printer.print({ t: 'list', items: uuids });
    },
  },
  {
    name: 'vlan-destroy', reqd: ['uuid'], optn: [], help: 'Destroy a VLAN.', cls: 'VLAN',
    run: async (ctx) => {
      const uuid = ctx.params.req('uuid');
      try {
        await ctx.api.call('VLAN.destroy', await byUuid(ctx.api, 'VLAN', uuid));
      } catch (e) {
        // a VLAN PIF's uuid is accepted too, for compatibility with the oldest xe
        if (!(e instanceof XeError) || (e.failure.kind === 'api' && (e.failure.code === 'HANDLE_INVALID' || e.failure.code === 'HOST_OFFLINE'))) throw e;
        let pif: string;
        try { pif = await byUuid(ctx.api, 'PIF', uuid); } catch { throw e; }
        await ctx.api.call('PIF.destroy', pif);
      }
    },
  },

  // ---- tunnel
  {
    name: 'tunnel-create', reqd: ['pif-uuid', 'network-uuid'], optn: ['protocol'], help: 'Create a new tunnel on a host.',
    values: { protocol: enumOf('tunnel', 'create', 'protocol') },
    run: async (ctx) => {
      const net = await byUuid(ctx.api, 'network', ctx.params.req('network-uuid'));
      const pif = await byUuid(ctx.api, 'PIF', ctx.params.req('pif-uuid'));
      const protocol = parseParamEnum('tunnel', 'create', 'protocol', ctx.params.opt('protocol', 'gre'));
      const tunnel = await ctx.api.call('tunnel.create', pif, net, protocol);
      // xe prints the access PIF
      printUuid(ctx, await uuidOf(ctx.api, 'PIF', await ctx.api.call('tunnel.get_access_PIF', tunnel)));
    },
  },
  onUuid('tunnel-destroy', 'tunnel', 'destroy', 'Destroy a tunnel.'),

  // ---- VIF
  {
    name: 'vif-create', reqd: ['device', 'network-uuid', 'vm-uuid'], optn: ['mac'],
    help: "Create a VIF. Appropriate values for the device are listed in the parameter 'allowed-VIF-devices' on the VM. If specified, the MAC parameter is of the form aa:bb:cc:dd:ee:ff. If MAC is not specified the server will choose an appropriate MAC automatically.",
    run: async (ctx) => {
      const p = ctx.params;
      const mac = p.opt('mac', '');
      const vm = await byUuid(ctx.api, 'VM', p.req('vm-uuid'));
      const net = await byUuid(ctx.api, 'network', p.req('network-uuid'));
      const mtu = await ctx.api.call('network.get_MTU', net);
      const ref = await ctx.api.call('VIF.create', {
        device: p.req('device'), network: net, VM: vm, MAC: mac === 'random' ? randomLocalMac() : mac, MTU: mtu,
        other_config: {}, currently_attached: false, qos_algorithm_type: '', qos_algorithm_params: {},
        locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [], trunks: [],
      });
      printUuid(ctx, await uuidOf(ctx.api, 'VIF', ref));
    },
  },
  onUuid('vif-destroy', 'VIF', 'destroy', 'Destroy a VIF.'),
  onUuid('vif-plug', 'VIF', 'plug', 'Attempt to attach the VIF while the VM is in the running state.'),
  {
    name: 'vif-unplug', reqd: ['uuid'], optn: ['force'], help: 'Attempt to detach the VIF while the VM is in the running state.', cls: 'VIF',
    values: { force: BOOL },
    run: async (ctx) => {
      const vif = await byUuid(ctx.api, 'VIF', ctx.params.req('uuid'));
      await ctx.api.call(ctx.params.bool('force') ? 'VIF.unplug_force' : 'VIF.unplug', vif);
    },
  },
  {
    name: 'vif-move', reqd: ['uuid', 'network-uuid'], optn: [], help: 'Move the VIF to another network.', cls: 'VIF',
    run: async (ctx) => {
      const vif = await byUuid(ctx.api, 'VIF', ctx.params.req('uuid'));
      await ctx.api.call('VIF.move', vif, await byUuid(ctx.api, 'network', ctx.params.req('network-uuid')));
    },
  },
  ...(['4', '6'] as const).map((v): CommandSpec => ({
    name: `vif-configure-ipv${v}`, reqd: ['uuid', 'mode'], optn: ['address', 'gateway'], help: `Configure IPv${v} settings on a VIF.`, cls: 'VIF',
    values: { mode: enumOf('VIF', `configure_ipv${v}`, 'mode') },
    run: async (ctx) => {
      const p = ctx.params;
      const vif = await byUuid(ctx.api, 'VIF', p.req('uuid'));
      const mode = parseParamEnum('VIF', `configure_ipv${v}`, 'mode', p.req('mode'));
      const address = p.opt('address', '');
      if (mode === 'Static' && address === '') throw cliError('Required parameter not found: address');
      await ctx.api.call(`VIF.configure_ipv${v}`, vif, mode, address, p.opt('gateway', ''));
    },
  })),
];

/** A random locally administered unicast MAC (xe's `mac=random`). */
function randomLocalMac(): string {
  const b = Array.from({ length: 6 }, () => Math.floor(Math.random() * 256));
  b[0] = (b[0] & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
