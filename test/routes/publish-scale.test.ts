/**
 * Publishing that scales (issue 10): a change publishes its tenant only, routing has no global
 * table, API keys are looked up by hash. Each test tries what must not happen, through the
 * worker, against real KV, Durable Objects and Postgres.
 */
import { env } from 'cloudflare:test';
import { and, eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, storefrontRoutes, tenants } from '../../src/db/schema';
import { hosts } from '../../src/edge/directory';
import { apiKeyStore } from '../../src/edge/key-store';
import { KV_KEYS } from '../../src/edge/snapshot';
import { newId } from '../../src/lib/ids';
import { publishNow } from '../../src/routes/admin/support';
import { generateApiKey } from '../../src/security/api-keys';
import { SNAPSHOT_TTL_SECONDS } from '../../src/services/publish/publish';
import { createTenant, publish, type TestTenant, unique, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < deadlineMs) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${deadlineMs} ms`);
}

/** Every key and value in this test file's KV. */
async function kvDump(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await env.CONFIG_KV.list(cursor ? { cursor } : {});
    for (const k of page.keys) out.set(k.name, (await env.CONFIG_KV.get(k.name)) ?? '');
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

/** Keys whose value changed, appeared or disappeared between two dumps. */
function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

/** Whether a KV key is part of tenant `t`'s published config. */
function belongsTo(t: TestTenant, key: string): boolean {
  const sfs = Object.values(t.storefronts);
  const hostsOf = [...Object.values(t.hosts), t.sharedHost];
  return (
    key === KV_KEYS.tenantRouting(t.tenantId) ||
    sfs.some((sf) => key.startsWith(`snapshot/${sf}/`)) ||
    hostsOf.some((h) => key === KV_KEYS.host(h))
  );
}

async function hotVersion(t: TestTenant): Promise<number> {
  const stub = env.TENANT_CONFIG.get(env.TENANT_CONFIG.idFromName(t.tenantId));
  return ((await stub.read(-1)) as { version: number }).version;
}

let a: TestTenant;
let b: TestTenant;
let adminA: TestOperator;

beforeAll(async () => {
  a = await createTenant();
  b = await createTenant();
  adminA = await createOperator(a.tenantId, 'admin');
  await publish();
});

describe('a change publishes its tenant only', () => {
  it('a killswitch flip in tenant A writes nothing of tenant B, and at most A’s storefronts + 1 keys', async () => {
    const before = await kvDump();
    const bHot = await hotVersion(b);
    const bPublisher = await env.PUBLISHER.get(env.PUBLISHER.idFromName(b.tenantId)).inspect();
    const flip = await asOperator(adminA, 'POST', `/admin/v1/tenants/${a.slug}/killswitches`, {
      scope: 'tenant',
      target: '',
      engaged: true,
      reason: 'isolation drill',
    });
    expect(flip.status, await flip.clone().text()).toBe(200);
    await until(
      async () => (await call(a.hosts['us-store'] ?? '', '/v1/catalog')).status === 503,
      3000,
    );
    // B still serves.
    expect((await call(b.hosts['us-store'] ?? '', '/v1/catalog')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200)); // a deferred routing write lands too
    const diff = changed(before, await kvDump());
    expect(diff.length).toBeGreaterThan(0);
    expect(diff.filter((k) => !belongsTo(a, k))).toEqual([]);
    expect(diff.length).toBeLessThanOrEqual(Object.keys(a.storefronts).length + 1);
    expect(await hotVersion(b)).toBe(bHot);
    expect(await env.PUBLISHER.get(env.PUBLISHER.idFromName(b.tenantId)).inspect()).toEqual(
      bPublisher,
    );
    const release = await asOperator(adminA, 'POST', `/admin/v1/tenants/${a.slug}/killswitches`, {
      scope: 'tenant',
      target: '',
      engaged: false,
      reason: 'isolation drill over',
    });
    expect(release.status).toBe(200);
    await until(
      async () => (await call(a.hosts['us-store'] ?? '', '/v1/catalog')).status === 200,
      3000,
    );
  });

  it('a storefront-scoped flip rewrites that storefront’s snapshot only; the others keep their version', async () => {
    const sf = a.storefronts['eu-store'] ?? '';
    const before = await kvDump();
    const res = await asOperator(adminA, 'POST', `/admin/v1/tenants/${a.slug}/killswitches`, {
      scope: 'storefront',
      target: '',
      storefront: 'eu-store',
      engaged: true,
      reason: 'one storefront only',
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await until(
      async () => (await call(a.hosts['eu-store'] ?? '', '/v1/catalog')).status === 503,
      3000,
    );
    expect((await call(a.hosts['us-store'] ?? '', '/v1/catalog')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    const snapshots = changed(before, await kvDump()).filter((k) => k.startsWith('snapshot/'));
    expect(snapshots.map((k) => k.split('/')[1])).toEqual([sf]);
    const back = await asOperator(adminA, 'POST', `/admin/v1/tenants/${a.slug}/killswitches`, {
      scope: 'storefront',
      target: '',
      storefront: 'eu-store',
      engaged: false,
      reason: 'back on',
    });
    expect(back.status).toBe(200);
    await until(
      async () => (await call(a.hosts['eu-store'] ?? '', '/v1/catalog')).status === 200,
      3000,
    );
  });

  it('snapshots are written with a TTL, so superseded versions expire without a write', async () => {
    const page = await env.CONFIG_KV.list({ prefix: `snapshot/${a.storefronts['us-store']}/` });
    expect(page.keys.length).toBeGreaterThan(0);
    const now = Date.now() / 1000;
    for (const k of page.keys) {
      expect(k.expiration).toBeGreaterThan(now);
      expect(k.expiration).toBeLessThanOrEqual(now + SNAPSHOT_TTL_SECONDS + 5);
    }
  });
});

describe('routing without a global table', () => {
  it('B’s routing is unchanged when A adds or removes a host; the host resolves, then is a 404', async () => {
    const newHost = `extra.${unique()}.test`;
    const bEntries = async () =>
      Promise.all([
        env.CONFIG_KV.get(KV_KEYS.tenantRouting(b.tenantId)),
        ...[...Object.values(b.hosts), b.sharedHost].map((h) => env.CONFIG_KV.get(KV_KEYS.host(h))),
      ]);
    const before = await bEntries();
    const bump = (db: Parameters<Parameters<typeof withDb>[0]>[0]) =>
      db
        .update(tenants)
        .set({ configVersion: sql`${tenants.configVersion} + 1` })
        .where(eq(tenants.id, a.tenantId));
    await withDb(async (db) => {
      await db.insert(storefrontRoutes).values({
        id: newId('rt'),
        tenantId: a.tenantId,
        storefrontId: a.storefronts['apac-store'] ?? '',
        kind: 'host',
        value: newHost,
      });
      await bump(db);
    });
    const added = await publishNow(env, a.tenantId);
    expect(added).toMatchObject({ hostsChanged: 1 });
    const sf = await json<{ slug: string; tenantId: string }>(
      await call(newHost, '/v1/storefront', { key: null }),
    );
    expect(sf).toMatchObject({ slug: 'apac-store', tenantId: a.tenantId });
    expect(await bEntries()).toEqual(before);

    await withDb(async (db) => {
      await db
        .delete(storefrontRoutes)
        .where(and(eq(storefrontRoutes.tenantId, a.tenantId), eq(storefrontRoutes.value, newHost)));
      await bump(db);
    });
    const removed = await publishNow(env, a.tenantId);
    expect(removed).toMatchObject({ hostsChanged: 1 });
    expect(await env.CONFIG_KV.get(KV_KEYS.host(newHost))).toBeNull();
    // This isolate learns it from the directory's recent changes within a second or so.
    await until(
      async () => (await call(newHost, '/v1/storefront', { key: null })).status === 404,
      3000,
    );
    expect(await bEntries()).toEqual(before);
    // A publish that changes no host does not touch the directory at all.
    expect(await publishNow(env, a.tenantId)).toMatchObject({ hostsChanged: 0 });
  });

  it('an unknown host is a 404 without a KV read once negatively cached', async () => {
    const host = `nobody-${unique()}.test`;
    await expectProblem(await call(host, '/v1/catalog', { key: null }), 404, 'unknown_host');
    const reads = hosts.kvReads;
    for (let i = 0; i < 20; i++) {
      await expectProblem(await call(host, '/v1/catalog', { key: null }), 404, 'unknown_host');
    }
    expect(hosts.kvReads).toBe(reads);
  });
});

describe('API keys by hash lookup', () => {
  it('a revoked key among 10,000 is refused within 2 s; its neighbours keep working', async () => {
    const c = await createTenant();
    const admin = await createOperator(c.tenantId, 'admin');
    const sf = c.storefronts['us-store'] ?? '';
    const made: { id: string; key: string }[] = [];
    const t0 = Date.now();
    await withDb(async (db) => {
      for (let chunk = 0; chunk < 10; chunk++) {
        const rows = [];
        for (let i = 0; i < 1000; i++) {
          const g = await generateApiKey('publishable');
          const id = newId('key');
          made.push({ id, key: g.key });
          rows.push({
            id,
            tenantId: c.tenantId,
            storefrontId: sf,
            kind: 'publishable' as const,
            name: `reseller ${chunk * 1000 + i}`,
            prefix: g.prefix,
            hash: g.hash,
          });
        }
        await db.insert(apiKeys).values(rows);
      }
      await db
        .update(tenants)
        .set({ configVersion: sql`${tenants.configVersion} + 1` })
        .where(eq(tenants.id, c.tenantId));
    });
    // The import publishes in rounds of at most 1,000 key entries: the publisher's alarm runs
    // the next round on its own; here each call also publishes (whichever comes first).
    const t1 = Date.now();
    let published = await publishNow(env, c.tenantId);
    while (published.keysPending > 0) {
      expect(published.keysWritten).toBeLessThanOrEqual(1000);
      published = await publishNow(env, c.tenantId);
    }
    console.log(`10,000 new keys published in ${Date.now() - t1} ms (made in ${t1 - t0} ms)`);
    const pending = await withDb(async (db) =>
      db
        .select({ n: sql<number>`count(*)::int` })
        .from(apiKeys)
        .where(and(eq(apiKeys.tenantId, c.tenantId), eq(apiKeys.edgeSynced, false))),
    );
    expect(pending[0]?.n).toBe(0);
    for (const k of [made[0], made[4_999], made[9_999]] as { key: string }[]) {
      expect(await env.CONFIG_KV.get(KV_KEYS.apiKey(await sha(k.key)))).not.toBeNull();
    }
    // The snapshot does not carry keys: it is as small as with two.
    const snap = await env.CONFIG_KV.get(KV_KEYS.snapshot(sf, published.version));
    expect(snap).not.toBeNull();
    expect(snap ?? '').not.toContain((made[0] as { key: string }).key.slice(0, 12));
    expect((snap ?? '').length).toBeLessThan(20_000);
    // A further publish writes no key again.
    expect(await publishNow(env, c.tenantId)).toMatchObject({ keysWritten: 0, keysPending: 0 });

    const host = c.hosts['us-store'] ?? '';
    const victim = made[5_000] as { id: string; key: string };
    const neighbour = made[5_001] as { id: string; key: string };
    expect((await call(host, '/v1/catalog', { key: victim.key })).status).toBe(200);
    expect((await call(host, '/v1/catalog', { key: neighbour.key })).status).toBe(200);
    expect(apiKeyStore.sizes().known).toBeGreaterThanOrEqual(2); // held by this isolate now
    const revoke = await asOperator(
      admin,
      'POST',
      `/admin/v1/tenants/${c.slug}/storefronts/us-store/api-keys/${victim.id}/revoke`,
      { reason: 'reseller contract ended' },
    );
    expect(revoke.status, await revoke.clone().text()).toBe(200);
    // Refused though this isolate still holds the key's entry: the hot config's revoked list.
    const ms = await until(
      async () => (await call(host, '/v1/catalog', { key: victim.key })).status === 401,
      2000,
    );
    console.log(`revoked key refused after ${ms} ms`);
    expect(await env.CONFIG_KV.get(KV_KEYS.apiKey(await sha(victim.key)))).toBeNull();
    expect((await call(host, '/v1/catalog', { key: neighbour.key })).status).toBe(200);
    // Another tenant's storefront never accepts it (nor any of C's keys).
    await expectProblem(
      await call(b.hosts['us-store'] ?? '', '/v1/catalog', { key: neighbour.key }),
      401,
      'unauthenticated',
    );
  }, 120_000);
});

async function sha(key: string): Promise<string> {
  const { hashApiKey } = await import('../../src/security/api-keys');
  return hashApiKey(key);
}
