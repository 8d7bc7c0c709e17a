// The `poolnet` command: `poolnet serve` runs the daemon.

import { spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { PRODUCT_VERSION } from '../db/init.ts';
import { isBackendName } from '../domain/backend.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a non-negative integer');
  return n;
}

// output piped into `head` and the like: when the reader is gone, stop quietly (no EPIPE trace)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
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
  .option('--manage-hostname', 'set the kernel\'s hostname from the database (host.set_hostname_live)', false)
  .option('--master-timeout <ms>', 'a member enters emergency mode when the master has not answered this long', int, 10_000)
  .option('--lab-vms <prefix>', 'a lab host: make the namespaces and NICs of VMs resident here (named <prefix><VM name>)')
  .option('--lab-mount-ns-fd <n>', 'with --lab-vms: an inherited descriptor of the machine\'s mount namespace', int)
  .action(async (o: { dataDir: string; port?: number; bind: string; insecureHttp: boolean; nics?: string; backend: string; logLevel: string; switch: string; ovsRundir: string; datapath: string; unixSocket?: string; manageDns: boolean; manageHostname: boolean; masterTimeout: number; labVms?: string; labMountNsFd?: number }) => {
    // the daemon's modules (SQLite, the agent, TLS, pino) load only for `serve`: `poolnet lab ...` starts without them
    const { ServeError, startDaemon } = await import('../daemon/serve.ts');
    try {
      const d = await startDaemon({
        dataDir: o.dataDir, bind: o.bind, insecureHttp: o.insecureHttp,
        port: o.port ?? (o.insecureHttp ? 80 : 443), rootPassword: process.env.POOLNET_ROOT_PASSWORD,
        nics: o.nics?.split(',').filter(Boolean), backend: isBackendName(o.backend) ? o.backend : 'openvswitch', logLevel: o.logLevel,
        switchBackend: isBackendName(o.switch) ? o.switch : 'none', ovsRunDir: o.ovsRundir,
        datapath: o.datapath === 'system' ? 'system' : 'netdev', unixSocket: o.unixSocket, manageDns: o.manageDns, manageHostname: o.manageHostname, masterTimeoutMs: o.masterTimeout,
        labVmPrefix: o.labVms, labMountNsFd: o.labMountNsFd,
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

program.enablePositionalOptions();
const lab = program.command('lab').description('a whole pool on this machine, in network namespaces (root)').enablePositionalOptions();


lab.command('up')
  .description('build the lab: a fabric switch, hosts with NICs, Open vSwitch and poolnetd each, VMs')
  .option('--hosts <n>', 'hosts', int, 2)
  .option('--nics <k>', 'NICs per host', int, 3)
  .option('--vms <m>', 'VMs (one VIF each)', int, 2)
  .option('--stack <name>', 'openvswitch or bridge', 'openvswitch')
  .option('--port <n>', '127.0.0.1 port forwarded to the master\'s XenAPI', port, 8080)
  .option('--json', 'print the lab state as JSON', false)
  .action(async (o: { hosts: number; nics: number; vms: number; stack: string; port: number; json: boolean }) => {
    const { passwordPath, up } = await import('../lab/lab.ts');
    const { labHints } = await import('./labhints.ts');
    const t0 = Date.now();
    const state = await up({ hosts: Math.max(1, o.hosts), nics: Math.max(1, o.nics), vms: o.vms, stack: isBackendName(o.stack) ? o.stack : 'openvswitch', port: o.port },
      (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`));
    if (o.json) { process.stdout.write(JSON.stringify(state, null, 2) + '\n'); return; }
    process.stdout.write(labHints(state, passwordPath()).join('\n') + '\n');
  });

lab.command('down').description('remove everything the lab made (also after a crash)').action(async () => {
  const { down } = await import('../lab/lab.ts');
  down((m) => process.stderr.write(`${m}\n`));
  process.stdout.write('lab down\n');
});

lab.command('status').description('what runs').option('--json', 'as JSON', false).action(async (o: { json: boolean }) => {
  const { status } = await import('../lab/lab.ts');
  const s = await status();
  if (o.json) { process.stdout.write(JSON.stringify(s, null, 2) + '\n'); return; }
  if (!s.up) { process.stdout.write('no lab\n'); return; }
  // a member answers HOST_IS_SLAVE to everything but its own calls: that is a member working
  const api = (h: (typeof s.hosts)[number]) => h.role === 'master' ? 'master' : h.role === 'member' ? `member (of ${h.master})` : `api NOT ANSWERING (${h.error})`;
  for (const h of s.hosts) process.stdout.write(`${h.name}  ${h.ip}  poolnetd ${h.poolnetd ? 'running' : 'STOPPED'}  ${api(h)}\n`);
  for (const v of s.vms) process.stdout.write(`${v.name}  ${v.ip}  on ${v.host}  port ${v.port}  mac ${v.mac}\n`);
  process.stdout.write(`XenAPI on http://127.0.0.1:${s.port}/\n`);
});

function execIn(ns: string, argv: string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}

lab.command('vm-exec').description('run a command inside a VM').argument('<vm>').argument('<cmd...>').passThroughOptions().action(async (vm: string, cmd: string[]) => {
  const { vmByName } = await import('../lab/lab.ts');
  execIn(vmByName(vm).ns, cmd);
});

lab.command('host-exec').description('run a command inside a host').argument('<host>').argument('<cmd...>').passThroughOptions().action(async (host: string, cmd: string[]) => {
  const { hostByName, hostExecArgv } = await import('../lab/lab.ts');
  execIn(hostByName(host).ns, hostExecArgv(hostByName(host), cmd));
});

lab.command('xe').description('the xe command, pointed at the lab\'s master').argument('[args...]').passThroughOptions().allowUnknownOption().action(async (args: string[]) => {
  const { passwordPath, readState } = await import('../lab/lab.ts');
  const s = readState();
  if (!s) { process.stderr.write('no lab: run poolnet lab up\n'); process.exitCode = 1; return; }
  // the password from its private file, not on xe's command line (where ps shows it)
  const r = spawnSync(process.execPath, [new URL('../../bin/xe.mjs', import.meta.url).pathname, ...args, '-s', '127.0.0.1', '-p', String(s.port), '--nossl', '-u', 'root', '-pwf', passwordPath()], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
});

lab.command('forward', { hidden: true }).requiredOption('--port <n>', 'port', port).requiredOption('--socket <path>', 'unix socket').action(async (o: { port: number; socket: string }) => {
  const { forward } = await import('../lab/forward.ts');
  await forward(o.port, o.socket);
});

await program.parseAsync(process.argv);
