/** The per-location cache tier (the Cache API) the edge's polled views share. */

/** Keeps `body` (as JSON) in this location's cache under `key` for `ttlSeconds`. */
export function putInLocation(
  cache: Cache | undefined,
  key: Request,
  body: unknown,
  ttlSeconds: number,
): Promise<void> | undefined {
  return cache?.put(
    key,
    new Response(JSON.stringify(body), {
      headers: { 'content-type': 'application/json', 'cache-control': `max-age=${ttlSeconds}` },
    }),
  );
}
