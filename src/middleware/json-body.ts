import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { readJsonBody } from '../lib/json-body';

/**
 * Reads every request body once, before any route: the size limit, the content-type rule and
 * the JSON checks of src/lib/json-body.ts (the fast path applies the same ones). The routes'
 * validators and `c.req.text()` then read the vetted copy; the stream itself is consumed.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const body = await readJsonBody(c.req.raw);
  // Hono types the cache by value, but it holds (and its readers expect) promises.
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(body?.text ?? '');
  await next();
});
