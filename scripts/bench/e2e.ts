/**
 * The bench's Postgres-backed rows: a Postgres for them (a scratch database on DATABASE_URL's
 * server, else the embedded PGlite in the bench's temp dir), migrated, with the WebSocket proxy
 * the worker reaches it by; the demo's GlobalCorp tenant applied through the real code
 * (`applyTenantSpec`, `createApiKey`) and published by the worker itself
 * (`POST /internal/publish`, as `npm start` does); a sandbox card tokenized once.
 *
 * The rows run in Miniflare instances of their own (the project's bundle with DATABASE_URL and
 * NEON_LOCAL_WS_PROXY, and the bench's pg-insert worker), started after the KV-only rows are
 * measured, so those rows see neither Postgres nor these objects.
 *
 *   pg_insert_tx          one `begin; insert; commit` through getDb (scripts/bench/pg-insert)
 *   payment_sandbox_e2e   POST /v1/payments: route → PaymentDurableObject → sandbox provider
 *                         object → write-through to Postgres, a fresh Idempotency-Key each
 *   checkout_sandbox_e2e  POST /v1/checkout (skipped while the route answers 404)
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { GLOBALCORP } from '../../src/demo/demo-tenants';
import { createApiKey } from '../../src/services/admin/api-keys';
import { applyTenantSpec } from '../../src/services/tenant-config/apply';
import { createScratchDatabase, redact, runMigrations, withDb } from '../lib/database';
import { startEmbeddedPostgres } from '../lib/embedded-pg';
import { freePort } from '../lib/ports';
import { startWsProxy, type WsProxy } from '../lib/ws-proxy';
import type { Bundle } from './build';
import { BENCH_RATE_LIMIT, type ProjectWorker } from './edge';
import {
  type HttpResult,
  type RunningWorker,
  request,
  startWorker,
  type WorkerSetup,
} from './runtime';
import type { LoadRequest } from './wrk';

export const E2E_NAMES = ['pg_insert_tx', 'payment_sandbox_e2e', 'checkout_sandbox_e2e'] as const;
export type E2eName = (typeof E2E_NAMES)[number];

/** The placeholder every load request fills with a token of its own (wrk.ts `vary`). */
const UNIQUE = '{{unique}}';

/** The bench table of `pg_insert_tx` (scripts/bench/pg-insert/worker.ts); not a migration. */
const BENCH_INSERT_TABLE_SQL = `create table if not exists bench_pg_insert (
  id bigserial primary key,
  note text not null,
  created_at timestamptz not null default now()
)`;

/** The demo storefront the rows use, its bundle, and the sandbox card (Stripe's success card). */
const STOREFRONT = 'us-store';
const BUNDLE = 'pro-plan';
const AMOUNT = 2900;
const CARD = '4242424242424242';

export interface BenchDatabase {
  url: string;
  /** `postgres` (DATABASE_URL's server) or `pglite`. */
  kind: 'postgres' | 'pglite';
  describe: string;
  close(): Promise<void>;
}

/**
 * A migrated database for the rows: a scratch database on DATABASE_URL's server (dropped by
 * `close`), else PGlite with its data in `dir`. Never DATABASE_URL's own database: the seed
 * applies the demo tenant, which would change a database someone uses.
 */
export async function startBenchDatabase(dir: string): Promise<BenchDatabase> {
  const server = process.env.DATABASE_URL;
  let db: BenchDatabase;
  if (server) {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    try {
      scratch = await createScratchDatabase(server, 'azotte_bench');
    } catch (err) {
      throw new Error(
        `could not create a scratch database on ${redact(server)} (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    db = {
      url: scratch.url,
      kind: 'postgres',
      describe: `scratch database ${new URL(scratch.url).pathname.slice(1)} on ${redact(server)}`,
      close: scratch.drop,
    };
  } else {
    await mkdir(dir, { recursive: true });
    const embedded = await startEmbeddedPostgres(dir, await freePort());
    db = {
      url: embedded.url,
      kind: 'pglite',
      describe: `embedded PGlite on port ${embedded.port} (set DATABASE_URL for a real Postgres)`,
      close: () => embedded.close(),
    };
  }
  try {
    await runMigrations(db.url);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(BENCH_INSERT_TABLE_SQL);
    } finally {
      await client.end();
    }
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

interface Seeded {
  host: string;
  publishable: string;
  secret: string;
}

/** GlobalCorp as the demo seed applies it, and a test publishable and secret key of us-store. */
async function seedTenant(url: string): Promise<Seeded> {
  return withDb(url, async (db) => {
    const applied = await applyTenantSpec(db, GLOBALCORP);
    const storefrontId = applied.storefronts[STOREFRONT];
    if (!storefrontId) throw new Error(`the demo has no ${STOREFRONT}`);
    const ctx = {
      tenantId: applied.tenantId,
      storefrontId,
      actor: { type: 'system' as const, id: 'bench' },
      requestId: null,
      reason: 'bench seed',
    };
    const base = { mode: 'test' as const, channels: [], expiresAt: null, rateLimit: null };
    const pk = await createApiKey(db, ctx, { kind: 'publishable', name: 'bench pk', ...base });
    const sk = await createApiKey(db, ctx, { kind: 'secret', name: 'bench sk', ...base });
    const host = GLOBALCORP.storefronts.find((s) => s.slug === STOREFRONT)?.hosts?.[0];
    if (!host) throw new Error(`${STOREFRONT} has no host`);
    return { host, publishable: pk.secret, secret: sk.secret };
  });
}

export interface E2eTarget {
  name: E2eName;
  label: string;
  /** What one request is, for rates (`payments/s`). */
  unit: string;
  worker: RunningWorker;
  request: LoadRequest;
  status: number;
  check(res: HttpResult): string | undefined;
  /** Why a verification answer means "not there yet" rather than a failure. */
  skipWhen?(res: HttpResult): string | undefined;
}

export interface E2eSetup {
  targets: E2eTarget[];
  workers: RunningWorker[];
  proxy: WsProxy;
  /** What was seeded and published, for the progress output. */
  summary: string[];
  /** The seeded storefront on the Postgres-backed worker, for rows that build on it. */
  seed: E2eSeed;
}

/** The Postgres-backed worker and what was seeded on it. */
export interface E2eSeed {
  edge: RunningWorker;
  /** Host and publishable key of us-store's test mode. */
  pkHeaders: Record<string, string>;
  /** Host and secret key of us-store's test mode. */
  skHeaders: Record<string, string>;
  /** The tokenized sandbox card. */
  paymentMethodId: string;
  /** `POST /internal/publish` again (e.g. after the tenant's first customer token). */
  publish(): Promise<void>;
}

function parse(body: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const excerpt = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * Starts the rows' workers against `db` (each in its own Miniflare, on direct sockets), seeds
 * and publishes the tenant, tokenizes the card, and returns the rows. `onWorker` sees every
 * started worker at once, so a failure later still lets the caller dispose it.
 */
export async function startE2e(opts: {
  db: BenchDatabase;
  edgeBundle: Bundle;
  /** The pg-insert worker's bundle; without it no `pg_insert_tx` row. */
  pgBundle?: Bundle;
  project: ProjectWorker;
  onWorker(w: RunningWorker): void;
  /** Extra Miniflare options of the edge worker's instance (e.g. `inspectorPort`). */
  edgeInstance?: WorkerSetup['instance'];
}): Promise<E2eSetup> {
  const { db, project } = opts;
  const summary: string[] = [];
  const proxy = await startWsProxy(0, { oneSession: db.kind === 'pglite' });
  try {
    const seeded = await seedTenant(db.url);
    summary.push(`seeded ${GLOBALCORP.slug} (applyTenantSpec) and test keys of ${STOREFRONT}`);
    const dbBindings = { DATABASE_URL: db.url, NEON_LOCAL_WS_PROXY: proxy.url };
    const publishToken = randomBytes(24).toString('base64url');
    const started = (w: RunningWorker) => {
      opts.onWorker(w);
      return w;
    };
    const [edge, pgInsert] = await Promise.all([
      startWorker({
        name: 'azotte-edge-pg',
        instance: opts.edgeInstance,
        bundle: opts.edgeBundle,
        compatibilityDate: project.compatibilityDate,
        compatibilityFlags: project.compatibilityFlags,
        options: {
          ...project.options,
          bindings: {
            ...(project.options.bindings as Record<string, unknown>),
            ...dbBindings,
            // One client with one secret key: the per-key limit lifted as for the other rows.
            RATE_LIMIT_SECRET_KEY_PER_MINUTE: String(BENCH_RATE_LIMIT),
            PUBLISH_TOKEN: publishToken,
            SESSION_SECRET: randomBytes(32).toString('base64url'),
            SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'),
          },
        },
      }).then(started),
      opts.pgBundle
        ? startWorker({
            name: 'bench-pg-insert',
            bundle: opts.pgBundle,
            // The project's compatibility settings, as the edge worker's.
            compatibilityDate: project.compatibilityDate,
            compatibilityFlags: project.compatibilityFlags,
            options: { bindings: dbBindings },
          }).then(started)
        : undefined,
    ]);

    const publish = async () => {
      const pub = await request(edge.url, '/internal/publish', {
        method: 'POST',
        headers: { authorization: `Bearer ${publishToken}` },
      });
      const published = parse(pub.body) as
        | { tenants?: { slug: string; version: number; storefronts: number }[]; failed?: unknown[] }
        | undefined;
      if (pub.status !== 200 || published?.failed?.length) {
        throw new Error(`POST /internal/publish: ${pub.status} ${excerpt(pub.body)}`);
      }
      return published?.tenants ?? [];
    };
    for (const t of await publish()) {
      summary.push(`published ${t.slug} v${t.version} (POST /internal/publish)`);
    }

    const pkHeaders = { host: seeded.host, authorization: `Bearer ${seeded.publishable}` };
    const skHeaders = { host: seeded.host, authorization: `Bearer ${seeded.secret}` };
    const tokenized = await request(edge.url, '/v1/payment-methods', {
      method: 'POST',
      headers: pkHeaders,
      body: JSON.stringify({
        type: 'card',
        card: { number: CARD, expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' },
      }),
    });
    const pm = parse(tokenized.body)?.id;
    if (tokenized.status !== 201 || typeof pm !== 'string') {
      throw new Error(`POST /v1/payment-methods: ${tokenized.status} ${excerpt(tokenized.body)}`);
    }
    summary.push(
      `tokenized ${CARD.slice(0, 4)}…${CARD.slice(-4)} as ${pm} (POST /v1/payment-methods)`,
    );

    const targets: E2eTarget[] = [
      ...(pgInsert
        ? [
            {
              name: 'pg_insert_tx' as const,
              label: 'pg_insert_tx: begin; insert; commit (getDb)',
              unit: 'tx/s',
              worker: pgInsert,
              request: {
                url: pgInsert.url,
                path: '/v1/pg-insert',
                method: 'POST' as const,
                headers: {},
              },
              status: 201,
              check: (res: HttpResult) =>
                parse(res.body)?.ok === true ? undefined : 'expected {"ok": true, …}',
            },
          ]
        : []),
      {
        name: 'payment_sandbox_e2e',
        label: 'payment_sandbox_e2e: POST /v1/payments',
        unit: 'payments/s',
        worker: edge,
        request: {
          url: edge.url,
          path: '/v1/payments',
          method: 'POST',
          headers: { ...skHeaders, 'idempotency-key': `bench-pay-${UNIQUE}` },
          body: JSON.stringify({ amount: AMOUNT, paymentMethodId: pm }),
          vary: UNIQUE,
        },
        status: 201,
        check: (res) => {
          const p = parse(res.body);
          if (p?.status !== 'succeeded') return 'expected a succeeded payment';
          if (typeof p.provider !== 'string') return 'expected the provider that captured';
          return undefined;
        },
      },
      {
        name: 'checkout_sandbox_e2e',
        label: 'checkout_sandbox_e2e: POST /v1/checkout',
        unit: 'checkouts/s',
        worker: edge,
        request: {
          url: edge.url,
          path: '/v1/checkout',
          method: 'POST',
          headers: { ...skHeaders, 'idempotency-key': `bench-checkout-${UNIQUE}` },
          body: JSON.stringify({
            bundleId: BUNDLE,
            customer: { email: `bench-${UNIQUE}@example.com` },
            paymentMethodId: pm,
          }),
          vary: UNIQUE,
        },
        status: 201,
        check: (res) => {
          const b = parse(res.body);
          const isObject = (v: unknown) => typeof v === 'object' && v !== null;
          if (!isObject(b?.subscription) || !isObject(b?.payment)) {
            return 'expected {"subscription": {…}, "payment": {…}}';
          }
          return undefined;
        },
        skipWhen: (res) => {
          if (res.status !== 404) return undefined;
          const detail = parse(res.body)?.detail;
          // The router's own 404 says "No route for …"; any other 404 is the route's.
          return typeof detail === 'string' && !detail.startsWith('No route for')
            ? `/v1/checkout answered 404: ${excerpt(detail, 120)}`
            : 'no /v1/checkout';
        },
      },
    ];
    return {
      targets,
      workers: pgInsert ? [edge, pgInsert] : [edge],
      proxy,
      summary,
      seed: {
        edge,
        pkHeaders,
        skHeaders,
        paymentMethodId: pm,
        publish: async () => {
          await publish();
        },
      },
    };
  } catch (err) {
    await proxy.close();
    throw err;
  }
}
