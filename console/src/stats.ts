// Figures the page keeps about itself, on window.__poolnetConsole, for bench/console.ts and the
// browser tests (all times are performance.now() of the page).
export interface ConsoleStats {
  /** The first event.from (the whole pool) arrived. */
  dumpAt?: number;
  /** Objects in the first dump. */
  dumpObjects?: number;
  /** The first picture was painted (provisional places). */
  firstPaintAt?: number;
  /** The first complete picture: every object at ELK's places. */
  firstPictureMs?: number;
  /** The first view an administrator can read (the overview, or a picture laid out). */
  firstViewAt?: number;
  /** The picture last drawn (at provisional places or laid out): its fragment, and when. */
  viewDrawn?: { route: string; at: number };
  /** The view last drawn complete: its fragment, and when (after a route change or an event). */
  viewReady?: { route: string; at: number };
  /** The last event.from batch that changed the cache: when it arrived. */
  lastEventAt?: number;
  nodes: number;
  elkRuns: number;
  lastElkMs?: number;
  renders: number;
}
declare global { interface Window { __poolnetConsole?: ConsoleStats } }

export const stats: ConsoleStats = (window.__poolnetConsole = { nodes: 0, elkRuns: 0, renders: 0 });
