import type { Db } from '../../db/types';
import { ApiError } from '../../errors';
import { buildTenantPublication } from './build';
import { BUDGETS, describeViolation, sizeViolation } from './limits';
import { loadTenantConfig } from './load';

/**
 * Refuses (422 `config_budget_exceeded`, naming the limit and by how much) when the tenant's
 * config as `tx` sees it would exceed its publishing budget. Call it inside the change's
 * transaction after `bumpConfigVersion`: that update locks the tenant's row, so every other
 * config change of the tenant has committed (and is seen here) or waits for this one, and the
 * check cannot be raced. Throwing rolls the change back: nothing is written.
 */
export async function assertPublishBudget(tx: Db, tenantId: string): Promise<void> {
  const rows = await loadTenantConfig(tx, tenantId);
  if (!rows) return;
  const violation = sizeViolation(buildTenantPublication(rows, new Date()), BUDGETS);
  if (!violation) return;
  throw new ApiError(
    'config_budget_exceeded',
    `With this change ${describeViolation(violation)}. Nothing was saved: make flags smaller, or remove some.`,
    { extensions: { budget: violation } },
  );
}
