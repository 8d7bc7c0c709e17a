// The console's shell: login, then the view the URL names (the overview, a picture, a table),
// search, spoofing alarms, and the actions the role allows.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { elkLayout } from '../elk.ts';
import { str, type Ref } from '../logic/store.ts';
import { LiveCache, Session } from '../xapi.ts';
import { NewBondDialog } from './dialogs/NewBondDialog.tsx';
import { NewNetworkWizard } from './dialogs/NewNetworkWizard.tsx';
import { AppCtx, ErrorBox, Field, failureOf, inputValue, useCan, type DialogSpec, type Failure, type Selection } from './common.tsx';
import { Details } from './Details.tsx';
import { Alerts, NetworkTable, NicTables, VifTable } from './Tables.tsx';
import { Topology } from './Topology.tsx';
import { Overview } from './Overview.tsx';
import { Search } from './Search.tsx';
import { observe, vifAlarms, vifDrops, type Baseline } from '../logic/alarms.ts';
import { defaultRoute, formatRoute, isFocus, isLargePool, isPicture, parseHash, sameView, type FocusView, type Route, type View } from '../logic/route.ts';
import { uuidIndex } from '../logic/search.ts';
import { describeRef, type VifMark } from '../logic/topology.ts';

const KEY = 'poolnet.session';

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [user, setUser] = useState('root');
  const [password, setPassword] = useState('');
  const [failure, setFailure] = useState<Failure | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try { onLogin(await Session.login(user, password)); } catch (err) { setFailure(failureOf(err)); } finally { setBusy(false); }
  };
  return (
    <form class="login" onSubmit={submit} data-testid="login">
      <h1>poolnet</h1>
      <p class="muted">Log in with your XenAPI credentials.</p>
      <Field label="User name"><input name="username" autocomplete="username" value={user} onInput={(e) => setUser(inputValue(e))} /></Field>
      <Field label="Password"><input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(inputValue(e))} /></Field>
      <ErrorBox failure={failure} />
      <button class="primary" type="submit" disabled={busy}>Log in</button>
    </form>
  );
}

/** The tabs: the overview, the picture (the whole pool or the last focus view), the tables. */
const TABS: [string, string][] = [['overview', 'Overview'], ['topology', 'Picture'], ['nics', 'NICs'], ['networks', 'Networks'], ['vifs', 'VIFs'], ['alerts', 'Alerts']];

function Toolbar({ open }: { open: (d: DialogSpec) => void }) {
  const can = useCan();
  return (
    <div class="toolbar">
      {can('network.create') && <button data-action="new-network" onClick={() => open((close) => <NewNetworkWizard close={close} />)}>New Network…</button>}
      {can('network.create', 'Bond.create') && <button data-action="new-bond" onClick={() => open((close) => <NewBondDialog close={close} />)}>Create Bond…</button>}
    </div>
  );
}

const routeKey = (r: Route | undefined) => (r ? formatRoute(r) : '');

/** The route the URL names, kept in step with it (back, forward, a pasted link). */
function useRoute(): [Route | undefined, (r: Route, replace?: boolean) => void] {
  const [route, setRoute] = useState<Route | undefined>(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash) ?? { view: 'overview' });
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  // a new entry in the history for a new view; the same entry when only the selection changes
  const go = (r: Route, replace = false) => {
    const h = formatRoute(r);
    if (replace || sameView(parseHash(location.hash), r)) history.replaceState(null, '', h);
    else if (location.hash !== h) history.pushState(null, '', h);
    setRoute(parseHash(h));
  };
  return [route, go];
}

const FOCUS_WORD: Record<FocusView, string> = { host: 'Host', network: 'Network', vm: 'VM' };

function Console({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const cache = useMemo(() => new LiveCache(session, onLogout), [session]);
  const [version, setVersion] = useState(0);
  const [route, go] = useRoute();
  // the last picture shown (none until one is): it stays mounted behind the other views
  const [lastPicture, setLastPicture] = useState<Route | undefined>();
  const [sel, setSel] = useState<Selection | undefined>();
  const [dialog, setDialog] = useState<DialogSpec | undefined>();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const off = cache.subscribe(() => setVersion(cache.store.version));
    cache.start();
    const tick = setInterval(() => setNow(Date.now()), 20_000);
    return () => { off(); cache.stop(); clearInterval(tick); };
  }, [cache]);
  const store = cache.store;
  const live = cache.state !== 'loading';

  // Spoofing alarms: drop counts against what this page first saw, messages, recent changes.
  const baseline: Baseline = useMemo(() => new Map(), [cache]);
  const alarmVersion = store.versionOf('vif', 'vm', 'message');
  const alarms = useMemo(() => vifAlarms(store, observe(baseline, store), Date.now()), [alarmVersion, now]);
  const marks = useMemo(() => {
    const m = new Map<Ref, VifMark>();
    for (const [ref, v] of store.table('vif')) {
      const d = vifDrops(v);
      if (d || alarms.has(ref)) m.set(ref, { total: d?.total ?? 0, alarm: alarms.has(ref) });
    }
    return m;
  }, [alarms]);

  // A first visit names no view: a small pool opens on its picture, a large one on the overview.
  const guestVifs = () => store.all('vif').filter(([, v]) => store.get('vm', v.VM)?.is_control_domain !== true).length;
  useEffect(() => {
    if (route || !live) return;
    go(defaultRoute(store.table('host').size, guestVifs()), true);
  }, [route, live]);
  // The whole pool in one picture is drawn for a large pool only when asked for.
  const [wholeAnyway, setWholeAnyway] = useState(false);
  const wholeTooLarge = live && !wholeAnyway && isLargePool(store.table('host').size, guestVifs());

  // The focused object, and the one the URL selects, from their uuids.
  // (the index is built only when a view names an object: the overview and the tables need none)
  const byUuid = (u: string | undefined) => (u ? uuidIndex(store).get(u) : undefined);
  const focus = route && isFocus(route.view) ? byUuid(route.uuid) : undefined;
  const focusOk = !!focus && focus.cls === route?.view;
  const key = routeKey(route);
  useEffect(() => {
    if (!route) return;
    if (isPicture(route.view)) setLastPicture(route);
    const s = byUuid(route.select);
    setSel(s ? { kind: s.cls, ref: s.ref } : undefined);
  }, [key, live]);

  // In a focus view the URL names what is selected too (a reload or a shared link keeps it).
  const select = (s: Selection | undefined) => {
    setSel(s);
    if (!route?.uuid || !isFocus(route.view)) return;
    const uuid = s ? str(store.find(s.ref)?.rec, 'uuid') : '';
    if (uuid || !s) go({ view: route.view, uuid: route.uuid, ...(uuid ? { select: uuid } : {}) }, true);
  };
  const ctx = { session, store, version, select, open: (d: DialogSpec) => setDialog(() => d), go, alarms };
  const pool = store.all('pool')[0]?.[1];
  const roles = session.who.superuser ? 'pool-admin (local superuser)' : session.who.roles.join(', ');
  const view = route?.view;
  const activeTab = view === undefined ? '' : isPicture(view) ? 'topology' : view;
  const picture = isPicture(view ?? 'overview') && route ? route : lastPicture;
  const pictureFocus = byUuid(picture?.uuid);
  const pictureShown = !!view && isPicture(view);

  let content: ComponentChildren = null;
  switch (view) {
    case 'overview': content = <Overview alarms={alarms} go={go} />; break;
    case 'nics': content = <NicTables />; break;
    case 'networks': content = <NetworkTable />; break;
    case 'vifs': content = <VifTable />; break;
    case 'alerts': content = <Alerts />; break;
    default: break;
  }
  const focusName = focusOk && route ? describeRef(store, focus!.ref) ?? '' : '';
  return (
    <AppCtx.Provider value={ctx}>
      <div class="shell">
        <header class="top">
          <b>poolnet</b>
          <span>{str(pool, 'name_label') || 'pool'}</span>
          <nav>{TABS.map(([t, label]) => (
            <button key={t} class={activeTab === t ? 'tab active' : 'tab'} data-tab={t}
              onClick={() => go(t === 'topology' ? lastPicture ?? { view: 'pool' } : { view: t as View })}>
              {label}{t === 'alerts' && store.table('message').size ? ` (${store.table('message').size})` : ''}
            </button>
          ))}</nav>
          <Search go={go} />
          <button class={`alarm-count${alarms.size ? ' on' : ''}`} data-testid="alarm-count" data-count={alarms.size} title="VIFs whose locking rules are dropping frames" onClick={() => go({ view: 'overview' })}>
            {alarms.size ? `⚠ ${alarms.size} spoofing` : 'no alarms'}
          </button>
          <Toolbar open={ctx.open} />
          <span class="spacer" />
          <span class={`live ${cache.state}`} data-testid="live-state" data-state={cache.state}>{cache.state === 'live' ? '● live' : cache.state}</span>
          <span data-testid="whoami" data-roles={session.who.roles.join(',')}>{session.who.user} · {roles}</span>
          <button onClick={() => { void session.logout(); onLogout(); }} data-testid="logout">Log out</button>
        </header>
        <main class={sel ? 'with-details' : ''}>
          <section class="content">
            {!live ? <p class="muted">Loading the pool…</p> : (
              <>
                {pictureShown && route && isFocus(route.view) && (
                  <nav class="crumbs" data-testid="crumbs" data-view={route.view}>
                    <a href="#/" onClick={(e) => { e.preventDefault(); go({ view: 'overview' }); }}>Overview</a> ›{' '}
                    {focusOk ? <b data-testid="focus-name">{FOCUS_WORD[route.view as FocusView]}: {focusName}</b>
                      : <span class="warning" data-testid="focus-missing">No {route.view} with uuid {route.uuid} in this pool (it may have been removed).</span>}
                  </nav>
                )}
                {/* the picture stays mounted behind the other views, so its layout is kept */}
                <div class="picture-tab" hidden={!pictureShown}>
                  {picture?.view === 'pool' && wholeTooLarge && (
                    <div class="warning" data-testid="whole-pool-large">
                      <p>This pool ({store.table('host').size} hosts, {guestVifs()} VIFs) is too large to read, or to draw quickly, in one picture.
                        The overview shows every network by every host; a host, a network or a VM opens in full detail from there or from the search.</p>
                      <button class="primary" onClick={() => go({ view: 'overview' })}>Open the overview</button>{' '}
                      <button data-testid="draw-anyway" onClick={() => setWholeAnyway(true)}>Draw the whole pool anyway</button>
                    </div>
                  )}
                  {picture && ((picture.view === 'pool' && !wholeTooLarge) || pictureFocus) && (
                    <Topology key={routeKey({ view: picture.view, uuid: picture.uuid })} elk={elkLayout} selected={sel} marks={marks} shown={pictureShown}
                      focus={isFocus(picture.view) && pictureFocus ? { view: picture.view, ref: pictureFocus.ref } : undefined} />
                  )}
                </div>
                {content}
              </>
            )}
          </section>
          {sel && <Details sel={sel} />}
        </main>
        {dialog && dialog(() => setDialog(undefined))}
      </div>
    </AppCtx.Provider>
  );
}

export function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [resuming, setResuming] = useState(() => !!sessionStorage.getItem(KEY));
  useEffect(() => {
    const ref = sessionStorage.getItem(KEY);
    if (!ref) return;
    Session.resume(ref).then(setSession, () => sessionStorage.removeItem(KEY)).finally(() => setResuming(false));
  }, []);
  if (resuming) return <p class="muted">Reconnecting…</p>;
  if (!session) return <Login onLogin={(s) => { sessionStorage.setItem(KEY, s.ref); setSession(s); }} />;
  return <Console session={session} onLogout={() => { sessionStorage.removeItem(KEY); setSession(undefined); }} />;
}
