// VIF QoS with real packets: `qos_algorithm_type=ratelimit`, `qos_algorithm_params:kbps=100`
// holds a TCP stream sent by a VM (iperf3, server on the fabric) to at most 100 kB/s (+20%); what
// the VM receives is not limited; a new rate applies live; removing the limit lifts it.
//
// Units: `kbps` is kilobytes per second of what the VM sends, and poolnet's kilobyte is xapi's:
// 1024 bytes (xenopsd gives netback `kbps * 1024` bytes per second). kbps=100 is 102,400 B/s,
// 819.2 kbit/s; the switch's OpenFlow meter (which counts kilobits of 1000 bits) gets
// rate=819 (meterKbits in src/agent/ovsflows.ts). iperf3 counts TCP payload, and the meter whole
// frames: a full-size frame carries 1448 bytes of payload in 1514, so goodput can reach about
// 96% of the rate; the bounds (at most +20%, at least half) are taken around the configured rate itself.

import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { meterKbits } from '../src/agent/ovsflows.ts';
import { labSkip, startLab, type TestLab } from './helpers/lab.ts';

const SERVER = '10.77.0.1'; // the fabric's own address on the management network
const PORT = '5201';
const KBPS = 100;
const KBPS2 = 250;
/** Bits per second of `kbps` kilobytes (1024 bytes) per second. */
const bitsPerSecond = (kbps: number) => kbps * 1024 * 8;

function skip(): string | false {
  const lab = labSkip();
  if (lab) return lab;
  if (spawnSync('which', ['iperf3']).status !== 0) return 'iperf3 is not installed (Debian iperf3)';
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('VIF QoS (ratelimit, OpenFlow meter)', { skip: skip() }, () => {
  let t: TestLab;
  let server: ChildProcess | undefined;
  let vifRef = '';
  let s = '';

  before(async () => {
    t = await startLab({ tag: 'qos', hosts: 1, nics: 1, vms: 1 });
    s = await t.session(1);
    vifRef = (await t.call(1, 'VIF.get_by_uuid', [s, t.state.vms[0].vif])) as string;
    server = spawn('ip', ['netns', 'exec', t.lab.fabricNs, 'iperf3', '-s', '-p', PORT], { stdio: 'ignore' });
    await until(() => (t.lab.inNs(t.lab.fabricNs, 'ss', ['-Hltn', `sport = :${PORT}`]).trim() ? true : undefined), 10_000, 'the iperf3 server');
  });
  after(async () => {
    if (server?.pid) { try { process.kill(server.pid, 'SIGTERM'); } catch { /* gone */ } }
    await t?.dispose();
  });

  const ofTarget = () => `unix:${t.state.hosts[0].dir}/ovs/xenbr0.mgmt`;
  const meters = () => t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-meters', ofTarget()]);
  /** The flows that pass the VIF's frames (under its cookie: the bridge's own, cookie 0, print none; its drops left out). */
  const vifFlowLines = () => t.host(1, 'ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', '--no-stats', ofTarget()]).split('\n')
    .filter((l) => l.includes('cookie=') && !l.includes('actions=drop'));
  /** The meter rate (kbit/s) in the switch, once there is exactly the wanted one. */
  const meterRate = (want: number | undefined) => until(() => {
    const rates = [...meters().matchAll(/rate=(\d+)/g)].map((m) => Number(m[1]));
    if (want === undefined) return rates.length === 0 ? 0 : undefined;
    return rates.length === 1 && rates[0] === want ? rates[0] : undefined;
  }, 10_000, `the switch's meter at ${String(want)} kbit/s`);

  /** iperf3 for 7 s, the first omitted (slow start, and the meter's full bucket); bits/s the receiving end counted. */
  const iperf = (reverse: boolean) => new Promise<number>((resolve, reject) => {
    const args = ['netns', 'exec', t.state.vms[0].ns, 'iperf3', '-c', SERVER, '-p', PORT, '-t', '6', '-O', '1', '-J', ...(reverse ? ['-R'] : [])];
    execFile('ip', args, { encoding: 'utf8', timeout: 40_000 }, (err, stdout) => {
      try {
        const j = JSON.parse(stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
        if (j.error || !j.end?.sum_received) throw new Error(j.error ?? 'no result');
        resolve(j.end.sum_received.bits_per_second);
      } catch (e) { reject(new Error(`iperf3 ${args.slice(3).join(' ')}: ${(err ?? e as Error).message}\n${stdout.slice(0, 2000)}`)); }
    });
  });
  // The limit is what must hold: never more than 20% above the rate. Below it, a loaded machine
  // may starve the sender, so the floor is wide (half the rate: still above the old limit when a
  // new rate of 2.5 times applies, so a change that did not apply fails); the measured share of
  // the rate is the printed figure.
  const within20 = (measured: number, nominal: number, what: string) => {
    const ratio = measured / nominal;
    assert.ok(ratio >= 0.5 && ratio <= 1.2, `${what}: ${(measured / 1000).toFixed(0)} kbit/s is ${(ratio * 100).toFixed(1)}% of ${(nominal / 1000).toFixed(1)} kbit/s, not within 50%..120%`);
  };

  it(`kbps=${KBPS} holds what the VM sends to ${KBPS} kB/s (${bitsPerSecond(KBPS) / 1000} kbit/s), at most +20%`, async (c) => {
    await t.call(1, 'VIF.set_qos_algorithm_type', [s, vifRef, 'ratelimit']);
    await t.call(1, 'VIF.set_qos_algorithm_params', [s, vifRef, { kbps: String(KBPS) }]);
    // the switch and the test agree on the unit: 100 KiB/s is an 819 kbit/s meter
    assert.equal(meterKbits(KBPS), Math.round(bitsPerSecond(KBPS) / 1000));
    assert.equal(await meterRate(meterKbits(KBPS)), 819);
    const flows = vifFlowLines();
    assert.equal(flows.length, 1, flows.join('\n'));
    assert.match(flows[0], /actions=meter:\d+,NORMAL/, 'the VIF\'s traffic goes through the meter');
    const sent = await iperf(false);
    c.diagnostic(`VM -> fabric, kbps=${KBPS}: ${(sent / 1000).toFixed(1)} kbit/s = ${(sent / 8 / 1024).toFixed(1)} KiB/s (${(100 * sent / bitsPerSecond(KBPS)).toFixed(1)}% of the limit)`);
    within20(sent, bitsPerSecond(KBPS), `VM -> fabric with kbps=${KBPS}`);
  });

  it('does not limit what the VM receives', async (c) => {
    const received = await iperf(true);
    c.diagnostic(`fabric -> VM, kbps=${KBPS}: ${(received / 1e6).toFixed(2)} Mbit/s (${(received / bitsPerSecond(KBPS)).toFixed(1)} times the limit)`);
    assert.ok(received > 4 * bitsPerSecond(KBPS), `the VM received ${(received / 1000).toFixed(0)} kbit/s: limited like what it sends`);
  });

  it(`a new rate applies live: kbps=${KBPS2} holds ${KBPS2} kB/s, at most +20%`, async (c) => {
    await t.call(1, 'VIF.remove_from_qos_algorithm_params', [s, vifRef, 'kbps']);
    await t.call(1, 'VIF.add_to_qos_algorithm_params', [s, vifRef, 'kbps', String(KBPS2)]);
    await meterRate(meterKbits(KBPS2)); // the same meter, modified in place
    const sent = await iperf(false);
    c.diagnostic(`VM -> fabric, kbps=${KBPS2}: ${(sent / 1000).toFixed(1)} kbit/s = ${(sent / 8 / 1024).toFixed(1)} KiB/s (${(100 * sent / bitsPerSecond(KBPS2)).toFixed(1)}% of the limit)`);
    within20(sent, bitsPerSecond(KBPS2), `VM -> fabric with kbps=${KBPS2}`);
  });

  it('removing the limit lifts it', async (c) => {
    await t.call(1, 'VIF.set_qos_algorithm_type', [s, vifRef, '']);
    await meterRate(undefined);
    await until(() => { const f = vifFlowLines(); return f.length === 1 && f[0].includes('actions=NORMAL') ? true : undefined; }, 10_000, 'the VIF\'s flow to pass without the meter');
    const sent = await iperf(false);
    c.diagnostic(`VM -> fabric, no limit: ${(sent / 1e6).toFixed(2)} Mbit/s`);
    assert.ok(sent > 4 * bitsPerSecond(KBPS2), `without a limit the VM sent only ${(sent / 1000).toFixed(0)} kbit/s`);
  });
});
