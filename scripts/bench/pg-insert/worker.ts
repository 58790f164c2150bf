/**
 * The Postgres baseline of `npm run bench` (`pg_insert_tx`): per request one insert
 * transaction (`begin; insert …; commit`) through the driver the worker uses everywhere
 * (src/db/client.ts `getDb`: an `@neondatabase/serverless` Pool per request under drizzle,
 * closed through `waitUntil`), so the end-to-end rows can be read as multiples of one write.
 * Never deployed; the table is the bench's own (`BENCH_INSERT_TABLE_SQL`, made by the bench).
 */
import { bigserial, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { type DbEnv, getDb } from '../../../src/db/client';

/** Module-level names stay unexported: workerd takes every export of the main module as a handler. */
const benchInserts = pgTable('bench_pg_insert', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  note: text('note').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

const BENCH_INSERT_PATH = '/v1/pg-insert';

export default {
  async fetch(req: Request, env: DbEnv, ctx: ExecutionContext): Promise<Response> {
    if (req.method !== 'POST' || new URL(req.url).pathname !== BENCH_INSERT_PATH) {
      return new Response('not found', { status: 404 });
    }
    const note = req.headers.get('x-bench-note') ?? 'bench';
    const { db, close } = getDb(env);
    try {
      const [row] = await db.transaction((tx) =>
        tx.insert(benchInserts).values({ note }).returning({ id: benchInserts.id }),
      );
      return Response.json({ ok: true, id: row?.id ?? null }, { status: 201 });
    } finally {
      ctx.waitUntil(close());
    }
  },
};
