import { env } from 'cloudflare:test';
/**
 * Bounds of flag definitions, through the worker: what an operator writes can neither cost
 * every evaluation nor wedge the tenant's publishing (and with it its killswitches).
 */
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, featureFlags, storefrontRoutes, tenants } from '../../src/db/schema';
import { resetEdgeCaches } from '../../src/edge/caches';
import { KV_KEYS } from '../../src/edge/snapshot';
import { newId } from '../../src/lib/ids';
import { publishNow } from '../../src/routes/admin/support';
import { putFlag } from '../../src/services/admin/config-changes';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

interface Evaluations {
  configVersion: number;
  flags: Record<string, { value: unknown; variant?: string; reason: string; errorCode?: string }>;
}

const big: TestTenant[] = [];

/** A fresh tenant with an admin; archived after the file, so its big rows do not slow others. */
async function tenantWithAdmin(keepAfter = false) {
  const t = await createTenant();
  if (!keepAfter) big.push(t);
  const admin = await createOperator(t.tenantId, 'admin');
  return { t, admin };
}

afterAll(async () => {
  await withDb(async (db) => {
    for (const t of big) {
      await db.update(tenants).set({ status: 'archived' }).where(eq(tenants.id, t.tenantId));
    }
  });
});

const putFlagVia = (admin: TestOperator, t: TestTenant, key: string, body: object) =>
  asOperator(admin, 'PUT', `/admin/v1/tenants/${t.slug}/flags/${key}`, {
    reason: 'flag limits test',
    ...body,
  });

const flip = (op: TestOperator, t: TestTenant, engaged: boolean, target = 'catalog') =>
  asOperator(op, 'POST', `/admin/v1/tenants/${t.slug}/killswitches`, {
    scope: 'feature',
    target,
    engaged,
    reason: 'flag limits drill',
  });

/** What a flag write must not have changed when it is refused. */
async function footprint(t: TestTenant) {
  return withDb(async (db) => {
    const [tenant] = await db
      .select({ v: tenants.configVersion })
      .from(tenants)
      .where(eq(tenants.id, t.tenantId));
    const [flags] = await db
      .select({ n: count() })
      .from(featureFlags)
      .where(eq(featureFlags.tenantId, t.tenantId));
    const [audit] = await db
      .select({ n: count() })
      .from(auditLog)
      .where(eq(auditLog.tenantId, t.tenantId));
    return { configVersion: tenant?.v, flags: flags?.n, audit: audit?.n };
  });
}

async function until(check: () => Promise<boolean>, deadlineMs = 3000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const catalogStatus = async (t: TestTenant) =>
  (await call(t.hosts['us-store'] ?? '', '/v1/catalog')).status;

/** A string flag definition of about `bytes` serialized (variations of at most 7,500). */
function sizedDefinition(bytes: number, tag: string) {
  const n = Math.max(1, Math.ceil(bytes / 7_500));
  const each = Math.floor(bytes / n) - 10;
  return {
    variations: Array.from({ length: n }, (_, i) => `${tag}-${i}-${'x'.repeat(each)}`),
    offVariation: 0,
    fallthrough: { variation: 0 },
    salt: tag,
  };
}

/** Writes a flag straight to Postgres, as code without today's checks could have. */
async function storeLegacyFlag(t: TestTenant, key: string, definition: Record<string, unknown>) {
  await withDb(async (db) => {
    await db.insert(featureFlags).values({
      id: newId('flag'),
      tenantId: t.tenantId,
      storefrontId: null,
      key,
      valueType: 'string',
      enabled: true,
      definition,
    });
    await db
      .update(tenants)
      .set({ configVersion: sql`${tenants.configVersion} + 1` })
      .where(eq(tenants.id, t.tenantId));
  });
}

let main: { t: TestTenant; admin: TestOperator };

beforeAll(async () => {
  main = await tenantWithAdmin(true);
  await publish();
});

describe('flag definition bounds at write time', () => {
  it('an oversized variation is refused before anything is written; a later killswitch flip still publishes and takes effect', async () => {
    const { t, admin } = main;
    const before = await footprint(t);
    // 2 MB: the HTTP layer may refuse the body itself (413); either way nothing is written.
    const huge = await putFlagVia(admin, t, 'huge', {
      valueType: 'string',
      definition: {
        variations: ['x', 'y'.repeat(2 * 1024 * 1024)],
        offVariation: 0,
        fallthrough: { variation: 0 },
      },
    });
    expect([400, 413], await huge.clone().text()).toContain(huge.status);
    // Within the body limit, invalid flags: one variation over its 8 KiB, and a definition of
    // variations under that but together over 32 KiB.
    const bigVariation = await putFlagVia(admin, t, 'too-big', {
      valueType: 'json',
      definition: {
        variations: [{ copy: 'z'.repeat(9 * 1024) }],
        offVariation: 0,
        fallthrough: { variation: 0 },
      },
    });
    const p = await expectProblem(bigVariation, 400, 'validation_failed');
    expect(p.errors).toEqual([
      {
        path: 'definition.variations.0',
        message: '9,227 bytes serialized; the limit is 8,192 (over by 1,035)',
      },
    ]);
    const bigDefinition = await putFlagVia(admin, t, 'too-big', {
      valueType: 'json',
      definition: {
        variations: Array.from({ length: 5 }, (_, i) => ({ copy: String(i).repeat(7 * 1024) })),
        offVariation: 0,
        fallthrough: { variation: 0 },
      },
    });
    const q = await expectProblem(bigDefinition, 400, 'validation_failed');
    const errors = q.errors as { path: string; message: string }[];
    expect(errors.map((e) => e.path)).toEqual(['definition']);
    expect(errors[0]?.message).toMatch(
      /^the definition is too large: 3\d,\d{3} bytes serialized; the limit is 32,768/,
    );
    expect(await footprint(t)).toEqual(before);
    const listed = await json<{ items: { key: string }[] }>(
      await asOperator(admin, 'GET', `/admin/v1/tenants/${t.slug}/flags`),
    );
    expect(listed.items.map((f) => f.key)).not.toContain('too-big');

    expect(await catalogStatus(t)).toBe(200);
    const on = await flip(admin, t, true);
    expect(on.status, await on.clone().text()).toBe(200);
    expect(await json(on)).toMatchObject({ published: true });
    await until(async () => (await catalogStatus(t)) === 503);
    const off = await flip(admin, t, false);
    expect(off.status).toBe(200);
    await until(async () => (await catalogStatus(t)) === 200);
  });

  it('a too-deep JSON variation is a 400 naming the field, never a 500', async () => {
    const { t, admin } = main;
    const nest = (depth: number) => {
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = { v };
      return v;
    };
    const p = await expectProblem(
      await putFlagVia(admin, t, 'deep', {
        valueType: 'json',
        definition: { variations: [nest(40)], offVariation: 0, fallthrough: { variation: 0 } },
      }),
      400,
      'validation_failed',
    );
    // The body reader's depth bound answers first, at the level where it ran out.
    const [error, ...others] = (p.errors ?? []) as { path: string; message: string }[];
    expect(others).toEqual([]);
    expect(error?.message).toBe('nested deeper than 32 levels');
    expect(error?.path).toMatch(/^definition\.variations\.0(\.v)+$/);
    // 3,000 levels overflowed the validator's stack (500) before the bound.
    const deeper = await putFlagVia(admin, t, 'deeper', {
      valueType: 'json',
      definition: { variations: [nest(3_000)], offVariation: 0, fallthrough: { variation: 0 } },
    });
    await expectProblem(deeper, 400, 'validation_failed');
  });

  it('a matches pattern outside the linear-time subset is a 400 naming the clause', async () => {
    const { t, admin } = main;
    const res = await putFlagVia(admin, t, 'bad-pattern', {
      valueType: 'boolean',
      definition: {
        variations: [false, true],
        offVariation: 0,
        rules: [
          {
            clauses: [
              { attribute: 'country', operator: 'in', values: ['DE'] },
              { attribute: 'email', operator: 'matches', values: ['@ok\\.com$', '^(a+)\\1$'] },
            ],
            variation: 1,
          },
        ],
        fallthrough: { variation: 0 },
      },
    });
    const p = await expectProblem(res, 400, 'validation_failed');
    expect(p.errors).toEqual([
      {
        path: 'definition.rules.0.clauses.1.values.1',
        message: 'pattern not supported: backreferences are not supported (at character 5)',
      },
    ]);
  });

  it('a catastrophic-backtracking pattern evaluates in linear time at the edge', async () => {
    const { t, admin } = main;
    const res = await putFlagVia(admin, t, 'redos', {
      valueType: 'boolean',
      definition: {
        variations: [false, true],
        offVariation: 0,
        rules: [
          {
            clauses: [{ attribute: 'name', operator: 'matches', values: ['^(a+)+$'] }],
            variation: 1,
          },
        ],
        fallthrough: { variation: 0 },
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const host = t.hosts['us-store'] ?? '';
    const ask = (name: string) =>
      call(host, '/v1/flags/evaluate', {
        method: 'POST',
        body: { flags: ['redos'], context: { targetingKey: 'cus_1', name } },
      }).then((r) => json<Evaluations>(r));
    await until(async () => (await ask('aaa')).flags.redos?.value === true);
    for (const n of [20, 26, 32, 255]) {
      const start = Date.now();
      const r = await ask(`${'a'.repeat(n)}!`);
      expect(Date.now() - start, `${n} characters`).toBeLessThan(500);
      expect(r.flags.redos).toMatchObject({ value: false, reason: 'DEFAULT' });
    }
  });
});

describe('the tenant budget', () => {
  it('a flag that would take the published config past its budget is a 422 naming the limit; nothing is written; shrinking is always allowed', async () => {
    const { t, admin } = await tenantWithAdmin();
    // 11 flags of ~30 KB: each is in all 3 storefronts' part of the hot config (~1 MB of 1 MiB).
    await withDb(async (db) => {
      for (let i = 0; i < 11; i++) {
        await putFlag(
          db,
          {
            tenantId: t.tenantId,
            actor: { type: 'system', id: 'tests' },
            requestId: null,
            reason: 'fill the budget',
          },
          {
            key: `filler-${i}`,
            storefrontId: null,
            valueType: 'string',
            enabled: true,
            definition: sizedDefinition(30_000, `f${i}`),
          },
        );
      }
    });
    const before = await footprint(t);
    const res = await putFlagVia(admin, t, 'one-too-many', {
      valueType: 'string',
      definition: sizedDefinition(30_000, 'last'),
    });
    const p = await expectProblem(res, 422, 'config_budget_exceeded');
    expect(p.detail).toMatch(
      /^With this change the hot config \(flags, killswitches, segments and API keys of every storefront\) is 1,0\d\d,\d{3} bytes; the limit is 1,048,576 \(over by \d{1,3},\d{3}\)\. Nothing was saved/,
    );
    expect(p.budget).toMatchObject({ limit: 'tenantHotConfig', limitBytes: 1_048_576 });
    expect((p.budget as { overBy: number }).overBy).toBeGreaterThan(0);
    expect(await footprint(t)).toEqual(before);
    // A smaller definition of an existing flag never grows the config: accepted, published.
    const shrink = await putFlagVia(admin, t, 'filler-0', {
      valueType: 'string',
      definition: { variations: ['small'], offVariation: 0, fallthrough: { variation: 0 } },
    });
    expect(shrink.status, await shrink.clone().text()).toBe(200);
    expect(await json(shrink)).toMatchObject({ published: true });
  });
});

describe('publishing cannot wedge', () => {
  it('a stored flag too large to publish is published without its body: the tenant still publishes, killswitches still land, other tenants too', async () => {
    const { t, admin } = await tenantWithAdmin();
    await publish();
    // 2 MB: 6 MB of hot config over 3 storefronts, which the tenant's config object refuses.
    await storeLegacyFlag(t, 'legacy-huge', {
      variations: ['x'.repeat(2 * 1024 * 1024)],
      offVariation: 0,
      fallthrough: { variation: 0 },
    });
    const on = await flip(admin, t, true);
    expect(on.status, await on.clone().text()).toBe(200);
    await until(async () => (await catalogStatus(t)) === 503);
    // Another tenant's change publishes too (the failing tenant used to fail everyone's).
    const other = await flip(main.admin, main.t, true, 'signup');
    expect(other.status, await other.clone().text()).toBe(200);
    await flip(main.admin, main.t, false, 'signup');
    // The oversized flag evaluates to the caller's default, with the reason.
    const r = await json<Evaluations>(
      await call(t.hosts['us-store'] ?? '', '/v1/flags/evaluate', {
        method: 'POST',
        body: { flags: ['legacy-huge'], defaults: { 'legacy-huge': 'fallback' } },
      }),
    );
    expect(r.flags['legacy-huge']).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    });
    await flip(admin, t, false);
    await until(async () => (await catalogStatus(t)) === 200);
    // A cold isolate can load it (the snapshot is within the edge's limit).
    resetEdgeCaches();
    expect(await catalogStatus(t)).toBe(200);
  });

  it('a tenant over the hard limit keeps serving its last good config, the operator gets a 422, and the next valid change publishes', async () => {
    const { t, admin } = await tenantWithAdmin();
    await publish();
    const host = t.hosts['us-store'] ?? '';
    const served = async () =>
      (
        await json<Evaluations>(
          await call(host, '/v1/flags/evaluate', { method: 'POST', body: { flags: [] } }),
        )
      ).configVersion;
    const good = await served();
    // 21 flags of ~30 KB (each valid, written before budgets): ~1.9 MB of hot config, over the
    // 1.75 MiB the publisher allows under the config object's 2 MB value limit.
    for (let i = 0; i < 21; i++) {
      await storeLegacyFlag(t, `legacy-${i}`, sizedDefinition(30_000, `l${i}`));
    }
    const on = await flip(admin, t, true);
    const p = await expectProblem(on, 422, 'config_not_published');
    expect(p.detail).toMatch(
      /^Saved as config version \d+, but the tenant's configuration could not be published: the hot config .* is 1,9\d\d,\d{3} bytes; the limit is 1,835,008 \(over by \d+,\d{3}\)\. The edge keeps serving config version \d+\.$/,
    );
    expect(p).toMatchObject({ servingVersion: good, stage: 'snapshot' });
    expect(p.limit).toMatchObject({ limit: 'tenantHotConfig', limitBytes: 1_835_008 });
    // The edge keeps the last good config, even a cold isolate (no pointer to a missing
    // snapshot), and the switch is not in effect.
    resetEdgeCaches();
    expect(await catalogStatus(t)).toBe(200);
    expect(await served()).toBe(good);
    // Other tenants are not held back.
    const other = await flip(main.admin, main.t, true, 'checkout');
    expect(other.status, await other.clone().text()).toBe(200);
    await flip(main.admin, main.t, false, 'checkout');
    // Shrinking one flag brings it under the limit: that change publishes, switch included.
    const shrink = await putFlagVia(admin, t, 'legacy-0', {
      valueType: 'string',
      definition: { variations: ['small'], offVariation: 0, fallthrough: { variation: 0 } },
    });
    expect(shrink.status, await shrink.clone().text()).toBe(200);
    await until(async () => (await catalogStatus(t)) === 503);
    await until(async () => (await served()) > good);
    await flip(admin, t, false);
  });

  it('a tenant kept on its last routing entry never takes back a host another tenant now publishes', async () => {
    // B is the older tenant, so the publisher reaches A (kept) after B (published).
    const b = await createTenant();
    const { t: a } = await tenantWithAdmin();
    await publish();
    const moved = a.hosts['us-store'] ?? '';
    for (let i = 0; i < 21; i++) {
      await storeLegacyFlag(a, `legacy-${i}`, sizedDefinition(30_000, `m${i}`));
    }
    // The host moves from A to B in Postgres; A cannot be published any more.
    await withDb(async (db) => {
      await db.delete(storefrontRoutes).where(eq(storefrontRoutes.value, moved));
      await db.insert(storefrontRoutes).values({
        id: newId('rt'),
        tenantId: b.tenantId,
        storefrontId: b.storefronts['us-store'] ?? '',
        kind: 'host',
        value: moved,
      });
      await db
        .update(tenants)
        .set({ configVersion: sql`${tenants.configVersion} + 1` })
        .where(eq(tenants.id, b.tenantId));
    });
    await publish();
    const res = await call(moved, '/v1/storefront', { key: null });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({ tenantId: b.tenantId });
    // A keeps serving its other hosts from its last good entry.
    const eu = await call(a.hosts['eu-store'] ?? '', '/v1/storefront', { key: null });
    expect(await json(eu)).toMatchObject({ tenantId: a.tenantId });
  });

  it('a tenant that cannot be published writes nothing: its routing, hosts and snapshots stay as they were', async () => {
    const { t: a } = await tenantWithAdmin();
    await publish();
    const routingKey = KV_KEYS.tenantRouting(a.tenantId);
    const before = await env.CONFIG_KV.get(routingKey);
    const host = await env.CONFIG_KV.get(KV_KEYS.host(a.hosts['us-store'] ?? ''));
    for (let i = 0; i < 21; i++) {
      await storeLegacyFlag(a, `legacy-${i}`, sizedDefinition(30_000, `k${i}`));
    }
    await withDb((db) =>
      db
        .update(tenants)
        .set({ configVersion: sql`${tenants.configVersion} + 1` })
        .where(eq(tenants.id, a.tenantId)),
    );
    const result = await publishNow(env, a.tenantId);
    expect(result.failure).toMatchObject({ stage: 'snapshot' });
    expect(result).toMatchObject({ snapshotsWritten: 0, kvWrites: 0, hostsChanged: 0 });
    expect(await env.CONFIG_KV.get(routingKey)).toBe(before);
    expect(await env.CONFIG_KV.get(KV_KEYS.host(a.hosts['us-store'] ?? ''))).toBe(host);
  });
});
