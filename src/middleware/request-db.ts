import { createMiddleware } from 'hono/factory';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';

/**
 * A database handle for this request (`c.var.db`), closed when the response is done. For
 * storefront routes that need Postgres; the edge's read path never does.
 */
export const requestDb = createMiddleware<AppEnv>(async (c, next) => {
  const handle = getDb(c.env);
  c.set('db', handle.db);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(handle.close());
  }
});
