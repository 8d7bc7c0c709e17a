// Waiting in tests for what the system does on its own time (an agent's pass, a switch's state):
// poll, with a wide bound for a loaded machine, and name what never came.

/** Poll `check` (sync or async) until it is true; throws `timed out: <what>` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000, every = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
