// The six XenServer roles, in decreasing privilege (xapi datamodel_roles.ml).

import { XapiError } from './errors.ts';

export const ROLES = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin', 'vm-operator', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  'pool-admin': 'The Pool Administrator role has full access to all features and settings, including accessing Dom0 and managing subjects, roles and external authentication',
  'pool-operator': 'The Pool Operator role manages host- and pool-wide resources, including setting up storage, creating resource pools and managing patches, high availability (HA) and workload balancing (WLB)',
  'vm-power-admin': 'The Virtual Machine Power Administrator role has full access to VM and template management and can choose where to start VMs and use the dynamic memory control and VM snapshot features',
  'vm-admin': 'The Virtual Machine Administrator role can manage VMs and snapshots and access VM consoles',
  'vm-operator': 'The Virtual Machine Operator role can use VMs and interact with VM consoles',
  'read-only': 'The Read-Only role can log in with basic read-only access',
};

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/**
 * Who may call a message: a role "and above", nobody but local root (xapi's _R_LOCAL_ROOT_ONLY),
 * or only a session made with the pool secret (poolnet's internal pool messages, which return or
 * act on the pool's secrets: no user role reaches them, local root's own login included).
 */
export type LeastRole = Role | 'local-root-only' | 'pool-member';

/** Roles allowed to call a message whose least role is `least` ("this role and above"). */
export function rolesAtLeast(least: LeastRole): Role[] {
  if (least === 'local-root-only' || least === 'pool-member') return [];
  return ROLES.slice(0, ROLES.indexOf(least) + 1);
}

export function roleAllows(has: readonly Role[], least: LeastRole): boolean {
  if (least === 'local-root-only' || least === 'pool-member') return false;
  const need = ROLES.indexOf(least);
  return has.some((r) => ROLES.indexOf(r) <= need);
}

/** xapi's RBAC_PERMISSION_DENIED [permission, message] (rbac.ml). */
export function rbacDenied(permission: string, least: LeastRole): XapiError {
  return new XapiError('RBAC_PERMISSION_DENIED', [permission, `No permission in user session. (Roles with this permission: ${rolesAtLeast(least).join(', ')})`]);
}
