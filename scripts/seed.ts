/**
 * `npm run seed`: the demo tenants, idempotently (DATABASE_URL or the embedded database), plus
 * demo credentials: a publishable and a secret test key per storefront (`pk_test_…`,
 * `sk_test_…`: the sandbox only) and an operator per role. Keys exist only as hashes in
 * Postgres, so the plaintext is kept in the git-ignored `.local/demo-credentials.json` and
 * reused as long as the keys are still active.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import { apiKeys } from '../src/db/schema';
import type { KeyMode } from '../src/db/schema/enums';
import type { Db } from '../src/db/types';
import { DEMO_EDGE_CONFIG, DEMO_KEY_MODE, DEMO_TENANTS } from '../src/demo/demo-tenants';
import { sha256Hex } from '../src/lib/crypto';
import { createApiKey, type KeyChangeContext, revokeApiKey } from '../src/services/admin/api-keys';
import {
  findStorefront,
  listFlags,
  listKillswitches,
  putFlag,
  setKillswitch,
} from '../src/services/admin/config-changes';
import { upsertOperator } from '../src/services/admin/operators';
import { applyTenantSpec } from '../src/services/tenant-config/apply';
import { databaseFromEnv, ROOT, withDb } from './lib/database';
import { seedDemoHistory } from './lib/demo-history';

export const CREDENTIALS_FILE = path.join(ROOT, '.local/demo-credentials.json');

export interface DemoCredentials {
  storefronts: Record<
    string,
    { tenant: string; slug: string; publishable: string; secret: string }
  >;
  operators: { email: string; password: string; role: string; tenant: string }[];
}

function readCredentials(): DemoCredentials {
  if (!existsSync(CREDENTIALS_FILE)) return { storefronts: {}, operators: [] };
  try {
    return JSON.parse(readFileSync(CREDENTIALS_FILE, 'utf8')) as DemoCredentials;
  } catch {
    return { storefronts: {}, operators: [] };
  }
}

/** The row of a stored demo key while the key still works. */
async function activeKey(
  db: Db,
  storefrontId: string,
  key: string | undefined,
): Promise<{ id: string; mode: KeyMode } | null> {
  if (!key) return null;
  const rows = await db
    .select({ id: apiKeys.id, mode: apiKeys.mode, expiresAt: apiKeys.expiresAt })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.hash, await sha256Hex(key)),
        eq(apiKeys.storefrontId, storefrontId),
        isNull(apiKeys.revokedAt),
      ),
    );
  return rows.find((r) => !r.expiresAt || r.expiresAt > new Date()) ?? null;
}

/**
 * The storefront's demo key of `kind`: the stored one while it works and is a test key, else a
 * new test key. A live one (seeded before demo keys were test keys) is revoked.
 */
async function demoKey(
  db: Db,
  ctx: KeyChangeContext,
  kind: 'publishable' | 'secret',
  stored: string | undefined,
): Promise<string> {
  const found = await activeKey(db, ctx.storefrontId, stored);
  if (stored && found?.mode === DEMO_KEY_MODE) return stored;
  if (found) {
    await revokeApiKey(db, { ...ctx, reason: `demo keys are ${DEMO_KEY_MODE} keys` }, found.id);
  }
  const created = await createApiKey(db, ctx, {
    kind,
    mode: DEMO_KEY_MODE,
    name: `demo ${kind} key`,
    channels: [],
    expiresAt: null,
    rateLimit: null,
  });
  return created.secret;
}

/** The demo flags and killswitches, created once (later changes are the operators'). */
async function seedEdgeConfig(db: Db, tenantId: string, slug: string) {
  const config = DEMO_EDGE_CONFIG[slug];
  if (!config) return;
  const ctx = {
    tenantId,
    actor: { type: 'system' as const, id: 'seed' },
    requestId: null,
    reason: 'demo seed',
  };
  const flags = await listFlags(db, tenantId);
  for (const f of config.flags) {
    const storefrontId = f.storefront
      ? (await findStorefront(db, tenantId, f.storefront)).id
      : null;
    if (flags.some((x) => x.key === f.key && x.storefrontId === storefrontId)) continue;
    await putFlag(db, ctx, {
      key: f.key,
      storefrontId,
      valueType: f.valueType,
      enabled: true,
      definition: f.definition,
    });
  }
  const switches = await listKillswitches(db, tenantId);
  for (const k of config.killswitches) {
    const storefrontId = k.storefront
      ? (await findStorefront(db, tenantId, k.storefront)).id
      : null;
    if (
      switches.some(
        (x) => x.scope === k.scope && x.target === k.target && x.storefrontId === storefrontId,
      )
    )
      continue;
    await setKillswitch(db, ctx, {
      scope: k.scope,
      target: k.target,
      storefrontId,
      engaged: false,
      failMode: k.failMode,
    });
  }
}

/** Seeds the demo and returns its credentials; `fresh` says whether any were created now. */
export async function seedDemo(url: string, log: (s: string) => void = console.log) {
  const previous = readCredentials();
  const creds: DemoCredentials = { storefronts: {}, operators: [] };
  let fresh = false;
  await withDb(url, async (db) => {
    for (const spec of DEMO_TENANTS) {
      const applied = await applyTenantSpec(db, spec);
      log(
        `  ✓ ${spec.slug}: ${Object.keys(applied.storefronts).length} storefronts, ${Object.keys(applied.bundles).length} bundles (config v${applied.configVersion})`,
      );
      for (const [slug, storefrontId] of Object.entries(applied.storefronts)) {
        const old = previous.storefronts[storefrontId];
        const ctx = {
          tenantId: applied.tenantId,
          storefrontId,
          actor: { type: 'system' as const, id: 'seed' },
          requestId: null,
          reason: 'demo seed',
        };
        const publishable = await demoKey(db, ctx, 'publishable', old?.publishable);
        const secret = await demoKey(db, ctx, 'secret', old?.secret);
        if (publishable !== old?.publishable || secret !== old?.secret) fresh = true;
        creds.storefronts[storefrontId] = { tenant: spec.slug, slug, publishable, secret };
      }
      await seedEdgeConfig(db, applied.tenantId, spec.slug);
      for (const role of ['owner', 'admin', 'operator', 'viewer'] as const) {
        const email = `${role}@${spec.slug}.example`;
        const password =
          previous.operators.find((o) => o.email === email)?.password ??
          `demo-${randomBytes(9).toString('base64url')}`;
        await upsertOperator(db, {
          email,
          name: `${spec.name} ${role}`,
          password,
          grants: [{ tenantId: applied.tenantId, role }],
        });
        creds.operators.push({ email, password, role, tenant: spec.slug });
      }
    }
    const history = await seedDemoHistory(db);
    log(
      history.written
        ? `  ✓ globalcorp history (generated, live mode): ${history.subscriptions} subscriptions, ${history.payments} payments, ${history.exposures} exposures over 6 months`
        : '  ✓ globalcorp history already there',
    );
  });
  mkdirSync(path.dirname(CREDENTIALS_FILE), { recursive: true });
  writeFileSync(CREDENTIALS_FILE, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  return { creds, fresh };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = await databaseFromEnv(
    path.join(ROOT, '.local/pgdata'),
    Number(process.env.PGLITE_PORT ?? 54329),
  );
  console.log(`▸ seeding ${target.describe}`);
  const { fresh } = await seedDemo(target.url);
  console.log(
    `  credentials ${fresh ? 'written to' : 'unchanged in'} ${path.relative(ROOT, CREDENTIALS_FILE)}`,
  );
  await target.embedded?.close();
}
