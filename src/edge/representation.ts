/**
 * Cacheable storefront reads as they are sent: the JSON body, its ETag and its caching
 * headers, made once per snapshot (and whatever else the body or the policy depends on), so a
 * 200 costs a lookup and a 304 costs less. The catalog's are in ./catalog-body.ts.
 */
import type { EdgeContext } from '../env';
import { type CacheResource, cacheControlFor, ifNoneMatch, weakEtag } from './http-cache';
import type { ResolvedBy } from './resolve';
import type { Channel } from './snapshot';
import { storefrontView } from './storefront-view';

export interface Representation {
  body: string;
  /** Weak ETag of `body`. */
  etag: string;
  cacheControl: string;
  /** The request headers the body depends on, if any. */
  vary: string | undefined;
}

/** A representation of `body` for `resource`, with the storefront's policy for this request. */
export function makeRepresentation(
  edge: EdgeContext,
  resource: CacheResource,
  body: string,
  vary: string | undefined,
  resolvedBy: ResolvedBy | undefined,
): Representation {
  const policy = edge.snapshot.storefront.cachePolicy;
  const cacheControl = cacheControlFor(
    policy,
    resource,
    edge.client.channel,
    resolvedBy,
    edge.snapshot.storefront.channel,
  );
  return { body, etag: weakEtag(body), cacheControl, vary };
}

/** The caching headers of `rep`: what a 200 and a 304 of it both carry. */
export function cachingHeaders(rep: Representation): Record<string, string> {
  const headers: Record<string, string> = { etag: rep.etag, 'cache-control': rep.cacheControl };
  if (rep.vary) headers.vary = rep.vary;
  return headers;
}

/** Whether the request's `If-None-Match` matches `rep`: a 304 is its answer. */
export function notModified(rep: Representation, requestHeaders: Headers): boolean {
  const field = requestHeaders.get('if-none-match');
  return field !== null && ifNoneMatch(field, rep.etag);
}

/** 304 when the request's `If-None-Match` matches `rep`, else the 200 with its body. */
export function conditionalResponse(rep: Representation, requestHeaders: Headers): Response {
  if (notModified(rep, requestHeaders)) {
    return new Response(null, { status: 304, headers: cachingHeaders(rep) });
  }
  return new Response(rep.body, {
    status: 200,
    headers: { 'content-type': 'application/json', ...cachingHeaders(rep) },
  });
}

/** snapshot → `${resolvedBy} ${channel}` → representation */
const storefronts = new WeakMap<EdgeContext['snapshot'], Map<string, Representation>>();
/** snapshot → channel → representation */
const jwks = new WeakMap<EdgeContext['snapshot'], Map<Channel, Representation>>();

function perSnapshot<K, V>(
  map: WeakMap<EdgeContext['snapshot'], Map<K, V>>,
  edge: EdgeContext,
): Map<K, V> {
  let m = map.get(edge.snapshot);
  if (!m) {
    m = new Map();
    map.set(edge.snapshot, m);
  }
  return m;
}

/**
 * `GET /v1/storefront`: the body depends on the snapshot and how the storefront was resolved
 * (`X-Storefront` may choose it, hence `Vary`).
 */
export function storefrontRepresentation(edge: EdgeContext): Representation {
  const m = perSnapshot(storefronts, edge);
  const { resolvedBy } = edge.resolution;
  const key = `${resolvedBy} ${edge.client.channel}`;
  let rep = m.get(key);
  if (!rep) {
    const body = JSON.stringify(storefrontView(edge));
    rep = makeRepresentation(edge, 'storefront', body, 'X-Storefront', resolvedBy);
    m.set(key, rep);
  }
  return rep;
}

/**
 * The tenant's JWKS: the same for every storefront of the tenant, so for every request to a
 * host, however it resolved (no `Vary`, and `public` is honoured).
 */
export function jwksRepresentation(edge: EdgeContext): Representation {
  const m = perSnapshot(jwks, edge);
  let rep = m.get(edge.client.channel);
  if (!rep) {
    const body = JSON.stringify({ keys: edge.snapshot.jwks });
    rep = makeRepresentation(edge, 'jwks', body, undefined, undefined);
    m.set(edge.client.channel, rep);
  }
  return rep;
}
