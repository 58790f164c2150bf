/** Our worker as the bench runs it: wrangler.toml's default environment plus the seeded KV. */
import path from 'node:path';
import type { Miniflare, WorkerOptions } from 'miniflare';
import { ROOT } from './build';

import { BENCH_HOST, TENANT_ID as BENCH_TENANT_ID, benchTenantRows, fixtureDb } from './fixture';

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
        RATE_LIMIT_CUSTOMER_PER_MINUTE: String(BENCH_RATE_LIMIT),
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
 * The publisher's targets in the bench's Miniflare: CONFIG_KV, the tenant config objects and
 * the host directory (those the worker has).
 */
export async function benchTargets(
  mf: Miniflare,
): Promise<import('../../src/services/publish/publish').PublishTargets> {
  const { durableObjectSignal, hostDirectoryTarget } = await import(
    '../../src/services/publish/publish'
  );
  const kv = (await mf.getKVNamespace('CONFIG_KV')) as unknown as KVNamespace;
  const targets: import('../../src/services/publish/publish').PublishTargets = { kv };
  try {
    const ns = await mf.getDurableObjectNamespace('TENANT_CONFIG');
    targets.signal = durableObjectSignal(
      ns as unknown as Parameters<typeof durableObjectSignal>[0],
    );
  } catch {
    // no such binding: KV only
  }
  try {
    const ns = await mf.getDurableObjectNamespace('HOST_DIRECTORY');
    targets.hosts = hostDirectoryTarget(ns as unknown as Parameters<typeof hostDirectoryTarget>[0]);
  } catch {
    // no such binding
  }
  return targets;
}

/**
 * Publishes the bench tenant through the real publisher (`publishTenant`) over the fixture's
 * stand-in database: its snapshots, routing entry and API key into CONFIG_KV, its host into the
 * host directory, and the hot config into the tenant's TENANT_CONFIG Durable Object. A fresh
 * publishable key of the bench storefront is part of it.
 */
export async function publishBenchConfig(mf: Miniflare): Promise<PublishedBench> {
  const { emptyPublishState, publishTenant } = await import('../../src/services/publish/publish');
  const { generateApiKey } = await import('../../src/security/api-keys');
  const apiKey = await generateApiKey('publishable');
  const targets = await benchTargets(mf);
  const rows = benchTenantRows({ publishableKeyHash: apiKey.hash });
  const tenantId = BENCH_TENANT_ID;
  const result = await publishTenant(fixtureDb(rows), tenantId, targets, emptyPublishState());
  if (result.failure) throw new Error(`publishing the bench tenant: ${result.failure.detail}`);
  return {
    summary:
      `published ${result.slug} v${result.version}: ${result.snapshotsWritten} snapshots, ` +
      `${result.kvWrites} KV writes, ${result.hostsChanged} hosts` +
      `${targets.signal ? ', hot config to TENANT_CONFIG' : ''}`,
    headers: { host: BENCH_HOST, authorization: `Bearer ${apiKey.key}` },
  };
}
