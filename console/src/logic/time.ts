// XenAPI date-times as people read them. The wire has xapi's compact ISO 8601 form
// ("20261205T14:55:29Z"); the console shows the date and time in UTC (the pool's logs are in UTC)
// and how long ago it was. Pure: `now` is a parameter.

import { xapiTimeMs } from '../../../src/model/datetime.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Milliseconds since the epoch of a XenAPI date-time (compact or extended ISO 8601), or undefined: the datamodel's reader. */
export const parseXapiTime = xapiTimeMs;

const pad = (n: number): string => String(n).padStart(2, '0');

/** "3 min ago", "2 h ago", "5 days ago"; "just now" under a minute; '' for a time ahead of `now`. */
export function ago(t: number, now: number): string {
  const s = Math.floor((now - t) / 1000);
  if (s < -60) return '';
  if (s < 60) return 'just now';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** "5 Dec 2026 14:55:29 UTC (3 min ago)" of a time in milliseconds since the epoch; "never" for xapi's null date (the epoch). */
export function readableAt(t: number, now: number = Date.now()): string {
  if (!Number.isFinite(t)) return '';
  if (t <= 0) return 'never';
  const d = new Date(t);
  const text = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  const rel = ago(t, now);
  return rel ? `${text} (${rel})` : text;
}

/** readableAt of a XenAPI date-time; the text as given when it is not one. */
export function readableTime(s: unknown, now: number = Date.now()): string {
  const t = parseXapiTime(s);
  if (t === undefined) return typeof s === 'string' ? s : '';
  return readableAt(t, now);
}
