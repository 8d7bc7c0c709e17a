// The lab's door: 127.0.0.1:PORT on the machine, piped to the master's unix socket. A unix
// socket crosses network namespaces through the file system, so no route into lab addresses exists.

import { connect, createServer, type Server } from 'node:net';

export function forward(port: number, socket: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(socket);
    client.pipe(upstream).pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
