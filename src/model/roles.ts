// The six XenServer roles, in decreasing privilege (xapi datamodel_roles.ml).

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

/** Roles allowed to call a message whose least role is `least` ("this role and above"). */
export function rolesAtLeast(least: Role | 'local-root-only'): Role[] {
  if (least === 'local-root-only') return [];
  return ROLES.slice(0, ROLES.indexOf(least) + 1);
}

export function roleAllows(has: readonly Role[], least: Role | 'local-root-only'): boolean {
  if (least === 'local-root-only') return false;
  const need = ROLES.indexOf(least);
  return has.some((r) => ROLES.indexOf(r) <= need);
}
