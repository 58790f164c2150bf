import { neonConfig, Pool } from '@neondatabase/serverless';
import type { NeonDatabase } from 'drizzle-orm/neon-serverless';
import { drizzle } from 'drizzle-orm/neon-serverless';
import * as schema from './schema';

export type Schema = typeof schema;

export interface DbEnv {
  DATABASE_URL?: string;
  /** Local development and tests only: `ws://127.0.0.1:<port>` of scripts/lib/ws-proxy.ts. */
  NEON_LOCAL_WS_PROXY?: string;
}

let configuredProxy: string | undefined;

function configureLocalProxy(proxy: string | undefined): void {
  if (!proxy || proxy === configuredProxy) return;
  configuredProxy = proxy;
  neonConfig.wsProxy = (host, port) =>
    `${proxy.replace(/^ws:\/\//, '')}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

export interface DbHandle {
  db: NeonDatabase<Schema>;
  /** Ends the pool; call through `ctx.waitUntil` when the request is done. */
  close(): Promise<void>;
}

/**
 * One database handle per request (a module-scoped Pool hangs on its second request in workerd,
 * POSTGRES-LOCAL.md). Nothing on the storefront read path calls this.
 */
export function getDb(env: DbEnv): DbHandle {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
  configureLocalProxy(env.NEON_LOCAL_WS_PROXY);
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 4 });
  pool.on('error', () => {}); // an idle client's error must not crash the isolate
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
