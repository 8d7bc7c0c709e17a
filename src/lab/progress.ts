// What `lab up` tells while it works: the things it makes side by side, counted in one line
// ("hosts 12/64, joined 5/63, VMs 0/64"), told when a kind is complete and at most once a
// second in between, so that a 64-host lab says what it does in a screenful.

export type Progress = (msg: string) => void;

export class Tally {
  private readonly counts = new Map<string, { done: number; total: number }>();
  private last = 0;

  constructor(private readonly out: Progress, private readonly everyMs = 1000) {}

  /** `total` things of a kind are to be made. */
  expect(kind: string, total: number): void {
    if (total > 0) this.counts.set(kind, { done: 0, total });
  }

  /** One more of a kind is made (`what`: which, for the line). */
  done(kind: string, what: string): void {
    const c = this.counts.get(kind);
    if (!c) return;
    c.done++;
    const now = Date.now();
    if (c.done === c.total || now - this.last >= this.everyMs) {
      this.last = now;
      this.out(`${this.line()} (${what})`);
    }
  }

  line(): string {
    return [...this.counts].map(([kind, c]) => `${kind} ${c.done}/${c.total}`).join(', ');
  }
}
