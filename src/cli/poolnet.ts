// The `poolnet` command: `poolnet serve` runs the daemon.

import { Command, InvalidArgumentError } from 'commander';
import { ServeError, startDaemon } from '../daemon/serve.ts';
import { PRODUCT_VERSION } from '../db/init.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

const program = new Command('poolnet').description('poolnet: the networking of a XenServer pool, on Open vSwitch').version(PRODUCT_VERSION);

program.command('serve')
  .description('run poolnetd: the pool database and the XenAPI (HTTPS by default)')
  .requiredOption('--data-dir <dir>', 'where the pool database and the certificate live')
  .option('--port <n>', 'TCP port (default 443, or 80 with --insecure-http)', port)
  .option('--bind <addr>', 'address to listen on', '0.0.0.0')
  .option('--insecure-http', 'plain HTTP, only on a loopback address (development and tests)', false)
  .option('--nics <list>', 'comma-separated devices to treat as this host\'s NICs (default: discovered)')
  .option('--backend <name>', 'network backend: openvswitch or bridge', 'openvswitch')
  .option('--log-level <level>', 'pino log level', 'info')
  .option('--switch <backend>', 'the switch the host agent drives: openvswitch, bridge or none', 'none')
  .option('--ovs-rundir <dir>', 'Open vSwitch run directory (db.sock, <bridge>.mgmt)', '/var/run/openvswitch')
  .option('--datapath <type>', 'Open vSwitch datapath type: netdev (userspace) or system', 'netdev')
  .option('--unix-socket <path>', 'also serve the XenAPI (plain HTTP) on this unix socket')
  .option('--manage-dns', 'write /etc/resolv.conf from the DNS interface', false)
  .action(async (o: { dataDir: string; port?: number; bind: string; insecureHttp: boolean; nics?: string; backend: string; logLevel: string; switch: string; ovsRundir: string; datapath: string; unixSocket?: string; manageDns: boolean }) => {
    try {
      const d = await startDaemon({
        dataDir: o.dataDir, bind: o.bind, insecureHttp: o.insecureHttp,
        port: o.port ?? (o.insecureHttp ? 80 : 443), rootPassword: process.env.POOLNET_ROOT_PASSWORD,
        nics: o.nics?.split(',').filter(Boolean), backend: o.backend === 'bridge' ? 'bridge' : 'openvswitch', logLevel: o.logLevel,
        switchBackend: o.switch === 'openvswitch' || o.switch === 'bridge' ? o.switch : 'none', ovsRunDir: o.ovsRundir,
        datapath: o.datapath === 'system' ? 'system' : 'netdev', unixSocket: o.unixSocket, manageDns: o.manageDns,
      });
      const scheme = d.fingerprint ? 'https' : 'http';
      process.stdout.write(`poolnetd: XenAPI on ${scheme}://${o.bind}:${d.port}/\n`);
      if (d.fingerprint) process.stdout.write(`poolnetd: certificate SHA-256 fingerprint ${d.fingerprint}\n`);
      const stop = () => { void d.close().then(() => process.exit(0)); };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    } catch (e) {
      if (e instanceof ServeError) { process.stderr.write(`poolnet serve: ${e.message}\n`); process.exit(2); }
      throw e;
    }
  });

await program.parseAsync(process.argv);
