/**
 * Demo subscriptions for `npm start`: in every demo storefront that sells a bundle, one customer
 * per lifecycle state — active, trialing, past_due and cancelled — made through the worker's
 * own HTTP API with the storefront's test keys, as a tenant's backend would make them:
 *
 * - active: tokenize 4242424242424242 (publishable key), checkout (secret key);
 * - trialing: the same with `trialDays`;
 * - cancelled: checkout, then `POST /v1/subscriptions/{id}/cancel` `{ "atPeriodEnd": false }`;
 * - past_due: a test clock, checkout on it with a good card, switch the subscription to
 *   4000000000000341 (tokenizes, every charge declines), advance the clock just past the
 *   period end: the renewal fails.
 *
 * Plus a 4242 card per storefront for the checkout curl `npm start` prints.
 *
 * Every POST carries an `Idempotency-Key` derived from the storefront and the role, and every
 * body is the same on each run, so a second `npm start` on the same data replays instead of
 * creating anything: tokenizations and test clocks replay from Postgres (`idempotency_keys`,
 * kept as long as the database), a checkout from its subscription's object (which keeps its
 * key for its life, in `.wrangler/state`), so the same subscription comes back. The test clock's
 * time is therefore no fresh `now` but the creation time of the card tokenized for it, which a
 * replay answers unchanged.
 *
 * Nothing here stops the demo: a failed step is a warning with what the API answered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DEMO_TENANTS } from '../../src/demo/demo-tenants';
import { customerIdFor } from '../../src/services/customers/customers';
import type { DemoCredentials } from '../seed';

export const ROLES = ['active', 'trialing', 'past_due', 'cancelled'] as const;
export type Role = (typeof ROLES)[number];

const GOOD_CARD = '4242424242424242';
/** Tokenizes, but every charge fails with generic_decline. */
const DECLINING_CARD = '4000000000000341';
/** A fixed expiry, so the tokenization request (and its replay) is the same every run. */
const EXP = { expMonth: 12, expYear: 2040 } as const;
const TRIAL_DAYS = 14;
/** How far past the period end the past_due clock moves: before the first retry (1 day). */
const PAST_PERIOD_END_SECONDS = 3_600;
/** Bumping this starts the demo subscriptions afresh (new keys, new subscriptions). */
const KEY_PREFIX = 'demo-v1';

const CUSTOMER_NAMES: Record<Role, string> = {
  active: 'ada.active',
  trialing: 'tess.trialing',
  past_due: 'pat.past-due',
  cancelled: 'cal.cancelled',
};

export interface SeededSubscription {
  id: string;
  customerId: string;
  email: string;
  status: string;
  /** The checkout was a replay (made by an earlier run). */
  replayed: boolean;
}

export interface SeededStorefront {
  tenant: string;
  slug: string;
  /** The storefront's own host (without the port). */
  host: string;
  /** The bundle the demo subscriptions are on. */
  bundle: string;
  subscriptions: Partial<Record<Role, SeededSubscription>>;
  /** A 4242 card for the printed checkout curl (no customer: any checkout may use it). */
  checkoutPaymentMethodId: string | null;
  warnings: string[];
}

interface Target {
  storefrontId: string;
  tenant: string;
  slug: string;
  host: string;
  /** Sent when the host is the tenant's shared one. */
  storefrontHeader: string | null;
  bundle: string | null;
  publishable: string;
  secret: string;
}

/** The demo storefronts, with the host to reach each and the first bundle it prices. */
function targets(creds: DemoCredentials): { targets: Target[]; skipped: string[] } {
  const out: Target[] = [];
  const skipped: string[] = [];
  for (const spec of DEMO_TENANTS) {
    for (const sf of spec.storefronts ?? []) {
      const name = `${spec.slug}/${sf.slug}`;
      const [storefrontId, keys] =
        Object.entries(creds.storefronts).find(
          ([, s]) => s.tenant === spec.slug && s.slug === sf.slug,
        ) ?? [];
      const bundle =
        (spec.bundles ?? []).find((b) => (b.prices ?? []).some((p) => p.storefront === sf.slug))
          ?.slug ?? null;
      const own = sf.hosts?.[0];
      const shared = spec.sharedHosts?.[0];
      const host = own ?? shared;
      if (!bundle) {
        skipped.push(`${name}: no bundle with a price here, skipped`);
      } else if (!keys) {
        skipped.push(`${name}: no demo keys in the credentials, skipped`);
      } else if (!host) {
        skipped.push(`${name}: no host to reach it by, skipped`);
      } else {
        out.push({
          storefrontId: storefrontId ?? '',
          tenant: spec.slug,
          slug: sf.slug,
          host,
          storefrontHeader: own ? null : sf.slug,
          bundle,
          publishable: keys.publishable,
          secret: keys.secret,
        });
      }
    }
  }
  return { targets: out, skipped };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

/** The API's refusal as one line: `402 payment_declined: The card was declined…`. */
function describe(a: Answer): string {
  const type = typeof a.body.type === 'string' ? a.body.type.split('/').pop() : undefined;
  const detail = typeof a.body.detail === 'string' ? a.body.detail : JSON.stringify(a.body);
  return `${a.status}${type ? ` ${type}` : ''}: ${detail}`;
}

class StepFailed extends Error {}

/** Retried (with the same Idempotency-Key, which is what it is for): a 5xx, a key still in
 * progress, no answer. */
const RETRY_DELAYS_MS = [1_000, 3_000];

function retriable(a: Answer): boolean {
  return (
    a.status >= 500 ||
    (a.status === 409 && String(a.body.type).endsWith('/idempotency_in_progress'))
  );
}

async function requestWithRetries(...args: Parameters<typeof request>): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const delay = RETRY_DELAYS_MS[attempt];
    try {
      const a = await request(...args);
      if (!retriable(a) || delay === undefined) return a;
    } catch (err) {
      if (delay === undefined) throw err;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * One request to the worker on 127.0.0.1 with the storefront's Host (Node's resolver does not
 * map `*.localhost` to the loopback, and `fetch` does not let a caller set Host).
 */
function request(
  port: number,
  t: Target,
  method: 'GET' | 'POST',
  path: string,
  key: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    host: `${t.host}:${port}`,
    authorization: `Bearer ${key}`,
  };
  if (t.storefrontHeader) headers['x-storefront'] = t.storefrontHeader;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { detail: text.slice(0, 200) };
          }
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            replayed: res.headers['idempotent-replayed'] === 'true',
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Seeds one storefront; never throws (what failed is in `warnings`). */
async function seedStorefront(port: number, t: Target, serial: boolean): Promise<SeededStorefront> {
  const result: SeededStorefront = {
    tenant: t.tenant,
    slug: t.slug,
    host: t.host,
    bundle: t.bundle ?? '',
    subscriptions: {},
    checkoutPaymentMethodId: null,
    warnings: [],
  };
  const keyOf = (role: string, step: string) =>
    `${KEY_PREFIX}.${t.tenant}.${t.slug}.${role}.${step}`;

  /** A POST that must answer `expect`; anything else is the step's failure. */
  const post = async (
    what: string,
    path: string,
    key: 'publishable' | 'secret',
    body: unknown,
    idempotencyKey: string,
    expect: number,
  ): Promise<Answer> => {
    const a = await requestWithRetries(port, t, 'POST', path, t[key], body, idempotencyKey);
    if (a.status !== expect) throw new StepFailed(`${what} answered ${describe(a)}`);
    return a;
  };
  const tokenize = async (role: string, step: string, number: string) => {
    const a = await post(
      `tokenizing ${number}`,
      '/v1/payment-methods',
      'publishable',
      { type: 'card', card: { number, ...EXP, cvc: '123' } },
      keyOf(role, step),
      201,
    );
    return { id: String(a.body.id), createdAt: String(a.body.createdAt) };
  };

  /**
   * The subscription an earlier run made for this customer, when its checkout key no longer
   * replays (the key answers 422: the same key with other parameters, e.g. a card tokenized
   * again because the demo keys were re-created). Found through the customer (its id is
   * derived from the storefront and the email); the oldest is the seed's.
   */
  const earlier = async (email: string): Promise<Record<string, unknown> | null> => {
    const customerId = await customerIdFor(t.storefrontId, email);
    const a = await requestWithRetries(
      port,
      t,
      'GET',
      `/v1/customers/${customerId}/subscriptions?limit=100`,
      t.secret,
    );
    const items = a.status === 200 ? (a.body.items as Record<string, unknown>[]) : [];
    return items.at(-1) ?? null;
  };

  const seedRole = async (role: Role): Promise<void> => {
    const email = `${CUSTOMER_NAMES[role]}@${t.slug}.demo`;
    const stepFailures: string[] = [];
    let sub: SeededSubscription | null = null;
    try {
      const card = await tokenize(role, 'pm', GOOD_CARD);
      /** The subscription as the checkout made it (a replay: as the first run made it). */
      let first: Record<string, unknown> | null = null;
      /** `first` is the subscription as it is now, found through its customer. */
      let adopted = false;
      let replayed = false;
      const adopt = async (refusal: Answer, what: string) => {
        const prior = await earlier(email);
        if (!prior) throw new StepFailed(`${what} answered ${describe(refusal)}`);
        first = prior;
        adopted = true;
      };
      let clockId: string | null = null;
      if (role === 'past_due') {
        // The card's creation time: now on the first run, the same on every replay.
        const frozenTime = new Date(Math.floor(Date.parse(card.createdAt) / 1000) * 1000);
        const clock = await requestWithRetries(
          port,
          t,
          'POST',
          '/v1/test-clocks',
          t.secret,
          { frozenTime: frozenTime.toISOString(), name: `demo ${role}` },
          keyOf(role, 'clock'),
        );
        if (clock.status === 201) clockId = String(clock.body.id);
        else if (clock.status === 422) await adopt(clock, 'creating the test clock');
        else throw new StepFailed(`creating the test clock answered ${describe(clock)}`);
      }
      if (!first) {
        const checkout = await requestWithRetries(
          port,
          t,
          'POST',
          '/v1/checkout',
          t.secret,
          {
            bundleId: t.bundle,
            customer: { email },
            paymentMethodId: card.id,
            ...(role === 'trialing' ? { trialDays: TRIAL_DAYS } : {}),
            ...(clockId ? { testClockId: clockId } : {}),
          },
          keyOf(role, 'checkout'),
        );
        if (checkout.status === 201) {
          first = checkout.body.subscription as Record<string, unknown>;
          replayed = checkout.replayed;
        } else if (checkout.status === 422) {
          await adopt(checkout, 'the checkout');
        } else {
          throw new StepFailed(`the checkout answered ${describe(checkout)}`);
        }
      }
      const made = first as unknown as Record<string, unknown>;
      const id = String(made.id);
      sub = {
        id,
        customerId: String(made.customerId),
        email,
        status: String(made.status),
        replayed: replayed || adopted,
      };
      clockId ??= typeof made.testClockId === 'string' ? made.testClockId : null;
      // The steps after the checkout: a refusal is noted, and judged by the state reached (a
      // replay whose key the object no longer holds is refused by a state already reached).
      const then = async (fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          if (!(err instanceof StepFailed)) throw err;
          stepFailures.push(err.message);
        }
      };
      // One found through its customer and already where it should be needs nothing more.
      const done = adopted && sub.status === role;
      if (role === 'cancelled' && !done) {
        await then(() =>
          post(
            'the cancellation',
            `/v1/subscriptions/${id}/cancel`,
            'secret',
            { atPeriodEnd: false },
            keyOf(role, 'cancel'),
            200,
          ),
        );
      }
      if (role === 'past_due' && !done) {
        if (!clockId) throw new StepFailed(`${id} is on no test clock`);
        const declining = await tokenize(role, 'pm-declining', DECLINING_CARD);
        await then(() =>
          post(
            'switching to the declining card',
            `/v1/subscriptions/${id}/payment-method`,
            'secret',
            { paymentMethodId: declining.id },
            keyOf(role, 'payment-method'),
            200,
          ),
        );
        const periodEnd = Date.parse(String(made.currentPeriodEnd));
        if (!Number.isFinite(periodEnd)) {
          throw new StepFailed(`the checkout answered no currentPeriodEnd (${made.status})`);
        }
        const to = new Date(periodEnd + PAST_PERIOD_END_SECONDS * 1000).toISOString();
        await then(() =>
          post(
            `advancing the test clock to ${to}`,
            `/v1/test-clocks/${clockId}/advance`,
            'secret',
            { to },
            keyOf(role, 'advance'),
            200,
          ),
        );
      }
      const now = await requestWithRetries(port, t, 'GET', `/v1/subscriptions/${id}`, t.secret);
      if (now.status !== 200) {
        throw new StepFailed(`GET /v1/subscriptions/${id} answered ${describe(now)}`);
      }
      sub.status = String(now.body.status);
      result.subscriptions[role] = sub;
      if (sub.status !== role) {
        result.warnings.push(
          `${role}: ${id} is ${sub.status}, not ${role}${stepFailures.length ? ` (${stepFailures.join('; ')})` : ''}`,
        );
      }
    } catch (err) {
      if (sub) result.subscriptions[role] = sub;
      const why = err instanceof Error ? err.message : String(err);
      result.warnings.push(
        `${role}: ${why}${stepFailures.length ? ` (${stepFailures.join('; ')})` : ''}`,
      );
    }
  };

  const forCurl = async () => {
    try {
      result.checkoutPaymentMethodId = (await tokenize('checkout-curl', 'pm', GOOD_CARD)).id;
    } catch (err) {
      result.warnings.push(`the card for the checkout example: ${(err as Error).message}`);
    }
  };

  if (serial) {
    for (const role of ROLES) await seedRole(role);
    await forCurl();
  } else {
    await Promise.all([...ROLES.map(seedRole), forCurl()]);
  }
  return result;
}

/** Runs `fn` over `items`, at most `limit` at a time, calling `done` as each finishes. */
async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  done: (r: R) => void,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i] as T;
      const r = await fn(item);
      results[i] = r;
      done(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The progress line of a storefront, and its warnings. */
function report(s: SeededStorefront): string[] {
  const ok = ROLES.filter((r) => s.subscriptions[r]?.status === r);
  const all = ROLES.filter((r) => s.subscriptions[r]);
  const replayed = all.length > 0 && all.every((r) => s.subscriptions[r]?.replayed);
  const mark = ok.length === ROLES.length && s.warnings.length === 0 ? '✓' : '⚠';
  const line = `  ${mark} ${s.tenant}/${s.slug}: ${ok.length === ROLES.length ? ok.length : `${ok.length} of ${ROLES.length}`} subscriptions (${ok.join(', ') || 'none'})${replayed ? ', replayed from an earlier run' : ''}`;
  return [line, ...s.warnings.map((w) => `      ⚠ ${w}`)];
}

/**
 * Seeds the demo subscriptions of every demo storefront through the worker on `port`, a few
 * storefronts at a time, logging a line per storefront as it finishes. Never throws.
 *
 * `serial`: one request at a time, for the embedded PGlite, whose connections share one
 * session, so concurrent statements collide there (failed inserts, protocol errors: the bench
 * runs its end-to-end rows on it with one connection for the same reason).
 */
export async function seedDemoSubscriptions(opts: {
  port: number;
  creds: DemoCredentials;
  log?: (s: string) => void;
  /** Storefronts at a time (default 3), each with its roles concurrently; unless `serial`. */
  concurrency?: number;
  serial?: boolean;
  /** Where to write what was seeded (ids, customers, states), for people to look up. */
  file?: string;
}): Promise<SeededStorefront[]> {
  const log = opts.log ?? console.log;
  const { targets: list, skipped } = targets(opts.creds);
  for (const s of skipped) log(`  – ${s}`);
  const serial = opts.serial ?? false;
  const seeded = await pool(
    list,
    serial ? 1 : (opts.concurrency ?? 3),
    (t) =>
      seedStorefront(opts.port, t, serial).catch(
        (err: unknown): SeededStorefront => ({
          tenant: t.tenant,
          slug: t.slug,
          host: t.host,
          bundle: t.bundle ?? '',
          subscriptions: {},
          checkoutPaymentMethodId: null,
          warnings: [err instanceof Error ? err.message : String(err)],
        }),
      ),
    (s) => {
      for (const l of report(s)) log(l);
    },
  );
  if (opts.file) {
    try {
      mkdirSync(path.dirname(opts.file), { recursive: true });
      writeFileSync(opts.file, `${JSON.stringify({ storefronts: seeded }, null, 2)}\n`);
    } catch (err) {
      log(`  ⚠ could not write ${opts.file}: ${(err as Error).message}`);
    }
  }
  return seeded;
}

/**
 * A checkout that works as pasted (POSIX sh): a new customer and a new Idempotency-Key each
 * time, with the storefront's secret key and the card tokenized for it. Without that card, the
 * two calls: tokenize with the publishable key, then checkout with the `pm_…` it answers.
 */
export function checkoutCurl(
  port: number,
  s: { host: string; slug: string; bundle: string; checkoutPaymentMethodId: string | null },
  keys: { publishable: string; secret: string },
): string[] {
  const base = `http://${s.host}:${port}`;
  const key = `-H "Idempotency-Key: $(uuidgen 2>/dev/null || date +%s%N)"`;
  const email = `"demo-'"$(date +%s)"'@${s.slug}.demo"`;
  const body = (pm: string) =>
    `'{"bundleId":"${s.bundle}","customer":{"email":${email}},"paymentMethodId":"${pm}"}'`;
  if (s.checkoutPaymentMethodId) {
    return [
      `curl ${base}/v1/checkout -H 'Authorization: Bearer ${keys.secret}' \\`,
      `     ${key} -H 'content-type: application/json' \\`,
      `     -d ${body(s.checkoutPaymentMethodId)}`,
    ];
  }
  return [
    `curl ${base}/v1/payment-methods -H 'Authorization: Bearer ${keys.publishable}' -H 'content-type: application/json' \\`,
    `     -d '{"type":"card","card":{"number":"${GOOD_CARD}","expMonth":12,"expYear":2040,"cvc":"123"}}'`,
    `curl ${base}/v1/checkout -H 'Authorization: Bearer ${keys.secret}' \\`,
    `     ${key} -H 'content-type: application/json' \\`,
    `     -d ${body('pm_…')}   # the id the first call answered`,
  ];
}
