/** `npm run seed`: the demo tenants, idempotently (DATABASE_URL or the embedded database). */
import path from 'node:path';
import { DEMO_TENANTS } from '../src/demo/demo-tenants';
import { applyTenantSpec } from '../src/services/tenant-config/apply';
import { databaseFromEnv, ROOT, withDb } from './lib/database';

export async function seedDemo(url: string, log: (s: string) => void = console.log): Promise<void> {
  await withDb(url, async (db) => {
    for (const spec of DEMO_TENANTS) {
      const applied = await applyTenantSpec(db, spec);
      log(
        `  ✓ ${spec.slug}: ${Object.keys(applied.storefronts).length} storefronts, ${Object.keys(applied.bundles).length} bundles (config v${applied.configVersion})`,
      );
    }
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = await databaseFromEnv(
    path.join(ROOT, '.local/pgdata'),
    Number(process.env.PGLITE_PORT ?? 54329),
  );
  console.log(`▸ seeding ${target.describe}`);
  await seedDemo(target.url);
  await target.embedded?.close();
}
