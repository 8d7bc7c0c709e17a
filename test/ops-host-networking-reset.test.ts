// host.sync_pif_currently_attached and host.reset_networking through the XenAPI (xapi_host.ml):
// the first marks a host's PIFs attached exactly when their network's bridge is among those the
// host reports; the second purges the host's networking records (bonds, VLANs, PIFs and their
// metrics), leaving other hosts' alone, and PIF.scan builds the PIFs again.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Net, nic } from './helpers/net.ts';

let n: Net;
beforeEach(async () => { n = await Net.start(); });
afterEach(async () => { await n.dispose(); });

test('sync_pif_currently_attached follows the bridges the host reports, on that host only', async () => {
  const eth0 = await n.pifRef('eth0'), eth1 = await n.pifRef('eth1');
  const other = n.secondHost([nic('eth0', '02:00:00:00:09:00')]);
  await n.call('host.sync_pif_currently_attached', n.host, ['xenbr1', 'nosuchbridge']);
  assert.equal((await n.pif(eth0)).currently_attached, false);
  assert.equal((await n.pif(eth1)).currently_attached, true);
  assert.equal((await n.pif(other.pifs[0])).currently_attached, true, 'the other host is not touched');
  await n.call('host.sync_pif_currently_attached', n.host, ['xenbr0']);
  assert.equal((await n.pif(eth0)).currently_attached, true);
  assert.equal((await n.pif(eth1)).currently_attached, false);
  assert.equal((await n.fail('host.sync_pif_currently_attached', 'OpaqueRef:nope', []))[0], 'HANDLE_INVALID');
});

test('reset_networking purges the host\'s bonds, VLANs, PIFs and metrics; PIF.scan rebuilds the PIFs', async () => {
  const eth1 = await n.pifRef('eth1'), eth2 = await n.pifRef('eth2');
  const bondNet = await n.newNetwork('bond');
  await n.call('Bond.create', bondNet, [eth1, eth2], '', 'balance-slb', {});
  const vlanNet = await n.newNetwork('vlan 5');
  await n.call('VLAN.create', await n.pifRef('eth0'), 5, vlanNet);
  const other = n.secondHost([nic('eth0', '02:00:00:00:09:00')]);
  const otherMetrics = (await n.pif(other.pifs[0])).metrics as string;
  await n.call('host.reset_networking', n.host);
  const pifs = Object.values(await n.all('PIF'));
  assert.deepEqual(pifs.map((p) => p.host), [other.host], 'only the other host keeps PIFs');
  assert.deepEqual(Object.keys(await n.all('Bond')), []);
  assert.deepEqual(Object.keys(await n.all('VLAN')), []);
  assert.deepEqual(Object.keys(await n.all('PIF_metrics')), [otherMetrics]);
  assert.deepEqual((await n.rec('host', n.host)).PIFs, []);
  // the networks themselves stay (xapi keeps them for the host to come back to)
  assert.equal((await n.network(bondNet)).name_label, 'bond');
  await n.call('PIF.scan', n.host);
  const devices = Object.values(await n.all('PIF')).filter((p) => p.host === n.host).map((p) => p.device).sort();
  assert.deepEqual(devices, ['eth0', 'eth1', 'eth2']);
});
