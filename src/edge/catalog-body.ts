import type { EdgeContext } from '../env';
import { formatMoney } from '../lib/money';
import type { Shape } from './channel';
import { makeRepresentation, type Representation } from './representation';
import type { ResolvedBy } from './resolve';
import { type FullCatalog, shapeCatalog } from './shape';
import type { Channel } from './snapshot';
import { storefrontView } from './storefront-view';

/**
 * The request headers that choose the catalog's body: the key (so a shared cache serves a
 * copy only to a caller presenting the same key), the storefront and the shape.
 */
export const CATALOG_VARY =
  'Authorization, X-Api-Key, X-Storefront, User-Agent, X-Client-Channel, X-Response-Shape';

/**
 * snapshot → how the storefront was resolved → client channel (its cache rule) → shape →
 * the catalog as sent. Nested maps: no key string is built per request.
 */
const rendered = new WeakMap<
  EdgeContext['snapshot'],
  Map<ResolvedBy, Map<Channel, Map<Shape, Representation>>>
>();

function child<K, C extends Map<unknown, unknown>>(map: Map<K, C>, key: K): C {
  let next = map.get(key);
  if (!next) {
    next = new Map() as C;
    map.set(key, next);
  }
  return next;
}

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
 * The catalog for this request: its JSON body, ETag and caching headers. The body depends only
 * on the snapshot, the client's shape and how the storefront was resolved, and the
 * `Cache-Control` on the storefront's policy for the client's channel, so each is made once
 * per isolate and snapshot.
 */
export function catalogRepresentation(edge: EdgeContext): Representation {
  let perSnapshot = rendered.get(edge.snapshot);
  if (!perSnapshot) {
    perSnapshot = new Map();
    rendered.set(edge.snapshot, perSnapshot);
  }
  const { resolvedBy } = edge.resolution;
  const { channel, shape } = edge.client;
  const perShape = child(child(perSnapshot, resolvedBy), channel);
  let rep = perShape.get(shape);
  if (rep === undefined) {
    const body = JSON.stringify(shapeCatalog(fullCatalog(edge), shape));
    rep = makeRepresentation(edge, 'catalog', body, CATALOG_VARY, resolvedBy);
    perShape.set(shape, rep);
  }
  return rep;
}
