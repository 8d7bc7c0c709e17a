// The view the console shows, named in the URL's fragment so that it can be shared and reloaded:
//   #/                       the overview (networks x hosts, alarms)
//   #/pool                   the whole pool in one picture (readable on small pools)
//   #/host/<uuid>            one host and its neighbourhood; also #/network/<uuid>, #/vm/<uuid>
//   #/vm/<uuid>?select=<uuid> ... with an object of it selected (a VIF, a PIF)
//   #/nics, #/networks, #/vifs, #/alerts   the tables
// Objects are named by uuid (stable across sessions and servers, unlike references). Pure.

export const FOCUS_VIEWS = ['host', 'network', 'vm'] as const;
export type FocusView = (typeof FOCUS_VIEWS)[number];
export const TABLE_VIEWS = ['nics', 'networks', 'vifs', 'alerts'] as const;
export type TableView = (typeof TABLE_VIEWS)[number];
export type View = 'overview' | 'pool' | FocusView | TableView;

export interface Route {
  readonly view: View;
  /** The focused object (focus views). */
  readonly uuid?: string;
  /** An object to select in the view. */
  readonly select?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

export const isFocus = (v: View): v is FocusView => (FOCUS_VIEWS as readonly string[]).includes(v);
export const isTable = (v: View): v is TableView => (TABLE_VIEWS as readonly string[]).includes(v);
export const isPicture = (v: View): boolean => v === 'pool' || isFocus(v);

/** The route a fragment names, or undefined when it names none (then the console picks one). */
export function parseHash(hash: string): Route | undefined {
  const h = hash.replace(/^#/, '');
  if (h === '' || h === '/') return h === '/' ? { view: 'overview' } : undefined;
  const [path, query = ''] = h.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 1) {
    const v = parts[0];
    if (v === 'overview' || v === 'pool' || (TABLE_VIEWS as readonly string[]).includes(v)) return { view: v as View };
    return undefined;
  }
  if (parts.length === 2 && (FOCUS_VIEWS as readonly string[]).includes(parts[0]) && isUuid(parts[1])) {
    const select = new URLSearchParams(query).get('select') ?? undefined;
    return { view: parts[0] as FocusView, uuid: parts[1].toLowerCase(), ...(isUuid(select) ? { select: select.toLowerCase() } : {}) };
  }
  return undefined;
}

/** The fragment naming a route. */
export function formatRoute(r: Route): string {
  if (r.view === 'overview') return '#/';
  if (isFocus(r.view)) return r.uuid && isUuid(r.uuid) ? `#/${r.view}/${r.uuid}${r.select && isUuid(r.select) ? `?select=${r.select}` : ''}` : '#/';
  return `#/${r.view}`;
}

/**
 * Whether two routes name the same view (they differ at most in what is selected): going from one
 * to the other replaces the history's entry instead of adding one, so that Back leaves the view
 * rather than stepping through the objects selected in it.
 */
export const sameView = (a: Route | undefined, b: Route): boolean => !!a && a.view === b.view && a.uuid === b.uuid;

/** A pool small enough that its whole picture reads well opens on it; a larger one on the overview. */
export const SMALL_POOL = { hosts: 4, vifs: 64 } as const;

/**
 * Above this, the whole pool in one picture is neither readable nor quick to draw (bench/console:
 * seconds at 16 hosts and 1,000 VIFs, over a minute at 64 hosts and 5,000): the console asks first.
 */
export const LARGE_POOL = { hosts: 16, vifs: 1000 } as const;

export const isLargePool = (hosts: number, vifs: number): boolean => hosts > LARGE_POOL.hosts || vifs > LARGE_POOL.vifs;

export function defaultRoute(hosts: number, vifs: number): Route {
  return hosts <= SMALL_POOL.hosts && vifs <= SMALL_POOL.vifs ? { view: 'pool' } : { view: 'overview' };
}
