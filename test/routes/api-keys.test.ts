import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKeys } from '../../src/db/schema';
import { createApiKey } from '../../src/services/admin/api-keys';
import {
  createTenant,
  globalcorpLikeSpec,
  publish,
  type TestTenant,
  unique,
  withDb,
} from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let admin: TestOperator;
const base = () => `/admin/v1/tenants/${t.slug}/storefronts/us-store/api-keys`;

async function until(check: () => Promise<boolean>, deadlineMs = 2000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${deadlineMs} ms`);
}

const catalogWith = (key: string, headers: Record<string, string> = {}) =>
  call(t.hosts['us-store'] ?? '', '/v1/catalog', { key, headers });

/** us-store (web), eu-store, apac-store and tv-store (channel ott). */
function specWithTvStore() {
  const u = unique();
  const spec = globalcorpLikeSpec(u);
  spec.storefronts.push({
    slug: 'tv-store',
    name: 'TV Store',
    channel: 'ott',
    currency: 'USD',
    region: 'US',
    hosts: [`tv.t${u}.test`],
  });
  return spec;
}

/** A publishable key of `storefront` limited to `channels`, straight through the service. */
function channelKey(storefront: string, channels: ('web' | 'ott')[]) {
  return withDb(async (db) => {
    const created = await createApiKey(
      db,
      {
        tenantId: t.tenantId,
        storefrontId: t.storefronts[storefront] ?? '',
        actor: { type: 'system', id: 'tests' },
        requestId: null,
        reason: 'channel test',
      },
      { kind: 'publishable', name: `${channels} only`, channels, expiresAt: null, rateLimit: null },
    );
    return created.secret;
  });
}

const keys = { ottOnUs: '', ottOnTv: '', webOnTv: '' };

beforeAll(async () => {
  t = await createTenant(specWithTvStore());
  keys.ottOnUs = await channelKey('us-store', ['ott']);
  keys.ottOnTv = await channelKey('tv-store', ['ott']);
  keys.webOnTv = await channelKey('tv-store', ['web']);
  await publish();
  admin = await createOperator(t.tenantId, 'admin');
});

describe('channel restrictions', () => {
  const on = (sf: string, key: string, headers: Record<string, string> = {}) =>
    call(t.hosts[sf] ?? '', '/v1/catalog', { key, headers });
  const TV_UA = 'Roku/DVP-12.0 (12.0.0.4182-88)';

  it('are checked against the storefront’s own channel, never what the client claims', async () => {
    // An ott-only key on a web storefront: no header, channel header or TV user agent helps.
    const claims: Record<string, string>[] = [
      {},
      { 'x-client-channel': 'ott' },
      { 'user-agent': TV_UA },
    ];
    for (const headers of claims) {
      const res = await on('us-store', keys.ottOnUs, headers);
      const problem = await expectProblem(res, 403, 'forbidden');
      expect(problem.detail).toMatch(/web channel/);
    }
    // A web-only key on the ott storefront is refused even when the client says it is web.
    await expectProblem(await on('tv-store', keys.webOnTv), 403, 'forbidden');
    await expectProblem(
      await on('tv-store', keys.webOnTv, { 'x-client-channel': 'web' }),
      403,
      'forbidden',
    );
  });

  it('a client header still chooses the response shape', async () => {
    const compact = await on('tv-store', keys.ottOnTv);
    expect(compact.status).toBe(200);
    expect(compact.headers.get('x-response-shape')).toBe('compact');
    // A browser on the TV storefront asking for the full shape: same key, same permission.
    const full = await on('tv-store', keys.ottOnTv, {
      'x-client-channel': 'web',
      'x-response-shape': 'full',
    });
    expect(full.status).toBe(200);
    expect(full.headers.get('x-response-shape')).toBe('full');
  });
});

describe('storefront API keys', () => {
  it('are shown once, listed by prefix only, and work at the edge (Bearer or X-Api-Key)', async () => {
    const res = await asOperator(admin, 'POST', base(), {
      kind: 'publishable',
      name: 'tv app',
      channels: ['web', 'ott'],
    });
    expect(res.status).toBe(201);
    const created = await json<{
      apiKey: { id: string; prefix: string; mode: string };
      secret: string;
    }>(res);
    expect(created.secret).toMatch(/^pk_live_[0-9A-Za-z]{49}$/);
    expect(created.apiKey.mode).toBe('live'); // live unless asked for test
    expect(created.secret.startsWith(created.apiKey.prefix)).toBe(true);

    const list = await asOperator(admin, 'GET', base());
    const text = await list.text();
    expect(text).toContain(created.apiKey.prefix);
    expect(text).not.toContain(created.secret);
    expect(text).not.toMatch(/"hash"/);

    // A new key reaches the edge with the next hot-config poll (about a second).
    await until(async () => (await catalogWith(created.secret)).status === 200);
    const viaHeader = await call(t.hosts['us-store'] ?? '', '/v1/catalog', {
      key: null,
      headers: { 'x-api-key': created.secret },
    });
    expect(viaHeader.status).toBe(200);
  });

  it('rotation: the new key works within a second, the old one until the overlap ends', async () => {
    const { apiKey, secret: oldKey } = await json<{ apiKey: { id: string }; secret: string }>(
      await asOperator(admin, 'POST', base(), { kind: 'secret', name: 'backend' }),
    );
    const rotated = await asOperator(admin, 'POST', `${base()}/${apiKey.id}/rotate`, {
      overlapSeconds: 3600,
      reason: 'scheduled rotation',
    });
    expect(rotated.status).toBe(201);
    const body = await json<{
      secret: string;
      previous: { expiresAt: string };
      apiKey: { id: string; rotatedFrom: string };
    }>(rotated);
    expect(body.apiKey.rotatedFrom).toBe(apiKey.id);
    expect(Date.parse(body.previous.expiresAt)).toBeGreaterThan(Date.now() + 3500_000);
    await until(async () => (await catalogWith(body.secret)).status === 200);
    expect((await catalogWith(oldKey)).status).toBe(200);

    // With no overlap the old key stops at once.
    const again = await json<{ secret: string; apiKey: { id: string } }>(
      await asOperator(admin, 'POST', `${base()}/${body.apiKey.id}/rotate`, {
        overlapSeconds: 0,
        reason: 'leaked key',
      }),
    );
    await until(async () => (await catalogWith(body.secret)).status === 401);
    await until(async () => (await catalogWith(again.secret)).status === 200);
  });

  it('revocation is refused at the edge within 2 s', async () => {
    const { apiKey, secret } = await json<{ apiKey: { id: string }; secret: string }>(
      await asOperator(admin, 'POST', base(), { kind: 'publishable', name: 'to revoke' }),
    );
    await until(async () => (await catalogWith(secret)).status === 200);
    const res = await asOperator(admin, 'POST', `${base()}/${apiKey.id}/revoke`, {
      reason: 'compromised',
    });
    expect(res.status).toBe(200);
    await until(async () => (await catalogWith(secret)).status === 401);
    const again = await asOperator(admin, 'POST', `${base()}/${apiKey.id}/revoke`, {
      reason: 'compromised',
    });
    await expectProblem(again, 409, 'conflict');
  });

  it('the audit trail of the storefront records create / rotate / revoke, never the key', async () => {
    const trail = await (
      await asOperator(
        admin,
        'GET',
        `/admin/v1/tenants/${t.slug}/audit?storefront=us-store&limit=200`,
      )
    ).text();
    for (const action of ['apikey.create', 'apikey.rotate', 'apikey.revoke'])
      expect(trail).toContain(action);
    expect(trail).not.toMatch(/[ps]k_(live|test)_[0-9A-Za-z]{49}/);
    const verify = await json<{ ok: boolean; length: number }>(
      await asOperator(
        admin,
        'GET',
        `/admin/v1/tenants/${t.slug}/audit/verify?storefront=us-store`,
      ),
    );
    expect(verify.ok).toBe(true);
    // Another storefront's trail is separate.
    const eu = await json<{ items: unknown[] }>(
      await asOperator(admin, 'GET', `/admin/v1/tenants/${t.slug}/audit?storefront=eu-store`),
    );
    expect(JSON.stringify(eu.items)).not.toContain('tv app');
  });

  it('rejects bad input', async () => {
    await expectProblem(
      await asOperator(admin, 'POST', base(), { kind: 'root', name: 'x' }),
      400,
      'validation_failed',
    );
    for (const mode of ['sandbox', 'TEST', '', true, null]) {
      const problem = await expectProblem(
        await asOperator(admin, 'POST', base(), { kind: 'secret', mode, name: 'x' }),
        400,
        'validation_failed',
      );
      expect(problem.errors, JSON.stringify(mode)).toEqual([
        expect.objectContaining({ path: 'mode' }),
      ]);
    }
    await expectProblem(
      await asOperator(admin, 'POST', base(), {
        kind: 'secret',
        name: 'x',
        expiresAt: '2001-01-01T00:00:00Z',
      }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await asOperator(admin, 'POST', `${base()}/not-an-id/revoke`, { reason: 'xyz' }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await asOperator(admin, 'POST', `${base()}/key_01AAAAAAAAAAAAAAAAAAAAAAAA/revoke`, {
        reason: 'xyz',
      }),
      404,
      'not_found',
    );
  });
});

describe('test-mode keys through the admin API', () => {
  interface KeyView {
    id: string;
    kind: string;
    mode: string;
    prefix: string;
    rotatedFrom: string | null;
  }

  it('creates a pk_test_ key whose view says mode test, listed with its mode, working at the edge', async () => {
    const res = await asOperator(admin, 'POST', base(), {
      kind: 'publishable',
      mode: 'test',
      name: 'sandbox web app',
    });
    expect(res.status).toBe(201);
    const created = await json<{ apiKey: KeyView; secret: string }>(res);
    expect(created.secret).toMatch(/^pk_test_[0-9A-Za-z]{49}$/);
    expect(created.apiKey).toMatchObject({ kind: 'publishable', mode: 'test' });
    expect(created.apiKey.prefix).toMatch(/^pk_test_/);

    const { items } = await json<{ items: KeyView[] }>(await asOperator(admin, 'GET', base()));
    expect(items.find((k) => k.id === created.apiKey.id)?.mode).toBe('test');
    expect(items.some((k) => k.mode === 'live')).toBe(true);

    // It authenticates like a live key (here on the next hot-config poll).
    await until(async () => (await catalogWith(created.secret)).status === 200);
  });

  it('rotation keeps the mode', async () => {
    const { apiKey } = await json<{ apiKey: KeyView }>(
      await asOperator(admin, 'POST', base(), { kind: 'secret', mode: 'test', name: 'sandbox' }),
    );
    const rotated = await json<{ apiKey: KeyView; secret: string; previous: KeyView }>(
      await asOperator(admin, 'POST', `${base()}/${apiKey.id}/rotate`, {
        overlapSeconds: 60,
        reason: 'scheduled rotation',
      }),
    );
    expect(rotated.secret).toMatch(/^sk_test_/);
    expect(rotated.apiKey).toMatchObject({ mode: 'test', kind: 'secret', rotatedFrom: apiKey.id });
    expect(rotated.previous.mode).toBe('test');
  });

  it('Postgres refuses a row whose mode disagrees with its key’s prefix', async () => {
    const { generateApiKey } = await import('../../src/security/api-keys');
    const { apiKeys } = await import('../../src/db/schema');
    const { newId } = await import('../../src/lib/ids');
    const g = await generateApiKey('publishable', 'live');
    const insert = withDb((db) =>
      db.insert(apiKeys).values({
        id: newId('key'),
        tenantId: t.tenantId,
        storefrontId: t.storefronts['us-store'] ?? '',
        kind: 'publishable',
        mode: 'test',
        name: 'mislabelled',
        prefix: g.prefix,
        hash: g.hash,
      }),
    );
    await expect(insert).rejects.toThrow();
  });
});

describe('Idempotency-Key on key creation', () => {
  it('the key is shown once: a replay returns the first result with secret null, and it is never stored', async () => {
    const key = `create-key-${Date.now()}`;
    const first = await asOperator(
      admin,
      'POST',
      base(),
      { kind: 'secret', name: 'idem' },
      { 'idempotency-key': key },
    );
    expect(first.status).toBe(201);
    const a = await json<{ apiKey: { id: string }; secret: string }>(first);
    expect(a.secret).toMatch(/^sk_live_/);
    const replay = await asOperator(
      admin,
      'POST',
      base(),
      { kind: 'secret', name: 'idem' },
      { 'idempotency-key': key },
    );
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const b = await json<{ apiKey: { id: string }; secret: string | null }>(replay);
    expect(b).toMatchObject({ apiKey: { id: a.apiKey.id }, secret: null });
    const stored = await withDb((db) =>
      db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)),
    );
    expect(JSON.stringify(stored)).not.toContain(a.secret);
  });

  it('a claim abandoned by a dead request is taken over after a minute', async () => {
    const key = `abandoned-${Date.now()}`;
    // What a request that died after claiming leaves behind.
    await withDb((db) =>
      db.insert(idempotencyKeys).values({
        tenantId: t.tenantId,
        principal: admin.id,
        key,
        method: 'POST',
        path: base(),
        requestHash: 'x',
        createdAt: new Date(Date.now() - 120_000),
      }),
    );
    const res = await asOperator(
      admin,
      'POST',
      base(),
      { kind: 'publishable', name: 'after crash' },
      { 'idempotency-key': key },
    );
    // The old claim was for another body: taken over only if abandoned, then compared.
    expect([201, 422]).toContain(res.status);
    const fresh = `abandoned-same-${Date.now()}`;
    await withDb(async (db) => {
      const { sha256Hex } = await import('../../src/lib/crypto');
      const body = JSON.stringify({ kind: 'publishable', name: 'after crash' });
      await db.insert(idempotencyKeys).values({
        tenantId: t.tenantId,
        principal: admin.id,
        key: fresh,
        method: 'POST',
        path: base(),
        requestHash: await sha256Hex(`POST ${base()}\n${body}`),
        createdAt: new Date(Date.now() - 120_000),
      });
    });
    const retried = await asOperator(
      admin,
      'POST',
      base(),
      { kind: 'publishable', name: 'after crash' },
      { 'idempotency-key': fresh },
    );
    expect(retried.status).toBe(201);
  });
});
