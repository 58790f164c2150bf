import type { Shape } from './channel';

/** The catalog as the web shape shows it (see src/routes/catalog). */
export interface FullCatalog {
  storefront: {
    id: string;
    slug: string;
    name: string;
    currency: string;
    locale: string;
    [k: string]: unknown;
  };
  branding: { displayName?: string; primaryColor?: string; logoUrl?: string; tagline?: string };
  bundles: {
    id: string;
    slug: string;
    name: string;
    description: string;
    price: {
      id: string;
      amount: number;
      currency: string;
      interval: string;
      intervalCount: number;
      formatted: string;
    };
    entitlements: {
      key: string;
      name: string;
      type: string;
      unit: string | null;
      value: Record<string, unknown>;
      levels?: string[];
    }[];
  }[];
}

/**
 * The compact shape for OTT and Smart TV clients: the same data minus marketing copy
 * (descriptions, taglines, logos) with the short keys agreed with TV app teams:
 * `sf` storefront {id, cur, loc}, `b` bundles [{id, s slug, n name, p price {a amount, c currency,
 * i interval, ic count, f formatted}, e entitlements [{k key, t type, v value}]}].
 */
export function compactCatalog(full: FullCatalog) {
  return {
    sf: { id: full.storefront.id, cur: full.storefront.currency, loc: full.storefront.locale },
    b: full.bundles.map((b) => ({
      id: b.id,
      s: b.slug,
      n: b.name,
      p: {
        a: b.price.amount,
        c: b.price.currency,
        i: b.price.interval,
        ic: b.price.intervalCount,
        f: b.price.formatted,
      },
      e: b.entitlements.map((e) => ({ k: e.key, t: e.type, v: e.value })),
    })),
  };
}

/** One code path: build the full catalog, then shape it for the client. */
export function shapeCatalog(full: FullCatalog, shape: Shape) {
  return shape === 'compact' ? compactCatalog(full) : full;
}
