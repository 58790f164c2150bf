import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema';

/** A drizzle database on either driver (neon in the worker, node-postgres in scripts). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
