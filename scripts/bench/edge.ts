/** Our worker as the bench runs it: wrangler.toml's default environment plus the seeded KV. */
import path from 'node:path';
import type { Miniflare, WorkerOptions } from 'miniflare';
import { ROOT } from './build';
import { BENCH_HOST, benchTenantRows, fixtureDb } from './fixture';

/** Requests per minute the bench client may send (far above what one machine can). */
export const BENCH_RATE_LIMIT = 1_000_000_000;

export interface ProjectWorker {
  compatibilityDate: string;
  compatibilityFlags: string[];
  options: Partial<WorkerOptions>;
}

/**
 * Miniflare options for the project's worker, from wrangler.toml (default environment) as
 * `wrangler dev` derives them: Durable Objects (their classes are exported by the bundle's main
 * module) and every other binding, so the bench keeps working as bindings are added. The KV
 * namespace and the vars the hot path reads are set explicitly.
 */
export async function projectWorker(): Promise<ProjectWorker> {
  const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, 'wrangler.toml'));
  const { compatibilityDate, compatibilityFlags, ...rest } = workerOptions as WorkerOptions;
  const bindings = (rest.bindings ?? {}) as Record<string, unknown>;
  const kvNamespaces = (rest.kvNamespaces ?? {}) as Record<string, unknown>;
  return {
    compatibilityDate: compatibilityDate ?? '2026-04-20',
    compatibilityFlags: compatibilityFlags ?? [],
    options: {
      ...(rest as Partial<WorkerOptions>),
      bindings: {
        ...bindings,
        // Production settings, so the runs measure the hot path as deployed: e.g. the
        // development stand-in geo headers (CF-IPCountry…) are not read.
        ENVIRONMENT: 'production',
        DEV_GEO_HEADERS: 'false',
        // The load generator is one client with one key: lift the per-IP and per-key limits so
        // the runs measure the route, not 429s. The limiter still runs on every request.
        RATE_LIMIT_IP_PER_MINUTE: String(BENCH_RATE_LIMIT),
        RATE_LIMIT_KEY_PER_MINUTE: String(BENCH_RATE_LIMIT),
      },
      kvNamespaces: { ...kvNamespaces, CONFIG_KV: 'bench-config-kv' },
    },
  };
}

export interface PublishedBench {
  /** What was published, for the progress output. */
  summary: string;
  /** Headers of a storefront-API request to the bench storefront (Host, API key). */
  headers: Record<string, string>;
}

/**
 * Publishes the bench tenant through the real publisher (`publishConfig`) over the fixture's
 * stand-in database: snapshots and `routing/v1` into CONFIG_KV, and the hot config into the
 * tenant's TENANT_CONFIG Durable Object when the worker has that binding. A fresh publishable
 * key of the bench storefront is part of it.
 */
export async function publishBenchConfig(mf: Miniflare): Promise<PublishedBench> {
  const { publishConfig, durableObjectSignal } = await import('../../src/services/publish/publish');
  const { generateApiKey } = await import('../../src/security/api-keys');
  const apiKey = await generateApiKey('publishable');
  const kv = await mf.getKVNamespace('CONFIG_KV');
  let signal: Parameters<typeof publishConfig>[1]['signal'];
  try {
    const ns = await mf.getDurableObjectNamespace('TENANT_CONFIG');
    signal = durableObjectSignal(ns as unknown as Parameters<typeof durableObjectSignal>[0]);
  } catch {
    signal = undefined; // no such binding (yet): KV only
  }
  const rows = benchTenantRows({ publishableKeyHash: apiKey.hash });
  const result = await publishConfig(fixtureDb(rows), {
    kv: kv as unknown as Parameters<typeof publishConfig>[1]['kv'],
    signal,
  });
  const t = result.tenants.map((x) => `${x.slug} v${x.version}`).join(', ');
  return {
    summary:
      `published ${t}: ${result.snapshotsWritten} snapshots + routing/v1 (${result.routingBytes} B)` +
      ` to CONFIG_KV${signal ? ', hot config to TENANT_CONFIG' : ''}`,
    headers: { host: BENCH_HOST, authorization: `Bearer ${apiKey.key}` },
  };
}
