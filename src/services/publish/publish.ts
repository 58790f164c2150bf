import { sql } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import type { Db } from '../../db/types';
import { type HotConfig, KV_KEYS, type TenantRouting } from '../../edge/snapshot';
import type { Env } from '../../env';
import { sha256Hex } from '../../lib/crypto';
import {
  buildHotKeys,
  buildTenantPublication,
  buildTenantRouting,
  edgeKeyEntry,
  snapshotBody,
  type TenantHost,
} from './build';
import { describeViolation, HARD_LIMITS, type SizeViolation, sizeViolation } from './limits';
import { listTenantIds, loadTenantConfig } from './load';

/**
 * How long a snapshot lives in KV after it was written. Superseded versions simply expire (no
 * delete, no write per change); the version a storefront serves is written again by its
 * tenant's publisher before then (see SNAPSHOT_REFRESH_AFTER_MS).
 */
export const SNAPSHOT_TTL_SECONDS = 7 * 86_400;
/** A served snapshot older than this is written again (with a fresh TTL) by the next publish. */
export const SNAPSHOT_REFRESH_AFTER_MS = 2 * 86_400_000;
/** At most this many API key entries are written per publish (the rest in the next one). */
export const MAX_KEY_WRITES = 1000;
/** KV writes in flight at once for keys. */
const KEY_WRITE_CONCURRENCY = 32;

/** Runs `fn` over `items`, at most `n` at a time; rejects with the first failure. */
async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** KV takes about one write per second per key: the tenant's routing entry is written no faster. */
export const ROUTING_MIN_INTERVAL_MS = 1000;

/** A tenant the publisher could not (fully) publish. */
export interface PublishFailure {
  tenantId: string;
  slug: string;
  /** The config version that could not be published. */
  version: number;
  /**
   * `snapshot`: nothing of this version was published; the edge keeps serving
   * `servingVersion` (null: never published). `signal`: the snapshots and routing are
   * published, but the tenant's config object was not updated, so the edge sees the change
   * through KV (up to 60 s), not in ~1 s. `hosts`: published, but the host directory did not
   * take the tenant's host changes; the next publish retries them.
   */
  stage: 'snapshot' | 'signal' | 'hosts';
  servingVersion: number | null;
  /** Set when a size limit is the reason; deterministic, so retrying does not help. */
  size?: SizeViolation;
  detail: string;
}

/** What one tenant's publish did. */
export interface TenantPublishResult {
  tenantId: string;
  slug: string;
  version: number;
  storefronts: number;
  /** Snapshots written (storefronts whose published content changed, or due a TTL refresh). */
  snapshotsWritten: number;
  /** API key entries written or removed. */
  keysWritten: number;
  /** Keys still to write (more than MAX_KEY_WRITES were pending): the next publish does. */
  keysPending: number;
  /** Host entries added, changed or removed (by the host directory). */
  hostsChanged: number;
  /** KV writes this publish made itself (puts and deletes; the directory's are in hostsChanged). */
  kvWrites: number;
  /** `deferred`: written by the publisher's alarm, at most one write a second per key. */
  routing: 'written' | 'deferred' | 'unchanged';
  failure?: PublishFailure;
}

/** What the tenant's publisher remembers between publishes (in its Durable Object storage). */
export interface TenantPublishState {
  /** The config version last published (null: never). */
  version: number | null;
  /** Per storefront: hash of its published content, the version it is served at, when written. */
  snapshots: Record<string, { hash: string; version: number; writtenAt: number }>;
  /** Hash of the host set the directory last took for this tenant. */
  hostsDigest: string | null;
  /** When the tenant's routing entry was last written to KV (ms). */
  routingWrittenAt: number;
  /** Hash of the routing entry last written (an unchanged one is not written again). */
  routingDigest?: string;
  /** Keys the last publish left for the next one (a bulk import). */
  keysPending?: number;
}

export function emptyPublishState(): TenantPublishState {
  return { version: null, snapshots: {}, hostsDigest: null, routingWrittenAt: 0 };
}

/** What the host directory answers for a tenant's host set. */
export interface HostApplyResult {
  written: number;
  removed: number;
  /** Hosts another tenant holds with a newer claim: not taken. */
  refused: string[];
}

export interface PublishTargets {
  kv: KVNamespace;
  /** The fast signal: hands the tenant's hot config to its TenantConfigDurableObject. */
  signal?: (tenantId: string, hot: HotConfig) => Promise<unknown>;
  /** The host directory: takes the tenant's whole host set, writes what changed. */
  hosts?: (tenantId: string, hosts: TenantHost[]) => Promise<HostApplyResult>;
}

/** A `signal` that writes to the tenant config Durable Objects. */
export function durableObjectSignal(
  ns: Env['TENANT_CONFIG'],
): NonNullable<PublishTargets['signal']> {
  return (tenantId, hot) => ns.get(ns.idFromName(tenantId)).publish(hot);
}

/** A `hosts` target that is the deployment's host directory object. */
export function hostDirectoryTarget(
  ns: Env['HOST_DIRECTORY'],
): NonNullable<PublishTargets['hosts']> {
  return (tenantId, hosts) => ns.get(ns.idFromName('global')).apply(tenantId, hosts);
}

/** The targets of a worker's environment. */
export function envTargets(env: Env): PublishTargets {
  return {
    kv: env.CONFIG_KV,
    signal: durableObjectSignal(env.TENANT_CONFIG),
    hosts: hostDirectoryTarget(env.HOST_DIRECTORY),
  };
}

/** A tenant's publish result before anything is written. */
function nothingWritten(
  tenantId: string,
  slug: string,
  version: number,
  storefronts: number,
): TenantPublishResult {
  return {
    tenantId,
    slug,
    version,
    storefronts,
    snapshotsWritten: 0,
    keysWritten: 0,
    keysPending: 0,
    hostsChanged: 0,
    kvWrites: 0,
    routing: 'unchanged',
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface PublishTenantOptions {
  now?: Date;
  /** Write snapshots served since before this (ms) again, for their TTL. Default: 2 days ago. */
  refreshBefore?: number;
}

/**
 * Publishes one tenant, and only it: the snapshots of the storefronts whose content changed
 * (a storefront-scoped killswitch rewrites one snapshot; a tenant flag, all of them), the API
 * keys whose edge copy is out of date, the hot config (flags, switches, routing, recent and
 * revoked keys) to the tenant's config object so a change reaches the edge in about a second,
 * the tenant's routing entry, and, when its hosts changed, its host set to the host directory.
 * Nothing another tenant owns is read or written, so the cost of a publish is independent of
 * how many tenants exist. Postgres is the source; `state` is what this tenant's publisher
 * wrote before (updated in place).
 *
 * Writes are ordered so a reader never sees a pointer to something that is not there:
 * snapshots, then keys, then the hot config and the routing entry that point at the snapshots,
 * then hosts that point at the tenant. A tenant that cannot be published (over a hard limit,
 * a failed write) writes nothing that points further, so the edge keeps serving its last
 * published state; a later publish retries from Postgres.
 *
 * Must not run twice at once for a tenant: its PublisherDurableObject serializes it.
 */
export async function publishTenant(
  db: Db,
  tenantId: string,
  targets: PublishTargets,
  state: TenantPublishState,
  options: PublishTenantOptions = {},
): Promise<TenantPublishResult> {
  const now = options.now ?? new Date();
  const nowMs = now.getTime();
  const refreshBefore = options.refreshBefore ?? nowMs - SNAPSHOT_REFRESH_AFTER_MS;
  const { kv } = targets;
  const rows = await db.transaction(async (tx) => loadTenantConfig(tx, tenantId), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
  if (rows?.tenant.status !== 'active') return unpublish(tenantId, targets, state);
  const { slug, configVersion: version } = rows.tenant;
  const result = nothingWritten(tenantId, slug, version, rows.storefronts.length);
  const fail = (f: Omit<PublishFailure, 'tenantId' | 'slug' | 'version' | 'servingVersion'>) => {
    result.failure = { tenantId, slug, version, servingVersion: state.version, ...f };
    return result;
  };

  let publication: ReturnType<typeof buildTenantPublication>;
  try {
    publication = buildTenantPublication(rows, now, buildHotKeys(rows, now));
  } catch (err) {
    return fail({ stage: 'snapshot', detail: message(err) });
  }
  const size = sizeViolation(publication, HARD_LIMITS);
  if (size) return fail({ stage: 'snapshot', size, detail: describeViolation(size) });

  // Which storefronts changed: their content hash against what this publisher last wrote. An
  // unchanged one keeps its version (and KV key) unless its copy is due a TTL refresh.
  const publishedAt = now.toISOString();
  const nextSnapshots: TenantPublishState['snapshots'] = {};
  const writes: { key: string; body: string }[] = [];
  for (const part of publication.snapshots) {
    const hash = await sha256Hex(part.content);
    const last = state.snapshots[part.storefrontId];
    if (last && last.hash === hash && last.writtenAt >= refreshBefore) {
      nextSnapshots[part.storefrontId] = last;
      continue;
    }
    const at = last && last.hash === hash ? last.version : version;
    writes.push({
      key: KV_KEYS.snapshot(part.storefrontId, at),
      body: snapshotBody(part, at, publishedAt),
    });
    nextSnapshots[part.storefrontId] = { hash, version: at, writtenAt: nowMs };
  }
  try {
    await Promise.all(
      writes.map((w) => kv.put(w.key, w.body, { expirationTtl: SNAPSHOT_TTL_SECONDS })),
    );
  } catch (err) {
    // Some snapshots may exist now: harmless, nothing points at them (and they expire).
    return fail({ stage: 'snapshot', detail: `writing its snapshots failed: ${message(err)}` });
  }
  result.snapshotsWritten = writes.length;
  result.kvWrites += writes.length;

  // Keys whose edge copy is out of date: written (or removed) before anything points at them.
  // At most MAX_KEY_WRITES per publish (a bulk import of keys continues in the next one, which
  // the publisher schedules), a few at a time.
  const allPending = rows.apiKeys.filter((k) => !k.edgeSynced);
  const pending = allPending.slice(0, MAX_KEY_WRITES);
  result.keysPending = allPending.length - pending.length;
  try {
    await inBatches(pending, KEY_WRITE_CONCURRENCY, (k) => writeKey(kv, k, nowMs));
  } catch (err) {
    return fail({ stage: 'snapshot', detail: `writing its API keys failed: ${message(err)}` });
  }
  result.keysWritten = pending.length;
  result.kvWrites += pending.length;

  const versions = Object.fromEntries(
    Object.entries(nextSnapshots).map(([id, s]) => [id, s.version]),
  );
  const { routing, hosts } = buildTenantRouting(rows, versions);
  const hot: HotConfig = { ...publication.hot, routing };
  state.snapshots = nextSnapshots;
  state.version = version;

  if (targets.signal) {
    try {
      await targets.signal(tenantId, hot);
    } catch (err) {
      fail({
        stage: 'signal',
        detail: `the tenant config object did not take it: ${message(err)}`,
      });
    }
  }
  result.routing = await writeRouting(kv, tenantId, routing, state, nowMs);
  if (result.routing === 'written') result.kvWrites += 1;

  const digest = await sha256Hex(JSON.stringify(hosts));
  if (targets.hosts && digest !== state.hostsDigest) {
    try {
      const applied = await targets.hosts(tenantId, hosts);
      result.hostsChanged = applied.written + applied.removed;
      state.hostsDigest = digest;
    } catch (err) {
      if (!result.failure) {
        fail({
          stage: 'hosts',
          detail: `the host directory did not take its hosts: ${message(err)}`,
        });
      }
    }
  }

  if (pending.length > 0) await markKeysSynced(db, pending);
  state.keysPending = result.keysPending;
  return result;
}

/**
 * Writes the tenant's routing entry now, or leaves it for {@link flushRouting} when the last
 * write is less than a second old (KV's per-key write rate). The hot config already carries
 * it, so the edge does not wait for it; the KV copy is for cold isolates without the config
 * object.
 */
async function writeRouting(
  kv: KVNamespace,
  tenantId: string,
  routing: TenantRouting,
  state: TenantPublishState & { pendingRouting?: TenantRouting },
  nowMs: number,
): Promise<TenantPublishResult['routing']> {
  const body = JSON.stringify(routing);
  const digest = await sha256Hex(body);
  if (digest === state.routingDigest && !state.pendingRouting) return 'unchanged';
  if (nowMs - state.routingWrittenAt < ROUTING_MIN_INTERVAL_MS) {
    state.pendingRouting = routing;
    return 'deferred';
  }
  await kv.put(KV_KEYS.tenantRouting(tenantId), body);
  state.routingWrittenAt = nowMs;
  state.routingDigest = digest;
  delete state.pendingRouting;
  return 'written';
}

/** When a deferred routing write is due (ms), or undefined when none is pending. */
export function routingDueAt(state: TenantPublishState & { pendingRouting?: TenantRouting }) {
  return state.pendingRouting ? state.routingWrittenAt + ROUTING_MIN_INTERVAL_MS : undefined;
}

/** Writes a deferred routing entry (the publisher's alarm). True when one was written. */
export async function flushRouting(
  kv: KVNamespace,
  tenantId: string,
  state: TenantPublishState & { pendingRouting?: TenantRouting },
  nowMs = Date.now(),
): Promise<boolean> {
  const pendingRouting = state.pendingRouting;
  if (!pendingRouting) return false;
  const body = JSON.stringify(pendingRouting);
  await kv.put(KV_KEYS.tenantRouting(tenantId), body);
  state.routingWrittenAt = nowMs;
  state.routingDigest = await sha256Hex(body);
  delete state.pendingRouting;
  return true;
}

/**
 * A key's KV entry: its current state, or its removal when it is revoked. An expiring key's
 * entry expires with it (KV needs an expiration at least 60 s ahead).
 */
async function writeKey(
  kv: KVNamespace,
  k: Parameters<typeof edgeKeyEntry>[0],
  nowMs: number,
): Promise<void> {
  const key = KV_KEYS.apiKey(k.hash);
  const expires = k.expiresAt?.getTime();
  if (k.revokedAt || (expires !== undefined && expires <= nowMs)) {
    await kv.delete(key);
    return;
  }
  const body = JSON.stringify(edgeKeyEntry(k));
  if (expires !== undefined && expires - nowMs > 120_000) {
    await kv.put(key, body, { expiration: Math.ceil(expires / 1000) + 60 });
  } else await kv.put(key, body);
}

/**
 * Marks the keys written as synced, unless one changed since it was read (then it stays
 * pending and the next publish writes it). Raw SQL: drizzle's update would bump `updated_at`.
 */
async function markKeysSynced(db: Db, keys: { id: string; updatedAt: Date }[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const pairs = sql.join(
      chunk.map((k) => sql`(${k.id}, ${k.updatedAt.toISOString()}::timestamptz)`),
      sql`, `,
    );
    await db.execute(
      sql`update ${apiKeys} set edge_synced = true
          from (values ${pairs}) as seen(id, updated_at)
          where ${apiKeys.id} = seen.id
            and date_trunc('milliseconds', ${apiKeys.updatedAt}) = seen.updated_at`,
    );
  }
}

/** A tenant that is gone or inactive: its hosts leave the directory, its routing entry KV. */
async function unpublish(
  tenantId: string,
  targets: PublishTargets,
  state: TenantPublishState,
): Promise<TenantPublishResult> {
  const result = nothingWritten(tenantId, '', state.version ?? 0, 0);
  if (targets.hosts && state.hostsDigest !== 'none') {
    const applied = await targets.hosts(tenantId, []);
    result.hostsChanged = applied.removed;
    state.hostsDigest = 'none';
  }
  return result;
}

/** What publishing every tenant did (`POST /internal/publish`). */
export interface PublishResult {
  tenants: { id: string; slug: string; version: number; storefronts: number }[];
  /** Tenants not (fully) published. Every other tenant was, whatever happened to these. */
  failed: PublishFailure[];
  snapshotsWritten: number;
  kvWrites: number;
}

/**
 * Publishes every active tenant, each through `publishOne` (its own publisher object in the
 * worker), a few at a time. For deploys and `npm start`; changes publish their tenant only.
 */
export async function publishAllTenants(
  db: Db,
  publishOne: (tenantId: string) => Promise<TenantPublishResult>,
  options: { concurrency?: number } = {},
): Promise<PublishResult> {
  const ids = await listTenantIds(db);
  const results: TenantPublishResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      results.push(await publishOne(id));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return summarizePublishes(results);
}

/** Many tenants' publish results as one (sorted by slug). */
export function summarizePublishes(results: TenantPublishResult[]): PublishResult {
  const out: PublishResult = { tenants: [], failed: [], snapshotsWritten: 0, kvWrites: 0 };
  for (const r of [...results].sort((a, b) => (a.slug < b.slug ? -1 : 1))) {
    out.snapshotsWritten += r.snapshotsWritten;
    out.kvWrites += r.kvWrites;
    if (r.failure) out.failed.push(r.failure);
    if (r.failure?.stage !== 'snapshot')
      out.tenants.push({
        id: r.tenantId,
        slug: r.slug,
        version: r.version,
        storefronts: r.storefronts,
      });
  }
  return out;
}
