// poolnetd: the pool database, the XenAPI server and (later) the host agent, in one process.

import type http from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Api } from '../api/dispatch.ts';
import { boundPort, listen } from '../api/http.ts';
import { setRootPassword } from '../api/sessions.ts';
import { failInterruptedTasks } from '../api/tasks.ts';
import { discoverHost } from '../agent/discover.ts';
import { Database } from '../db/database.ts';
import { initialise, isInitialised, type HostFacts } from '../db/init.ts';
import { opsImpls } from '../ops/index.ts';
import { ensureCertificate } from './tls.ts';

export interface ServeOptions {
  dataDir: string;
  port: number;
  bind: string;
  insecureHttp: boolean;
  rootPassword?: string;
  /** Only these devices are this host's NICs (default: discovered). */
  nics?: string[];
  facts?: HostFacts;
  backend?: 'openvswitch' | 'bridge';
  logLevel?: string;
  logDestination?: number | string;
}

export interface Daemon {
  readonly api: Api;
  readonly db: Database;
  readonly server: http.Server;
  readonly port: number;
  readonly fingerprint?: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export class ServeError extends Error {}

export async function startDaemon(o: ServeOptions): Promise<Daemon> {
  if (o.insecureHttp && !LOOPBACK.test(o.bind)) throw new ServeError(`--insecure-http is only allowed on a loopback address, not ${o.bind}`);
  const log = pino({ level: o.logLevel ?? 'info', base: { svc: 'poolnetd' } }, pino.destination({ dest: o.logDestination ?? 2, sync: true }));
  mkdirSync(o.dataDir, { recursive: true });
  const db = new Database(join(o.dataDir, 'pool.db'));
  try {
    if (!isInitialised(db)) {
      if (!o.rootPassword) throw new ServeError('POOLNET_ROOT_PASSWORD must be set on first start: it becomes the password of root');
      const facts = o.facts ?? discoverHost(o.nics);
      initialise(db, facts, { backend: o.backend ?? 'openvswitch' });
      db.transact((tx) => setRootPassword(tx, o.rootPassword!));
      log.info({ nics: facts.nics.map((n) => n.device), hostname: facts.hostname }, 'initialised a fresh pool database');
    }
    failInterruptedTasks(db);
  } catch (e) {
    db.close();
    throw e;
  }
  const thisHost = (): string => {
    const p = db.all('pool').next().value;
    return (p?.rec.master as string) ?? 'OpaqueRef:NULL';
  };
  // The NICs the kernel has now: fixed facts (tests) or discovered at each call (PIF.scan after a hot-add).
  const hostNics = () => (o.facts ?? discoverHost(o.nics)).nics;
  const api = new Api({ db, thisHost, log, hostNics }, opsImpls);
  const tls = o.insecureHttp ? undefined : await ensureCertificate(o.dataDir, db.get(thisHost())?.rec.hostname as string ?? 'poolnet');
  const server = await listen(api, { port: o.port, bind: o.bind, tls }, log);
  const port = boundPort(server);
  log.info({ port, bind: o.bind, tls: !!tls, fingerprint: tls?.fingerprint }, 'XenAPI listening');
  let closed = false;
  return {
    api, db, server, port, fingerprint: tls?.fingerprint,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      api.hub.wake();
      db.close();
      log.info({}, 'stopped');
    },
  };
}
