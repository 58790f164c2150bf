/**
 * `npm run bench:scale` (`npx tsx scripts/bench/scale.ts`): what one config change costs as the
 * number of tenants grows (issue 10). Today every change re-publishes every tenant and rewrites
 * the one global `routing/v1` key; this measures it, at N = 2 and N = 1,000 tenants (4
 * storefronts each) in the same run, so that publishing only the changed tenant can be judged.
 *
 *   npm run bench:scale                      N = 2 and 1,000, 20 flips each (≈ 5 min)
 *   npm run bench:scale -- --tenants 10000   also N = 10,000 (much longer today)
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
 *   puts of that flip, their sizes the bytes written.
 * - TENANT_CONFIG objects written: the objects whose SQLite files changed during the flip.
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
                      (about 4 more minutes here: each known host is a cold snapshot load)
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
  /** TENANT_CONFIG object → newest mtime of its files. */
  objects: Map<string, number>;
}

function sampleStores(kvDir: string, doDir: string): StoreSample {
  const blobs = new Set(walk(kvDir).filter((f) => f.includes(`${path.sep}blobs${path.sep}`)));
  const objects = new Map<string, number>();
  for (const f of walk(doDir)) {
    if (!f.includes('TenantConfig')) continue;
    const id = path.basename(f).replace(/\.sqlite(-wal|-shm)?$/, '');
    if (id === 'metadata') continue;
    try {
      const m = statSync(f).mtimeMs;
      objects.set(id, Math.max(objects.get(id) ?? 0, m));
    } catch {
      // removed while we looked
    }
  }
  return { blobs, objects };
}

function writesBetween(a: StoreSample, b: StoreSample) {
  let kvWrites = 0;
  let kvBytes = 0;
  for (const f of b.blobs) {
    if (a.blobs.has(f)) continue;
    kvWrites++;
    try {
      kvBytes += statSync(f).size;
    } catch {
      // overwritten again already: counted, size unknown
    }
  }
  let objects = 0;
  for (const [id, m] of b.objects) if (m > (a.objects.get(id) ?? 0)) objects++;
  return { kvWrites, kvBytes, objects };
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
  routingBytes: number;
  flips: number;
  flipMs: number[];
  effectMs: number[];
  totalMs: number[];
  kvWrites: number[];
  kvBytes: number[];
  objects: number[];
}

// --- the run ----------------------------------------------------------------------------------

const POLL_MS = 10;
const EFFECT_DEADLINE_MS = 15_000;

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
  let token = '';

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
    if (!token) {
      const email = 'scale-owner@example.test';
      const password = `Scale-${randomBytes(12).toString('base64url')}`;
      await upsertOperator(db as unknown as Db, {
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
      token = (JSON.parse(res.body) as { token: string }).token;
      log('  signed in as the owner of tenant 0 (POST /admin/v1/sessions)');
    }

    const published = await publish();
    const publishMs = published.ms;
    log(
      `  POST /internal/publish: ${published.tenants} tenants, ${published.snapshots} snapshots, routing/v1 ${fmtInt(published.routingBytes)} B in ${fmtMs(publishMs)} ms`,
    );

    const catalog = { host: scaleHost(0, 1), headers: { authorization: `Bearer ${key0.key}` } };
    // Right after a long publish the tenant's config object may not have answered for 10 s
    // (one workerd runs the publisher too), and a `closed` switch then counts as engaged.
    const w0 = performance.now();
    let first = await call('/v1/catalog', catalog);
    const statuses: number[] = [first.status];
    while (first.status !== 200 && performance.now() - w0 < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      first = await call('/v1/catalog', catalog);
      statuses.push(first.status);
    }
    if (first.status !== 200) throw new Error(`catalog: ${first.status} ${excerpt(first.body)}`);
    if (statuses.length > 1)
      log(
        `  ⚠ the storefront answered ${statuses[0]} (first of ${statuses.length} tries) for ${fmtMs(performance.now() - w0)} ms after the publish before 200`,
      );

    const r: SizeResult = {
      tenants: size,
      storefronts: size * 4,
      seedMs,
      publishMs,
      routingBytes: published.routingBytes,
      flips: 0,
      flipMs: [],
      effectMs: [],
      totalMs: [],
      kvWrites: [],
      kvBytes: [],
      objects: [],
    };
    results.push(r);
    const flipStart = Date.now();
    for (let i = 0; i < FLIPS; i++) {
      if (i >= 2 && Date.now() - flipStart > BUDGET_S * 1000) break;
      if (stopping) await stopping;
      const engaged = i % 2 === 0;
      const before = sampleStores(kvDir, doDir);
      const a = performance.now();
      const res = await call(`/admin/v1/tenants/${target.id}/killswitches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: { scope: 'tenant', engaged, reason: `scale bench flip ${i + 1}` },
      });
      const b = performance.now();
      if (res.status !== 200) throw new Error(`flip ${i + 1}: ${res.status} ${excerpt(res.body)}`);
      const after = sampleStores(kvDir, doDir);
      // Effect: the storefront API answers accordingly (503 killswitch_engaged, or 200 again).
      let effect: number | undefined;
      for (;;) {
        const c = await call('/v1/catalog', catalog, 5000);
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
      const w = writesBetween(before, after);
      r.flips++;
      r.flipMs.push(b - a);
      r.kvWrites.push(w.kvWrites);
      r.kvBytes.push(w.kvBytes);
      r.objects.push(w.objects);
      if (effect !== undefined) {
        r.effectMs.push(effect);
        r.totalMs.push(b - a + effect);
      }
      counter(
        `flip ${i + 1}/${FLIPS} (${engaged ? 'engage' : 'release'}): admin ${fmtMs(b - a)} ms, ` +
          `effect ${effect === undefined ? `not within ${EFFECT_DEADLINE_MS / 1000} s` : `${fmtMs(effect)} ms`} after the answer, ` +
          `${w.kvWrites} KV writes (${fmtInt(w.kvBytes / 1024)} KiB), ${w.objects} config objects`,
        false,
      );
    }
    counter(
      `${r.flips} flips: admin p50 ${fmtMs(median(r.flipMs))} ms, p99 ${fmtMs(pct(r.flipMs, 99))} ms; ` +
        `effect p99 ${fmtMs(pct(r.effectMs, 99))} ms; ${median(r.kvWrites)} KV writes per flip`,
      true,
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
  else extras?.memory.push('not measured (add --memory: about 4 more minutes)');
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
 * tenants, or made-up ones), then stopping. Returns the status counts.
 */
async function hostSweep(
  kind: 'known' | 'unknown',
  count: number,
  prefix: string[],
): Promise<Record<string, number>> {
  const url = worker?.url as URL;
  const script = path.join(tmpdir as string, `hosts-${kind}.lua`);
  const hostExpr =
    kind === 'known'
      ? `"h" .. (n % ${HOSTS_PER_TENANT}) .. "-t" .. math.floor(n / ${HOSTS_PER_TENANT}) .. ".scale.localhost"`
      : `"u" .. n .. ".nowhere.localhost"`;
  // The counts are printed from the thread's own Lua state when it stops (wrk's `done` runs in
  // another state and would not see them).
  await writeFile(
    script,
    [
      'local n = -1',
      'local seen = 0',
      'local statuses = {}',
      'request = function()',
      '  n = n + 1',
      `  if n >= ${count} then n = ${count - 1} end`,
      `  return wrk.format("GET", "/v1/catalog", { Host = ${hostExpr} })`,
      'end',
      'response = function(status)',
      '  statuses[status] = (statuses[status] or 0) + 1',
      '  seen = seen + 1',
      `  if seen == ${count} then`,
      '    local parts = {}',
      '    for s, c in pairs(statuses) do parts[#parts + 1] = string.format("\\"%d\\":%d", s, c) end',
      '    io.write("STATUSES {" .. table.concat(parts, ",") .. "}\\n")',
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
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  hostLoad = child;
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve) => child.on('close', resolve));
  hostLoad = undefined;
  const line = out.split('\n').find((l) => l.startsWith('STATUSES '));
  if (!line) throw new Error(`wrk host sweep (${kind}) printed no result:\n${excerpt(out, 600)}`);
  return JSON.parse(line.slice('STATUSES '.length)) as Record<string, number>;
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
  const fmtStatuses = (s: Record<string, number>) =>
    Object.entries(s)
      .map(([k, v]) => `${fmtInt(v)}× ${k}`)
      .join(', ');
  const rss0 = workerdRssMiB();
  if (rss0 === undefined) {
    out.memory.push('n/a: no workerd process RSS readable (not Linux?)');
  } else if (tenants.length * HOSTS_PER_TENANT < KNOWN) {
    out.memory.push(`n/a: ${fmtInt(KNOWN)} known hosts need ≥ ${KNOWN / HOSTS_PER_TENANT} tenants`);
  } else {
    const k = await hostSweep('known', KNOWN, pinning.loadPrefix);
    const rss1 = workerdRssMiB() ?? NaN;
    log(
      `  ${fmtInt(KNOWN)} known hosts: ${fmtStatuses(k)}; RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MiB ${since()}`,
    );
    const u = await hostSweep('unknown', UNKNOWN, pinning.loadPrefix);
    const rss2 = workerdRssMiB() ?? NaN;
    log(
      `  ${fmtInt(UNKNOWN)} unknown hosts: ${fmtStatuses(u)}; RSS → ${rss2.toFixed(0)} MiB ${since()}`,
    );
    out.memory.push(
      `workerd RSS before ${rss0.toFixed(0)} MiB; after ${fmtInt(KNOWN)} distinct known hosts ${rss1.toFixed(0)} MiB (+${(rss1 - rss0).toFixed(0)}); after ${fmtInt(UNKNOWN)} unknown hosts ${rss2.toFixed(0)} MiB (+${(rss2 - rss1).toFixed(0)})`,
      `known: ${fmtStatuses(k)}; unknown: ${fmtStatuses(u)}`,
      'RSS of the whole workerd process (V8 heap of the isolate plus Miniflare’s KV/DO/cache machinery); V8 collects garbage when it likes, so read growth, not bytes',
    );
    out.json.memory_mib = { before: rss0, after_known: rss1, after_unknown: rss2 };
  }
  return out;
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
  await db.execute(
    sql`update tenants set config_version = config_version + 1 where id in (${big.id}, ${small.id})`,
  );
  const pub = await publish();
  log(
    `  published with 10,000 keys on ${scaleHost(1, 1)}, 2 on ${scaleHost(0, 1)}: ${fmtMs(pub.ms)} ms, ${fmtInt(pub.routingBytes)} B routing/v1`,
  );
  const targets = [
    { name: '2 keys', host: scaleHost(0, 1), key: key0 },
    { name: '10,000 keys', host: scaleHost(1, 1), key: key1 },
  ];
  for (const t of targets) {
    const res = await call('/v1/catalog', {
      host: t.host,
      headers: { authorization: `Bearer ${t.key}` },
    });
    if (res.status !== 200) {
      out.catalog.push(
        `n/a: ${t.name}: GET /v1/catalog answered ${res.status} ${excerpt(res.body, 120)}`,
      );
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
  const ROUNDS = 2;
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
  );
  out.json.catalog_rps = { keys_2: a, keys_10000: b };
  await db.execute(sql`delete from api_keys where name = 'scale bench (extra)'`);
  await db.execute(
    sql`update tenants set config_version = config_version + 1 where id in (${big.id}, ${small.id})`,
  );
  return out;
}

async function publish(): Promise<{
  ms: number;
  routingBytes: number;
  tenants: number;
  snapshots: number;
}> {
  const p0 = performance.now();
  const res = await call('/internal/publish', {
    method: 'POST',
    headers: { authorization: `Bearer ${publishToken}` },
  });
  const ms = performance.now() - p0;
  if (res.status !== 200) throw new Error(`publish: ${res.status} ${excerpt(res.body)}`);
  const body = JSON.parse(res.body) as {
    tenants: unknown[];
    routingBytes: number;
    snapshotsWritten: number;
  };
  return {
    ms,
    routingBytes: body.routingBytes,
    tenants: body.tenants.length,
    snapshots: body.snapshotsWritten,
  };
}

// --- report -----------------------------------------------------------------------------------

function report(results: SizeResult[], extras: Extras | undefined): void {
  const base = results[0];
  const rows: { label: string; get: (r: SizeResult) => number; fmt: (n: number) => string }[] = [
    {
      label: 'admin flip ms, p50 (includes the publish)',
      get: (r) => median(r.flipMs),
      fmt: fmtMs,
    },
    { label: 'admin flip ms, p99', get: (r) => pct(r.flipMs, 99), fmt: fmtMs },
    { label: 'KV writes per flip (median)', get: (r) => median(r.kvWrites), fmt: fmtInt },
    {
      label: 'KV KiB written per flip (median)',
      get: (r) => median(r.kvBytes) / 1024,
      fmt: fmtInt,
    },
    { label: 'TENANT_CONFIG objects written per flip', get: (r) => median(r.objects), fmt: fmtInt },
    {
      label: 'flip-to-effect after the answer, p99 ms',
      get: (r) => pct(r.effectMs, 99),
      fmt: fmtMs,
    },
    { label: 'request to effect, p99 ms', get: (r) => pct(r.totalMs, 99), fmt: fmtMs },
    { label: 'POST /internal/publish ms (all tenants)', get: (r) => r.publishMs, fmt: fmtMs },
    { label: 'routing/v1 bytes', get: (r) => r.routingBytes, fmt: fmtInt },
  ];
  const head = [
    'metric',
    ...results.map((r) => `N=${fmtInt(r.tenants)}`),
    ...results.slice(1).map((r) => `N=${fmtInt(r.tenants)} / N=${fmtInt(base?.tenants ?? 0)}`),
  ];
  const table = rows.map((row) => {
    const values = results.map((r) => row.get(r));
    const b = values[0] ?? NaN;
    return [
      row.label,
      ...values.map((v) => (Number.isFinite(v) ? row.fmt(v) : 'n/a')),
      ...values
        .slice(1)
        .map((v) => (Number.isFinite(v) && b > 0 ? `${(v / b).toFixed(1)}×` : 'n/a')),
    ];
  });
  table.push([
    'flips measured',
    ...results.map((r) => String(r.flips)),
    ...results.slice(1).map(() => ''),
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)),
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
    dim('  goal after publishing only the changed tenant: the ratios flat (~1×), routing/v1 aside'),
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
          kv_bytes_per_flip: median(r.kvBytes),
          config_objects_per_flip: median(r.objects),
          effect_ms_p99: pct(r.effectMs, 99),
          total_ms_p99: pct(r.totalMs, 99),
          publish_ms: r.publishMs,
          routing_bytes: r.routingBytes,
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
