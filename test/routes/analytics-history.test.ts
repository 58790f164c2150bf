/**
 * The demo's generated history (scripts/lib/demo-history.ts) on a GlobalCorp-like tenant:
 * written once (a second run adds nothing), marked, consistent with the analytics' rules, and
 * never met by the views that load subscriptions from their objects.
 */
import { and, asc, count, eq, isNotNull, like } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoHistory } from '../../scripts/lib/demo-history';
import {
  customers,
  flagExposures,
  paymentAttempts,
  payments,
  subscriptionEvents,
  subscriptions,
} from '../../src/db/schema';
import { isGeneratedHistory } from '../../src/demo/history';
import {
  activeMovements,
  activeMovementsRaw,
  type ExperimentRow,
  experiments,
  experimentsRaw,
  mrrMovements,
  mrrMovementsRaw,
  type Scope,
} from '../../src/services/analytics/queries';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let owner: TestOperator;
const NOW = new Date('2026-11-30T12:00:00Z');

async function counts(tenantId: string) {
  return withDb(async (db) => {
    const n = async (table: typeof subscriptions | typeof payments | typeof customers) =>
      (await db.select({ n: count() }).from(table).where(eq(table.tenantId, tenantId)))[0]?.n;
    return {
      subscriptions: await n(subscriptions),
      payments: await n(payments),
      customers: await n(customers),
      attempts: (
        await db
          .select({ n: count() })
          .from(paymentAttempts)
          .where(eq(paymentAttempts.tenantId, tenantId))
      )[0]?.n,
      events: (
        await db
          .select({ n: count() })
          .from(subscriptionEvents)
          .where(eq(subscriptionEvents.tenantId, tenantId))
      )[0]?.n,
      exposures: (
        await db
          .select({ n: count() })
          .from(flagExposures)
          .where(eq(flagExposures.tenantId, tenantId))
      )[0]?.n,
    };
  });
}

beforeAll(async () => {
  t = await createTenant();
  owner = await createOperator(t.tenantId, 'viewer');
  await publish();
});

describe('generated demo history', () => {
  it('is written once: a second run adds nothing', async () => {
    const first = await withDb((db) => seedDemoHistory(db, { tenantSlug: t.slug, now: NOW }));
    expect(first.written).toBe(true);
    expect(first.subscriptions).toBeGreaterThan(200);
    const after = await counts(t.tenantId);
    expect(after.subscriptions).toBe(first.subscriptions);
    const again = await withDb((db) => seedDemoHistory(db, { tenantSlug: t.slug, now: NOW }));
    expect(again.written).toBe(false);
    expect(await counts(t.tenantId)).toEqual(after);
  });

  it('every row is marked, its customers are its own, and its facts follow the rules', async () => {
    const rows = await withDb((db) =>
      db.select().from(subscriptions).where(eq(subscriptions.tenantId, t.tenantId)),
    );
    for (const r of rows) {
      expect(isGeneratedHistory(r.id), r.id).toBe(true);
      expect(isGeneratedHistory(r.customerId), r.customerId).toBe(true);
      expect(r.mode).toBe('live');
      // Converted iff not incomplete; paid before churn; churned iff cancelled or ended.
      const incomplete = r.status === 'incomplete' || r.status === 'incomplete_expired';
      expect(r.convertedAt === null, r.id).toBe(incomplete);
      if (r.firstPaidAt && r.churnedAt) expect(r.firstPaidAt <= r.churnedAt).toBe(true);
      expect(r.churnedAt !== null, r.id).toBe(r.status === 'cancelled' || r.status === 'ended');
      expect(r.firstPaidPriceId === null, r.id).toBe(r.firstPaidAt === null);
    }
    const marked = await withDb((db) =>
      db
        .select({ n: count() })
        .from(customers)
        .where(
          and(eq(customers.tenantId, t.tenantId), like(customers.email, '%@history.demo.invalid')),
        ),
    );
    expect(marked[0]?.n).toBe(rows.length);
    expect(isGeneratedHistory('sub_01ABC')).toBe(false);
  });

  it('gives the charts months of data: MRR grows month on month in each currency', async () => {
    const res = await asOperator(
      owner,
      'GET',
      `/admin/v1/tenants/${t.slug}/analytics/timeseries?from=2026-06-01&to=2026-11-30&metric=mrr&interval=month`,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<{ series: { currency: string; points: { value: number }[] }[] }>(res);
    expect(body.series.map((s) => s.currency).sort()).toEqual(['EUR', 'JPY', 'USD']);
    for (const s of body.series) {
      expect(s.points).toHaveLength(6);
      expect((s.points.at(-1)?.value ?? 0) > (s.points[0]?.value ?? 0)).toBe(true);
    }
    const exps = await asOperator(
      owner,
      'GET',
      `/admin/v1/tenants/${t.slug}/analytics/experiments?from=2026-06-01&to=2026-11-30`,
    );
    const e = await json<{ items: { flagKey: string; variants: { exposed: number }[] }[] }>(exps);
    expect(e.items.map((i) => i.flagKey)).toContain('new-checkout');
    for (const i of e.items) expect(i.variants.length).toBe(2);
  });

  it('the daily rollups the triggers keep agree with the raw definitions, before and after changes', async () => {
    const scope = (): Scope => ({
      tenantId: t.tenantId,
      mode: 'live',
      storefrontIds: Object.values(t.storefronts),
      from: new Date('2026-07-01T00:00:00Z'),
      to: new Date('2026-11-01T00:00:00Z'),
    });
    const norm = (
      rows: { storefront_id: string; bucket: string | null }[],
      value: (r: never) => number,
    ) =>
      rows
        .map(
          (r) =>
            `${r.storefront_id}|${JSON.stringify(r).includes('"currency"') ? (r as { currency?: string }).currency : ''}|${(r as { kind?: string }).kind ?? ''}|${r.bucket}|${Math.round(value(r as never) * 1e6) / 1e6}`,
        )
        .filter((k) => !k.endsWith('|0'))
        .sort();
    const agree = async () => {
      for (const interval of ['day', 'week', null] as const) {
        const [a, b, c, d] = await withDb((db) =>
          Promise.all([
            activeMovements(db, scope(), interval),
            activeMovementsRaw(db, scope(), interval),
            mrrMovements(db, scope(), interval),
            mrrMovementsRaw(db, scope(), interval),
          ]),
        );
        expect(norm(a, (r: { n: number }) => r.n)).toEqual(norm(b, (r: { n: number }) => r.n));
        expect(norm(c, (r: { value: string }) => Number(r.value))).toEqual(
          norm(d, (r: { value: string }) => Number(r.value)),
        );
        expect(c.length).toBeGreaterThan(0);
      }
    };
    await agree();
    // Copies arriving later: a churn, an upgrade after the first payment, a row deleted.
    await withDb(async (db) => {
      const live = await db
        .select()
        .from(subscriptions)
        .where(and(eq(subscriptions.tenantId, t.tenantId), eq(subscriptions.status, 'active')))
        .limit(3);
      const [a, b, c] = live;
      if (!a || !b || !c) throw new Error('need three active subscriptions');
      await db
        .update(subscriptions)
        .set({
          status: 'cancelled',
          cancelledAt: new Date('2026-08-15T00:00:00Z'),
          churnedAt: new Date('2026-08-15T00:00:00Z'),
        })
        .where(eq(subscriptions.id, a.id));
      await db.delete(subscriptions).where(eq(subscriptions.id, b.id));
      await db
        .update(subscriptions)
        .set({ firstPaidAt: null, firstPaidPriceId: null })
        .where(eq(subscriptions.id, c.id));
    });
    await agree();
  });

  it('the one-pass experiments query answers as its definition does, late exposures included', async () => {
    const sfs = Object.values(t.storefronts);
    const scope = (from: string, to: string): Scope => ({
      tenantId: t.tenantId,
      mode: 'live',
      storefrontIds: sfs,
      from: new Date(`${from}T00:00:00Z`),
      to: new Date(`${to}T00:00:00Z`),
    });
    const key = (r: ExperimentRow) => `${r.storefront_id}|${r.flag_key}|${r.variant}`;
    const norm = (rows: ExperimentRow[]) =>
      rows.map((r) => `${key(r)}|${r.exposed}|${r.started}|${r.completed}`).sort();
    // The whole history, a range opening mid-history (keys first exposed before it count at
    // their first exposure inside it), a short one, one flag.
    const ranges: [Scope, string?][] = [
      [scope('2026-01-01', '2026-12-01')],
      [scope('2026-08-15', '2026-10-10')],
      [scope('2026-10-01', '2026-10-08')],
      [scope('2026-06-01', '2026-12-01'), 'new-checkout'],
    ];
    const agree = async () => {
      const out: ExperimentRow[][] = [];
      for (const [s, flag] of ranges) {
        const [fast, raw] = await withDb((db) =>
          Promise.all([experiments(db, s, flag), experimentsRaw(db, s, flag)]),
        );
        expect(norm(fast)).toEqual(norm(raw));
        out.push(fast);
      }
      expect(out[0]?.length).toBeGreaterThan(0);
      expect(out[1]?.reduce((n, r) => n + r.started, 0)).toBeGreaterThan(0);
      return out;
    };
    const before = await agree();
    // Exposures arriving out of order: for the earliest-exposed key of `new-checkout` (with a
    // variant), one in the other variant an hour before its first, written after it.
    const [first] = await withDb((db) =>
      db
        .select()
        .from(flagExposures)
        .where(
          and(
            eq(flagExposures.tenantId, t.tenantId),
            eq(flagExposures.flagKey, 'new-checkout'),
            eq(flagExposures.inExperiment, true),
            isNotNull(flagExposures.targetingKey),
            isNotNull(flagExposures.variant),
          ),
        )
        .orderBy(asc(flagExposures.occurredAt))
        .limit(1),
    );
    if (!first?.variant) throw new Error('the history has no new-checkout exposure');
    const rows = await withDb((db) =>
      db
        .select({ variant: flagExposures.variant })
        .from(flagExposures)
        .where(
          and(
            eq(flagExposures.tenantId, t.tenantId),
            eq(flagExposures.flagKey, 'new-checkout'),
            eq(flagExposures.storefrontId, first.storefrontId),
          ),
        ),
    );
    const other = rows.map((r) => r.variant).find((v) => v !== null && v !== first.variant);
    if (!other) throw new Error('new-checkout has one variant only');
    const late = new Date(first.occurredAt.getTime() - 3_600_000);
    await withDb((db) =>
      db.insert(flagExposures).values({
        ...first,
        id: `exp_hist_late${first.id.slice(4)}`,
        variant: other,
        occurredAt: late,
      }),
    );
    const after = await agree();
    // Over the whole history that key moved from its old variant to the other, nothing else.
    const exposed = (rs: ExperimentRow[] | undefined, variant: string) =>
      rs?.find(
        (r) =>
          r.storefront_id === first.storefrontId &&
          r.flag_key === 'new-checkout' &&
          r.variant === variant,
      )?.exposed ?? 0;
    expect(exposed(after[0], first.variant)).toBe(exposed(before[0], first.variant) - 1);
    expect(exposed(after[0], other)).toBe(exposed(before[0], other) + 1);
  });

  it('no customer view of the storefront API meets it', async () => {
    const [sub] = await withDb((db) =>
      db.select().from(subscriptions).where(eq(subscriptions.tenantId, t.tenantId)).limit(1),
    );
    const host = t.hosts['us-store'] ?? '';
    const key = t.keys['us-store']?.secret ?? '';
    const list = await call(host, `/v1/customers/${sub?.customerId}/subscriptions`, { key });
    // The history's customer ids are not API customer ids, or (test keys) not in their mode.
    expect([200, 400, 404]).toContain(list.status);
    if (list.status === 200) expect((await json<{ items: unknown[] }>(list)).items).toEqual([]);
  });
});
