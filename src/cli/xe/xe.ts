// The `xe` process: real argv, environment, streams and exit code around runXe (main.ts).

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { runXe } from './main.ts';

/** process.exitCode (not process.exit) lets piped output drain before the process ends. */
const writer = (stream: NodeJS.WriteStream) => (s: string) => { stream.write(s); };

// a reader that went away (xe ... | head) ends the command quietly, like a shell tool
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
}

async function readLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    return await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
  } finally { rl.close(); }
}

const code = await runXe(process.argv.slice(2), {
  out: writer(process.stdout),
  err: writer(process.stderr),
  readLine,
  readFile: (p) => readFileSync(p, 'utf8'),
  env: process.env,
});
process.exitCode = code;
