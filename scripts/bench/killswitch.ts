/**
 * Killswitch flip-to-effect (`killswitch_p99_ms` in `npm run bench -- --json`): the time from
 * the publisher handing a flip to the edge (KV snapshot + the tenant's config object, exactly
 * as after an admin API commit) until the worker answers accordingly, engaging and releasing a
 * `feature:catalog` switch in turns.
 */
import http from 'node:http';
import type { Miniflare } from 'miniflare';
import { killswitches } from '../../src/db/schema';
import { hashApiKey } from '../../src/security/api-keys';
import { emptyPublishState, publishTenant } from '../../src/services/publish/publish';
import { benchTargets } from './edge';
import { TENANT_ID as BENCH_TENANT_ID, benchTenantRows, fixtureDb } from './fixture';

export interface KillswitchTarget {
  /** The Miniflare running our worker (`mf.getKVNamespace('CONFIG_KV')`, DO namespaces…). */
  mf: Miniflare;
  /** Direct-socket URL of our worker. */
  url: URL;
  /** Headers of a storefront-API request to the bench storefront (Host, publishable key). */
  headers: Record<string, string>;
  /** Seconds the bench would give one load run (`--duration`), as a budget hint. */
  seconds: number;
  /** Progress output. */
  log: (line: string) => void;
}

const FLIPS = 40;
const POLL_MS = 10;
const DEADLINE_MS = 10_000;

/** GET with the bench's headers, Host included (fetch() would replace Host with the URL's). */
function statusOf(url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: url.hostname, port: url.port, path: url.pathname, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * p99, in milliseconds, over {@link FLIPS} flips (half engage, half release). Each flip
 * publishes a new config version and polls `GET /v1/catalog` every 10 ms until the answer
 * changes (503 when engaged, 200 when released).
 */
export async function measureKillswitchFlip(target: KillswitchTarget): Promise<number | null> {
  const key = (target.headers.authorization ?? '').replace(/^Bearer /, '');
  const publishableKeyHash = await hashApiKey(key);
  const targets = await benchTargets(target.mf);
  // One publisher's memory across the flips, as the tenant's publisher object keeps it.
  const state = emptyPublishState();
  const catalog = new URL('/v1/catalog', target.url);
  const samples: number[] = [];
  const started = Date.now();
  for (let i = 0; i < FLIPS && Date.now() - started < target.seconds * 3000; i++) {
    const engaged = i % 2 === 0;
    const rows = benchTenantRows({ configVersion: 1000 + i, publishableKeyHash });
    const stamp = new Date();
    rows.set(killswitches, [
      ...(rows.get(killswitches) ?? []),
      {
        id: 'ks_bench_catalog',
        tenantId: (rows.get(killswitches)?.[0] as { tenantId: string } | undefined)?.tenantId,
        storefrontId: null,
        scope: 'feature',
        target: 'catalog',
        engaged,
        failMode: 'open',
        retryAfterSeconds: 5,
        reason: 'bench',
        createdAt: stamp,
        updatedAt: stamp,
      },
    ]);
    const t0 = performance.now();
    const tenantId = BENCH_TENANT_ID;
    const done = await publishTenant(fixtureDb(rows), tenantId, targets, state);
    if (done.failure) throw new Error(`publishing the flip: ${done.failure.detail}`);
    const want = engaged ? 503 : 200;
    for (;;) {
      const status = await statusOf(catalog, target.headers);
      if (status === want) break;
      if (performance.now() - t0 > DEADLINE_MS) {
        target.log(`  killswitch flip ${i + 1}: still ${status} after ${DEADLINE_MS} ms`);
        return null;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    samples.push(performance.now() - t0);
  }
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  target.log(
    `  killswitch flip-to-effect over ${samples.length} flips: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms`,
  );
  return Math.round(percentile(sorted, 99));
}
