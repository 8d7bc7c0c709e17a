// Shared pieces of the console's UI: the context (session, cache, selection), dialogs, the
// error box that explains a XenAPI failure, and the hook that runs an action's calls.

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { explain, type ExplainedError } from '../logic/explain.ts';
import { allowed } from '../logic/model.ts';
import type { VifAlarm } from '../logic/alarms.ts';
import type { Route } from '../logic/route.ts';
import type { Ref, Store } from '../logic/store.ts';
import { XapiCallError, type Session } from '../xapi.ts';

export interface Selection { readonly kind: string; readonly ref: string }

export interface Ctx {
  readonly session: Session;
  readonly store: Store;
  readonly version: number;
  readonly select: (s: Selection | undefined) => void;
  readonly open: (d: DialogSpec) => void;
  /** Show another view (and name it in the URL). */
  readonly go: (r: Route) => void;
  /** The VIFs in a spoofing alarm now. */
  readonly alarms: ReadonlyMap<Ref, VifAlarm>;
}

export type DialogSpec = (close: () => void) => ComponentChildren;

export const AppCtx = createContext<Ctx | undefined>(undefined);

export function useApp(): Ctx {
  const c = useContext(AppCtx);
  if (!c) throw new Error('no app context');
  return c;
}

/** Whether the session's roles allow every one of these calls (from the model's least roles). */
export function useCan(): (...methods: string[]) => boolean {
  const { session } = useApp();
  return (...methods) => allowed(session.who, ...methods);
}

export type Failure = ({ kind: 'xapi' } & ExplainedError) | { kind: 'transport'; code: ''; message: string };

export function failureOf(e: unknown, store?: Store): Failure {
  if (e instanceof XapiCallError) return { kind: 'xapi', ...explain(e.description, store) };
  return { kind: 'transport', code: '', message: (e as Error)?.message ?? String(e) };
}

/** Run an action's calls: busy while running, its failure explained. */
export function useAction(): { busy: boolean; failure?: Failure; progress: string[]; run: (f: (step: (s: string) => void) => Promise<void>) => Promise<boolean>; clear: () => void } {
  const { store } = useApp();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure | undefined>();
  const [progress, setProgress] = useState<string[]>([]);
  const run = async (f: (step: (s: string) => void) => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setFailure(undefined);
    setProgress([]);
    try {
      await f((s) => setProgress((p) => [...p, s]));
      return true;
    } catch (e) {
      setFailure(failureOf(e, store));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, failure, progress, run, clear: () => setFailure(undefined) };
}

export function ErrorBox({ failure }: { failure?: Failure }) {
  if (!failure) return null;
  if (failure.kind === 'transport') {
    return <div class="error" role="alert" data-error-code="">{failure.message}</div>;
  }
  return (
    <div class="error" role="alert" data-error-code={failure.code}>
      <div class="error-code"><code>{failure.code}</code></div>
      {failure.doc && <p class="error-doc" data-testid="error-doc">{failure.doc}</p>}
      <p class="error-plain" data-testid="error-plain">{failure.plain}</p>
      {failure.params.length > 0 && (
        <table class="error-params">
          <tbody>
            {failure.params.map((p, i) => (
              <tr key={i} data-param={p.name}><th>{p.name}</th><td><code>{p.value}</code>{p.described && <span class="muted"> — {p.described}</span>}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Dialog({ title, onClose, children, testid }: { title: string; onClose: () => void; children: ComponentChildren; testid?: string }) {
  // Escape closes the dialog, as the × does (wherever the focus is on the page).
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape' && !e.defaultPrevented) { e.preventDefault(); closeRef.current(); } };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="backdrop" onClick={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div class="dialog" role="dialog" aria-label={title} data-testid={testid}>
        <header><h2>{title}</h2><button class="icon" aria-label="Close" onClick={onClose}>×</button></header>
        <div class="dialog-body">{children}</div>
      </div>
    </div>
  );
}

export function Progress({ steps }: { steps: string[] }) {
  if (!steps.length) return null;
  return <ol class="progress">{steps.map((s, i) => <li key={i}>{s}</li>)}</ol>;
}

export function Field({ label, hint, children }: { label: string; hint?: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="hint">{hint}</span>}
    </label>
  );
}

export function Warning({ children, testid }: { children: ComponentChildren; testid?: string }) {
  return <div class="warning" role="note" data-testid={testid}>{children}</div>;
}

export const inputValue = (e: Event): string => (e.currentTarget as HTMLInputElement).value;
export const checked = (e: Event): boolean => (e.currentTarget as HTMLInputElement).checked;
