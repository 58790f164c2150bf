/**
 * `npm run bench:scale` (`npx tsx scripts/bench/scale.ts`): what one config change costs as the
 * number of tenants grows (issue 10), at N = 2 and N = 1,000 tenants (4 storefronts each) in the
 * same run. A change publishes its own tenant only, through that tenant's publisher Durable
 * Object (durable-objects/publisher.ts): the snapshots whose content changed
 * (`snapshot/<sf>/v<n>`), its pending API key entries (`key/<sha256>`), its routing entry
 * (`tenant/<id>/routing`, at most one write a second: a faster second write is deferred to the
 * publisher's alarm) and its hot config to its TENANT_CONFIG object; host entries
 * (`host/<host>`, by the HostDirectory object) only when its host set changes. So every
 * per-flip figure should be the same at N = 1,000 as at N = 2 (the goal: flat ratios); only
 * the full `POST /internal/publish` (every tenant, for deploys) grows with N.
 *
 *   npm run bench:scale                      N = 2 and 1,000, 20 flips each (≈ 4 min)
 *   npm run bench:scale -- --tenants 10000   also N = 10,000 (its full publish alone ≈ 10 min here)
 *   npm run bench:scale -- --memory          also isolate memory after 10k known / 100k unknown hosts
 *   npm run bench:scale -- --help            every option
 *
 * Needs DATABASE_URL (a Postgres server where it may create a scratch database, dropped at the
 * end) and wrk (for the optional load parts). The worker is the real bundle
 * (`wrangler deploy --dry-run`) on a direct workerd socket, reaching Postgres through the local
 * WebSocket proxy, with its KV and Durable Objects persisted to a temp dir so that writes can be
 * counted from the outside:
 * - KV writes: Miniflare stores every KV value as a new, randomly named blob file (an overwrite
 *   creates a new one and deletes the old), so the blob files that appear during a flip are the
 *   puts of that flip, their sizes the bytes written. Each is classified by its content
 *   (snapshot, tenant routing, API key, host entry). Deletes are not seen (a flip makes none).
 * - The counting window of a flip runs from before the admin request until KV is quiet, at
 *   least SETTLE_MS (1.2 s) after the flip took effect: a routing write the publisher deferred
 *   (its previous one less than a second old) is made by its alarm about a second later, and
 *   belongs to the flip. A routing entry first seen after the admin answer counts as deferred.
 * - TENANT_CONFIG objects written: the objects whose SQLite write-ahead log changed in that
 *   window (not their main file, which an idle object's eviction touches too).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from '../../src/db/schema';
import type { Db } from '../../src/db/types';
import { newId } from '../../src/lib/ids';
import { generateApiKey } from '../../src/security/api-keys';
import { upsertOperator } from '../../src/services/admin/operators';
import {
  createScratchDatabase,
  redact,
  runMigrations,
  type ScratchDatabase,
} from '../lib/database';
import { startWsProxy, type WsProxy } from '../lib/ws-proxy';
import { buildChildren, buildWorker } from './build';
import { parseCli } from './cli';
import { projectWorker } from './edge';
import { pinProcesses, type RunningWorker, startWorker, workerdPids } from './runtime';
import {
  addApiKeys,
  HOSTS_PER_TENANT,
  type SeedDb,
  type SeededTenant,
  STOREFRONTS_PER_TENANT,
  scaleHost,
  seedTenants,
} from './scale-seed';
import { currentLoad, runLoad, wrkVersion } from './wrk';

const HELP = `npm run bench:scale -- [options]

  --tenants <n|list>  sizes to measure: a number adds it to the default 2 and 1000
                      (--tenants 10000 → 2, 1000, 10000); a comma list replaces them
  --flips <n>         killswitch flips per size (default 20; engage and release in turns)
  --budget <s>        seconds of flips per size at most (default 100): fewer flips are done
                      when one flip takes longer, and the table says how many
  --memory            also isolate memory after 10,000 known and 100,000 unknown hosts
                      (needs ≥ 1,000 tenants; about 2 more minutes here), the answers by
                      status, and what real hosts get during the unknown-host flood
  --no-extras         skip the 10,000-API-key catalog load (and --memory)
  --no-pin            do not pin workerd and wrk to different CPUs
  --json              also one JSON object on the last line
  -h, --help          this text

  DATABASE_URL        Postgres server to create the scratch database on (required)`;

const args = parseCli(
  {
    tenants: { type: 'string' },
    flips: { type: 'string', default: '20' },
    budget: { type: 'string', default: '100' },
    'no-extras': { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  HELP,
);
const intArg = (name: string, raw: string, min: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min} (got "${raw}")`);
    process.exit(2);
  }
  return n;
};
const SIZES = (() => {
  const raw = args.tenants;
  if (raw?.includes(',')) return [...new Set(raw.split(',').map((s) => intArg('tenants', s, 2)))];
  const extra = raw ? [intArg('tenants', raw, 2)] : [];
  return [...new Set([2, 1000, ...extra])];
})().sort((a, b) => a - b);
const FLIPS = intArg('flips', args.flips, 2);
const BUDGET_S = intArg('budget', args.budget, 5);
const EXTRAS = !args['no-extras'];

// --- output -----------------------------------------------------------------------------------

const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const t0 = Date.now();
const since = () => dim(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const log = (line: string) => console.log(line);
const step = (s: string) => log(`${bold('▸')} ${s} ${since()}`);
/** A counter line that rewrites itself on a terminal (one line per update otherwise). */
const counter = (line: string, last = false) => {
  if (tty) process.stdout.write(`\r\x1b[2K  ${line}${last ? '\n' : ''}`);
  else if (last) log(`  ${line}`);
};
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n >= 100 ? fmtInt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

// --- cleanup ----------------------------------------------------------------------------------

let worker: RunningWorker | undefined;
let proxy: WsProxy | undefined;
let scratch: ScratchDatabase | undefined;
let client: pg.Client | undefined;
let tmpdir: string | undefined;
let hostLoad: ChildProcess | undefined;
let stopping: Promise<never> | undefined;
const publishToken = randomBytes(24).toString('base64url');
/** The bench's operator (owner of tenant 0) and its session. */
const admin = { operatorId: '', token: '' };

async function cleanup(): Promise<void> {
  currentLoad?.kill('SIGKILL');
  hostLoad?.kill('SIGKILL');
  for (const child of buildChildren) child.kill('SIGTERM');
  await worker?.mf.dispose().catch(() => {});
  worker = undefined;
  await client?.end().catch(() => {});
  client = undefined;
  await proxy?.close().catch(() => {});
  proxy = undefined;
  if (scratch) {
    const s = scratch;
    scratch = undefined;
    await s.drop().catch((e) => console.error(`  could not drop the scratch database: ${e}`));
  }
  if (tmpdir) await rm(tmpdir, { recursive: true, force: true }).catch(() => {});
}

function stop(code: number, message?: string): Promise<never> {
  stopping ??= (async () => {
    if (message) console.error(message);
    await cleanup();
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stop(130, '\ninterrupted: cleaning up'));
process.on('SIGTERM', () => void stop(143));
process.on('exit', () => {
  currentLoad?.kill('SIGKILL');
  hostLoad?.kill('SIGKILL');
  if (tmpdir) rmSync(tmpdir, { recursive: true, force: true });
});
// Bounded: building and seeding, the flips of every size with slack, the extras, then a stop.
const watchdogSeconds =
  240 +
  SIZES.reduce((n, size) => n + BUDGET_S + 60 + size / 4, 0) +
  (EXTRAS ? 120 : 0) +
  (args.memory ? 300 : 0);
setTimeout(
  () =>
    void stop(1, `bench:scale: gave up after ${Math.round(watchdogSeconds)} s (something hung)`),
  watchdogSeconds * 1000,
).unref();

// --- HTTP -------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: string;
}

/** One request to the worker's direct socket, with a Host of our choice. */
function call(
  pathname: string,
  opts: { method?: string; host?: string; headers?: Record<string, string>; body?: unknown } = {},
  timeoutMs = 300_000,
): Promise<Answer> {
  const url = worker?.url;
  if (!url) return Promise.reject(new Error('no worker'));
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = {
    host: opts.host ?? 'admin.scale.localhost',
    ...opts.headers,
  };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: pathname,
        method: opts.method ?? 'GET',
        headers,
        agent: false,
        timeout: timeoutMs,
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
    req.on('timeout', () => req.destroy(new Error(`${pathname} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

const excerpt = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** When each storefront host was last asked for its catalog (ms, performance.now()). */
const lastAsked = new Map<string, number>();

/**
 * GET /v1/catalog on `host` until it answers 200 (30 s at most). When the first answers were
 * not 200, says so, with how long nobody had asked this host before (per-isolate caches and
 * the hot config's freshness depend on it).
 */
async function untilServing(host: string, key: string, when: string): Promise<Answer> {
  const idleMs = lastAsked.has(host) ? performance.now() - (lastAsked.get(host) ?? 0) : undefined;
  const w0 = performance.now();
  const ask = async () => {
    const a = await call('/v1/catalog', { host, headers: { authorization: `Bearer ${key}` } });
    lastAsked.set(host, performance.now());
    return a;
  };
  let answer = await ask();
  const first = answer;
  let tries = 1;
  while (answer.status !== 200 && performance.now() - w0 < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await ask();
    tries++;
  }
  if (answer.status !== 200)
    throw new Error(`GET /v1/catalog on ${host}: ${answer.status} ${excerpt(answer.body)}`);
  if (tries > 1) {
    const type = /"type":"[^"]*\/([^"/]+)"/.exec(first.body)?.[1];
    log(
      `  ⚠ ${host} answered ${first.status}${type ? ` ${type}` : ''} ${when}` +
        `${idleMs === undefined ? '' : ` (not asked for ${fmtMs(idleMs / 1000)} s before)`}, ` +
        `200 after ${tries} tries, ${fmtMs(performance.now() - w0)} ms`,
    );
  }
  return answer;
}

// --- counting writes from the outside ---------------------------------------------------------

function walk(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

interface StoreSample {
  blobs: Set<string>;
  /** TENANT_CONFIG object → mtime of its non-empty write-ahead log. */
  objects: Map<string, number>;
}

/**
 * The KV blob files, and the TENANT_CONFIG objects' write-ahead logs: a write appends to the
 * object's `-wal` file. Not the main `.sqlite` file, whose mtime also changes when workerd
 * evicts an idle object (SQLite checkpoints and removes the log on close), which after a full
 * publish happens to hundreds of objects in a few seconds, written or not.
 */
function sampleStores(kvDir: string, doDir: string): StoreSample {
  const blobs = new Set(walk(kvDir).filter((f) => f.includes(`${path.sep}blobs${path.sep}`)));
  const objects = new Map<string, number>();
  for (const f of walk(doDir)) {
    if (!f.includes('TenantConfig') || !f.endsWith('.sqlite-wal')) continue;
    const id = path.basename(f, '.sqlite-wal');
    if (id === 'metadata') continue;
    try {
      const st = statSync(f);
      if (st.size > 0) objects.set(id, st.mtimeMs);
    } catch {
      // removed while we looked
    }
  }
  return { blobs, objects };
}

type KvKind = 'snapshot' | 'routing' | 'key' | 'host' | 'other';

/** What a KV value written by the publisher is, from its content (src/edge/snapshot.ts). */
function kvKind(file: string): KvKind {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 'other'; // overwritten again already
  }
  if (text.startsWith('{"schemaVersion":')) return 'snapshot';
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if ('pathPrefixes' in v && 'storefronts' in v) return 'routing';
    if ('hash' in v && 'kind' in v) return 'key';
    if ('tenantId' in v && 'storefrontId' in v && Object.keys(v).length === 2) return 'host';
  } catch {
    // not JSON
  }
  return 'other';
}

/**
 * The writes since `before`, from samples of the stores taken during the window: a blob file
 * is counted (and classified, and measured) when a sample first shows it, so a value that is
 * overwritten again before the window ends (its first blob deleted) still counts, provided a
 * sample saw it.
 */
class WriteCounter {
  kvWrites = 0;
  kvBytes = 0;
  readonly kinds: Record<KvKind, number> = { snapshot: 0, routing: 0, key: 0, host: 0, other: 0 };
  private readonly seen = new Set<string>();
  private readonly objects = new Map<string, number>();
  constructor(private readonly before: StoreSample) {}

  /** Takes a sample; true when it showed a write not seen before (not quiet yet). */
  add(sample: StoreSample): boolean {
    let fresh = false;
    for (const f of sample.blobs) {
      if (this.before.blobs.has(f) || this.seen.has(f)) continue;
      fresh = true;
      this.seen.add(f);
      this.kvWrites++;
      this.kinds[kvKind(f)]++;
      try {
        this.kvBytes += statSync(f).size;
      } catch {
        // overwritten again already: counted, size unknown
      }
    }
    for (const [id, m] of sample.objects) {
      if (m <= (this.before.objects.get(id) ?? 0) || this.objects.get(id) === m) continue;
      fresh = true;
      this.objects.set(id, m);
    }
    return fresh;
  }

  get objectsWritten(): number {
    return this.objects.size;
  }
}

// --- statistics -------------------------------------------------------------------------------

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number)
    : NaN;
};
const median = (xs: number[]) => pct(xs, 50);

interface SizeResult {
  tenants: number;
  storefronts: number;
  seedMs: number;
  publishMs: number;
  /** KV writes the full publish reported (`kvWrites`: snapshots, keys, routing entries). */
  publishKvWrites: number;
  /** KV values written during the full publish, counted from outside (host entries too). */
  publishKvBlobs: number;
  publishFailed: number;
  flips: number;
  flipMs: number[];
  effectMs: number[];
  totalMs: number[];
  kvWrites: number[];
  kvBytes: number[];
  snapshotWrites: number[];
  routingWrites: number[];
  /** KV writes per flip that are neither snapshots nor routing (keys, hosts, unknown). */
  otherWrites: number[];
  /** Flips whose routing entry was written after the admin answer (the publisher's alarm). */
  routingDeferred: number;
  objects: number[];
}

// --- the run ----------------------------------------------------------------------------------

const POLL_MS = 10;
const EFFECT_DEADLINE_MS = 15_000;
/**
 * A flip's counting window lasts at least this long after its effect: a routing write the
 * publisher deferred (its previous one less than ROUTING_MIN_INTERVAL_MS = 1 s old) is made by
 * its alarm within about a second of the publish. Then until two samples QUIET_MS apart agree,
 * for QUIET_MAX_MS more at most.
 */
const SETTLE_MS = 1200;
const QUIET_MS = 150;
const QUIET_MAX_MS = 3000;

async function main(): Promise<number> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    await stop(
      1,
      'bench:scale needs DATABASE_URL (a Postgres server where it may create a scratch database), e.g.\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:scale',
    );
  }
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  log(
    bold('Azotte Edge scale bench') +
      dim(
        ` — sizes ${SIZES.map(fmtInt).join(', ')} tenants × 4 storefronts, ${FLIPS} flips each (at most ${BUDGET_S} s), ${cpus} CPUs`,
      ),
  );
  tmpdir = await mkdtemp(path.join(os.tmpdir(), 'azotte-scale-'));
  const kvDir = path.join(tmpdir, 'kv');
  const doDir = path.join(tmpdir, 'do');

  step(`Scratch database on ${redact(serverUrl as string)}, migrations, WebSocket proxy`);
  scratch = await createScratchDatabase(serverUrl as string, 'azotte_scale');
  await runMigrations(scratch.url);
  proxy = await startWsProxy();
  client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  const db = drizzle({ client, schema });
  log(`  ✓ ${redact(scratch.url)}, proxy ${proxy.url} ${since()}`);

  step('Building the worker (wrangler deploy --dry-run) and starting it on a direct socket');
  const [bundle, project] = await Promise.all([
    buildWorker(path.join(tmpdir, 'edge')),
    projectWorker(),
  ]);
  worker = await startWorker({
    name: 'azotte-edge',
    bundle,
    compatibilityDate: project.compatibilityDate,
    compatibilityFlags: project.compatibilityFlags,
    options: {
      ...project.options,
      bindings: {
        ...(project.options.bindings as Record<string, unknown>),
        DATABASE_URL: scratch.url,
        NEON_LOCAL_WS_PROXY: proxy.url,
        PUBLISH_TOKEN: publishToken,
        SESSION_SECRET: randomBytes(32).toString('base64url'),
        SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'),
      },
    },
    instance: { kvPersist: kvDir, durableObjectsPersist: doDir, cachePersist: false },
  });
  log(`  ✓ ${worker.url.host} ${since()}`);

  // The tenant whose killswitch is flipped (tenant 0) and its storefront 0's key; the
  // catalog-by-API-key comparison uses tenant 1's storefront 0 (10,000 keys) against it.
  const key0 = await generateApiKey('publishable');
  const key1 = await generateApiKey('publishable');
  const keyHashes = new Map([
    [0, [key0.hash]],
    [1, [key1.hash]],
  ]);
  const tenants: SeededTenant[] = [];
  const results: SizeResult[] = [];
  const extras: Extras | undefined = EXTRAS ? { memory: [], catalog: [], json: {} } : undefined;

  for (const size of SIZES) {
    step(`N = ${fmtInt(size)} tenants`);
    const seedStart = performance.now();
    const from = tenants.length;
    tenants.push(
      ...(await seedTenants(db, from, size, {
        keyHashes,
        progress: (done) => counter(`seeding: ${fmtInt(from + done)} / ${fmtInt(size)} tenants`),
      })),
    );
    const seedMs = performance.now() - seedStart;
    counter(
      `seeded ${fmtInt(size - from)} tenants (${fmtInt((size - from) * 4)} storefronts) in ${fmtMs(seedMs)} ms; ${fmtInt(size)} in all`,
      true,
    );
    const target = tenants[0] as SeededTenant;
    if (!admin.token) {
      const email = 'scale-owner@example.test';
      const password = `Scale-${randomBytes(12).toString('base64url')}`;
      admin.operatorId = await upsertOperator(db as unknown as Db, {
        email,
        name: 'Scale bench owner',
        password,
        grants: [{ tenantId: target.id, role: 'owner' }],
      });
      const res = await call('/admin/v1/sessions', {
        method: 'POST',
        body: { email, password },
      });
      if (res.status !== 201) throw new Error(`sign-in: ${res.status} ${excerpt(res.body)}`);
      admin.token = (JSON.parse(res.body) as { token: string }).token;
      log('  signed in as the owner of tenant 0 (POST /admin/v1/sessions)');
    }

    const publishCount = new WriteCounter(sampleStores(kvDir, doDir));
    const published = await publish();
    const publishMs = published.ms;
    publishCount.add(sampleStores(kvDir, doDir));
    const k = publishCount.kinds;
    log(
      `  POST /internal/publish: ${fmtInt(published.tenants)} tenants in ${fmtMs(publishMs)} ms; ` +
        `${fmtInt(published.snapshots)} snapshots, ${fmtInt(published.kvWrites)} KV writes reported; ` +
        `${fmtInt(publishCount.kvWrites)} KV values seen written (${fmtInt(k.snapshot)} snapshots, ` +
        `${fmtInt(k.routing)} routing, ${fmtInt(k.key)} keys, ${fmtInt(k.host)} hosts` +
        `${k.other ? `, ${fmtInt(k.other)} other` : ''})`,
    );
    warnFailures(published.failed);

    const catalog = { host: scaleHost(0, 1), headers: { authorization: `Bearer ${key0.key}` } };
    await untilServing(catalog.host, key0.key, 'after the publish');

    const r: SizeResult = {
      tenants: size,
      storefronts: size * 4,
      seedMs,
      publishMs,
      publishKvWrites: published.kvWrites,
      publishKvBlobs: publishCount.kvWrites,
      publishFailed: published.failed.length,
      flips: 0,
      flipMs: [],
      effectMs: [],
      totalMs: [],
      kvWrites: [],
      kvBytes: [],
      snapshotWrites: [],
      routingWrites: [],
      otherWrites: [],
      routingDeferred: 0,
      objects: [],
    };
    results.push(r);
    const flipStart = Date.now();
    for (let i = 0; i < FLIPS; i++) {
      if (i >= 2 && Date.now() - flipStart > BUDGET_S * 1000) break;
      if (stopping) await stopping;
      const engaged = i % 2 === 0;
      const w = new WriteCounter(sampleStores(kvDir, doDir));
      const a = performance.now();
      const res = await call(`/admin/v1/tenants/${target.id}/killswitches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}` },
        body: { scope: 'tenant', engaged, reason: `scale bench flip ${i + 1}` },
      });
      const b = performance.now();
      if (res.status !== 200) throw new Error(`flip ${i + 1}: ${res.status} ${excerpt(res.body)}`);
      w.add(sampleStores(kvDir, doDir));
      const routingAtAnswer = w.kinds.routing;
      // Effect: the storefront API answers accordingly (503 killswitch_engaged, or 200 again).
      let effect: number | undefined;
      for (;;) {
        const c = await call('/v1/catalog', catalog, 5000);
        lastAsked.set(catalog.host, performance.now());
        const ok = engaged
          ? c.status === 503 && c.body.includes('killswitch_engaged')
          : c.status === 200;
        if (ok) {
          effect = performance.now() - b;
          break;
        }
        if (performance.now() - b > EFFECT_DEADLINE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      // The rest of the window: a deferred routing write, then quiet.
      const settleFrom = effect === undefined ? performance.now() : b + effect;
      const wait = settleFrom + SETTLE_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const quietBy = performance.now() + QUIET_MAX_MS;
      w.add(sampleStores(kvDir, doDir));
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
        if (!w.add(sampleStores(kvDir, doDir)) || performance.now() > quietBy) break;
      }
      r.flips++;
      r.flipMs.push(b - a);
      r.kvWrites.push(w.kvWrites);
      r.kvBytes.push(w.kvBytes);
      r.snapshotWrites.push(w.kinds.snapshot);
      r.routingWrites.push(w.kinds.routing);
      r.otherWrites.push(w.kvWrites - w.kinds.snapshot - w.kinds.routing);
      if (w.kinds.routing > routingAtAnswer) r.routingDeferred++;
      r.objects.push(w.objectsWritten);
      if (effect !== undefined) {
        r.effectMs.push(effect);
        r.totalMs.push(b - a + effect);
      }
      counter(
        `flip ${i + 1}/${FLIPS} (${engaged ? 'engage' : 'release'}): admin ${fmtMs(b - a)} ms, ` +
          `effect ${effect === undefined ? `not within ${EFFECT_DEADLINE_MS / 1000} s` : `${fmtMs(effect)} ms`} after the answer, ` +
          `${w.kvWrites} KV writes (${w.kinds.snapshot} snapshots, ${w.kinds.routing} routing` +
          `${w.kinds.routing > routingAtAnswer ? ' deferred' : ''}; ${fmtInt(w.kvBytes / 1024)} KiB), ${w.objectsWritten} config objects`,
        false,
      );
    }
    counter(
      `${r.flips} flips: admin p50 ${fmtMs(median(r.flipMs))} ms, p99 ${fmtMs(pct(r.flipMs, 99))} ms; ` +
        `effect p99 ${fmtMs(pct(r.effectMs, 99))} ms; KV writes per flip median ${median(r.kvWrites)}, max ${Math.max(...r.kvWrites)}` +
        ` (expected ≤ ${target.storefrontIds.length + 1}: its snapshots and routing entry)`,
      true,
    );
    const expected = target.storefrontIds.length + 1;
    const over = r.kvWrites.filter((n) => n > expected).length;
    if (over)
      log(
        `  ⚠ ${over} flips wrote more than ${expected} KV values (max ${Math.max(...r.kvWrites)})`,
      );
    if (extras && size === SIZES[0])
      await measureExtras(db, tenants, key0.key, key1.key, cpus, 'keys', extras);
    if (r.effectMs.length < r.flips)
      log(
        `  ⚠ ${r.flips - r.effectMs.length} flips had no effect within ${EFFECT_DEADLINE_MS / 1000} s`,
      );
  }

  if (extras && args.memory)
    await measureExtras(db, tenants, key0.key, key1.key, cpus, 'memory', extras);
  else extras?.memory.push('not measured (add --memory: about 2 more minutes)');
  report(results, extras);
  return 0;
}

// --- extras: isolate memory, catalog with 10,000 API keys ---------------------------------------

interface Extras {
  memory: string[];
  catalog: string[];
  json: Record<string, unknown>;
}

/** Resident memory of the workerd processes, in MiB (Linux /proc). */
function workerdRssMiB(): number | undefined {
  let kb = 0;
  const pids = workerdPids();
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
      kb += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return pids.length && kb ? kb / 1024 : undefined;
}

/**
 * wrk sending `count` requests, each to the next host of a formula (known hosts of the seeded
 * tenants, or made-up ones), then stopping. Returns the answers counted by status (a 503 or a
 * 404 with its problem type: `503 host_lookup_throttled`) and how long they took.
 */
async function hostSweep(
  kind: 'known' | 'unknown',
  count: number,
  prefix: string[],
): Promise<{ statuses: Record<string, number>; seconds: number }> {
  const url = worker?.url as URL;
  const script = path.join(tmpdir as string, `hosts-${kind}.lua`);
  const hostExpr =
    kind === 'known'
      ? `"h" .. (i % ${HOSTS_PER_TENANT}) .. "-t" .. math.floor(i / ${HOSTS_PER_TENANT}) .. ".scale.localhost"`
      : `"u" .. i .. ".nowhere.localhost"`;
  // The counts are printed from the thread's own Lua state when it stops (wrk's `done` runs in
  // another state and would not see them). wrk 4 calls `request` once more in the first
  // thread's state before sending anything (to check for pipelining), which takes n = 0: so
  // host i is n modulo count, and n runs to count, so that host 0 is sent either way.
  await writeFile(
    script,
    [
      'local n = -1',
      'local seen = 0',
      'local statuses = {}',
      'request = function()',
      '  n = n + 1',
      `  if n > ${count} then n = ${count} end`,
      `  local i = n % ${count}`,
      `  return wrk.format("GET", "/v1/catalog", { Host = ${hostExpr} })`,
      'end',
      'response = function(status, headers, body)',
      '  local k = tostring(status)',
      '  if status == 503 or status == 404 then',
      '    local t = body and string.match(body, \'"type":"[^"]*/([^"/]+)"\')',
      '    if t then k = k .. " " .. t end',
      '  end',
      '  statuses[k] = (statuses[k] or 0) + 1',
      '  seen = seen + 1',
      `  if seen == ${count} then`,
      '    local parts = {}',
      '    for s, c in pairs(statuses) do parts[#parts + 1] = string.format("\\"%s\\":%d", s, c) end',
      '    io.write("STATUSES {" .. table.concat(parts, ",") .. "}\\n")',
      '    io.flush()',
      '    wrk.thread:stop()',
      '  end',
      'end',
      '',
    ].join('\n'),
  );
  const [cmd = 'wrk', ...rest] = [
    ...prefix,
    'wrk',
    '-t1',
    '-c16',
    '-d120s',
    '--timeout',
    '10s',
    '-s',
    script,
    `http://${url.host}/`,
  ];
  const s0 = performance.now();
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  hostLoad = child;
  let out = '';
  let doneAt: number | undefined;
  // wrk runs for its whole -d even when its only thread stopped: end it once the line is out.
  child.stdout?.on('data', (d) => {
    out += d;
    if (doneAt === undefined && /^STATUSES .*\n/m.test(out)) {
      doneAt = performance.now();
      child.kill('SIGTERM');
    }
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve) => child.on('close', resolve));
  hostLoad = undefined;
  const line = out.split('\n').find((l) => l.startsWith('STATUSES '));
  if (!line) throw new Error(`wrk host sweep (${kind}) printed no result:\n${excerpt(out, 600)}`);
  return {
    statuses: JSON.parse(line.slice('STATUSES '.length)) as Record<string, number>,
    seconds: ((doneAt ?? performance.now()) - s0) / 1000,
  };
}

async function measureExtras(
  db: SeedDb,
  tenants: SeededTenant[],
  key0: string,
  key1: string,
  cpus: number,
  part: 'keys' | 'memory',
  out: Extras,
): Promise<Extras> {
  if (!wrkVersion()) {
    out.memory.push('n/a: wrk is not installed');
    out.catalog.push('n/a: wrk is not installed');
    return out;
  }
  const pinning = pinProcesses(cpus, !args['no-pin']);
  if (part === 'keys') return measureKeys(db, tenants, key0, key1, pinning.loadPrefix, out);
  step(`Isolate memory (workerd RSS) — ${pinning.description}`);
  const KNOWN = 10_000;
  const UNKNOWN = 100_000;
  /** `1,637× 404 (unknown_host), 98,363× 503 (host_lookup_throttled)`, by status. */
  const fmtStatuses = (s: Record<string, number>, always: string[] = []) => {
    const byCode = new Map<string, Map<string, number>>(always.map((c) => [c, new Map()]));
    for (const [k, v] of Object.entries(s)) {
      const [code = k, type = ''] = k.split(' ');
      const types = byCode.get(code) ?? new Map<string, number>();
      types.set(type, (types.get(type) ?? 0) + v);
      byCode.set(code, types);
    }
    return [...byCode]
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([code, types]) => {
        const total = [...types.values()].reduce((a, b) => a + b, 0);
        const named = [...types].filter(([t]) => t);
        const detail =
          named.length === 0
            ? ''
            : types.size === 1
              ? ` (${named[0]?.[0]})`
              : ` (${[...types].map(([t, n]) => `${fmtInt(n)} ${t || 'untyped'}`).join(', ')})`;
        return `${fmtInt(total)}× ${code}${detail}`;
      })
      .join(', ');
  };
  const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(0)}`;
  const rss0 = workerdRssMiB();
  if (rss0 === undefined) {
    out.memory.push('n/a: no workerd process RSS readable (not Linux?)');
    return out;
  }
  if (tenants.length * HOSTS_PER_TENANT < KNOWN) {
    out.memory.push(`n/a: ${fmtInt(KNOWN)} known hosts need ≥ ${KNOWN / HOSTS_PER_TENANT} tenants`);
    return out;
  }
  // A probe: one more tenant, published now (through the admin API, so only it), whose hosts
  // this isolate has never seen. Asked for during the unknown-host flood, they show what a real
  // host new to an isolate gets while the flood has used up the miss budget.
  const probe = await probeTenant(db, tenants.length);
  const known = await hostSweep('known', KNOWN, pinning.loadPrefix);
  const k = known.statuses;
  const rss1 = workerdRssMiB() ?? NaN;
  log(
    `  ${fmtInt(KNOWN)} known hosts (of ${fmtInt(KNOWN / HOSTS_PER_TENANT)} tenants) in ${known.seconds.toFixed(1)} s: ${fmtStatuses(k)}; RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MiB ${since()}`,
  );
  // Tenant 0 answering (its hot config fresh) before the flood, so that the probe of its hosts
  // shows the flood's effect, not the idle time of the sweep.
  await untilServing(scaleHost(0, 1), key0, 'before the flood');
  const probeAnswers: { cached: string[]; uncached: string[] } = { cached: [], uncached: [] };
  let flooding = true;
  const ask = async (host: string) => {
    const a = await call('/v1/catalog', { host }, 10_000).catch(() => undefined);
    if (!a) return 'error';
    const type = /"type":"[^"]*\/([^"/]+)"/.exec(a.body)?.[1];
    return type ? `${a.status} ${type}` : String(a.status);
  };
  const probing = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (let j = 0; j < HOSTS_PER_TENANT && flooding; j++) {
      const [cached, uncached] = await Promise.all([
        ask(scaleHost(0, j)),
        ask(scaleHost(probe, j)),
      ]);
      probeAnswers.cached.push(cached);
      probeAnswers.uncached.push(uncached);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const unknown = await hostSweep('unknown', UNKNOWN, pinning.loadPrefix).finally(() => {
    flooding = false;
  });
  const u = unknown.statuses;
  const floodS = unknown.seconds;
  await probing;
  const rss2 = workerdRssMiB() ?? NaN;
  log(
    `  ${fmtInt(UNKNOWN)} unknown hosts in ${floodS.toFixed(1)} s: ${fmtStatuses(u, ['200', '404', '503'])}; RSS → ${rss2.toFixed(0)} MiB ${since()}`,
  );
  const count = (xs: string[]) => {
    const c: Record<string, number> = {};
    for (const x of xs) c[x] = (c[x] ?? 0) + 1;
    return c;
  };
  const probeLine =
    probeAnswers.uncached.length === 0
      ? 'probe: not sent (the flood ended within 2 s)'
      : `during the flood, GET /v1/catalog without a key: hosts this isolate holds (tenant 0) ${fmtStatuses(count(probeAnswers.cached))}; ` +
        `real hosts new to it (tenant ${probe}, published just before) ${fmtStatuses(count(probeAnswers.uncached))}`;
  log(`  ${probeLine}`);
  out.memory.push(
    `workerd RSS before ${rss0.toFixed(0)} MiB; after ${fmtInt(KNOWN)} distinct known hosts ${rss1.toFixed(0)} MiB (${signed(rss1 - rss0)}); after ${fmtInt(UNKNOWN)} unknown hosts ${rss2.toFixed(0)} MiB (${signed(rss2 - rss1)})`,
    `known (GET /v1/catalog without a key, ${known.seconds.toFixed(1)} s): ${fmtStatuses(k)}`,
    `unknown (${floodS.toFixed(1)} s, ${fmtInt(UNKNOWN / floodS)} req/s): ${fmtStatuses(u, ['200', '404', '503'])}; ` +
      '404: looked up in KV, no such host; 503 host_lookup_throttled: past the budget of 100 misses/s (burst 200)',
    probeLine,
    'RSS of the whole workerd process (V8 heap of the isolate plus Miniflare’s KV/DO/cache machinery); V8 collects garbage when it likes, so read growth, not bytes',
  );
  out.json.memory_mib = { before: rss0, after_known: rss1, after_unknown: rss2 };
  out.json.host_statuses = {
    known: k,
    known_seconds: known.seconds,
    unknown: u,
    unknown_seconds: floodS,
  };
  out.json.flood_probe = probeAnswers;
  return out;
}

/**
 * Seeds tenant `index`, lets the bench's operator own it, and publishes it alone (releasing its
 * tenant killswitch through the admin API publishes the tenant). Returns its index.
 */
async function probeTenant(db: SeedDb, index: number): Promise<number> {
  const [t] = await seedTenants(db, index, index + 1);
  if (!t) throw new Error('probe tenant: not seeded');
  await db.insert(schema.operatorRoles).values({
    id: newId('orl'),
    operatorId: admin.operatorId,
    tenantId: t.id,
    role: 'owner',
  });
  const res = await call(`/admin/v1/tenants/${t.id}/killswitches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}` },
    body: { scope: 'tenant', engaged: false, reason: 'scale bench: publish the probe tenant' },
  });
  if (res.status !== 200) throw new Error(`probe tenant: ${res.status} ${excerpt(res.body)}`);
  return index;
}

/** Catalog req/s on a storefront with 10,000 API keys against one with 2; then back to 1 each. */
async function measureKeys(
  db: SeedDb,
  tenants: SeededTenant[],
  key0: string,
  key1: string,
  prefix: string[],
  out: Extras,
): Promise<Extras> {
  step('Catalog req/s: a storefront with 10,000 API keys against one with 2');
  const big = tenants[1] as SeededTenant;
  const small = tenants[0] as SeededTenant;
  await addApiKeys(db, big, 0, 9_999);
  await addApiKeys(db, small, 0, 1, 'secret');
  // The new rows are `edge_synced = false`: the next publish of their tenants writes one KV
  // entry (`key/<sha256>`) per key, whatever the config version, and marks them synced. A
  // publisher may write only so many keys per publish and leave the rest to a later one (its
  // alarm): wait for them, and publish again when nothing moves.
  const unsyncedKeys = async () => {
    const res = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from api_keys where tenant_id in (${big.id}, ${small.id}) and not edge_synced`,
    );
    return Number(res.rows[0]?.n ?? 0);
  };
  const k0 = performance.now();
  const pub = await publish();
  warnFailures(pub.failed);
  let unsynced = await unsyncedKeys();
  const afterFirst = unsynced;
  let publishes = 1;
  let kvWrites = pub.kvWrites;
  let still = 0;
  while (unsynced > 0 && performance.now() - k0 < 90_000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const n = await unsyncedKeys();
    still = n < unsynced ? 0 : still + 1;
    unsynced = n;
    if (n > 0 && still >= 3) {
      const again = await publish();
      warnFailures(again.failed);
      publishes++;
      kvWrites += again.kvWrites;
      unsynced = await unsyncedKeys();
      still = 0;
    }
  }
  const syncMs = performance.now() - k0;
  log(
    `  published with 10,000 keys on ${scaleHost(1, 1)}, 2 on ${scaleHost(0, 1)}: ${fmtMs(pub.ms)} ms, ` +
      `${fmtInt(pub.kvWrites)} KV writes reported (10,000 new keys)` +
      (afterFirst
        ? `; ${fmtInt(afterFirst)} keys left for later, all synced after ${fmtMs(syncMs)} ms and ${publishes} publishes (${fmtInt(kvWrites)} KV writes reported)`
        : '') +
      (unsynced ? `  ⚠ ${fmtInt(unsynced)} keys still not synced after ${fmtMs(syncMs)} ms` : ''),
  );
  out.json.keys_publish = {
    ms: pub.ms,
    kv_writes: pub.kvWrites,
    unsynced_after_first: afterFirst,
    publishes,
    sync_ms: syncMs,
    unsynced,
    failed: pub.failed.length,
  };
  const targets = [
    { name: '2 keys', host: scaleHost(0, 1), key: key0 },
    { name: '10,000 keys', host: scaleHost(1, 1), key: key1 },
  ];
  for (const t of targets) {
    const res = await untilServing(t.host, t.key, `(${t.name}) after the publish`).catch(
      (e: Error) => e,
    );
    if (res instanceof Error) {
      out.catalog.push(`n/a: ${t.name}: ${res.message}`);
      return out;
    }
  }
  const load = {
    connections: 32,
    threads: 1,
    prefix,
    tmpdir: tmpdir as string,
  };
  const rps: Record<string, number[]> = {};
  const ROUNDS = 3;
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const req = {
        url: worker?.url as URL,
        path: '/v1/catalog',
        method: 'GET' as const,
        headers: { host: t.host, authorization: `Bearer ${t.key}` },
      };
      if (round === 0) await runLoad(req, { ...load, seconds: 2 });
      const r = await runLoad(req, { ...load, seconds: 6 });
      const bad = r.non2xx + r.socketErrors;
      log(
        `  ${t.name.padEnd(12)} round ${round + 1}: ${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.p50_ms)} ms, p99 ${fmtMs(r.p99_ms)} ms${bad ? `  ⚠ ${bad} errors` : ''} ${since()}`,
      );
      rps[t.name] = [...(rps[t.name] ?? []), bad > r.requests * 0.01 ? NaN : r.rps];
    }
  }
  const a = median(rps['2 keys'] ?? []);
  const b = median(rps['10,000 keys'] ?? []);
  out.catalog.push(
    Number.isFinite(a) && Number.isFinite(b)
      ? `GET /v1/catalog: ${fmtInt(b)} req/s with 10,000 API keys vs ${fmtInt(a)} with 2 (${(b / a).toFixed(2)}×; medians of ${ROUNDS} interleaved 6 s rounds, wrk -t1 -c32)`
      : 'n/a: a run answered errors under load',
    'the keys are looked up by hash (KV, then cached per isolate); the 9,999 added ones are minutes old, so tenant 1’s hot config also carries the newest 500 as recent',
  );
  out.json.catalog_rps = { keys_2: a, keys_10000: b, rounds: rps };
  // The extra rows go (their KV entries stay, unreachable random hashes, so that the next full
  // publish does not count 10,000 removals); nothing needs publishing for that.
  await db.execute(sql`delete from api_keys where name = 'scale bench (extra)'`);
  return out;
}

interface PublishFailureBody {
  tenantId: string;
  slug: string;
  stage: string;
  detail: string;
}

interface Published {
  ms: number;
  tenants: number;
  failed: PublishFailureBody[];
  snapshots: number;
  kvWrites: number;
}

/** `POST /internal/publish`: every tenant, each through its own publisher object. */
async function publish(): Promise<Published> {
  const p0 = performance.now();
  const res = await call('/internal/publish', {
    method: 'POST',
    headers: { authorization: `Bearer ${publishToken}` },
  });
  const ms = performance.now() - p0;
  if (res.status !== 200) throw new Error(`publish: ${res.status} ${excerpt(res.body)}`);
  const body = JSON.parse(res.body) as {
    tenants: unknown[];
    failed: PublishFailureBody[];
    snapshotsWritten: number;
    kvWrites: number;
  };
  return {
    ms,
    tenants: body.tenants.length,
    failed: body.failed ?? [],
    snapshots: body.snapshotsWritten,
    kvWrites: body.kvWrites,
  };
}

function warnFailures(failed: PublishFailureBody[]): void {
  if (failed.length === 0) return;
  const stages = new Map<string, number>();
  for (const f of failed) stages.set(f.stage, (stages.get(f.stage) ?? 0) + 1);
  log(
    `  ⚠ ${failed.length} tenants not (fully) published (${[...stages].map(([s, n]) => `${n} ${s}`).join(', ')}); ` +
      `first: ${failed[0]?.slug} ${failed[0]?.stage}: ${excerpt(failed[0]?.detail ?? '', 160)}`,
  );
}

// --- report -----------------------------------------------------------------------------------

function report(results: SizeResult[], extras: Extras | undefined): void {
  const base = results[0];
  type Row = { label: string; get: (r: SizeResult) => number; fmt: (n: number) => string };
  /** Per flip of one tenant's killswitch: the goal is the same figure at every N. */
  const perFlip: Row[] = [
    {
      label: 'admin flip ms, p50 (includes the publish)',
      get: (r) => median(r.flipMs),
      fmt: fmtMs,
    },
    { label: 'admin flip ms, p99', get: (r) => pct(r.flipMs, 99), fmt: fmtMs },
    { label: 'KV writes per flip (median)', get: (r) => median(r.kvWrites), fmt: fmtInt },
    { label: 'KV writes per flip (max)', get: (r) => Math.max(...r.kvWrites), fmt: fmtInt },
    { label: '  snapshots (median)', get: (r) => median(r.snapshotWrites), fmt: fmtInt },
    { label: '  tenant routing entry (median)', get: (r) => median(r.routingWrites), fmt: fmtInt },
    { label: '  anything else (max)', get: (r) => Math.max(...r.otherWrites), fmt: fmtInt },
    {
      label: 'flips whose routing write was deferred',
      get: (r) => r.routingDeferred,
      fmt: fmtInt,
    },
    {
      label: 'KV KiB written per flip (median)',
      get: (r) => median(r.kvBytes) / 1024,
      fmt: (n) => n.toFixed(1),
    },
    { label: 'TENANT_CONFIG objects written per flip', get: (r) => median(r.objects), fmt: fmtInt },
    {
      label: 'flip-to-effect after the answer, p99 ms',
      get: (r) => pct(r.effectMs, 99),
      fmt: fmtMs,
    },
    { label: 'request to effect, p99 ms', get: (r) => pct(r.totalMs, 99), fmt: fmtMs },
  ];
  /** The full publish of every tenant (deploys, `npm start`): grows with N by nature. */
  const fullPublish: Row[] = [
    { label: 'POST /internal/publish ms (every tenant)', get: (r) => r.publishMs, fmt: fmtMs },
    { label: '  its KV writes, as reported', get: (r) => r.publishKvWrites, fmt: fmtInt },
    { label: '  KV values seen written (with hosts)', get: (r) => r.publishKvBlobs, fmt: fmtInt },
    { label: '  tenants failed', get: (r) => r.publishFailed, fmt: fmtInt },
  ];
  const head = [
    'metric',
    ...results.map((r) => `N=${fmtInt(r.tenants)}`),
    ...results.slice(1).map((r) => `N=${fmtInt(r.tenants)} / N=${fmtInt(base?.tenants ?? 0)}`),
  ];
  const toCells = (row: Row) => {
    const values = results.map((r) => row.get(r));
    const b = values[0] ?? NaN;
    return [
      row.label,
      ...values.map((v) => (Number.isFinite(v) ? row.fmt(v) : 'n/a')),
      ...values
        .slice(1)
        .map((v) =>
          !Number.isFinite(v) || !Number.isFinite(b)
            ? 'n/a'
            : v === 0 && b === 0
              ? 'same'
              : b > 0
                ? `${(v / b).toFixed(1)}×`
                : 'n/a',
        ),
    ];
  };
  const table = perFlip.map(toCells);
  table.push([
    'flips measured',
    ...results.map((r) => String(r.flips)),
    ...results.slice(1).map(() => ''),
  ]);
  const publishRows = fullPublish.map(toCells);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...[...table, ...publishRows].map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  log('');
  log(bold(line(head)));
  log(dim(widths.map((w) => '─'.repeat(w)).join('  ')));
  for (const row of table) log(line(row));
  log(
    dim(
      `  goal: every ratio above flat (~1×), since a flip publishes its tenant only; KV writes per flip ≤ ${STOREFRONTS_PER_TENANT + 1} (its snapshots and routing entry)`,
    ),
  );
  log(dim(widths.map((w) => '─'.repeat(w)).join('  ')));
  for (const row of publishRows) log(line(row));
  log(
    dim(
      '  the full publish writes the tenants not published yet (at a larger N, those added since the previous size): it grows with N by design',
    ),
  );
  if (extras) {
    log('');
    log(bold('Isolate memory'));
    for (const l of extras.memory) log(`  ${l}`);
    log(bold('Catalog with many API keys'));
    for (const l of extras.catalog) log(`  ${l}`);
  }
  log(
    dim(
      `  noise: a shared 2-core machine (load average ${os.loadavg()[0]?.toFixed(1)} now); total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    ),
  );
  if (args.json) {
    console.log(
      JSON.stringify({
        sizes: results.map((r) => ({
          tenants: r.tenants,
          flips: r.flips,
          flip_ms_p50: median(r.flipMs),
          flip_ms_p99: pct(r.flipMs, 99),
          kv_writes_per_flip: median(r.kvWrites),
          kv_writes_per_flip_max: Math.max(...r.kvWrites),
          kv_snapshot_writes_per_flip: median(r.snapshotWrites),
          kv_routing_writes_per_flip: median(r.routingWrites),
          kv_other_writes_per_flip_max: Math.max(...r.otherWrites),
          routing_deferred_flips: r.routingDeferred,
          kv_bytes_per_flip: median(r.kvBytes),
          config_objects_per_flip: median(r.objects),
          effect_ms_p99: pct(r.effectMs, 99),
          total_ms_p99: pct(r.totalMs, 99),
          publish_ms: r.publishMs,
          publish_kv_writes: r.publishKvWrites,
          publish_kv_values_seen: r.publishKvBlobs,
          publish_failed: r.publishFailed,
          seed_ms: r.seedMs,
        })),
        ...(extras?.json ?? {}),
      }),
    );
  }
}

try {
  const code = await main();
  await cleanup();
  process.exit(code);
} catch (err) {
  if (stopping) await stopping;
  await stop(
    1,
    `bench:scale failed: ${err instanceof Error ? (process.env.BENCH_DEBUG ? err.stack : err.message) : String(err)}`,
  );
}
