// The daemon killed with SIGKILL and restarted while two VMs ping each other 10 times a second:
// no ping lost, the switch's flow tables and ports unchanged.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';

describe('poolnetd restart', { skip: labSkip() }, () => {
  let t: TestLab;
  before(async () => { t = await startLab({ tag: 'rs', hosts: 1, nics: 2, vms: 2 }); });
  after(async () => { await t?.dispose(); });

  const dumpSwitch = () => {
    const h = t.state.hosts[0];
    const db = `--db=unix:${h.dir}/ovs/db.sock`;
    const flows = t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', '--no-stats', `unix:${h.dir}/ovs/xenbr0.mgmt`]);
    const ports = t.host(1, 'ovs-vsctl', [db, 'list-ports', 'xenbr0']);
    return { flows: flows.split('\n').filter((l) => l.includes('actions')).sort().join('\n'), ports };
  };

  it('loses no ping and changes no flow', async () => {
    // lock vm2 so that its flows exist and must survive the restart
    const s = await t.session(1);
    const vif = (await t.call(1, 'VIF.get_by_uuid', [s, t.state.vms[1].vif])) as string;
    await t.call(1, 'VIF.set_ipv4_allowed', [s, vif, [t.state.vms[1].ip]]);
    await t.call(1, 'VIF.set_locking_mode', [s, vif, 'locked']);
    let before = dumpSwitch();
    const locked = `nw_src=${t.state.vms[1].ip}`;
    for (let i = 0; i < 50 && !before.flows.includes(locked); i++) { await new Promise((r) => setTimeout(r, 100)); before = dumpSwitch(); }
    assert.ok(before.flows.includes(locked), 'the lock is in the switch before the restart');

    const ping = spawn('ip', ['netns', 'exec', t.state.vms[0].ns, 'ping', '-i', '0.1', '-c', '60', '-W', '1', t.state.vms[1].ip], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ping.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    // listen at once: under load the restart can outlast the pings
    const exited = new Promise<number | null>((r) => ping.on('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    await t.lab.restartPoolnetd(t.state.hosts[0], t.state.password, 'SIGKILL');
    // let the restarted agent run its first passes while the pings go on
    await new Promise((r) => setTimeout(r, 2000));
    const afterRestart = dumpSwitch();
    const code = await exited;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    assert.equal(m[1], '60');
    assert.equal(m[2], '60', `lost ${Number(m[1]) - Number(m[2])} pings`);
    assert.equal(code, 0);
    assert.equal(afterRestart.flows, before.flows);
    assert.equal(afterRestart.ports, before.ports);
  });
});
