/**
 * The bench's entitlement rows, on the Postgres-backed worker of the end-to-end rows (a
 * subscription is needed, so a checkout through the worker seeds them), measured at the KV
 * rows' connections (a check or a consume touches Durable Objects only, never Postgres), in
 * interleaved rounds with the bare Hono baseline so that each has its ratio to it:
 *
 *   ent_baseline              the bare Hono JSON route (scripts/bench/baseline), in this phase
 *   entitlement_check_token   GET /v1/entitlements/check?key=… with the hot customer's signed
 *                             entitlements token as the bearer (from GET /v1/entitlements):
 *                             checked at the edge from the token, no object call
 *   entitlement_check_server  POST /v1/entitlements/check with the secret key
 *   entitlement_consume       POST /v1/entitlements/api_access/consume, quantity 1, on one hot
 *                             customer (enterprise: 1,000,000 a month, which a row never spends)
 *
 * and an over-grant probe: 12,000 consumes from 32 parallel connections against another
 * customer's 10,000 (pro-plan), counted exactly by this process: 200s, 429s and the object's
 * `used` afterwards.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { E2eSeed } from './e2e';
import type { HttpResult, RunningWorker } from './runtime';
import { request } from './runtime';
import type { LoadRequest } from './wrk';

export const ENT_NAMES = [
  'ent_baseline',
  'entitlement_check_token',
  'entitlement_check_server',
  'entitlement_consume',
] as const;
export type EntName = (typeof ENT_NAMES)[number];

/** Pass marks: each row's req/s as a ratio of the bare Hono route's, in the same rounds. */
export const ENT_TARGETS = {
  entitlement_check_token: 0.75,
  entitlement_check_server: 0.5,
  entitlement_consume: 0.5,
} as const satisfies Partial<Record<EntName, number>>;

const KEY = 'api_access';
/** The hot customer's bundle: enough quota that a row never runs out (1,000,000 a month). */
const HOT_BUNDLE = 'enterprise';
/** The probe's bundle: 10,000 a month. */
const PROBE_BUNDLE = 'pro-plan';
const PROBE_CONSUMES = 12_000;
const PROBE_CONNECTIONS = 32;

export interface EntTarget {
  name: EntName;
  label: string;
  worker: RunningWorker;
  request: LoadRequest;
  status: number;
  check(res: HttpResult): string | undefined;
  skipWhen?(res: HttpResult): string | undefined;
  /** Set when the row cannot run here (reason). */
  skipped?: string;
}

export interface Quota {
  limit: number;
  used: number;
  remaining: number;
}

export interface ProbeResult {
  requests: number;
  limit: number;
  /** 200s this process received. */
  granted: number;
  /** 429 `quota_exhausted` problems. */
  refused: number;
  /** Any other answer (a bug, or a rate limit). */
  other: number;
  /** The object's counter afterwards. */
  used: number;
  /** Units granted beyond the limit (by the answers or by the counter): must be 0. */
  overGrant: number;
  /** Consumes sent again (same Idempotency-Key) after a broken connection. */
  retried: number;
  seconds: number;
}

export interface EntSetup {
  targets: EntTarget[];
  summary: string[];
  /** The hot customer's quota now (`GET /v1/entitlements` with their token). */
  hotQuota(): Promise<Quota>;
  /** The over-grant probe (see the module comment). */
  probe(): Promise<ProbeResult>;
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

interface Customer {
  customerId: string;
  /** Host and the customer's token. */
  headers: Record<string, string>;
}

/** A new customer subscribed to `bundleId` by a checkout, with a customer token. */
async function subscribed(seed: E2eSeed, bundleId: string): Promise<Customer> {
  const unique = randomBytes(6).toString('hex');
  const res = await request(seed.edge.url, '/v1/checkout', {
    method: 'POST',
    headers: { ...seed.skHeaders, 'idempotency-key': `bench-ent-${unique}` },
    body: JSON.stringify({
      bundleId,
      customer: { email: `bench-ent-${unique}@example.com` },
      paymentMethodId: seed.paymentMethodId,
    }),
  });
  const sub = parse(res.body)?.subscription as { customerId?: unknown } | undefined;
  if (res.status !== 201 || typeof sub?.customerId !== 'string') {
    throw new Error(`POST /v1/checkout (${bundleId}): ${res.status} ${excerpt(res.body)}`);
  }
  const customerId = sub.customerId;
  const issued = await request(seed.edge.url, `/v1/customers/${customerId}/tokens`, {
    method: 'POST',
    headers: seed.skHeaders,
  });
  const token = parse(issued.body)?.token;
  if (issued.status !== 201 || typeof token !== 'string') {
    throw new Error(`POST /v1/customers/…/tokens: ${issued.status} ${excerpt(issued.body)}`);
  }
  return {
    customerId,
    headers: { host: seed.skHeaders.host ?? '', authorization: `Bearer ${token}` },
  };
}

interface EntitlementsAnswer {
  entitlements: { key: string; quota?: Quota }[];
  token: string | null;
  tokenExpiresAt: string | null;
}

async function entitlementsOf(seed: E2eSeed, c: Customer): Promise<EntitlementsAnswer> {
  const res = await request(seed.edge.url, '/v1/entitlements', { headers: c.headers });
  const body = parse(res.body) as EntitlementsAnswer | undefined;
  if (res.status !== 200 || !Array.isArray(body?.entitlements)) {
    throw new Error(`GET /v1/entitlements: ${res.status} ${excerpt(res.body)}`);
  }
  return body;
}

/** `read` again while it fails with a 401 (an edge that has not seen the new key yet), ≤ 20 s. */
async function untilAuthenticated<T>(read: () => Promise<T>): Promise<T> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (!String(err).includes(': 401 ') || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function quotaOf(seed: E2eSeed, c: Customer): Promise<Quota> {
  const q = (await entitlementsOf(seed, c)).entitlements.find((e) => e.key === KEY)?.quota;
  if (!q) throw new Error(`the customer holds no ${KEY} quota`);
  return q;
}

/**
 * `total` consumes of 1 from `connections` parallel clients, each sending its next as soon as
 * its last is answered; answers counted by status and problem type. Each consume carries an
 * Idempotency-Key of its own, so one whose connection broke before the answer (workerd's
 * direct socket now and then hangs up under this load) is sent again without spending twice:
 * the count stays exact.
 */
async function fire(
  seed: E2eSeed,
  c: Customer,
  total: number,
  connections: number,
): Promise<{ granted: number; refused: number; other: number; retried: number; seconds: number }> {
  const body = JSON.stringify({ quantity: 1 });
  const run = randomBytes(6).toString('hex');
  const once = (idem: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: seed.edge.url.hostname,
          port: seed.edge.url.port,
          path: `/v1/entitlements/${KEY}/consume`,
          method: 'POST',
          agent: false,
          timeout: 15_000,
          headers: {
            ...c.headers,
            'idempotency-key': idem,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('consume timed out')));
      req.on('error', reject);
      req.end(body);
    });
  let retried = 0;
  const one = async (n: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(`bench-probe-${run}-${n}`);
      } catch (err) {
        if (attempt >= 5) throw err;
        retried++;
      }
    }
  };
  let sent = 0;
  const counts = { granted: 0, refused: 0, other: 0 };
  const started = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < total) {
        sent++;
        const res = await one(sent);
        if (res.status === 200) counts.granted++;
        else if (
          res.status === 429 &&
          parse(res.body)?.type === 'https://azotte.dev/problems/quota_exhausted'
        ) {
          counts.refused++;
        } else counts.other++;
      }
    }),
  );
  return { ...counts, retried, seconds: (Date.now() - started) / 1000 };
}

/**
 * Seeds the rows on the Postgres-backed worker: the hot customer (enterprise) and the probe's
 * (pro-plan), each by a checkout and with a customer token, published so the edge knows the
 * tenant's signing key; and the rows' requests.
 */
export async function prepareEntitlements(
  seed: E2eSeed,
  baseline: RunningWorker,
): Promise<EntSetup> {
  const summary: string[] = [];
  const hot = await subscribed(seed, HOT_BUNDLE);
  const probed = await subscribed(seed, PROBE_BUNDLE);
  await seed.publish(); // the tenant's first customer-token signing key reaches the edge
  // …within a few seconds: the edge's isolate keeps what it had read for a while.
  const hotAnswer = await untilAuthenticated(() => entitlementsOf(seed, hot));
  await untilAuthenticated(() => entitlementsOf(seed, probed));
  const hotQuota = hotAnswer.entitlements.find((e) => e.key === KEY)?.quota;
  if (!hotQuota) throw new Error(`${HOT_BUNDLE} granted no ${KEY} quota`);
  summary.push(
    `checked out ${HOT_BUNDLE} for the hot customer ${hot.customerId} (${KEY} ${hotQuota.limit.toLocaleString('en-US')} a month) and ${PROBE_BUNDLE} for the probe's`,
  );
  const edge = seed.edge;
  const checkBody = JSON.stringify({ customerId: hot.customerId, key: KEY });
  const targets: EntTarget[] = [
    {
      name: 'ent_baseline',
      label: 'ent_baseline: bare Hono, GET /v1/hello',
      worker: baseline,
      request: { url: baseline.url, path: '/v1/hello', method: 'GET' },
      status: 200,
      check: (res) => (parse(res.body)?.ok === true ? undefined : 'expected {"ok": true, …}'),
    },
    {
      name: 'entitlement_check_token',
      label: 'entitlement_check_token: GET /v1/entitlements/check (token)',
      worker: edge,
      request: {
        url: edge.url,
        path: `/v1/entitlements/check?key=${KEY}`,
        method: 'GET',
        headers: {
          host: seed.skHeaders.host ?? '',
          authorization: `Bearer ${hotAnswer.token ?? ''}`,
        },
      },
      status: 200,
      check: (res) => {
        const b = parse(res.body);
        if (b?.allowed !== true) return 'expected allowed: true';
        if (b.source !== 'token') return 'expected source: "token"';
        return undefined;
      },
      ...(hotAnswer.token === null
        ? { skipped: 'GET /v1/entitlements answered token: null (no signing key at the edge)' }
        : {}),
    },
    {
      name: 'entitlement_check_server',
      label: 'entitlement_check_server: POST /v1/entitlements/check',
      worker: edge,
      request: {
        url: edge.url,
        path: '/v1/entitlements/check',
        method: 'POST',
        headers: seed.skHeaders,
        body: checkBody,
      },
      status: 200,
      check: (res) =>
        parse(res.body)?.allowed === true ? undefined : 'expected {"allowed": true, …}',
    },
    {
      name: 'entitlement_consume',
      label: `entitlement_consume: POST /v1/entitlements/${KEY}/consume`,
      worker: edge,
      request: {
        url: edge.url,
        path: `/v1/entitlements/${KEY}/consume`,
        method: 'POST',
        headers: seed.skHeaders,
        body: JSON.stringify({ customerId: hot.customerId, quantity: 1 }),
        countStatuses: true,
      },
      status: 200,
      check: (res) =>
        typeof parse(res.body)?.remaining === 'number' ? undefined : 'expected {"remaining": n, …}',
    },
  ];
  return {
    targets,
    summary,
    hotQuota: () => quotaOf(seed, hot),
    probe: async () => {
      const before = await quotaOf(seed, probed);
      const fired = await fire(seed, probed, PROBE_CONSUMES, PROBE_CONNECTIONS);
      const after = await quotaOf(seed, probed);
      const granted = fired.granted + before.used;
      return {
        requests: PROBE_CONSUMES,
        limit: after.limit,
        granted: fired.granted,
        refused: fired.refused,
        other: fired.other,
        used: after.used,
        overGrant: Math.max(0, granted - after.limit, after.used - after.limit),
        retried: fired.retried,
        seconds: fired.seconds,
      };
    },
  };
}
