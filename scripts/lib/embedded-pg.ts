/**
 * The embedded default database: PGlite (PostgreSQL in WASM) served over the wire protocol by
 * pglite-socket, with a persistent data directory. Used by `npm start` and `npm test` only when
 * DATABASE_URL is unset. One backend session is shared by all connections (POSTGRES-LOCAL.md).
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
