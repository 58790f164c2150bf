/**
 * The admin routes' authorization kit: the tenant (and storefront) a request names, if the
 * signed-in operator (set by `operatorAuth`) may act there, and the change context their
 * mutations record.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { type Action, authorize } from '../../security/rbac';
import { findStorefront } from '../../services/admin/config-changes';
import { findTenant } from '../../services/admin/operators';
import { listStorefronts } from '../../services/admin/storefronts';

type Tenant = NonNullable<Awaited<ReturnType<typeof findTenant>>>;

/**
 * The tenant named in the path (and the storefront named in the request, by slug or id), if
 * this operator may take `action` there. An operator with no grant in the tenant gets a 404
 * (they must not learn it exists), as does a storefront that is not the tenant's; a grant whose
 * role, storefronts or channels do not cover the action gets a 403.
 */
export async function authorizeScope(
  c: Context<AppEnv>,
  tenantRef: string,
  action: Action,
  scope: { storefront?: string; channel?: string } = {},
) {
  const operator = c.get('operator');
  const db = c.get('db');
  const tenant = await findTenant(db, tenantRef);
  if (!tenant || !operator.grants.some((g) => g.tenantId === tenant.id)) {
    throw new ApiError('not_found', `No tenant "${tenantRef}".`);
  }
  const storefront = scope.storefront
    ? await findStorefront(db, tenant.id, scope.storefront)
    : null;
  const decision = authorize(operator.grants, {
    tenantId: tenant.id,
    action,
    storefrontId: storefront?.id,
    channel: scope.channel,
  });
  if (!decision.allowed) {
    throw new ApiError(
      'forbidden',
      `Your role does not allow ${action}${storefront ? ' in this storefront' : ''}${
        scope.channel ? ` on the ${scope.channel} channel` : ''
      } (${decision.reason}).`,
    );
  }
  return { tenant, storefront };
}

/** {@link authorizeScope} for a tenant-wide action. */
export async function authorizeTenant(c: Context<AppEnv>, tenantRef: string, action: Action) {
  return (await authorizeScope(c, tenantRef, action)).tenant;
}

/** Who, why and which request, for a change made by the signed-in operator. */
export function operatorChange(c: Context<AppEnv>, tenantId: string, reason: string) {
  return {
    tenantId,
    actor: { type: 'operator' as const, id: c.get('operator').id },
    requestId: c.get('requestId'),
    reason,
  };
}

/**
 * The storefronts of the tenant in which this operator may take `action`, for a read that spans
 * storefronts (a search): null when a grant covers the whole tenant (no filter needed), else the
 * ids its storefront-narrowed grants cover. Naming one storefront (`storefrontRef`) narrows the
 * read to it, with the usual 404 for a storefront that is not the tenant's and 403 for one the
 * grant does not cover. A grant that covers no storefront at all gets a 403.
 */
export async function readableStorefronts(
  c: Context<AppEnv>,
  tenantRef: string,
  action: Action,
  storefrontRef?: string,
): Promise<{ tenant: Tenant; storefrontIds: string[] | null }> {
  if (storefrontRef) {
    const { tenant, storefront } = await authorizeScope(c, tenantRef, action, {
      storefront: storefrontRef,
    });
    if (!storefront) throw new ApiError('not_found', `No storefront "${storefrontRef}".`);
    return { tenant, storefrontIds: [storefront.id] };
  }
  const operator = c.get('operator');
  const db = c.get('db');
  const tenant = await findTenant(db, tenantRef);
  if (!tenant || !operator.grants.some((g) => g.tenantId === tenant.id)) {
    throw new ApiError('not_found', `No tenant "${tenantRef}".`);
  }
  if (authorize(operator.grants, { tenantId: tenant.id, action }).allowed) {
    return { tenant, storefrontIds: null };
  }
  const ids = (await listStorefronts(db, tenant.id))
    .map((sf) => sf.id)
    .filter(
      (id) => authorize(operator.grants, { tenantId: tenant.id, action, storefrontId: id }).allowed,
    );
  if (ids.length === 0) {
    throw new ApiError('forbidden', `Your role does not allow ${action} in any storefront here.`);
  }
  return { tenant, storefrontIds: ids };
}
