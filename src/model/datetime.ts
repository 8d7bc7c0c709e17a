// XenAPI date-times: xapi writes the compact ISO 8601 form in UTC ("20261205T14:55:29Z"); clients
// may send the extended form, fractions and offsets. One reader for the server and the console.

/** Milliseconds since the epoch of a XenAPI date-time, or undefined (impossible fields refused, not rolled over). */
export function xapiTimeMs(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  // Date.UTC rolls impossible fields over (February 30th is March 1st): refuse them instead
  const d = new Date(ms);
  if (Number.isNaN(ms) || d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3] || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) return undefined;
  if (m[7] && m[7] !== 'Z') {
    const sign = m[7][0] === '-' ? -1 : 1;
    const hh = Number(m[7].slice(1, 3)), mm = Number(m[7].slice(-2));
    ms -= sign * (hh * 60 + mm) * 60_000;
  }
  return ms;
}

/** xapi's compact form of a time. */
export function formatXapiTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
}
