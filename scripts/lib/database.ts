import { readdirSync } from 'node:fs';
import path from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from '../../src/db/schema';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-pg';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MIGRATIONS = path.join(ROOT, 'migrations');

/** Applies every migration under migrations/ that the database has not seen. */
export async function runMigrations(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS });
    return readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).length;
  } finally {
    await client.end();
  }
}

/** A drizzle handle over node-postgres for scripts. */
export async function withDb<T>(
  url: string,
  fn: (db: NodePgDatabase<typeof schema>) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(drizzle({ client, schema }));
  } finally {
    await client.end();
  }
}

export interface DatabaseTarget {
  url: string;
  embedded?: EmbeddedPostgres;
  describe: string;
}

/** DATABASE_URL when set, else the embedded PGlite in `dataDir` on `port`. */
export async function databaseFromEnv(dataDir: string, port: number): Promise<DatabaseTarget> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, describe: `DATABASE_URL (${redact(url)})` };
  const embedded = await startEmbeddedPostgres(dataDir, port);
  return {
    url: embedded.url,
    embedded,
    describe: `embedded PGlite in ${path.relative(ROOT, dataDir)} on port ${port}`,
  };
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unparsable URL';
  }
}

export interface ScratchDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * Creates a throwaway database `<prefix>_<time>_<pid>` on the server of `serverUrl` and
 * returns its URL and a `drop` that removes it (with force: test connections may linger).
 * Throws when the server refuses (no right to create databases).
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
