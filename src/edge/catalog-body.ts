import type { EdgeContext } from '../env';
import { formatMoney } from '../lib/money';
import { type FullCatalog, shapeCatalog } from './shape';
import { storefrontView } from './storefront-view';

/** The request headers that choose the catalog's shape. */
export const CATALOG_VARY = 'User-Agent, X-Client-Channel, X-Response-Shape';

/** snapshot → shape → how the storefront was resolved → body. */
const rendered = new WeakMap<EdgeContext['snapshot'], Map<string, Map<string, string>>>();

function fullCatalog(edge: EdgeContext): FullCatalog {
  const { snapshot } = edge;
  const { locale } = snapshot.storefront;
  return {
    storefront: storefrontView(edge),
    branding: snapshot.storefront.branding as FullCatalog['branding'],
    bundles: snapshot.bundles.map((b) => ({
      id: b.id,
      slug: b.slug,
      name: b.name,
      description: b.description,
      price: { ...b.price, formatted: formatMoney(b.price.amount, b.price.currency, locale) },
      entitlements: b.entitlements,
    })),
  };
}

/**
 * The catalog's JSON body for this request. It depends only on the snapshot, the client's
 * shape and how the storefront was resolved, so it is rendered once per isolate and snapshot.
 */
export function catalogBody(edge: EdgeContext): string {
  let perSnapshot = rendered.get(edge.snapshot);
  if (!perSnapshot) {
    perSnapshot = new Map();
    rendered.set(edge.snapshot, perSnapshot);
  }
  let perShape = perSnapshot.get(edge.client.shape);
  if (!perShape) {
    perShape = new Map();
    perSnapshot.set(edge.client.shape, perShape);
  }
  let body = perShape.get(edge.resolution.resolvedBy);
  if (body === undefined) {
    body = JSON.stringify(shapeCatalog(fullCatalog(edge), edge.client.shape));
    perShape.set(edge.resolution.resolvedBy, body);
  }
  return body;
}
