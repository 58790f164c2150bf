/**
 * How large a tenant's published configuration may be. Two levels: hard limits, beyond which
 * something downstream refuses it (so the publisher does not write it and the edge keeps the
 * tenant's last published config), and budgets, half as large, that a flag write must stay
 * within before it commits. The gap leaves room for changes that are not checked (API keys,
 * killswitches, the catalog) and must never be refused for size.
 */
import { MAX_CONFIG_BYTES } from '../../edge/config-store';
import { formatCount } from '../../flags/limits';
import type { TenantPublication } from './build';

/** Hard: the edge refuses a larger snapshot (it would answer 503 from a cold isolate). */
export const MAX_SNAPSHOT_BYTES = MAX_CONFIG_BYTES;
/**
 * Hard: the tenant's config object stores the hot config (every storefront's flags, switches,
 * segments and keys) as one value, at most 2 MB in SQLite-backed Durable Object storage; the
 * margin covers the difference between JSON and the structured-clone encoding.
 */
export const MAX_HOT_CONFIG_BYTES = 1.75 * 1024 * 1024;
/** Budget of one storefront's snapshot, checked before a flag write commits. */
export const SNAPSHOT_BUDGET_BYTES = 1024 * 1024;
/** Budget of the tenant's hot config, checked before a flag write commits. */
export const HOT_CONFIG_BUDGET_BYTES = 1024 * 1024;

export interface SizeLimits {
  snapshotBytes: number;
  hotConfigBytes: number;
}

export const HARD_LIMITS: SizeLimits = {
  snapshotBytes: MAX_SNAPSHOT_BYTES,
  hotConfigBytes: MAX_HOT_CONFIG_BYTES,
};
export const BUDGETS: SizeLimits = {
  snapshotBytes: SNAPSHOT_BUDGET_BYTES,
  hotConfigBytes: HOT_CONFIG_BUDGET_BYTES,
};

/** Which limit a publication exceeds, and by how much. */
export interface SizeViolation {
  limit: 'storefrontSnapshot' | 'tenantHotConfig';
  /** The storefront (slug) whose snapshot is too large. */
  storefront?: string;
  bytes: number;
  limitBytes: number;
  overBy: number;
}

/** The first limit `publication` exceeds (the hot config first: it holds every storefront). */
export function sizeViolation(
  publication: TenantPublication,
  limits: SizeLimits,
): SizeViolation | undefined {
  if (publication.hotBytes > limits.hotConfigBytes) {
    return {
      limit: 'tenantHotConfig',
      bytes: publication.hotBytes,
      limitBytes: limits.hotConfigBytes,
      overBy: publication.hotBytes - limits.hotConfigBytes,
    };
  }
  const big = publication.snapshots.reduce<TenantPublication['snapshots'][number] | undefined>(
    (max, s) => (max === undefined || s.bytes > max.bytes ? s : max),
    undefined,
  );
  if (big && big.bytes > limits.snapshotBytes) {
    return {
      limit: 'storefrontSnapshot',
      storefront: big.slug,
      bytes: big.bytes,
      limitBytes: limits.snapshotBytes,
      overBy: big.bytes - limits.snapshotBytes,
    };
  }
  return undefined;
}

/** "the hot config (flags, killswitches, segments, keys of every storefront) would be …" */
export function describeViolation(v: SizeViolation): string {
  const what =
    v.limit === 'tenantHotConfig'
      ? 'the hot config (flags, killswitches, segments and API keys of every storefront)'
      : `the snapshot of storefront "${v.storefront}"`;
  return `${what} is ${formatCount(v.bytes)} bytes; the limit is ${formatCount(v.limitBytes)} (over by ${formatCount(v.overBy)})`;
}
