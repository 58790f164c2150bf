/** `npm run db:migrate`: applies migrations to DATABASE_URL (or the embedded database). */
import path from 'node:path';
import { databaseFromEnv, ROOT, redact, runMigrations } from './lib/database';

const target = await databaseFromEnv(
  path.join(ROOT, '.local/pgdata'),
  Number(process.env.PGLITE_PORT ?? 54329),
);
console.log(`▸ migrating ${target.describe}`);
const n = await runMigrations(target.url);
console.log(`✓ ${n} migration file(s) applied or already present on ${redact(target.url)}`);
await target.embedded?.close();
