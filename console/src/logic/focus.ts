// Focus views: one host, one network or one VM with its neighbourhood in full detail, small
// enough to read whatever the pool's size, and the view that shows any object. Pure: a Scope for
// buildGraph (topology.ts), a Route for the URL (route.ts).

import type { FocusView, Route } from './route.ts';
import { isRef, str, strs, type Rec, type Ref, type Store } from './store.ts';
import { carrierPif, isGuest, pifKind, type Scope } from './topology.ts';

interface Sets { hosts: Set<Ref>; pifs: Set<Ref>; networks: Set<Ref>; vifs: Set<Ref>; vms: Set<Ref> }

/**
 * A PIF in the picture brings the device that carries it (the NIC or bond under a VLAN, tunnel or
 * SR-IOV PIF), and a bond its members, so that each edge has both ends.
 */
function addPif(store: Store, s: Sets, ref: Ref): void {
  const p = store.get('pif', ref);
  if (!p) return;
  s.pifs.add(ref);
  const carrier = carrierPif(store, ref);
  if (carrier) s.pifs.add(carrier);
  const cp = carrier ? store.get('pif', carrier) : undefined;
  if (cp && pifKind(cp) === 'bond_master') for (const m of strs(store.get('bond', strs(cp, 'bond_master_of')[0]), 'slaves')) s.pifs.add(m);
}

/** A VM in the picture brings its VIFs and their networks. */
function addVm(store: Store, s: Sets, ref: Ref, v: Rec): void {
  s.vms.add(ref);
  for (const f of strs(v, 'VIFs')) {
    const vif = store.get('vif', f);
    if (!vif) continue;
    s.vifs.add(f);
    if (isRef(vif.network)) s.networks.add(vif.network);
  }
}

/** The objects a focus view shows; undefined when the focused object is not in the cache. */
export function focusScope(store: Store, view: FocusView, ref: Ref): Scope | undefined {
  const s: Sets = { hosts: new Set(), pifs: new Set(), networks: new Set(), vifs: new Set(), vms: new Set() };
  switch (view) {
    case 'host': {
      if (!store.get('host', ref)) return undefined;
      s.hosts.add(ref);
      // its interfaces and what they carry (a bond member's own PIF carries nothing: left out)
      for (const [pr, p] of store.table('pif')) {
        if (p.host !== ref) continue;
        if (pifKind(p) === 'physical' || !isRef(p.bond_slave_of)) addPif(store, s, pr);
        if (!isRef(p.bond_slave_of) && isRef(p.network)) s.networks.add(p.network);
      }
      // the VMs running here, their VIFs and the networks of those
      for (const [vr, v] of store.table('vm')) {
        if (v.resident_on !== ref || !isGuest(v)) continue;
        addVm(store, s, vr, v);
      }
      break;
    }
    case 'network': {
      const n = store.get('network', ref);
      if (!n) return undefined;
      s.networks.add(ref);
      for (const pr of strs(n, 'PIFs')) {
        const p = store.get('pif', pr);
        if (!p || isRef(p.bond_slave_of)) continue;
        addPif(store, s, pr);
        if (isRef(p.host)) s.hosts.add(p.host);
      }
      for (const f of strs(n, 'VIFs')) {
        const vif = store.get('vif', f);
        if (!vif || !isGuest(store.get('vm', vif.VM))) continue;
        s.vifs.add(f);
        s.vms.add(str(vif, 'VM'));
      }
      break;
    }
    case 'vm': {
      const v = store.get('vm', ref);
      if (!isGuest(v)) return undefined;
      addVm(store, s, ref, v);
      // the host it runs on, with the interfaces that carry its networks there
      const host = v.resident_on;
      if (isRef(host) && store.get('host', host)) {
        s.hosts.add(host);
        for (const [pr, p] of store.table('pif')) {
          if (p.host === host && !isRef(p.bond_slave_of) && s.networks.has(str(p, 'network'))) addPif(store, s, pr);
        }
      }
      break;
    }
  }
  return s;
}

/**
 * The view that shows an object, with it selected: a host, a network or a VM its own view, a VIF
 * its VM's, an interface (a NIC, a bond, any PIF) its host's. `kind` is a picture's node kind or
 * a class name. Undefined when the object, or the one whose view shows it, is not in the cache
 * (or is not a guest's: the control domain has no view).
 */
export function routeOf(store: Store, kind: string, ref: Ref): Route | undefined {
  const k = kind.toLowerCase();
  const cls = k === 'nic' || k === 'bond' ? 'pif' : k;
  const rec = store.get(cls, ref);
  const select = str(rec, 'uuid');
  const at = (view: FocusView, owner: Rec | undefined): Route | undefined => {
    const uuid = str(owner, 'uuid');
    return uuid && select ? { view, uuid, select } : undefined;
  };
  switch (cls) {
    case 'host': case 'network': return at(cls, rec);
    case 'vm': return isGuest(rec) ? at('vm', rec) : undefined;
    case 'vif': { const vm = store.get('vm', rec?.VM); return isGuest(vm) ? at('vm', vm) : undefined; }
    case 'pif': return at('host', store.get('host', rec?.host));
    default: return undefined;
  }
}
