/**
 * Storefront analytics for operators: `GET /admin/v1/tenants/{tenant}/analytics/...`. Every
 * answer is scoped to the storefronts the operator may read analytics in (`analytics.read`):
 * naming a storefront outside their grant is a 403, one that is not the tenant's a 404, and a
 * tenant-wide answer covers only their storefronts. Definitions: README.md, "Analytics".
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { lineChart } from '../../analytics/charts';
import { minorExponent } from '../../analytics/rates';
import { newRouter } from '../../app';
import { channelEnum, keyModeEnum } from '../../db/schema/enums';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { authorize } from '../../security/rbac';
import { findTenant } from '../../services/admin/operators';
import { listStorefronts } from '../../services/admin/storefronts';
import {
  campaignsReport,
  experimentsReport,
  paymentsReport,
  type ReportScope,
  SERIES_METRICS,
  summary,
  timeseries,
} from '../../services/analytics/reports';
import { safeText } from '../schemas';
import { authorizeScope } from './authorize';
import { adminProblems, adminRoute, TenantParamSchema } from './support';

/** The longest range one query may cover. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date: YYYY-MM-DD')
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, 'not a calendar date');

const CODE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const RangeShape = {
  from: IsoDate.optional().openapi({
    description: 'First day (UTC) of the range, inclusive; default: 29 days before `to`',
    example: '2026-11-01',
  }),
  to: IsoDate.optional().openapi({
    description: 'Last day (UTC) of the range, inclusive; default: today',
    example: '2026-11-30',
  }),
  storefront: safeText({ max: 64 })
    .min(1)
    .optional()
    .openapi({ description: 'Storefront slug or id; omit for every storefront you may read' }),
  channel: z
    .enum(channelEnum.enumValues)
    .optional()
    .openapi({ description: 'Only storefronts of this channel' }),
  mode: z
    .enum(keyModeEnum.enumValues)
    .default('live')
    .openapi({ description: 'Subscriptions and payments made with live (default) or test keys' }),
};

/** The range rules: from ≤ to, at most {@link MAX_RANGE_DAYS} days. */
function rangeRule(q: { from?: string; to?: string }, ctx: z.RefinementCtx) {
  if (q.from === undefined || q.to === undefined) return;
  const days = (Date.parse(q.to) - Date.parse(q.from)) / DAY_MS + 1;
  if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: '`to` is before `from`' });
  else if (days > MAX_RANGE_DAYS) {
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `the range is ${days} days; at most ${MAX_RANGE_DAYS}`,
    });
  }
}

const RangeQuery = z.object(RangeShape).superRefine(rangeRule);
const Interval = z
  .enum(['day', 'week', 'month'])
  .default('day')
  .openapi({ description: 'Bucket of the series (UTC days, ISO weeks from Monday, months)' });
const Metric = z
  .enum(SERIES_METRICS as [string, ...string[]])
  .default('mrr')
  .openapi({
    description: 'Counts per bucket, or a stock (active, MRR) at each bucket’s end; default MRR',
  });
const SeriesQuery = z
  .object({ ...RangeShape, metric: Metric, interval: Interval })
  .superRefine(rangeRule);
const ChartQuery = z.object({ ...RangeShape, interval: Interval }).superRefine(rangeRule);
const ExperimentQuery = z
  .object({
    ...RangeShape,
    flag: z
      .string()
      .max(64)
      .regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'a flag key')
      .optional()
      .openapi({ description: 'Only this experiment flag' }),
  })
  .superRefine(rangeRule);
const CampaignQuery = z
  .object({
    ...RangeShape,
    campaign: z
      .string()
      .max(64)
      .regex(CODE_RE, 'letters, digits, _ . -')
      .optional()
      .openapi({ description: 'Only this campaign / promotion code' }),
  })
  .superRefine(rangeRule);
const ChartParams = TenantParamSchema.extend({
  chart: z
    .enum(SERIES_METRICS.map((m) => `${m}.svg`) as [string, ...string[]])
    .openapi({ description: 'The metric to draw, as `<metric>.svg`', example: 'mrr.svg' }),
});

type RangeInput = z.infer<typeof RangeQuery>;

/**
 * The tenant, the storefronts in scope and the range of a request. A storefront named in the
 * query must be the tenant's (else 404) and covered by the operator's grant (else 403); without
 * one, the scope is every storefront the operator may read analytics in (none: 403).
 */
async function scopeOf(c: Context<AppEnv>, tenantRef: string, q: RangeInput): Promise<ReportScope> {
  const db = c.get('db');
  const { grants } = c.get('operator');
  let tenantId: string;
  let list: Awaited<ReturnType<typeof listStorefronts>>;
  if (q.storefront !== undefined) {
    const { tenant, storefront } = await authorizeScope(c, tenantRef, 'analytics.read', {
      storefront: q.storefront,
    });
    tenantId = tenant.id;
    list = (await listStorefronts(db, tenant.id)).filter((sf) => sf.id === storefront?.id);
    const sf = list[0];
    if (
      sf &&
      !authorize(grants, {
        tenantId,
        action: 'analytics.read',
        storefrontId: sf.id,
        channel: sf.channel,
      }).allowed
    ) {
      throw new ApiError(
        'forbidden',
        'Your role does not allow analytics.read on this storefront’s channel.',
      );
    }
  } else {
    const tenant = await findTenant(db, tenantRef);
    if (!tenant || !grants.some((g) => g.tenantId === tenant.id)) {
      throw new ApiError('not_found', `No tenant "${tenantRef}".`);
    }
    tenantId = tenant.id;
    const all = await listStorefronts(db, tenant.id);
    list = all.filter(
      (sf) =>
        authorize(grants, {
          tenantId,
          action: 'analytics.read',
          storefrontId: sf.id,
          channel: sf.channel,
        }).allowed,
    );
    if (list.length === 0 && all.length > 0) {
      throw new ApiError('forbidden', 'Your role does not allow analytics.read in this tenant.');
    }
  }
  if (q.channel !== undefined) list = list.filter((sf) => sf.channel === q.channel);
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  const toDay = q.to !== undefined ? Date.parse(q.to) : today;
  const fromDay = q.from !== undefined ? Date.parse(q.from) : toDay - 29 * DAY_MS;
  if (q.from !== undefined && q.to === undefined) {
    // Only `from`: the range runs to today, and is bounded the same way.
    const days = (toDay - fromDay) / DAY_MS + 1;
    if (days < 1 || days > MAX_RANGE_DAYS) {
      throw new ApiError(
        'validation_failed',
        `from: the range to today is ${days} days; it must be 1 to ${MAX_RANGE_DAYS}.`,
        { errors: [{ path: 'query.from', message: 'out of range' }] },
      );
    }
  }
  return {
    tenantId,
    mode: q.mode,
    from: new Date(fromDay),
    to: new Date(toDay + DAY_MS),
    storefrontIds: list.map((sf) => sf.id),
    storefronts: list,
  };
}

const Conversion = z
  .object({
    rate: z.number().nullable(),
    ci95: z.tuple([z.number(), z.number()]).nullable().openapi({
      description: 'Wilson score interval at 95 %',
    }),
  })
  .openapi('AnalyticsProportion');
const StorefrontRef = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    channel: z.string(),
    currency: z.string(),
  })
  .openapi('AnalyticsStorefront');
const Range = { from: z.string(), to: z.string(), mode: z.string() };

const SummarySchema = z
  .object({
    ...Range,
    items: z.array(
      z.object({
        storefront: StorefrontRef,
        checkouts: z.object({ started: z.number(), completed: z.number(), conversion: Conversion }),
        subscriptions: z.object({
          new: z.number(),
          churned: z.number(),
          activeAtStart: z.number(),
          activeAtEnd: z.number(),
          churnRate: z.number().nullable(),
        }),
        mrr: z.array(z.object({ currency: z.string(), opening: z.number(), closing: z.number() })),
        trials: z.object({ ended: z.number(), converted: z.number(), conversion: Conversion }),
        dunning: z.object({ pastDue: z.number(), recovered: z.number() }),
        payments: z.object({
          total: z.number(),
          succeeded: z.number(),
          successRate: z.number().nullable(),
        }),
      }),
    ),
    total: z.object({
      checkouts: z.object({ started: z.number(), completed: z.number(), conversion: Conversion }),
      subscriptions: z.object({ new: z.number(), churned: z.number(), activeAtEnd: z.number() }),
      mrr: z.object({
        byCurrency: z.array(
          z.object({ currency: z.string(), opening: z.number(), closing: z.number() }),
        ),
        converted: z.object({
          currency: z.string(),
          amount: z.number(),
          ratesDate: z.string(),
          unconverted: z.array(z.string()),
        }),
      }),
    }),
  })
  .openapi('AnalyticsSummary');

const SeriesSchema = z
  .object({
    ...Range,
    metric: z.string(),
    interval: z.string(),
    unit: z.string().openapi({ description: '`count`, or `minor_units` of `currency` (MRR)' }),
    series: z.array(
      z.object({
        label: z.string(),
        currency: z.string().nullable(),
        points: z.array(z.object({ start: z.string(), end: z.string(), value: z.number() })),
      }),
    ),
  })
  .openapi('AnalyticsSeries');

const json = (description: string, schema: z.ZodType) => ({
  200: { description, content: { 'application/json': { schema } } },
  ...adminProblems,
});
const loose = z.record(z.string(), z.unknown());

function noStore(c: Context<AppEnv>) {
  c.header('cache-control', 'private, no-store');
}

export const analyticsAdminRoutes = newRouter()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/summary',
      summary:
        'Per storefront: checkouts, conversion, new / churned / active subscriptions, MRR, trials, dunning, payments',
      request: { params: TenantParamSchema, query: RangeQuery },
      responses: json('The summary of each storefront and the tenant totals', SummarySchema),
    }),
    async (c) => {
      const s = await scopeOf(c, c.req.valid('param').tenant, c.req.valid('query'));
      noStore(c);
      return c.json(await summary(c.get('db'), s), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/timeseries',
      summary: 'One metric per day, week or month over the range',
      request: { params: TenantParamSchema, query: SeriesQuery },
      responses: json('The series (MRR: one per currency)', SeriesSchema),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const s = await scopeOf(c, c.req.valid('param').tenant, q);
      noStore(c);
      const metric = q.metric as (typeof SERIES_METRICS)[number];
      return c.json(await timeseries(c.get('db'), s, metric, q.interval), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/charts/{chart}',
      summary: 'A time series drawn as an accessible SVG line chart (for an <img> or inline)',
      request: { params: ChartParams, query: ChartQuery },
      responses: {
        200: {
          description: 'The chart',
          content: { 'image/svg+xml': { schema: z.string() } },
        },
        ...adminProblems,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const p = c.req.valid('param');
      const s = await scopeOf(c, p.tenant, q);
      const metric = p.chart.replace(/\.svg$/, '') as (typeof SERIES_METRICS)[number];
      const data = await timeseries(c.get('db'), s, metric, q.interval);
      const where =
        s.storefronts.length === 1 ? (s.storefronts[0]?.name ?? '') : 'all your storefronts';
      const svg = lineChart({
        title: `${METRIC_TITLES[metric]} — ${where}`,
        description: `${METRIC_TITLES[metric]} per ${q.interval}, ${data.from.slice(0, 10)} to ${new Date(
          s.to.getTime() - DAY_MS,
        )
          .toISOString()
          .slice(0, 10)} (${s.mode} mode).`,
        yLabel:
          metric !== 'mrr'
            ? 'count'
            : data.series.length === 1 && data.series[0]?.currency
              ? `MRR (${data.series[0].currency})`
              : 'MRR (each line in its own currency)',
        series: data.series.map((x) => ({
          label: x.label,
          points: x.points.map((pt) => ({ x: pt.start.slice(0, 10), y: pt.value })),
        })),
        ...(metric === 'mrr'
          ? { formatY: (v: number, label?: string) => formatMinor(v, label) }
          : {}),
      });
      noStore(c);
      return c.body(svg, 200, {
        'content-type': 'image/svg+xml; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      });
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/payments',
      summary: 'Payment attempts’ success rate by provider and decline class; payments by status',
      request: { params: TenantParamSchema, query: RangeQuery },
      responses: json('Providers and payments', loose.openapi('AnalyticsPayments')),
    }),
    async (c) => {
      const s = await scopeOf(c, c.req.valid('param').tenant, c.req.valid('query'));
      noStore(c);
      return c.json(await paymentsReport(c.get('db'), s), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/experiments',
      summary:
        'Each experiment flag per storefront: exposures, checkouts and conversion by variant',
      request: { params: TenantParamSchema, query: ExperimentQuery },
      responses: json('Experiments', loose.openapi('AnalyticsExperiments')),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const s = await scopeOf(c, c.req.valid('param').tenant, q);
      noStore(c);
      return c.json(await experimentsReport(c.get('db'), s, q.flag), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/tenants/{tenant}/analytics/campaigns',
      summary: 'Checkouts, conversion, churn and new MRR by campaign / promotion code',
      request: { params: TenantParamSchema, query: CampaignQuery },
      responses: json('Campaigns', loose.openapi('AnalyticsCampaigns')),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const s = await scopeOf(c, c.req.valid('param').tenant, q);
      noStore(c);
      return c.json(await campaignsReport(c.get('db'), s, q.campaign), 200);
    },
  );

const METRIC_TITLES: Record<(typeof SERIES_METRICS)[number], string> = {
  checkouts_started: 'Checkouts started',
  checkouts_completed: 'Checkouts completed',
  new_subscriptions: 'New subscriptions',
  churned_subscriptions: 'Churned subscriptions',
  active_subscriptions: 'Active subscriptions',
  mrr: 'MRR',
};

/** Minor units as major units with the currency code (JPY has none). */
function formatMinor(v: number, currency?: string): string {
  const exp = currency ? minorExponent(currency) : 2;
  return `${(v / 10 ** exp).toLocaleString('en-US', { maximumFractionDigits: exp })}${
    currency ? ` ${currency}` : ''
  }`;
}
