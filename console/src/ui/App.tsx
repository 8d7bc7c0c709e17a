// The console's shell: login, then the live picture, the tables and the actions the role allows.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { elkLayout } from '../elk.ts';
import { str } from '../logic/store.ts';
import { LiveCache, Session } from '../xapi.ts';
import { NewBondDialog } from './dialogs/NewBondDialog.tsx';
import { NewNetworkWizard } from './dialogs/NewNetworkWizard.tsx';
import { AppCtx, ErrorBox, Field, failureOf, inputValue, useCan, type DialogSpec, type Failure, type Selection } from './common.tsx';
import { Details } from './Details.tsx';
import { Alerts, NetworkTable, NicTables, VifTable } from './Tables.tsx';
import { Topology } from './Topology.tsx';

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

type Tab = 'topology' | 'nics' | 'networks' | 'vifs' | 'alerts';
const TABS: [Tab, string][] = [['topology', 'Topology'], ['nics', 'NICs'], ['networks', 'Networks'], ['vifs', 'VIFs'], ['alerts', 'Alerts']];

function Toolbar({ open }: { open: (d: DialogSpec) => void }) {
  const can = useCan();
  return (
    <div class="toolbar">
      {can('network.create') && <button data-action="new-network" onClick={() => open((close) => <NewNetworkWizard close={close} />)}>New Network…</button>}
      {can('network.create', 'Bond.create') && <button data-action="new-bond" onClick={() => open((close) => <NewBondDialog close={close} />)}>Create Bond…</button>}
    </div>
  );
}

function Console({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const cache = useMemo(() => new LiveCache(session, onLogout), [session]);
  const [version, setVersion] = useState(0);
  const [tab, setTab] = useState<Tab>('topology');
  const [sel, setSel] = useState<Selection | undefined>();
  const [dialog, setDialog] = useState<DialogSpec | undefined>();
  useEffect(() => {
    const off = cache.subscribe(() => setVersion(cache.store.version));
    cache.start();
    return () => { off(); cache.stop(); };
  }, [cache]);
  const ctx = { session, store: cache.store, version, select: setSel, open: (d: DialogSpec) => setDialog(() => d) };
  const pool = cache.store.all('pool')[0]?.[1];
  const roles = session.who.superuser ? 'pool-admin (local superuser)' : session.who.roles.join(', ');
  let content: ComponentChildren;
  switch (tab) {
    case 'topology': content = null; break;
    case 'nics': content = <NicTables />; break;
    case 'networks': content = <NetworkTable />; break;
    case 'vifs': content = <VifTable />; break;
    case 'alerts': content = <Alerts />; break;
  }
  return (
    <AppCtx.Provider value={ctx}>
      <div class="shell">
        <header class="top">
          <b>poolnet</b>
          <span>{str(pool, 'name_label') || 'pool'}</span>
          <nav>{TABS.map(([t, label]) => <button key={t} class={tab === t ? 'tab active' : 'tab'} onClick={() => setTab(t)} data-tab={t}>{label}{t === 'alerts' && cache.store.table('message').size ? ` (${cache.store.table('message').size})` : ''}</button>)}</nav>
          <Toolbar open={ctx.open} />
          <span class="spacer" />
          <span class={`live ${cache.state}`} data-testid="live-state" data-state={cache.state}>{cache.state === 'live' ? '● live' : cache.state}</span>
          <span data-testid="whoami" data-roles={session.who.roles.join(',')}>{session.who.user} · {roles}</span>
          <button onClick={() => { void session.logout(); onLogout(); }} data-testid="logout">Log out</button>
        </header>
        <main class={sel ? 'with-details' : ''}>
          <section class="content">
            {cache.state === 'loading' ? <p class="muted">Loading the pool…</p> : (
              <>
                {/* the picture stays mounted behind the tables, so its layout is kept */}
                <div class="picture-tab" hidden={tab !== 'topology'}><Topology elk={elkLayout} selected={sel} /></div>
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
