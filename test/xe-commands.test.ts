// xe against a running poolnetd, in-process (runXe with captured output): golden outputs of
// lists, records, --minimal, params=, filters, param-* round trips, help, and the error formats.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runXe } from '../src/cli/xe/main.ts';
import { ROOT_PASSWORD, call, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';

interface Run { code: number; out: string; err: string }

describe('xe commands', () => {
  let d: TestDaemon;
  let home: string;
  let s: string;
  const uuid: Record<string, string> = {};

  const xe = async (args: string[], o: { user?: string; password?: string; answer?: string } = {}): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await runXe([...args, ...(o.user ? ['-u', o.user, '-pw', o.password ?? ''] : [])], {
      out: (x) => { out += x; },
      err: (x) => { err += x; },
      readLine: async () => o.answer ?? '',
      readFile: (p) => readFileSync(p, 'utf8'),
      env: { HOME: home, XE_EXTRA_ARGS: `server=127.0.0.1,port=${d.port},nossl=true,password=${ROOT_PASSWORD}` },
    });
    return { code, out, err };
  };
  const ok = async (args: string[]): Promise<string> => {
    const r = await xe(args);
    assert.equal(r.err, '', `xe ${args.join(' ')}: ${r.err}`);
    assert.equal(r.code, 0);
    return r.out;
  };
  const lines = (...ls: string[]) => ls.join('\n') + '\n';

  before(async () => {
    d = await startTestDaemon();
    home = mkdtempSync(join(tmpdir(), 'xe-home-'));
    s = await login(d.url);
    const byDevice = async (dev: string) => {
      const pifs = (await call(d.url, 'PIF.get_all_records', [s])) as Record<string, { device: string; uuid: string; network: string }>;
      const p = Object.values(pifs).find((x) => x.device === dev)!;
      uuid[`pif-${dev}`] = p.uuid;
      uuid[`net-${dev}`] = (await call(d.url, 'network.get_uuid', [s, p.network])) as string;
    };
    for (const dev of ['eth0', 'eth1', 'eth2']) await byDevice(dev);
    const host = ((await call(d.url, 'host.get_all', [s])) as string[])[0];
    uuid.host = (await call(d.url, 'host.get_uuid', [s, host])) as string;
    const pool = ((await call(d.url, 'pool.get_all', [s])) as string[])[0];
    uuid.pool = (await call(d.url, 'pool.get_uuid', [s, pool])) as string;
    const vm = await call(d.url, 'VM.create', [s, { name_label: 'web', is_a_template: false }]);
    uuid.vm = (await call(d.url, 'VM.get_uuid', [s, vm])) as string;
    await call(d.url, 'subject.create_local_user', [s, 'vmadmin', 'vmadmin-pw', ['vm-admin']]);
  });
  after(async () => {
    await d.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('network-list prints the default columns of every network', async () => {
    const net = (dev: string, n: number) => lines(
      `uuid ( RO)                : ${uuid[`net-${dev}`]}`,
      `          name-label ( RW): Pool-wide network associated with ${dev}`,
      '    name-description ( RW): ',
      `              bridge ( RO): xenbr${n}`,
      '', '');
    assert.equal(await ok(['network-list']), net('eth0', 0) + net('eth1', 1) + net('eth2', 2));
  });

  it('pif-list prints uuid, device, MAC, currently-attached, VLAN, network-uuid, host-uuid', async () => {
    assert.equal(await ok(['pif-list', 'device=eth1']), lines(
      `uuid ( RO)                  : ${uuid['pif-eth1']}`,
      '                device ( RO): eth1',
      '                   MAC ( RO): 02:00:00:00:01:01',
      '    currently-attached ( RO): true',
      '                  VLAN ( RO): -1',
      `          network-uuid ( RO): ${uuid['net-eth1']}`,
      `             host-uuid ( RO): ${uuid.host}`,
      '', ''));
  });

  it('pif-param-list prints every field, metrics and companions included', async () => {
    const out = await ok(['pif-param-list', `uuid=${uuid['pif-eth0']}`]);
    const want = [
      `uuid ( RO)                       : ${uuid['pif-eth0']}`,
      '                     device ( RO): eth0',
      '                        MAC ( RO): 02:00:00:00:01:00',
      '                   physical ( RO): true',
      '                    managed ( RO): true',
      '         currently-attached ( RO): true',
      '                        MTU ( RO): 1500',
      '                       VLAN ( RO): -1',
      '             vlan-master-of ( RO): <not in database>',
      '              vlan-slave-of ( RO): ',
      '             bond-master-of ( RO): ',
      '              bond-slave-of ( RO): <not in database>',
      '      sriov-physical-PIF-of ( RO): ',
      '       sriov-logical-PIF-of ( RO): ',
      '       tunnel-access-PIF-of ( RO): ',
      '    tunnel-transport-PIF-of ( RO): ',
      '                 management ( RO): true',
      `               network-uuid ( RO): ${uuid['net-eth0']}`,
      '         network-name-label ( RO): Pool-wide network associated with eth0',
      `                  host-uuid ( RO): ${uuid.host}`,
      '            host-name-label ( RO): host1',
      '      IP-configuration-mode ( RO): Static',
      '                         IP ( RO): 10.0.0.11',
      '                    netmask ( RO): 255.255.255.0',
      '                    gateway ( RO): 10.0.0.1',
      '    IPv6-configuration-mode ( RO): None',
    ];
    assert.equal(out.split('\n').slice(0, want.length).join('\n'), want.join('\n'));
    for (const l of ['                      speed ( RO): 1000 Mbit/s', '                     duplex ( RO): full', '                    carrier ( RO): true',
      '                io_read_kbs ( RO): 0.000', '            disallow-unplug ( RW): false', '               other-config (MRW): ']) assert.ok(out.includes(`\n${l}\n`), l);
    assert.ok(out.endsWith(' ( RO): disabled\n\n\n') || out.endsWith(' ( RO): unknown\n\n\n') || /igmp-snooping-status \( RO\): \S+\n\n\n$/.test(out));
  });

  it('network-param-list shows sets and maps with their markers', async () => {
    assert.equal(await ok(['network-param-list', `uuid=${uuid['net-eth2']}`]), lines(
      `uuid ( RO)                    : ${uuid['net-eth2']}`,
      '              name-label ( RW): Pool-wide network associated with eth2',
      '        name-description ( RW): ',
      '               VIF-uuids (SRO): ',
      `               PIF-uuids (SRO): ${uuid['pif-eth2']}`,
      '                     MTU ( RW): 1500',
      '                  bridge ( RO): xenbr2',
      '                 managed ( RO): true',
      '            other-config (MRW): ',
      '                   blobs ( RO): ',
      '                    tags (SRW): ',
      '    default-locking-mode ( RW): unlocked',
      '                 purpose (SRW): ',
      '', ''));
  });

  it('--minimal prints the first column comma-joined, escaping commas; params= picks columns in record order', async () => {
    assert.equal(await ok(['network-list', '--minimal']), `${uuid['net-eth0']},${uuid['net-eth1']},${uuid['net-eth2']}\n`);
    assert.equal(await ok(['pif-list', `host-uuid=${uuid.host}`, 'params=device', '--minimal']), 'eth0,eth1,eth2\n');
    const n = (await ok(['network-create', 'name-label=a,b\\c'])).trim();
    assert.equal(await ok(['network-list', `uuid=${n}`, 'params=name-label', '--minimal']), 'a\\,b\\\\c\n');
    assert.equal(await ok(['network-list', `uuid=${n}`, 'params=bridge,uuid']), lines(`uuid ( RO)      : ${n}`, '    bridge ( RO): xapi0', '', ''));
    assert.equal(await ok(['network-list', 'name-label=nothing-like-this', '--minimal']), '\n');
    assert.equal(await ok(['network-destroy', `uuid=${n}`]), '');
  });

  it('filters on fields, map keys, set members and case-insensitive MACs', async () => {
    assert.equal(await ok(['pif-list', 'MAC=02:00:00:00:01:02', 'params=device', '--minimal']), 'eth2\n');
    assert.equal(await ok(['network-list', `PIF-uuids:contains=${uuid['pif-eth1']}`, '--minimal']), `${uuid['net-eth1']}\n`);
    await ok(['network-param-set', `uuid=${uuid['net-eth1']}`, 'other-config:role=storage']);
    assert.equal(await ok(['network-list', 'other-config:role=storage', '--minimal']), `${uuid['net-eth1']}\n`);
    assert.equal(await ok(['network-list', 'other-config-role=storage', '--minimal']), `${uuid['net-eth1']}\n`);
    assert.equal(await ok(['pif-list', 'device=eth0', '--all', 'params=device', '--minimal']), 'eth0,eth1,eth2\n');
    assert.deepEqual(await xe(['network-list', 'colour=blue']), { code: 1, out: '', err: "Error: Unknown field 'colour'\n" });
    assert.deepEqual(await xe(['network-list', 'tags:has=x']), { code: 1, out: '', err: 'Error: Invalid syntax for set filtering (should be set-param:contains=key)\n' });
    assert.equal(await ok(['vm-list', 'params=name-label', '--minimal']).then((x) => x.split(',').sort().join(',')), 'Control domain on host: host1,web\n'.split(',').sort().join(','));
  });

  it('param-get reads a field or one map key; unknown names fail as xe does', async () => {
    const net = uuid['net-eth1'];
    assert.equal(await ok(['network-param-get', `uuid=${net}`, 'param-name=bridge']), 'xenbr1\n');
    assert.equal(await ok(['network-param-get', `uuid=${net}`, 'param-name=other-config', 'param-key=role']), 'storage\n');
    assert.deepEqual(await xe(['network-param-get', `uuid=${net}`, 'param-name=other-config', 'param-key=none']), { code: 1, out: '', err: 'Error: Key none not found in map\n' });
    assert.deepEqual(await xe(['network-param-get', `uuid=${net}`, 'param-name=colour']), { code: 1, out: '', err: 'Error code: Missing parameter\nError parameters: colour\n' });
  });

  it('param-set, -add, -remove and -clear round-trip through the API', async () => {
    const net = (await ok(['network-create', 'name-label=rt', 'MTU=1400'])).trim();
    const get = (f: string) => ok(['network-param-get', `uuid=${net}`, `param-name=${f}`]);
    assert.equal(await get('MTU'), '1400\n');
    await ok(['network-param-set', `uuid=${net}`, 'name-label=renamed', 'MTU=9000', 'other-config:a=1', 'other-config:b=2']);
    await ok(['network-param-set', `uuid=${net}`, 'other-config:a=3']);
    assert.equal(await get('name-label'), 'renamed\n');
    assert.equal(await get('MTU'), '9000\n');
    assert.equal(await get('other-config'), 'b: 2; a: 3\n'); // replaced keys move to the end, as in xapi
    await ok(['network-param-add', `uuid=${net}`, 'param-name=tags', 'param-key=blue']);
    await ok(['network-param-add', `uuid=${net}`, 'param-name=tags', 'param-key=green']);
    await ok(['network-param-add', `uuid=${net}`, 'param-name=other-config', 'c=4', 'd=5']);
    assert.equal(await get('tags'), 'blue, green\n');
    assert.equal(await get('other-config'), 'b: 2; a: 3; c: 4; d: 5\n');
    await ok(['network-param-remove', `uuid=${net}`, 'param-name=tags', 'param-key=blue']);
    await ok(['network-param-remove', `uuid=${net}`, 'param-name=other-config', 'param-key=a']);
    assert.equal(await get('tags'), 'green\n');
    await ok(['network-param-clear', `uuid=${net}`, 'param-name=other-config']);
    await ok(['network-param-clear', `uuid=${net}`, 'param-name=name-description']);
    assert.equal(await get('other-config'), '\n');
    const fails: [string[], string][] = [
      [['network-param-set', 'MTU=big'], 'Error: Parameter MTU must be an integer'],
      [['network-param-set', 'bridge=br9'], "Error: Field 'bridge' is read-only."],
      [['network-param-set', 'other-config=x'], "Error: Field 'other-config' is a map or set. use the 'name:key=value' syntax."],
      [['network-param-set', 'tags:x=y'], 'Error: Cannot param-set on set fields'],
      [['network-param-set', 'blobs:x=y'], "Error: Field 'blobs' is not a set or map"],
      [['network-param-set', 'default-locking-mode=open'], "Error: Expected one of 'unlocked', 'disabled', got open"],
      [['network-param-add', 'param-name=tags'], 'Error: When adding a key to a set, use the syntax: *-param-add param-name=<name> param-key=<key>'],
      [['network-param-add', 'param-name=bridge', 'param-key=x'], 'Error: Can only add to parameters of type Set or Map'],
      [['network-param-add', 'param-name=VIF-uuids', 'param-key=x'], 'Error: Parameter is read-only'],
      [['network-param-remove', 'param-name=tags', 'param-key=red'], 'Error: Key red is not in the set'],
      [['network-param-remove', 'param-name=other-config', 'param-key=zz'], 'Error: Key zz is not in map'],
      [['network-param-clear', 'param-name=bridge'], 'Error: Can only clear RW parameters'],
    ];
    for (const [[cmd, ...rest], err] of fails) assert.deepEqual(await xe([cmd, `uuid=${net}`, ...rest]), { code: 1, out: '', err: err + '\n' }, `${cmd} ${rest.join(' ')}`);
    await ok(['network-destroy', `uuid=${net}`]);
  });

  it('VIF commands: create prints the uuid; qos and other-config set through the API', async () => {
    const vif = (await ok(['vif-create', 'device=0', `network-uuid=${uuid['net-eth1']}`, `vm-uuid=${uuid.vm}`, 'mac=random'])).trim();
    assert.match(vif, /^[0-9a-f-]{36}$/);
    await ok(['vif-param-set', `uuid=${vif}`, 'qos_algorithm_type=ratelimit']);
    await ok(['vif-param-set', `uuid=${vif}`, 'qos_algorithm_params:kbps=100']);
    await ok(['vif-param-set', `uuid=${vif}`, 'other-config:ethtool-tx=off']);
    assert.equal(await ok(['vif-list', `vm-uuid=${uuid.vm}`]), lines(
      `uuid ( RO)            : ${vif}`,
      `         vm-uuid ( RO): ${uuid.vm}`,
      '          device ( RO): 0',
      `    network-uuid ( RO): ${uuid['net-eth1']}`,
      '', ''));
    // vm-vif-list: VMs chosen by selectors (vm= is a name-label or a uuid), xapi's six VIF columns
    const vifRows = await ok(['vm-vif-list', 'vm=web']);
    assert.equal(vifRows, await ok(['vm-vif-list', `vm=${uuid.vm}`]));
    assert.equal(vifRows, await ok(['vm-vif-list', 'name-label=web']));
    assert.deepEqual(vifRows.split('\n').map((l) => l.split(':')[0].trim()).filter((x) => x !== ''), ['uuid ( RO)', 'vm-name-label ( RO)', 'device ( RO)', 'MAC ( RO)', 'network-uuid ( RO)', 'network-name-label ( RO)']);
    assert.ok(vifRows.includes(`: ${vif}\n`) && vifRows.includes('vm-name-label ( RO): web\n'));
    assert.deepEqual(await xe(['vm-vif-list', 'vm=no-such-vm']), { code: 1, out: '', err: 'Error: No matching VMs found\n' });
    assert.ok((await ok(['help', 'vm-vif-list'])).includes('        optional params : <vm-selectors>\n'));
    const rec = await ok(['vif-param-list', `uuid=${vif}`]);
    for (const l of [
      `uuid ( RO)                        : ${vif}`,
      '               vm-name-label ( RO): web',
      '          qos_algorithm_type ( RW): ratelimit',
      '        qos_algorithm_params (MRW): kbps: 100',
      '                other-config (MRW): ethtool-tx: off',
      '          network-name-label ( RO): Pool-wide network associated with eth1',
      '                locking-mode ( RW): network_default',
      '                ipv4-allowed (SRW): ',
      '                      trunks (SRW): ',
    ]) assert.ok(rec.split('\n').includes(l), l);
    uuid.vif = vif;
    // port locking: the custom setters (VIF.set_locking_mode, set/add/remove_ipv4_allowed)
    await ok(['vif-param-set', `uuid=${vif}`, 'locking-mode=Locked', 'ipv4-allowed=10.0.0.5,10.0.0.6']);
    await ok(['vif-param-add', `uuid=${vif}`, 'param-name=ipv4-allowed', 'param-key=10.0.0.7']);
    await ok(['vif-param-remove', `uuid=${vif}`, 'param-name=ipv4-allowed', 'param-key=10.0.0.5']);
    assert.equal(await ok(['vif-param-get', `uuid=${vif}`, 'param-name=ipv4-allowed']), '10.0.0.6; 10.0.0.7\n');
    assert.equal(await ok(['vif-param-get', `uuid=${vif}`, 'param-name=locking-mode']), 'locked\n');
    await ok(['vif-param-clear', `uuid=${vif}`, 'param-name=ipv4-allowed']);
    assert.equal(await ok(['vif-param-get', `uuid=${vif}`, 'param-name=ipv4-allowed']), '\n');
    assert.deepEqual(await xe(['vif-param-add', `uuid=${vif}`, 'param-name=trunks', 'param-key=ten']), { code: 1, out: '', err: "Error: Failed to parse parameter 'value': expecting an integer\n" });
    await ok(['network-param-set', `uuid=${uuid['net-eth2']}`, 'default-locking-mode=disabled']);
    assert.equal(await ok(['network-param-get', `uuid=${uuid['net-eth2']}`, 'param-name=default-locking-mode']), 'disabled\n');
    // MAC filters ignore case
    const second = (await ok(['vif-create', 'device=1', `network-uuid=${uuid['net-eth2']}`, `vm-uuid=${uuid.vm}`, 'mac=02:ab:cd:ef:00:01'])).trim();
    assert.equal(await ok(['vif-list', 'MAC=02:AB:CD:EF:00:01', '--minimal']), `${second}\n`);
    await ok(['vif-destroy', `uuid=${second}`]);
  });

  it('help <cmd> prints the command record; help lists the common commands', async () => {
    assert.equal(await ok(['help', 'network-create']), lines(
      'command name            : network-create',
      '        reqd params     : name-label',
      '        optional params : name-description, MTU, bridge, managed',
      '        description     : Create a new network.',
      '', ''));
    assert.equal(await ok(['help', 'vlan-param-list']), lines(
      'command name            : vlan-param-list',
      '        reqd params     : uuid',
      '        optional params : database:',
      '        description     : Lists all the parameters of the object specified by the uuid.',
      '', ''));
    // xapi's generated list commands take database: among their optional parameters
    assert.ok((await ok(['help', 'vif-list'])).includes('        optional params : params, database:, '));
    assert.ok((await ok(['help', 'pif-param-get'])).includes('        optional params : param-key, database:\n'));
    assert.equal(await ok(['help', 'no-such-command']), "Unknown command 'no-such-command'\n");
    const general = await ok(['help']);
    assert.ok(general.startsWith('Usage:\n  xe <command>\n'));
    assert.ok(general.endsWith('Common command list\n-------------------\n\n    network-list, vm-list, vm-vif-list\n')); // (vm-vif-list is Standard in xapi)
    const all = (await ok(['help', '--all', '--minimal'])).trim().split(',');
    for (const c of ['bond-create', 'pif-reconfigure-ip', 'vif-param-add', 'pool-param-set', 'sdn-controller-introduce', 'message-list', 'network-sriov-create']) assert.ok(all.includes(c), c);
    assert.ok(!all.includes('pif-db-forget')); // hidden
  });

  it('errors: unknown command, missing parameter, UUID_INVALID, syntax, authentication', async () => {
    assert.deepEqual(await xe(['network-frobnicate']), { code: 1, out: '', err: "Unknown command: network-frobnicate\nFor usage run: 'xe help'\n" });
    assert.deepEqual(await xe(['network-param-list']), { code: 1, out: '', err: "Required parameter not found: uuid\nFor usage run: 'xe help'\n" });
    assert.deepEqual(await xe(['network-param-list', 'uuid=1234']), { code: 1, out: '', err: 'The uuid you supplied was invalid.\ntype: network\nuuid: 1234\n' });
    assert.deepEqual(await xe(['uuid=1234']), { code: 1, out: '', err: "Syntax error: command name is missing\nFor usage run: 'xe help'\n" });
    assert.deepEqual(await xe(['host-list'], { user: 'root', password: 'wrong' }), { code: 1, out: '', err: "Authentication failed\nFor usage run: 'xe help'\n" });
    assert.deepEqual(await xe(['vlan-create', `pif-uuid=${uuid['pif-eth1']}`, `network-uuid=${uuid['net-eth2']}`, 'vlan=ten']), { code: 1, out: '', err: "Error: Failed to parse parameter 'vlan': expecting an integer\n" });
    assert.deepEqual(await xe(['host-emergency-ha-disable']), { code: 1, out: '', err: 'Error: This operation is dangerous and may cause data loss. This operation must be forced (use --force).\n' });
    // refs in an error's parameters are shown as uuids
    const r = await xe(['network-destroy', `uuid=${uuid['net-eth0']}`]);
    assert.deepEqual(r, { code: 1, out: '', err: `The network contains active PIFs and cannot be deleted.\npifs: ${uuid['pif-eth0']}\n` });
  });

  it('RBAC denial is printed as the reference shows, for a vm-admin user', async () => {
    assert.ok(uuid.vif, 'the VIF test runs first');
    const r = await xe(['vif-param-set', `uuid=${uuid.vif}`, 'locking-mode=locked'], { user: 'vmadmin', password: 'vmadmin-pw' });
    assert.deepEqual(r, {
      code: 1, out: '',
      err: 'RBAC permission denied.\npermission: vif.set_locking_mode\nmessage: No permission in user session. (Roles with this permission: pool-admin, pool-operator)\n',
    });
    // the same user may read
    assert.equal((await xe(['vif-list', '--minimal'], { user: 'vmadmin', password: 'vmadmin-pw' })).out, `${uuid.vif}\n`);
  });

  it('pool-param-set renames the pool (the seed); pool-eject asks before acting', async () => {
    await ok(['pool-param-set', 'name-label=New Pool', `uuid=${uuid.pool}`]);
    assert.equal(await ok(['pool-list', 'params=name-label', '--minimal']), 'New Pool\n');
    const r = await xe(['pool-eject', `host-uuid=${uuid.host}`], { answer: 'no' });
    assert.deepEqual(r, {
      code: 0, err: '',
      out: "WARNING: Ejecting a host from the pool will reinitialise that host's local SRs.\nWARNING: Any data contained with the local SRs will be lost.\nType 'yes' to continue\nAborted (you typed: 'no')\n",
    });
  });

  it('networking commands reach the API (its answer, success or error, is printed as xe does)', async () => {
    for (const args of [
      ['pif-plug', `uuid=${uuid['pif-eth1']}`],
      ['host-set-hostname-live', `host-uuid=${uuid.host}`, 'host-name=host1'],
      ['pif-set-primary-address-type', `uuid=${uuid['pif-eth2']}`, 'primary_address_type=ipv4'],
      ['sdn-controller-introduce', 'address=10.0.0.99', 'protocol=ssl', 'tcp-port=6632'],
    ]) {
      const r = await xe(args);
      if (r.code === 0) assert.equal(r.err, '');
      else assert.ok(r.err.length > 0 && !r.err.startsWith('Error: unexpected'), `${args[0]}: ${r.err}`);
    }
    assert.deepEqual(await xe(['pif-reconfigure-ip', `uuid=${uuid['pif-eth2']}`, 'mode=sometimes']), { code: 1, out: '', err: "Error: Expected one of 'None', 'DHCP', 'Static', got sometimes\n" });
    assert.deepEqual(await xe(['bond-set-mode', 'uuid=nope', 'mode=x']), { code: 1, out: '', err: 'The uuid you supplied was invalid.\ntype: Bond\nuuid: nope\n' });
  });
});
