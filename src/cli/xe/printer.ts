// xe output (xapi-cli-server/cli_printer.ml): record tables, lists, messages, and --minimal.

export type Row = readonly [label: string, value: string];

export type PrintVal =
  | { readonly t: 'table'; readonly records: readonly (readonly Row[])[] }
  | { readonly t: 'list'; readonly items: readonly string[] }
  | { readonly t: 'msg'; readonly text: string }
  | { readonly t: 'stderr'; readonly text: string };

/**
 * One record: the label column is 4 wider than the longest label; the first label is padded
 * on the right, the others on the left.
 */
export function formatRecord(rows: readonly Row[]): string {
  const width = 4 + rows.reduce((m, [l]) => Math.max(m, l.length), 0);
  return rows.map(([l, v], i) => `${i === 0 ? l.padEnd(width) : l.padStart(width)}: ${v}`).join('\n') + '\n';
}

/** --minimal joins values with commas, so commas and backslashes inside a value are escaped. */
export const escapeCommas = (s: string): string => s.replace(/[\\,]/g, (c) => `\\${c}`);

export interface Printer {
  print(v: PrintVal): void;
  /** End of the command: in minimal mode, the one line of collected values. */
  flush(): void;
}

export function makePrinter(minimal: boolean, out: (s: string) => void, err: (s: string) => void): Printer {
  if (!minimal) {
    return {
      print(v) {
        switch (v.t) {
          // a record ends with its own newline, the server's and the client's: two blank lines
          case 'table': for (const r of v.records) out(formatRecord(r) + '\n\n'); break;
          case 'list': for (const s of v.items) out(s + '\n'); break;
          case 'msg': out(v.text + '\n'); break;
          case 'stderr': err(v.text + '\n'); break;
        }
      },
      flush() { /* nothing buffered */ },
    };
  }
  // xapi prepends each printed value to its buffer, so several prints come out in reverse order
  const buffer: string[] = [];
  return {
    print(v) {
      if (v.t === 'table') {
        if (v.records.length > 0 && v.records.every((r) => r.length > 0)) buffer.unshift(v.records.map((r) => escapeCommas(r[0][1])).join(','));
      } else if (v.t === 'list') buffer.unshift(v.items.map(escapeCommas).join(','));
    },
    flush() { out(buffer.join(',') + '\n'); },
  };
}
