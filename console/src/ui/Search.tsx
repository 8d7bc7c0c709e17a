// Search: any host, network, VM, VIF or interface by name, MAC, address or uuid; Enter or a click
// opens the view that shows it.

import { useMemo, useState } from 'preact/hooks';
import type { Route } from '../logic/route.ts';
import { search } from '../logic/search.ts';
import { inputValue, useApp } from './common.tsx';

export function Search({ go }: { go: (r: Route) => void }) {
  const { store, version } = useApp();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const hits = useMemo(() => (q.trim() ? search(store, q) : []), [q, version]);
  const choose = (r: Route) => { go(r); setOpen(false); setQ(''); };
  return (
    <div class="search">
      <input type="search" data-testid="search" placeholder="Find a name, MAC, address or uuid" aria-label="Find an object" value={q}
        onInput={(e) => { setQ(inputValue(e)); setOpen(true); }}
        onKeyDown={(e) => { if (e.key === 'Enter' && hits[0]) choose(hits[0].route); if (e.key === 'Escape') setOpen(false); }}
        onBlur={() => setTimeout(() => setOpen(false), 200)} onFocus={() => setOpen(true)} />
      {open && q.trim() && (
        <ul class="search-results" data-testid="search-results">
          {hits.length === 0 && <li class="muted">Nothing matches.</li>}
          {hits.map((h) => (
            <li key={h.ref} data-kind={h.kind} data-ref={h.ref} onMouseDown={(e) => { e.preventDefault(); choose(h.route); }}>
              <b>{h.title}</b> <span class="muted">{h.matched}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
