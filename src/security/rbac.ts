/**
 * Operator authorization: which role may do what, in which tenant, storefronts and channels.
 *
 * Scope rule: a grant limited to some storefronts (or channels) covers a request only when the
 * request names one of them. A request that names no storefront acts on the whole tenant (lists
 * every storefront, changes a tenant-wide setting), so only a grant for all storefronts covers
 * it; the same holds for channels. Failing closed here means a route that forgets to pass the
 * storefront id denies a narrowed operator instead of letting them act tenant-wide.
 */
import { operatorRoleEnum } from '../db/schema/enums';

export const ROLES = operatorRoleEnum.enumValues;
export type Role = (typeof ROLES)[number];

export const READ_ACTIONS = [
  'storefront.read',
  'catalog.read',
  'flag.read',
  'killswitch.read',
  'apikey.read',
  'operator.read',
  'audit.read',
  'entitlement.read', // a customer's complimentary grants
  'customer.read', // customers, their subscriptions and payments (the console's customer view)
  'analytics.read', // the storefronts' sales analytics (src/routes/admin/analytics.ts)
] as const;

export const WRITE_ACTIONS = [
  'storefront.write',
  'catalog.write',
  'flag.write',
  'killswitch.write',
  'apikey.write',
  'sandbox.write', // the sandbox providers' outage switches (test mode, demos)
  'entitlement.write', // grant or revoke a customer's complimentary entitlements
  'operator.write', // invite, change or remove operators who are not owners
  'owner.write', // grant or revoke the owner role, or change anything about an owner
] as const;

export const ACTIONS = [...READ_ACTIONS, ...WRITE_ACTIONS] as const;
export type Action = (typeof ACTIONS)[number];

const VIEWER: readonly Action[] = READ_ACTIONS;
const OPERATOR: readonly Action[] = [
  ...VIEWER,
  'flag.write',
  'killswitch.write',
  'entitlement.write',
];
const ADMIN: readonly Action[] = ACTIONS.filter((a) => a !== 'owner.write');
const OWNER: readonly Action[] = ACTIONS;

/** The actions each role may take. Roles are cumulative: each includes the one below it. */
export const ROLE_ACTIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  owner: new Set(OWNER),
  admin: new Set(ADMIN),
  operator: new Set(OPERATOR),
  viewer: new Set(VIEWER),
};

/** A role held in one tenant, optionally narrowed (empty list = all). */
export interface Grant {
  tenantId: string;
  role: Role;
  storefrontIds: readonly string[];
  channels: readonly string[];
}

export interface AuthorizeRequest {
  tenantId: string;
  action: Action;
  /** Omit only for tenant-wide actions; see the scope rule at the top of this file. */
  storefrontId?: string;
  channel?: string;
}

export type AuthorizeDenial = 'wrong_tenant' | 'role' | 'storefront' | 'channel';

export type AuthorizeResult = { allowed: true } | { allowed: false; reason: AuthorizeDenial };

/** True if `role` may take `action` anywhere its grant reaches. Unknown roles or actions: false. */
export function roleAllows(role: string, action: string): boolean {
  if (!Object.hasOwn(ROLE_ACTIONS, role)) return false;
  return (ROLE_ACTIONS[role as Role] as ReadonlySet<string>).has(action);
}

function covers(scope: readonly string[], requested: string | undefined): boolean {
  if (scope.length === 0) return true;
  return requested !== undefined && scope.includes(requested);
}

/**
 * Decides whether an operator holding `grants` may perform `request`. Any one grant that covers
 * the tenant, action, storefront and channel is enough. When none does, the reason is that of
 * the grant that got furthest (tenant → role → storefront → channel), so a 403 can say what to
 * ask an owner for. Routes should answer 404 rather than 403 for `wrong_tenant`.
 */
export function authorize(grants: readonly Grant[], request: AuthorizeRequest): AuthorizeResult {
  let best: AuthorizeDenial = 'wrong_tenant';
  const rank: Record<AuthorizeDenial, number> = {
    wrong_tenant: 0,
    role: 1,
    storefront: 2,
    channel: 3,
  };
  for (const grant of grants) {
    let denial: AuthorizeDenial | null = null;
    if (grant.tenantId !== request.tenantId) denial = 'wrong_tenant';
    else if (!roleAllows(grant.role, request.action)) denial = 'role';
    else if (!covers(grant.storefrontIds, request.storefrontId)) denial = 'storefront';
    else if (!covers(grant.channels, request.channel)) denial = 'channel';
    if (denial === null) return { allowed: true };
    if (rank[denial] > rank[best]) best = denial;
  }
  return { allowed: false, reason: best };
}

/**
 * The action needed to give someone `role`, or to change or remove an operator who holds it:
 * only owners may touch owners.
 */
export function roleManagementAction(role: Role): Action {
  return role === 'owner' ? 'owner.write' : 'operator.write';
}
