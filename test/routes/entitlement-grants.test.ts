/**
 * Complimentary grants by operators through the worker: a grant is live for the customer at
 * once (its id in `source`), unions with what a paid subscription grants, lapses at its expiry
 * (judged at read time) and on a revoke; RBAC, tenancy, input rules, Idempotency-Key replays,
 * the audit rows, and the repair of a grant recorded but not delivered.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { entitlementsObjectName } from '../../src/contracts/customer-entitlements';
import { auditLog, entitlementGrants } from '../../src/db/schema';
import { forgetViews } from '../../src/edge/entitlement-views';
import { grantEntitlement } from '../../src/services/entitlement-grants/grants';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';
import { buyerEmail, type Shop, subscribe, tokenize } from '../helpers/subscriptions';

interface Grant {
  id: string;
  customerId: string;
  mode: string;
  key: string;
  type: string;
  value: Record<string, unknown>;
  expiresAt: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
  deliveredAt: string | null;
}
interface Entitlement {
  key: string;
  active: boolean;
  source: string[];
  quota?: { limit: number; used: number; remaining: number };
  tier?: { level: string; detail: string | null };
  enabled?: boolean;
}

let t: TestTenant;
let other: TestTenant;
let shop: Shop;
let operator: TestOperator;
let viewer: TestOperator;
let euOperator: TestOperator;

const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
const path = (customer: string, tenant = t.slug, sf = 'us-store') =>
  `/admin/v1/tenants/${tenant}/storefronts/${sf}/customers/${customer}/entitlement-grants`;

beforeAll(async () => {
  t = await createTenant();
  other = await createTenant();
  await publish();
  shop = {
    host: t.hosts['us-store'] ?? '',
    sk: t.keys['us-store']?.secret ?? '',
    pk: t.keys['us-store']?.publishable ?? '',
    tenantId: t.tenantId,
  };
  operator = await createOperator(t.tenantId, 'operator');
  viewer = await createOperator(t.tenantId, 'viewer');
  euOperator = await createOperator(t.tenantId, 'operator', {
    storefrontIds: [t.storefronts['eu-store'] ?? ''],
  });
});

/** A new customer of us-store (in Postgres), with their own token (test mode). */
async function newCustomer(email = buyerEmail()): Promise<{ id: string; token: string }> {
  const created = await call(shop.host, '/v1/customers', {
    method: 'POST',
    key: shop.sk,
    body: { email },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { customer } = await json<{ customer: { id: string } }>(created);
  const issued = await call(shop.host, `/v1/customers/${customer.id}/tokens`, {
    method: 'POST',
    key: shop.sk,
  });
  expect(issued.status).toBe(201);
  await publish(); // the tenant's first signing key reaches the edge
  return { id: customer.id, token: (await json<{ token: string }>(issued)).token };
}

function grant(
  customerId: string,
  body: Record<string, unknown>,
  op: TestOperator = operator,
  headers: Record<string, string> = {},
) {
  return asOperator(
    op,
    'POST',
    path(customerId),
    { mode: 'test', expiresAt: inDays(30), reason: 'service outage credit', ...body },
    headers,
  );
}

async function granted(customerId: string, body: Record<string, unknown>): Promise<Grant> {
  const res = await grant(customerId, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ grant: Grant }>(res)).grant;
}

async function entitlements(token: string): Promise<Map<string, Entitlement>> {
  const res = await call(shop.host, '/v1/entitlements', { key: token });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = await json<{ entitlements: Entitlement[] }>(res);
  return new Map(body.entitlements.map((e) => [e.key, e]));
}

async function check(customerId: string, key: string) {
  const res = await call(shop.host, '/v1/entitlements/check', {
    method: 'POST',
    key: shop.sk,
    body: { customerId, key },
  });
  expect(res.status).toBe(200);
  return json<{ allowed: boolean; reason: string; entitlement: Entitlement | null }>(res);
}

const objectOf = (customerId: string) =>
  env.CUSTOMER_ENTITLEMENTS.get(
    env.CUSTOMER_ENTITLEMENTS.idFromName(
      entitlementsObjectName({
        tenantId: t.tenantId,
        storefrontId: t.storefronts['us-store'] ?? '',
        mode: 'test',
        customerId,
      }),
    ),
  );

describe('a grant', () => {
  it('is live at once for the customer: its id in source, the check allows', async () => {
    const customer = await newCustomer();
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(false);
    const g = await granted(customer.id, { key: 'analytics_dashboard' });
    expect(g).toMatchObject({
      id: expect.stringMatching(/^comp_[0-9A-Z]{26}$/),
      customerId: customer.id,
      mode: 'test',
      key: 'analytics_dashboard',
      type: 'feature',
      value: { enabled: true }, // the default of a feature
      reason: 'service outage credit',
      createdBy: operator.id,
      revokedAt: null,
    });
    expect(g.deliveredAt).not.toBeNull();
    const dash = (await entitlements(customer.token)).get('analytics_dashboard');
    expect(dash).toMatchObject({ active: true, enabled: true, source: [g.id] });
    expect(await check(customer.id, 'analytics_dashboard')).toMatchObject({
      allowed: true,
      reason: 'active',
    });
    // Live mode is another customer's object: nothing there.
    const live = await asOperator(operator, 'GET', `${path(customer.id)}?mode=live`);
    expect((await json<{ items: unknown[] }>(live)).items).toEqual([]);
  });

  it('a tier grant needs a declared level; the highest declared level wins over the spelling', async () => {
    const customer = await newCustomer();
    const g = await granted(customer.id, {
      key: 'support',
      value: { level: 'dedicated', detail: 'named engineer' },
    });
    // 'dedicated' sorts before 'email' by code point; the definition ranks it highest.
    await granted(customer.id, { key: 'support', value: { level: 'email' } });
    const support = (await entitlements(customer.token)).get('support');
    expect(support?.tier).toEqual({ level: 'dedicated', detail: 'named engineer' });
    expect(support?.source).toContain(g.id);
  });

  it('beside a paid subscription: quota limits add, both are sources', async () => {
    const email = buyerEmail();
    const customer = await newCustomer(email);
    const sub = await subscribe(shop, {
      bundleId: 'pro-plan',
      customer: { email },
      paymentMethodId: await tokenize(shop),
    });
    expect(sub.customerId).toBe(customer.id);
    const g = await granted(customer.id, {
      key: 'api_access',
      value: { limit: 500, period: 'month' },
    });
    const api = (await check(customer.id, 'api_access')).entitlement;
    expect(api?.quota).toMatchObject({ limit: 10_500, used: 0, remaining: 10_500 });
    expect(api?.source.sort()).toEqual([g.id, sub.id].sort());
    // Consumes spend the union.
    const spent = await call(shop.host, '/v1/entitlements/api_access/consume', {
      method: 'POST',
      key: customer.token,
      body: { quantity: 10_200 },
    });
    expect(spent.status, await spent.clone().text()).toBe(200);
    expect((await json<{ remaining: number }>(spent)).remaining).toBe(300);
    // Revoking the comp leaves the subscription's grant.
    const revoked = await asOperator(operator, 'DELETE', `${path(customer.id)}/${g.id}`, {
      reason: 'goodwill period over',
    });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    const after = (await check(customer.id, 'api_access')).entitlement;
    expect(after?.quota?.limit).toBe(10_000);
    expect(after?.source).toEqual([sub.id]);
  });

  it('lapses at its expiry, judged when read', async () => {
    const customer = await newCustomer();
    const g = await granted(customer.id, { key: 'integrations', value: { count: 2 } });
    expect(await check(customer.id, 'integrations')).toMatchObject({ allowed: true });
    // Its whole life moved a day into the past, so it expired a second ago: no alarm, no
    // delivery, the next read judges it.
    await runInDurableObject(objectOf(customer.id), (_i, state) => {
      const now = Math.floor(Date.now() / 1000);
      state.storage.sql.exec(
        'update comps set created_at = ?, expires_at = ? where id = ?',
        now - 86_400,
        now - 1,
        g.id,
      );
    });
    forgetViews(); // a day has passed for the edge too: nothing it read before is held
    const lapsed = await check(customer.id, 'integrations');
    expect(lapsed).toMatchObject({ allowed: false, reason: 'inactive' });
    expect(lapsed.entitlement?.source).toEqual([g.id]);
  });
});

describe('revoke', () => {
  it('removes it now; the list shows it revoked; a second revoke records nothing', async () => {
    const customer = await newCustomer();
    const g = await granted(customer.id, { key: 'analytics_dashboard' });
    const res = await asOperator(operator, 'DELETE', `${path(customer.id)}/${g.id}`, {
      reason: 'granted by mistake',
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const revoked = (await json<{ grant: Grant }>(res)).grant;
    expect(revoked.revokedAt).not.toBeNull();
    expect(revoked.revokeReason).toBe('granted by mistake');
    expect(await check(customer.id, 'analytics_dashboard')).toMatchObject({
      allowed: false,
      reason: 'inactive',
    });
    const again = await asOperator(operator, 'DELETE', `${path(customer.id)}/${g.id}`, {
      reason: 'once more',
    });
    expect(again.status).toBe(200);
    expect((await json<{ grant: Grant }>(again)).grant.revokedAt).toBe(revoked.revokedAt);
    // Newest first: a later grant lists before the revoked one.
    const later = await granted(customer.id, { key: 'integrations', value: { count: 1 } });
    const list = await json<{ items: Grant[] }>(await asOperator(viewer, 'GET', path(customer.id)));
    expect(list.items.map((i) => i.id)).toEqual([later.id, g.id]);
    expect(list.items[1]?.revokedAt).toBe(revoked.revokedAt);
    // One audit row per change, in the storefront's chain, with the reason.
    const rows = await withDb((db) =>
      db.select().from(auditLog).where(eq(auditLog.targetId, g.id)),
    );
    expect(rows.map((r) => [r.action, r.reason, r.actorId, r.storefrontId]).sort()).toEqual(
      [
        ['entitlement.grant', 'service outage credit', operator.id, t.storefronts['us-store']],
        ['entitlement.revoke', 'granted by mistake', operator.id, t.storefronts['us-store']],
      ].sort(),
    );
    const bad = await asOperator(operator, 'DELETE', `${path(customer.id)}/${g.id}`, {});
    await expectProblem(bad, 400, 'validation_failed');
    const unknown = await asOperator(
      operator,
      'DELETE',
      `${path(customer.id)}/comp_01AAAAAAAAAAAAAAAAAAAAAAAA`,
      { reason: 'no such grant' },
    );
    await expectProblem(unknown, 404, 'not_found');
  });
});

describe('tokens and events', () => {
  it('a grant is an event (cause grant) and in the next token; its revoke revokes older tokens', async () => {
    const customer = await newCustomer();
    const g = await granted(customer.id, { key: 'analytics_dashboard' });
    const read = await call(shop.host, '/v1/entitlements', { key: customer.token });
    const { token } = await json<{ token: string }>(read);
    const checkToken = () =>
      call(shop.host, '/v1/entitlements/check?key=analytics_dashboard', { key: token });
    const ok = await json<{ allowed: boolean; entitlement: { validUntil: string } }>(
      await checkToken(),
    );
    expect(ok.allowed).toBe(true);
    // A comp lasts until its expiry (tokens carry whole seconds).
    expect(Date.parse(ok.entitlement.validUntil)).toBe(
      Math.floor(Date.parse(g.expiresAt) / 1000) * 1000,
    );
    const res = await asOperator(operator, 'DELETE', `${path(customer.id)}/${g.id}`, {
      reason: 'granted by mistake',
    });
    expect(res.status).toBe(200);
    await vi.waitFor(async () => expect((await checkToken()).status).toBe(401), {
      timeout: 5_000,
      interval: 100,
    });
    const evts = await call(shop.host, '/v1/entitlements/events', { key: customer.token });
    const { events } = await json<{
      events: {
        version: number;
        cause: { kind: string; grantId?: string };
        added: string[];
        removed: string[];
      }[];
    }>(evts);
    expect(
      events.map((e) => [e.version, e.cause.kind, e.cause.grantId, e.added, e.removed]),
    ).toEqual([
      [1, 'grant', g.id, ['analytics_dashboard'], []],
      [2, 'grant', g.id, [], ['analytics_dashboard']],
    ]);
  });
});

describe('who may', () => {
  it('a viewer reads but cannot grant; an operator of another storefront cannot; another tenant’s customer is a 404', async () => {
    const customer = await newCustomer();
    await expectProblem(
      await grant(customer.id, { key: 'analytics_dashboard' }, viewer),
      403,
      'forbidden',
    );
    expect((await asOperator(viewer, 'GET', path(customer.id))).status).toBe(200);
    await expectProblem(
      await grant(customer.id, { key: 'analytics_dashboard' }, euOperator),
      403,
      'forbidden',
    );
    await expectProblem(await asOperator(euOperator, 'GET', path(customer.id)), 403, 'forbidden');
    // The customer is us-store's: named under eu-store (where this operator may act) → 404.
    const eu = await asOperator(euOperator, 'POST', path(customer.id, t.slug, 'eu-store'), {
      key: 'analytics_dashboard',
      mode: 'test',
      expiresAt: inDays(1),
      reason: 'wrong shop',
    });
    await expectProblem(eu, 404, 'not_found');
    // Another tenant's customer id under this tenant: as if it did not exist.
    const foreign = await call(other.hosts['us-store'] ?? '', '/v1/customers', {
      method: 'POST',
      key: other.keys['us-store']?.secret ?? '',
      body: { email: buyerEmail() },
    });
    const foreignId = (await json<{ customer: { id: string } }>(foreign)).customer.id;
    await expectProblem(await grant(foreignId, { key: 'analytics_dashboard' }), 404, 'not_found');
    await expectProblem(await asOperator(operator, 'GET', path(foreignId)), 404, 'not_found');
    // …nor through the other tenant's path (no grant there).
    await expectProblem(
      await asOperator(operator, 'GET', path(foreignId, other.slug)),
      404,
      'not_found',
    );
    expect(
      await withDb((db) =>
        db.select().from(entitlementGrants).where(eq(entitlementGrants.customerId, foreignId)),
      ),
    ).toEqual([]);
  });
});

describe('input', () => {
  it('bad grants are 400 problems naming the field, and nothing is written', async () => {
    const customer = await newCustomer();
    const cases: [Record<string, unknown>, string][] = [
      [{ key: 'no_such_thing' }, 'key'],
      [{ key: 'support', value: { level: 'platinum' } }, 'value.level'],
      [{ key: 'support' }, 'value'],
      [{ key: 'api_access' }, 'value'],
      [{ key: 'api_access', value: { limit: 0, period: 'month' } }, 'value.limit'],
      [{ key: 'api_access', value: { limit: 5, period: 'fortnight' } }, 'value.period'],
      [
        { key: 'analytics_dashboard', expiresAt: new Date(Date.now() - 1000).toISOString() },
        'expiresAt',
      ],
      [{ key: 'analytics_dashboard', expiresAt: inDays(5 * 366 + 2) }, 'expiresAt'],
      [{ key: 'analytics_dashboard', expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ key: 'analytics_dashboard', reason: undefined }, 'reason'],
      [{ key: 'analytics_dashboard', reason: 'x' }, 'reason'],
      [{ key: 'analytics_dashboard', reason: 'r'.repeat(501) }, 'reason'],
      [{ key: 'analytics_dashboard', mode: 'staging' }, 'mode'],
      [{ key: 'analytics_dashboard', extra: true }, ''],
      [{ key: 'Bad Key' }, 'key'],
      [{ key: 'support', value: { level: 'email\u0000' } }, 'value.level'],
      [{ key: 'support', value: { level: 'email', detail: 'd'.repeat(201) } }, 'value.detail'],
      [
        {
          key: 'api_access',
          value: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`m${'a'.repeat(i)}`, 1])),
        },
        'value',
      ],
      [{ key: 'api_access', value: { limit: { nested: 1 }, period: 'month' } }, 'value.limit'],
    ];
    for (const [body, field] of cases) {
      const res = await grant(customer.id, body);
      const problem = await expectProblem(res, 400, 'validation_failed');
      const errors = (problem.errors ?? []) as { path: string }[];
      if (field) expect(errors.map((e) => e.path).join(' '), JSON.stringify(body)).toContain(field);
    }
    const bad = await asOperator(operator, 'POST', path('cus_nope'), {
      key: 'analytics_dashboard',
      expiresAt: inDays(1),
      reason: 'bad customer id',
    });
    await expectProblem(bad, 400, 'validation_failed');
    const unknown = await grant('cus_01AAAAAAAAAAAAAAAAAAAAAAAA', { key: 'analytics_dashboard' });
    await expectProblem(unknown, 404, 'not_found');
    expect(
      await withDb((db) =>
        db.select().from(entitlementGrants).where(eq(entitlementGrants.customerId, customer.id)),
      ),
    ).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  it('a replay answers the first grant and grants nothing more; another body is a 422', async () => {
    const customer = await newCustomer();
    const headers = { 'idempotency-key': `grant-${customer.id}` };
    // The same body each time (a new expiry would be another request).
    const body = {
      key: 'api_access',
      value: { limit: 100, period: 'month' },
      expiresAt: inDays(9),
    };
    const first = await grant(customer.id, body, operator, headers);
    expect(first.status).toBe(201);
    const g = (await json<{ grant: Grant }>(first)).grant;
    const again = await grant(customer.id, body, operator, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json<{ grant: Grant }>(again)).grant.id).toBe(g.id);
    expect((await check(customer.id, 'api_access')).entitlement?.quota?.limit).toBe(100);
    const other = await grant(
      customer.id,
      { ...body, value: { limit: 200, period: 'month' } },
      operator,
      headers,
    );
    await expectProblem(other, 422, 'idempotency_key_reused');
    const rows = await withDb((db) =>
      db.select().from(entitlementGrants).where(eq(entitlementGrants.customerId, customer.id)),
    );
    expect(rows.map((r) => r.id)).toEqual([g.id]);
  });

  it('the object unreachable: 503 naming the recorded grant; the retry with the same key makes that grant live, and a revoke is repaired the same way', async () => {
    const customer = await newCustomer();
    const stub = objectOf(customer.id);
    const proto = await runInDurableObject(
      stub,
      (instance: object) => Object.getPrototypeOf(instance) as { putComps: unknown },
    );
    const real = proto.putComps;
    const headers = { 'idempotency-key': `grant-down-${customer.id}` };
    const body = { key: 'analytics_dashboard', expiresAt: inDays(3) };
    proto.putComps = async () => {
      throw new Error('entitlements unavailable');
    };
    let failed: Response;
    try {
      failed = await grant(customer.id, body, operator, headers);
    } finally {
      proto.putComps = real;
    }
    const problem = await expectProblem(failed, 503, 'unavailable');
    expect(problem.code).toBe('grant_not_delivered');
    const [row] = await withDb((db) =>
      db.select().from(entitlementGrants).where(eq(entitlementGrants.customerId, customer.id)),
    );
    expect(row?.deliveredAt).toBeNull();
    expect(String(problem.detail)).toContain(row?.id ?? '?');
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(false);
    const retry = await grant(customer.id, body, operator, headers);
    expect(retry.status, await retry.clone().text()).toBe(201);
    expect((await json<{ grant: Grant }>(retry)).grant.id).toBe(row?.id);
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(true);
    // A revoke that does not reach the object: recorded, and delivered by its retry.
    proto.putComps = async () => {
      throw new Error('entitlements unavailable');
    };
    let revokeFailed: Response;
    try {
      revokeFailed = await asOperator(operator, 'DELETE', `${path(customer.id)}/${row?.id}`, {
        reason: 'ended early',
      });
    } finally {
      proto.putComps = real;
    }
    await expectProblem(revokeFailed, 503, 'unavailable');
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(true); // not yet
    const again = await asOperator(operator, 'DELETE', `${path(customer.id)}/${row?.id}`, {
      reason: 'ended early',
    });
    expect(again.status).toBe(200);
    expect((await json<{ grant: Grant }>(again)).grant.deliveredAt).not.toBeNull();
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(false);
    const audits = await withDb((db) =>
      db
        .select()
        .from(auditLog)
        .where(eq(auditLog.targetId, row?.id ?? '')),
    );
    expect(audits.map((a) => a.action).sort()).toEqual(['entitlement.grant', 'entitlement.revoke']);
  });

  it('a grant recorded but not delivered is delivered by a retry with the same key', async () => {
    const customer = await newCustomer();
    const key = `grant-repair-${customer.id}`;
    const expiresAt = inDays(10);
    const ctx = {
      tenantId: t.tenantId,
      storefrontId: t.storefronts['us-store'] ?? '',
      actor: { type: 'operator' as const, id: operator.id },
      requestId: null,
    };
    // The object cannot be reached: Postgres has the grant (and its audit row), the customer
    // not yet, and the caller is told so.
    const failed = await withDb((db) =>
      grantEntitlement(db, () => Promise.reject(new Error('object unreachable')), ctx, {
        customerId: customer.id,
        mode: 'test',
        key: 'analytics_dashboard',
        expiresAt: new Date(expiresAt),
        reason: 'service outage credit',
        requestKey: key,
      }).then(
        () => null,
        (err: unknown) => err,
      ),
    );
    expect(failed).toMatchObject({ kind: 'unavailable', code: 'grant_not_delivered' });
    const [row] = await withDb((db) =>
      db
        .select()
        .from(entitlementGrants)
        .where(and(eq(entitlementGrants.customerId, customer.id))),
    );
    expect(row?.deliveredAt).toBeNull();
    expect((await check(customer.id, 'analytics_dashboard')).allowed).toBe(false);
    // The caller retries the same request with its key: the same grant, now live.
    const retry = await grant(customer.id, { key: 'analytics_dashboard', expiresAt }, operator, {
      'idempotency-key': key,
    });
    expect(retry.status, await retry.clone().text()).toBe(201);
    const g = (await json<{ grant: Grant }>(retry)).grant;
    expect(g.id).toBe(row?.id);
    expect(g.deliveredAt).not.toBeNull();
    expect(await check(customer.id, 'analytics_dashboard')).toMatchObject({ allowed: true });
    const audits = await withDb((db) =>
      db.select().from(auditLog).where(eq(auditLog.targetId, g.id)),
    );
    expect(audits.map((a) => a.action)).toEqual(['entitlement.grant']);
  });
});

describe('bounds', () => {
  it('at most 50 standing grants per customer and mode; a revoked one no longer counts', async () => {
    const customer = await newCustomer();
    const ctx = {
      tenantId: t.tenantId,
      storefrontId: t.storefronts['us-store'] ?? '',
      actor: { type: 'operator' as const, id: operator.id },
      requestId: null,
    };
    const ids = await withDb(async (db) => {
      const out: string[] = [];
      for (let i = 0; i < 50; i++) {
        const { grant: g } = await grantEntitlement(db, () => Promise.resolve(), ctx, {
          customerId: customer.id,
          mode: 'test',
          key: 'integrations',
          value: { count: 1 },
          expiresAt: new Date(Date.now() + 86_400_000),
          reason: `bound ${i}`,
          requestKey: null,
        });
        out.push(g.id);
      }
      return out;
    });
    const over = await grant(customer.id, { key: 'integrations', value: { count: 1 } });
    const problem = await expectProblem(over, 409, 'conflict');
    expect(problem.code).toBe('too_many_grants');
    // Live mode is counted apart.
    expect(
      (await grant(customer.id, { key: 'integrations', value: { count: 1 }, mode: 'live' })).status,
    ).toBe(201);
    const revoked = await asOperator(operator, 'DELETE', `${path(customer.id)}/${ids[0]}`, {
      reason: 'make room',
    });
    expect(revoked.status).toBe(200);
    expect((await grant(customer.id, { key: 'integrations', value: { count: 1 } })).status).toBe(
      201,
    );
    const list = await json<{ items: Grant[] }>(
      await asOperator(operator, 'GET', `${path(customer.id)}?mode=test`),
    );
    expect(list.items).toHaveLength(51);
  });
});
