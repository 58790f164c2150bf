import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, publish, type TestTenant } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let other: TestTenant;
let op: TestOperator;
let viewer: TestOperator;

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  await publish();
  op = await createOperator(t.tenantId, 'operator');
  viewer = await createOperator(t.tenantId, 'viewer');
});

const flip = (body: Record<string, unknown>, who = op, headers: Record<string, string> = {}) =>
  asOperator(
    who,
    'POST',
    `/admin/v1/tenants/${t.slug}/killswitches`,
    { reason: 'incident drill', ...body },
    headers,
  );

/** Polls until `check` passes; returns the milliseconds it took. Fails after `deadlineMs`. */
async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${deadlineMs} ms`);
}

describe('killswitches', () => {
  it('a feature switch answers 503 problem+json with Retry-After within 2 s, and release restores', async () => {
    const host = t.hosts['us-store'] ?? '';
    expect((await call(host, '/v1/catalog')).status).toBe(200); // warm isolate
    const res = await flip({
      scope: 'feature',
      target: 'catalog',
      engaged: true,
      retryAfterSeconds: 30,
    });
    expect(res.status).toBe(200);
    const body = await json<{ killswitch: { engaged: boolean }; published: boolean }>(res);
    expect(body).toMatchObject({ killswitch: { engaged: true }, published: true });

    const tookMs = await until(async () => (await call(host, '/v1/catalog')).status === 503, 2000);
    const blocked = await call(host, '/v1/catalog');
    const problem = await expectProblem(blocked, 503, 'killswitch_engaged');
    expect(blocked.headers.get('retry-after')).toBe('30');
    expect(problem.killswitch).toEqual({ scope: 'feature', target: 'catalog' });
    expect(JSON.stringify(problem)).not.toContain('incident drill'); // operator notes stay internal
    // the storefront itself is not switched off
    expect((await call(host, '/v1/storefront')).status).toBe(200);
    console.log(`flip-to-effect: ${tookMs} ms`);

    await flip({ scope: 'feature', target: 'catalog', engaged: false });
    await until(async () => (await call(host, '/v1/catalog')).status === 200, 2000);
  });

  it('a storefront switch blocks only that storefront; a channel switch only that channel', async () => {
    await flip({ scope: 'storefront', storefront: 'eu-store', engaged: true });
    await until(
      async () => (await call(t.hosts['eu-store'] ?? '', '/v1/storefront')).status === 503,
      2000,
    );
    expect((await call(t.hosts['us-store'] ?? '', '/v1/storefront')).status).toBe(200);
    await flip({ scope: 'storefront', storefront: 'eu-store', engaged: false });

    await flip({ scope: 'channel', target: 'ott', engaged: true });
    const host = t.hosts['apac-store'] ?? '';
    await until(
      async () =>
        (await call(host, '/v1/catalog', { headers: { 'user-agent': 'Roku/DVP-12.0' } })).status ===
        503,
      2000,
    );
    expect((await call(host, '/v1/catalog')).status).toBe(200);
    await flip({ scope: 'channel', target: 'ott', engaged: false });
  });

  it('never leaks into another tenant', async () => {
    await flip({ scope: 'tenant', engaged: true });
    await until(
      async () => (await call(t.hosts['us-store'] ?? '', '/v1/storefront')).status === 503,
      2000,
    );
    expect((await call(other.hosts['us-store'] ?? '', '/v1/storefront')).status).toBe(200);
    await flip({ scope: 'tenant', engaged: false });
    await until(
      async () => (await call(t.hosts['us-store'] ?? '', '/v1/storefront')).status === 200,
      2000,
    );
  });

  it('requires a reason, a valid scope, and the right role; audits every flip', async () => {
    const noReason = await asOperator(op, 'POST', `/admin/v1/tenants/${t.slug}/killswitches`, {
      scope: 'tenant',
      engaged: true,
    });
    const p = await expectProblem(noReason, 400, 'validation_failed');
    expect(JSON.stringify(p.errors)).toContain('reason');
    await expectProblem(
      await flip({ scope: 'channel', target: 'tv', engaged: true }),
      400,
      'validation_failed',
    );
    await expectProblem(await flip({ scope: 'tenant', engaged: true }, viewer), 403, 'forbidden');
    await expectProblem(
      await asOperator(op, 'POST', `/admin/v1/tenants/${other.slug}/killswitches`, {
        scope: 'tenant',
        engaged: true,
        reason: 'nope',
      }),
      404,
      'not_found',
    );
    await expectProblem(
      await asOperator(undefined, 'GET', `/admin/v1/tenants/${t.slug}/killswitches`),
      401,
      'unauthenticated',
    );

    const trail = await json<{ items: { action: string; reason: string; actorId: string }[] }>(
      await asOperator(op, 'GET', `/admin/v1/tenants/${t.slug}/audit`),
    );
    expect(
      trail.items.filter((r) => r.action.startsWith('killswitch.')).length,
    ).toBeGreaterThanOrEqual(4);
    expect(trail.items.every((r) => r.actorId === op.id && r.reason === 'incident drill')).toBe(
      true,
    );
    const verify = await json<{ ok: boolean }>(
      await asOperator(op, 'GET', `/admin/v1/tenants/${t.slug}/audit/verify`),
    );
    expect(verify.ok).toBe(true);
  });

  it('an operator limited to one storefront may flip its switches, and only its', async () => {
    const euOnly = await createOperator(t.tenantId, 'operator', {
      storefrontIds: [t.storefronts['eu-store'] ?? ''],
    });
    const mine = await flip(
      { scope: 'feature', target: 'checkout', storefront: 'eu-store', engaged: false },
      euOnly,
    );
    expect(mine.status, await mine.clone().text()).toBe(200);
    await expectProblem(
      await flip(
        { scope: 'feature', target: 'checkout', storefront: 'us-store', engaged: false },
        euOnly,
      ),
      403,
      'forbidden',
    );
    // Tenant-wide switches need a tenant-wide grant.
    await expectProblem(await flip({ scope: 'tenant', engaged: false }, euOnly), 403, 'forbidden');
    // An unknown storefront is a 404, not a 403.
    await expectProblem(
      await flip({ scope: 'storefront', storefront: 'nope-store', engaged: false }, euOnly),
      404,
      'not_found',
    );
  });

  it('an operator limited to one storefront lists its switches and the tenant-wide ones, not another storefront’s', async () => {
    const euOnly = await createOperator(t.tenantId, 'operator', {
      storefrontIds: [t.storefronts['eu-store'] ?? ''],
    });
    for (const storefront of ['eu-store', 'us-store']) {
      const res = await flip({ scope: 'feature', target: 'signup', storefront, engaged: false });
      expect(res.status).toBe(200);
    }
    expect((await flip({ scope: 'tenant', engaged: false })).status).toBe(200);
    const list = async (who: TestOperator) => {
      const res = await asOperator(who, 'GET', `/admin/v1/tenants/${t.slug}/killswitches`);
      expect(res.status, await res.clone().text()).toBe(200);
      return (await json<{ items: { scope: string; storefrontId: string | null }[] }>(res)).items;
    };
    const scoped = await list(euOnly);
    expect(scoped.some((k) => k.storefrontId === t.storefronts['eu-store'])).toBe(true);
    expect(scoped.some((k) => k.storefrontId === t.storefronts['us-store'])).toBe(false);
    expect(scoped.some((k) => k.scope === 'tenant')).toBe(true);
    const everyone = await list(op);
    expect(everyone.some((k) => k.storefrontId === t.storefronts['us-store'])).toBe(true);
  });

  it('an Idempotency-Key replay returns the first result and does not flip twice', async () => {
    const key = `ks-${Date.now()}-abcdef`;
    const first = await flip({ scope: 'feature', target: 'signup', engaged: true }, op, {
      'idempotency-key': key,
    });
    const again = await flip({ scope: 'feature', target: 'signup', engaged: true }, op, {
      'idempotency-key': key,
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(again)).toEqual(await json(first));
    const different = await flip({ scope: 'feature', target: 'signup', engaged: false }, op, {
      'idempotency-key': key,
    });
    await expectProblem(different, 422, 'idempotency_key_reused');
  });
});
