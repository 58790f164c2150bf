import type { KillswitchView } from './snapshot';

export interface KillswitchQuery {
  storefrontId: string;
  /** The client's channel (web, mobile, partner, ott). */
  channel: string;
  /** What the route does: catalog, flags, checkout, signup… */
  feature?: string;
  provider?: string;
}

/**
 * Is this switch on for this request? When the edge cannot confirm fresh config (`fresh`
 * false), a fail-closed switch counts as on and a fail-open switch keeps its last known state.
 */
export function isEngaged(ks: KillswitchView, fresh: boolean): boolean {
  return ks.engaged || (!fresh && ks.failMode === 'closed');
}

const SCOPE_ORDER = { tenant: 0, storefront: 1, channel: 2, feature: 3, provider: 4 } as const;

function applies(ks: KillswitchView, q: KillswitchQuery): boolean {
  if (ks.storefrontId !== null && ks.storefrontId !== q.storefrontId) return false;
  switch (ks.scope) {
    case 'tenant':
      return true;
    case 'storefront':
      return ks.storefrontId === q.storefrontId;
    case 'channel':
      return ks.target === q.channel;
    case 'feature':
      return q.feature !== undefined && ks.target === q.feature;
    case 'provider':
      return q.provider !== undefined && ks.target === q.provider;
  }
}

/**
 * The switch that blocks this request, if any: the broadest engaged one (tenant before
 * storefront before channel before feature before provider).
 */
export function blockingKillswitch(
  switches: readonly KillswitchView[],
  q: KillswitchQuery,
  fresh: boolean,
): KillswitchView | undefined {
  let found: KillswitchView | undefined;
  for (const ks of switches) {
    if (!applies(ks, q) || !isEngaged(ks, fresh)) continue;
    if (!found || SCOPE_ORDER[ks.scope] < SCOPE_ORDER[found.scope]) found = ks;
  }
  return found;
}

/** Providers that a killswitch makes ineligible for payment routing. */
export function killedProviders(
  switches: readonly KillswitchView[],
  storefrontId: string,
  fresh: boolean,
): Set<string> {
  const out = new Set<string>();
  for (const ks of switches) {
    if (ks.scope !== 'provider' || (ks.storefrontId !== null && ks.storefrontId !== storefrontId))
      continue;
    if (isEngaged(ks, fresh)) out.add(ks.target);
  }
  return out;
}
