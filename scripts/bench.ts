/**
 * `npm run bench`: throughput of the edge hot path against a bare Hono worker and against
 * LaunchDarkly's Cloudflare SDK, in one run, on direct workerd sockets (see
 * ../shared/BENCH-NOTES.md for why it is done this way).
 *
 *   npm run bench                      3 interleaved rounds of 8 s per target after a 2 s warm-up
 *   npm run bench -- --quick           one round of 3 s per target (smoke test)
 *   npm run bench -- --json            also one JSON object on the last line
 *   npm run bench -- --only e2e        only the Postgres rows (below); `--only checkout` one
 *   npm run bench -- --help            every option
 *
 * Targets, measured one after another (never concurrently: two cores):
 *   baseline      bare Hono app, one JSON route (scripts/bench/baseline)
 *   catalog       GET  /v1/catalog on our worker
 *   catalog304    the same with `If-None-Match: <its ETag>`: the 304 a revalidating client gets
 *   flags         POST /v1/flags/evaluate on our worker (skipped while the route answers 404)
 *   launchdarkly  the same flag through LaunchDarkly's SDK (scripts/bench/launchdarkly)
 * Our worker is the `wrangler deploy --dry-run` bundle of src/ with wrangler.toml's bindings;
 * its config is published by the real publisher from fixture rows (scripts/bench/fixture.ts).
 *
 * Then, with Postgres (DATABASE_URL's server, else embedded PGlite) and real Durable Objects,
 * in Miniflare instances of their own started after the rows above (scripts/bench/e2e.ts):
 *   pg_insert_tx          one insert transaction through getDb: the baseline of the two below
 *   payment_sandbox_e2e   POST /v1/payments with a sandbox card, a fresh Idempotency-Key each
 *   checkout_sandbox_e2e  POST /v1/checkout (skipped while the route answers 404)
 * one round each, at few connections; their p50s are reported as multiples of pg_insert_tx's.
 * On the same worker, the entitlement rows (scripts/bench/entitlements.ts), in interleaved
 * rounds at the KV rows' connections with the bare Hono route measured again beside them:
 *   ent_baseline              the bare Hono JSON route, in this phase (their baseline)
 *   entitlement_check_token   GET /v1/entitlements/check?key=… with the customer's signed token
 *   entitlement_check_server  POST /v1/entitlements/check
 *   entitlement_consume       POST /v1/entitlements/api_access/consume on one hot customer,
 *                             every 200 counted and compared with the object's `used`
 * then an over-grant probe: 12,000 consumes against another customer's 10,000.
 *
 * Besides req/s, every run reports workerd's CPU time per request: a ratio of those holds up
 * when other processes share the machine, which a ratio of req/s does not.
 * To see where a target's time goes: `npx tsx scripts/bench/profile.ts catalog|flags`.
 *
 * Exits non-zero only when the bench cannot run or a target answers errors under load (then it
 * measured error handling); missed targets are reported, not failed.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bundle, buildChildren, buildWorker, ROOT } from './bench/build';
import { parseCli } from './bench/cli';
import {
  type BenchDatabase,
  E2E_NAMES,
  type E2eName,
  startBenchDatabase,
  startE2e,
} from './bench/e2e';
import { type ProjectWorker, projectWorker, publishBenchConfig } from './bench/edge';
import {
  ENT_NAMES,
  ENT_TARGETS,
  type EntName,
  type EntSetup,
  type ProbeResult,
  prepareEntitlements,
} from './bench/entitlements';
import {
  BENCH_FLAG_KEY,
  FLAGS_REQUEST_BODY,
  LD_KV_KEY,
  LD_KV_VALUE,
  LD_SDK_KEY,
} from './bench/fixture';
import { measureKillswitchFlip } from './bench/killswitch';
import { measureDecide } from './bench/payments';
import {
  foreignCpu,
  type HttpResult,
  pinProcesses,
  type RunningWorker,
  request,
  sampleCpu,
  serverCpuSeconds,
  startWorker,
  workerdPids,
} from './bench/runtime';
import {
  concreteRequest,
  currentLoad,
  type LoadOptions,
  type LoadRequest,
  type LoadResult,
  runLoad,
  wrkVersion,
} from './bench/wrk';

/** Pass marks, as ratios of req/s. A 304 should cost no more than the bare baseline. */
const TARGETS = {
  catalogVsBaseline: 0.9,
  catalog304VsBaseline: 1,
  flagsVsLaunchDarkly: 5,
} as const;

const EDGE_NAMES = ['baseline', 'catalog', 'catalog304', 'flags', 'launchdarkly'] as const;
const TARGET_NAMES = [...EDGE_NAMES, ...E2E_NAMES, ...ENT_NAMES] as const;
type TargetName = (typeof TARGET_NAMES)[number];
/** Short names `--only` also takes. */
const ALIASES: Record<string, readonly TargetName[]> = {
  e2e: E2E_NAMES,
  pg: ['pg_insert_tx'],
  payment: ['payment_sandbox_e2e'],
  checkout: ['checkout_sandbox_e2e'],
  entitlements: ENT_NAMES,
};
const isE2e = (n: TargetName): n is E2eName => (E2E_NAMES as readonly string[]).includes(n);
const isEnt = (n: TargetName): n is EntName => (ENT_NAMES as readonly string[]).includes(n);

// --- options ----------------------------------------------------------------------------------

const HELP = `npm run bench -- [options]

  --duration <s>      seconds measured per target and round (default 8; 3 with --quick)
  --warmup <s>        seconds of warm-up load per target, not measured (default 2; 1 with --quick)
  --connections <n>   wrk connections (default 32)
  --threads <n>       wrk threads (default 1: the server needs the other core)
  --repeat <n>        rounds: every target is measured n times, interleaved, and the ratios
                      are medians of the per-round ratios (default 3: one round on a shared
                      machine swings by ±10 %; 1 with --quick)
  --only <names>      comma-separated subset of: ${EDGE_NAMES.join(', ')},
                      ${E2E_NAMES.join(', ')},
                      ${ENT_NAMES.join(', ')}
                      (or e2e = the three Postgres rows; pg, payment, checkout = one of them;
                      entitlements = the entitlement rows);
                      pg_insert_tx runs whenever another Postgres row does (their baseline),
                      ent_baseline whenever an entitlement row does
  --e2e-connections <n>
                      wrk connections for the Postgres rows (default 4 against DATABASE_URL's
                      Postgres, 1 against PGlite, whose connections share one session: there
                      concurrent requests' statements collide). These rows run one round of
                      --duration s after --warmup s whatever --repeat says
  --edge-bundle <dir> use this already built bundle of our worker (e.g. a variant built with
                      wrangler deploy --dry-run --outdir <dir>) instead of building src/
  --quick             short runs for smoke testing
  --no-pin            do not pin workerd and wrk to different CPUs with taskset
  --json              print one JSON object with the results on the last line
  -h, --help          this text

  DATABASE_URL        (environment) a Postgres server for the Postgres rows: a scratch
                      database is created and dropped there; unset: embedded PGlite`;

const args = parseCli(
  {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '32' },
    'e2e-connections': { type: 'string' },
    threads: { type: 'string', default: '1' },
    repeat: { type: 'string' },
    only: { type: 'string' },
    'edge-bundle': { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  HELP,
);

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number ≥ ${min} (got "${raw}")\n\n${HELP}`);
    process.exit(2);
  }
  return n;
}
const opts = {
  seconds: Math.round(positive('duration', args.duration, args.quick ? 3 : 8)),
  warmup: Math.round(positive('warmup', args.warmup, args.quick ? 1 : 2, 0)),
  connections: Math.round(positive('connections', args.connections, 32)),
  /** Undefined: 4 against Postgres, 1 against PGlite (see the help). */
  e2eConnections:
    args['e2e-connections'] === undefined
      ? undefined
      : Math.round(positive('e2e-connections', args['e2e-connections'], 4)),
  threads: Math.round(positive('threads', args.threads, 1)),
  repeat: Math.round(positive('repeat', args.repeat, args.quick ? 1 : 3)),
};
const selected = new Set<TargetName>(
  args.only
    ? args.only.split(',').flatMap((s) => {
        const name = s.trim();
        const alias = ALIASES[name];
        if (alias) return alias;
        if (!(TARGET_NAMES as readonly string[]).includes(name)) {
          console.error(
            `--only: unknown target "${s}" (one of ${[...TARGET_NAMES, ...Object.keys(ALIASES)].join(', ')})`,
          );
          process.exit(2);
        }
        return [name as TargetName];
      })
    : TARGET_NAMES,
);
// The Postgres rows are read as multiples of one insert transaction, measured in the same run.
if ([...selected].some(isE2e)) selected.add('pg_insert_tx');
// The entitlement rows are read as ratios of the bare route, measured in the same rounds.
if ([...selected].some(isEnt)) selected.add('ent_baseline');
const edgeSelected = [...selected].filter((n) => !isE2e(n) && !isEnt(n)).length;
const e2eSelected = [...selected].filter(isE2e).length;
const entSelected = [...selected].filter(isEnt).length;

// --- output -----------------------------------------------------------------------------------

const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const t0 = Date.now();
const since = () => dim(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const log = (line: string) => console.log(line);
const step = (s: string) => log(`${bold('▸')} ${s}`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

// --- cleanup ----------------------------------------------------------------------------------

const workers: RunningWorker[] = [];
/** What the Postgres rows leave running besides workers (proxy, database), closed in order. */
const closers: (() => Promise<void>)[] = [];
let tmpdir: string | undefined;
let stopping: Promise<never> | undefined;

async function cleanup(): Promise<void> {
  currentLoad?.kill('SIGKILL');
  for (const child of buildChildren) child.kill('SIGTERM');
  await Promise.allSettled(workers.map((w) => w.mf.dispose()));
  workers.length = 0;
  for (const close of closers.splice(0)) {
    await close().catch((e: unknown) => console.error(`bench cleanup: ${String(e)}`));
  }
  if (tmpdir) await rm(tmpdir, { recursive: true, force: true }).catch(() => {});
}

/** Stops everything once, then exits; later callers (e.g. the run that Ctrl-C broke) wait. */
function stop(code: number, message?: string): Promise<never> {
  stopping ??= (async () => {
    if (message) console.error(message);
    await cleanup();
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stop(130, '\ninterrupted: stopping workers'));
process.on('SIGTERM', () => void stop(143));
// Miniflare's own exit hook may end the process on a signal before `stop` is done (it kills
// workerd itself); whatever happens, wrk and the temp dir go with us.
process.on('exit', () => {
  currentLoad?.kill('SIGKILL');
  if (tmpdir) rmSync(tmpdir, { recursive: true, force: true });
});

// The whole run is bounded: builds, start-up, every load run with slack, then a hard stop.
const loadSeconds =
  (opts.warmup + opts.seconds * opts.repeat + 15) * edgeSelected +
  (opts.warmup + opts.seconds + 15) * e2eSelected +
  (opts.warmup + opts.seconds * opts.repeat + 15) * entSelected +
  (e2eSelected || entSelected ? 60 : 0) +
  (entSelected ? 60 : 0);
const watchdog = setTimeout(
  () => void stop(1, `bench: gave up after ${180 + loadSeconds} s (something hung)`),
  (180 + loadSeconds) * 1000,
);
watchdog.unref();

// --- targets ----------------------------------------------------------------------------------

interface Target {
  name: TargetName;
  label: string;
  /**
   * `edge`: the KV-only rows (rounds, ratios of req/s); `e2e`: the Postgres rows; `ent`: the
   * entitlement rows (on the Postgres-backed worker, rounds, ratios to `ent_baseline`).
   */
  group: 'edge' | 'e2e' | 'ent';
  /** What one request is, in the progress lines (`req/s` unless said). */
  unit?: string;
  worker?: RunningWorker;
  request: LoadRequest;
  /** The status a sane answer has (default 200). */
  status?: number;
  /** A problem with the verification response, or undefined when it is sane. */
  check(res: HttpResult): string | undefined;
  /** Why a verification answer means the route is not there yet (skip, do not fail). */
  skipWhen?(res: HttpResult): string | undefined;
  skipped?: string;
  /** Sees every wrk run of the target, the warm-up's too (e.g. to count what was granted). */
  onRun?(r: LoadResult): void;
  /** Set when a run answered errors: its numbers measure error handling, not the route. */
  invalid?: string;
  results: Measured[];
}

interface Measured extends LoadResult {
  /**
   * workerd CPU time per request, in µs. The server is one JS thread, so this is what its
   * throughput would be bounded by on a quiet core, and it barely moves when other processes
   * compete for the CPUs (req/s does).
   */
  cpuUsPerReq: number;
  /** CPUs' worth of other processes' work during the run (0.3 = 30 % of a core). */
  otherCpu: number;
  /** Hypervisor steal during the run, in CPUs. */
  stealCpu: number;
}

/** A run with more errors than this share of its requests does not count. */
const MAX_ERROR_SHARE = 0.01;

/** Other work on the machine above this (in CPUs) makes a run's number unreliable. */
const BUSY_CPU = 0.25;

function json(body: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const excerpt = (s: string, n = 160) =>
  (s.length > n ? `${s.slice(0, n)}…` : s).replace(/\s+/g, ' ');

/** Our worker's bundle: built from src/ into the temp dir, or an existing one (`--edge-bundle`). */
async function edgeBundleFrom(dir: string | undefined): Promise<Bundle> {
  if (!dir) return buildWorker(path.join(tmpdir as string, 'edge'));
  const abs = path.resolve(dir);
  const js = (await readdir(abs)).filter((f) => f.endsWith('.js'));
  if (js.length !== 1 || !js[0])
    throw new Error(`--edge-bundle: expected one .js module in ${abs}`);
  return { dir: abs, scriptPath: path.join(abs, js[0]) };
}

/** Sends one request of `t` and checks it; marks `t` skipped when its route is not there yet. */
async function verify(t: Target): Promise<void> {
  const r = concreteRequest(t.request);
  const res = await request(r.url, r.path, r);
  const host = r.headers?.host;
  const what = `${r.method} ${r.path}${host ? ` (Host: ${host})` : ''} → ${res.status}`;
  const skip = t.skipWhen?.(res);
  if (skip) {
    t.skipped = skip;
    log(`  – ${t.name}: ${what}: SKIPPED, ${skip}`);
    return;
  }
  const problem = res.status === (t.status ?? 200) ? t.check(res) : `status ${res.status}`;
  if (!problem) {
    log(`  ✓ ${t.name}: ${what} ${dim(excerpt(res.body, 100))}`);
    return;
  }
  if (t.name === 'flags') {
    // The route is being built; a missing or unfinished route is not a reason to stop.
    t.skipped =
      res.status === 404 ? 'route answers 404 (not there yet)' : `${problem}: ${excerpt(res.body)}`;
    log(`  – flags: ${what}: SKIPPED, ${t.skipped}`);
    return;
  }
  throw new Error(`${t.name}: ${what}: ${problem}\n  body: ${excerpt(res.body, 400)}`);
}

/** One measured wrk run of `t` (after `warmup` s of unmeasured load), with its progress line. */
async function measure(
  t: Target,
  load: Omit<LoadOptions, 'seconds'>,
  pids: number[],
  warmup: number,
): Promise<void> {
  if (stopping) await stopping;
  process.stdout.write(
    `${bold('▸')} ${t.name.padEnd(12)} ${warmup > 0 ? `warm-up ${warmup} s, ` : ''}measuring ${opts.seconds} s… `,
  );
  if (warmup > 0) t.onRun?.(await runLoad(t.request, { ...load, seconds: warmup }));
  if (stopping) await stopping; // Ctrl-C: wrk exits early too; start nothing new
  const before = sampleCpu(pids);
  const loaded = await runLoad(t.request, { ...load, seconds: opts.seconds });
  if (stopping) await stopping;
  const after = sampleCpu(pids);
  t.onRun?.(loaded);
  const { other, steal } = foreignCpu(before, after);
  const cpuUsPerReq = (serverCpuSeconds(before, after) * 1e6) / Math.max(1, loaded.requests);
  const r: Measured = { ...loaded, cpuUsPerReq, otherCpu: other, stealCpu: steal };
  t.results.push(r);
  const bad = r.non2xx + r.socketErrors;
  // The Postgres rows' "other" CPU includes a Postgres server's own work: no warning there.
  const busy = t.group !== 'e2e' && other + steal > BUSY_CPU;
  log(
    `${fmtInt(r.rps)} ${t.unit ?? 'req/s'}, p50 ${fmtMs(r.p50_ms)} ms, p99 ${fmtMs(r.p99_ms)} ms, ` +
      `${fmtInt(r.cpuUsPerReq)} µs CPU/req ${since()}` +
      (bad ? `  ⚠ ${r.non2xx} non-2xx, ${r.socketErrors} socket errors` : '') +
      (busy
        ? `  ⚠ busy machine: other processes used ${Math.round(other * 100)} % of a CPU` +
          (steal > 0.05 ? `, steal ${Math.round(steal * 100)} %` : '')
        : ''),
  );
  if (bad > r.requests * MAX_ERROR_SHARE && !t.invalid) {
    const q = concreteRequest(t.request);
    const sample = await request(q.url, q.path, q).catch((e: unknown) => ({
      status: 0,
      body: String(e),
    }));
    t.invalid = `${Math.round((100 * bad) / Math.max(1, r.requests))} % errors under load`;
    log(`  ✗ ${t.name}: ${t.invalid}; one request now: ${sample.status} ${excerpt(sample.body)}`);
  }
}

/** What the Postgres rows ran against, for the report. */
const e2e: { database: BenchDatabase['kind'] | null; connections: number; describe: string } = {
  database: null,
  connections: 0,
  describe: '',
};

/** Stands for the request of a Postgres row that could not be set up (it is never sent). */
const NO_REQUEST: LoadRequest = { url: new URL('http://127.0.0.1/'), path: '/', method: 'GET' };

/**
 * The Postgres rows: after every KV-only row, in Miniflare instances of their own (the project's
 * bundle with Postgres bindings, and the pg-insert worker), one round each at
 * `--e2e-connections`. A missing database skips them; a failed setup marks them invalid.
 */
async function runE2e(o: {
  database: BenchDatabase | string | undefined;
  edgeBundle: Bundle | undefined;
  pgBundle: Bundle | undefined;
  baselineBundle: Bundle | undefined;
  project: ProjectWorker | undefined;
  cpus: number;
  tmpdir: string;
}): Promise<Target[]> {
  const names = [...E2E_NAMES, ...ENT_NAMES].filter((n) => selected.has(n));
  const placeholders = (why: { skipped?: string; invalid?: string }): Target[] =>
    names.map((name) => ({
      name,
      label: name,
      group: isEnt(name) ? 'ent' : 'e2e',
      request: NO_REQUEST,
      check: () => undefined,
      results: [],
      ...why,
    }));
  const { database, edgeBundle, pgBundle, project } = o;
  if (typeof database === 'string' || !database) {
    return placeholders({ skipped: `no database: ${database ?? 'not started'}` });
  }
  if (!edgeBundle || !project || (e2eSelected && !pgBundle)) {
    throw new Error('e2e: workers were not built');
  }
  e2e.database = database.kind;
  const connections = opts.e2eConnections ?? (database.kind === 'pglite' ? 1 : 4);
  e2e.connections = connections;
  e2e.describe = `${database.kind === 'pglite' ? 'embedded PGlite' : 'Postgres'}, wrk -c${connections}, one round`;
  step(
    `Postgres rows: ${database.describe}; own Miniflare instances` +
      (e2eSelected ? `, wrk -t${opts.threads} -c${connections}, one round` : ''),
  );
  const before = new Set(workerdPids());
  let setup: Awaited<ReturnType<typeof startE2e>>;
  try {
    setup = await startE2e({
      db: database,
      edgeBundle,
      pgBundle: e2eSelected ? pgBundle : undefined,
      project,
      onWorker: (w) => workers.push(w),
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`  ✗ setup failed: ${why}`);
    return placeholders({ invalid: `setup failed: ${excerpt(why, 200)}` });
  }
  closers.unshift(() => setup.proxy.close());
  for (const line of setup.summary) log(`  ✓ ${line}`);
  log(`  ✓ ${setup.workers.map((w) => `${w.name} on ${w.url.host}`).join(', ')} ${since()}`);
  const targets: Target[] = setup.targets
    .filter((t) => selected.has(t.name))
    .map((t) => ({ ...t, group: 'e2e', results: [] }));
  for (const t of targets) await verify(t);
  // The new workerd processes to their CPU too (the others are pinned already).
  const pinning = pinProcesses(o.cpus, !args['no-pin']);
  const pids = workerdPids().filter((p) => !before.has(p));
  const load = {
    connections,
    threads: opts.threads,
    prefix: pinning.loadPrefix,
    tmpdir: o.tmpdir,
  };
  for (const t of targets) if (!t.skipped) await measure(t, load, pids, opts.warmup);
  if (entSelected) targets.push(...(await runEntitlements(setup.seed, o)));
  return targets;
}

/** What the entitlement rows found about consumes, for the report. */
const ent: {
  consume: {
    /** 200s wrk received over every run of the row (warm-up included). */
    granted: number;
    /** The object's counter grew by this much over those runs. */
    used: number;
    /** How many more than `granted` the counter may count (unseen by wrk). */
    unseenBound: number;
    /** granted ≤ used ≤ granted + unseenBound: no count lost, none made up. */
    consistent: boolean;
    limit: number;
    /** Units granted beyond the limit. */
    overGrant: number;
  } | null;
  probe: ProbeResult | null;
} = { consume: null, probe: null };

/**
 * The entitlement rows on the Postgres-backed worker (seeded by checkouts), in interleaved
 * rounds with the bare Hono route at the KV rows' connections, then the over-grant probe.
 */
async function runEntitlements(
  seed: Awaited<ReturnType<typeof startE2e>>['seed'],
  o: {
    baselineBundle: Bundle | undefined;
    project: ProjectWorker | undefined;
    cpus: number;
    tmpdir: string;
  },
): Promise<Target[]> {
  step(
    `Entitlement rows: on the Postgres-backed worker, wrk -t${opts.threads} -c${opts.connections}, ` +
      `${opts.repeat} interleaved round${opts.repeat === 1 ? '' : 's'} with the bare Hono route`,
  );
  let baseline = workers.find((w) => w.name === 'bench-baseline');
  if (!baseline) {
    if (!o.baselineBundle || !o.project) throw new Error('entitlements: baseline was not built');
    baseline = await startWorker({
      name: 'bench-baseline',
      bundle: o.baselineBundle,
      compatibilityDate: o.project.compatibilityDate,
      compatibilityFlags: o.project.compatibilityFlags,
    });
    workers.push(baseline);
  }
  let setup: EntSetup;
  try {
    setup = await prepareEntitlements(seed, baseline);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`  ✗ setup failed: ${why}`);
    return ENT_NAMES.filter((n) => selected.has(n)).map((name) => ({
      name,
      label: name,
      group: 'ent',
      request: NO_REQUEST,
      check: () => undefined,
      results: [],
      invalid: `setup failed: ${excerpt(why, 200)}`,
    }));
  }
  for (const line of setup.summary) log(`  ✓ ${line}`);
  const targets: Target[] = setup.targets
    .filter((t) => selected.has(t.name))
    .map((t) => ({ ...t, group: 'ent', results: [] }));
  for (const t of targets) {
    if (t.skipped) log(`  – ${t.name}: SKIPPED, ${t.skipped}`);
    else await verify(t);
  }
  const pinning = pinProcesses(o.cpus, !args['no-pin']);
  // Every workerd (the baseline's too, started before the Postgres rows); the idle ones add
  // next to nothing.
  const pids = workerdPids();
  const load = {
    connections: opts.connections,
    threads: opts.threads,
    prefix: pinning.loadPrefix,
    tmpdir: o.tmpdir,
  };
  const consume = targets.find((t) => t.name === 'entitlement_consume' && !t.skipped);
  let granted = 0;
  // What the counter may have counted that wrk did not: per run, the requests in flight when
  // wrk stopped, and those wrk gave up on (timeouts): served, but never seen by wrk.
  let unseenBound = 0;
  const usedBefore = consume ? (await setup.hotQuota()).used : 0;
  if (consume) {
    consume.onRun = (r) => {
      granted += r.statuses?.['200'] ?? 0;
      unseenBound += opts.connections + r.socketErrors;
    };
  }
  const active = targets.filter((t) => !t.skipped);
  for (let round = 1; round <= opts.repeat && active.length; round++) {
    if (opts.repeat > 1) step(`Entitlement round ${round} of ${opts.repeat}`);
    for (const t of active) await measure(t, load, pids, round === 1 ? opts.warmup : 0);
  }
  if (consume) {
    const q = await setup.hotQuota();
    const grew = q.used - usedBefore;
    ent.consume = {
      granted,
      used: grew,
      unseenBound,
      limit: q.limit,
      overGrant: Math.max(0, q.used - q.limit),
      consistent: grew >= granted && grew - granted <= unseenBound,
    };
    log(
      `  consume: wrk saw ${fmtInt(granted)} × 200; the counter grew by ${fmtInt(grew)} ` +
        `${ent.consume.consistent ? '✓' : '✗'} (it may count up to ${fmtInt(unseenBound)} more:` +
        ` requests in flight when wrk stopped, or given up on, are served but not seen by wrk);` +
        ` used ${fmtInt(q.used)} of ${fmtInt(q.limit)}`,
    );
  }
  if (consume || selected.has('entitlement_consume')) {
    process.stdout.write(`${bold('▸')} over-grant probe: 12,000 consumes against 10,000… `);
    ent.probe = await setup.probe();
    const p = ent.probe;
    log(
      `${fmtInt(p.granted)} × 200, ${fmtInt(p.refused)} × 429 quota_exhausted, ${p.other} other;` +
        ` used ${fmtInt(p.used)} of ${fmtInt(p.limit)}; over-grant ${p.overGrant}` +
        (p.retried ? `; ${p.retried} resent after a broken connection` : '') +
        ` ${dim(`(${p.seconds.toFixed(1)} s)`)}`,
    );
  }
  return targets;
}

/** Runs the bench; false when a target answered errors under load (no valid measurement). */
async function main(): Promise<boolean> {
  const wrk = wrkVersion();
  if (!wrk) {
    await stop(
      1,
      'bench: wrk is not installed. Install it, then run the bench again:\n' +
        '  Debian/Ubuntu: sudo apt-get install -y wrk\n' +
        '  macOS:         brew install wrk',
    );
  }
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  log(
    bold('Azotte Edge bench') +
      dim(
        ` — ${wrk}, -t${opts.threads} -c${opts.connections}, ${opts.seconds} s per target` +
          ` after ${opts.warmup} s warm-up${opts.repeat > 1 ? `, ${opts.repeat} rounds (medians)` : ''}, ${cpus} CPUs`,
      ),
  );

  tmpdir = await mkdtemp(path.join(os.tmpdir(), 'azotte-bench-'));
  const need = {
    edge: selected.has('catalog') || selected.has('catalog304') || selected.has('flags'),
    baseline: selected.has('baseline'),
    ld: selected.has('launchdarkly'),
    e2e: e2eSelected > 0 || entSelected > 0,
  };

  step(
    `Building workers (wrangler deploy --dry-run)${need.e2e ? '; Postgres for the Postgres rows' : ''}`,
  );
  const out = (n: string) => path.join(tmpdir as string, n);
  const [edgeBundle, baselineBundle, ldBundle, project, pgBundle, database] = await Promise.all([
    need.edge || need.e2e ? edgeBundleFrom(args['edge-bundle']) : undefined,
    need.baseline || entSelected
      ? buildWorker(out('baseline'), path.join(ROOT, 'scripts/bench/baseline/wrangler.toml'))
      : undefined,
    need.ld
      ? buildWorker(
          out('launchdarkly'),
          path.join(ROOT, 'scripts/bench/launchdarkly/wrangler.toml'),
        )
      : undefined,
    need.edge || need.e2e ? projectWorker() : undefined,
    e2eSelected
      ? buildWorker(out('pg-insert'), path.join(ROOT, 'scripts/bench/pg-insert/wrangler.toml'))
      : undefined,
    // Started and migrated while the builds run; idle (no CPU) until the Postgres rows.
    need.e2e
      ? startBenchDatabase(out('pgdata')).then(
          (db) => {
            closers.push(() => db.close());
            return db;
          },
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        )
      : undefined,
  ]);
  log(`  ✓ built ${since()}`);
  if (typeof database === 'string') {
    log(`  – Postgres rows: SKIPPED, no database (${database})`);
  } else if (database) {
    log(`  ✓ Postgres: ${database.describe}, migrated`);
  }

  if (edgeSelected > 0) {
    step('Starting workers on direct workerd sockets (Miniflare unsafeDirectSockets, 127.0.0.1)');
  }
  const baselineCompat = project ?? (await projectWorker());
  const targets: Target[] = [];
  let edgeHeaders: Record<string, string> = {};
  if (baselineBundle && need.baseline) {
    const worker = await startWorker({
      name: 'bench-baseline',
      bundle: baselineBundle,
      // The project's own compatibility settings, so the baseline differs only in its code.
      compatibilityDate: baselineCompat.compatibilityDate,
      compatibilityFlags: baselineCompat.compatibilityFlags,
    });
    workers.push(worker);
    targets.push({
      name: 'baseline',
      group: 'edge',
      label: 'baseline: bare Hono, GET /v1/hello',
      worker,
      request: { url: worker.url, path: '/v1/hello', method: 'GET' },
      check: (res) => (json(res.body)?.ok === true ? undefined : 'expected {"ok": true, …}'),
      results: [],
    });
  }
  if (need.edge && edgeBundle && project) {
    const worker = await startWorker({
      name: 'azotte-edge',
      bundle: edgeBundle,
      compatibilityDate: project.compatibilityDate,
      compatibilityFlags: project.compatibilityFlags,
      options: project.options,
    });
    workers.push(worker);
    const published = await publishBenchConfig(worker.mf);
    const headers = published.headers;
    edgeHeaders = headers;
    log(`  ${published.summary}`);
    if (selected.has('catalog')) {
      targets.push({
        name: 'catalog',
        group: 'edge',
        label: 'catalog: GET /v1/catalog',
        worker,
        request: { url: worker.url, path: '/v1/catalog', method: 'GET', headers },
        check: (res) => {
          const body = json(res.body);
          const bundles = body?.bundles;
          const sf = body?.storefront as { slug?: string } | undefined;
          if (!Array.isArray(bundles) || bundles.length !== 2) return 'expected 2 bundles';
          if (sf?.slug !== 'us-store') return 'expected the us-store storefront';
          return undefined;
        },
        results: [],
      });
    }
    if (selected.has('catalog304')) {
      const etag = (await request(worker.url, '/v1/catalog', { headers })).headers?.etag;
      if (typeof etag !== 'string') throw new Error('catalog304: the catalog has no ETag');
      targets.push({
        name: 'catalog304',
        group: 'edge',
        label: 'catalog 304: GET /v1/catalog, If-None-Match',
        worker,
        request: {
          url: worker.url,
          path: '/v1/catalog',
          method: 'GET',
          headers: { ...headers, 'if-none-match': etag },
        },
        status: 304,
        check: (res) =>
          res.body === '' && res.headers?.etag === etag ? undefined : 'expected no body, same ETag',
        results: [],
      });
    }
    if (selected.has('flags')) {
      targets.push({
        name: 'flags',
        group: 'edge',
        label: 'flags: POST /v1/flags/evaluate',
        worker,
        request: {
          url: worker.url,
          path: '/v1/flags/evaluate',
          method: 'POST',
          headers,
          body: JSON.stringify(FLAGS_REQUEST_BODY),
        },
        check: (res) => {
          if (!json(res.body) || !res.body.includes(`"${BENCH_FLAG_KEY}"`))
            return `expected a JSON answer naming "${BENCH_FLAG_KEY}"`;
          // An evaluation that failed (unknown flag, unreadable definition) is not the hot path.
          if (/"reason"\s*:\s*"ERROR"/.test(res.body))
            return 'the flag evaluated with reason ERROR';
          return undefined;
        },
        results: [],
      });
    }
  }
  if (ldBundle) {
    const worker = await startWorker({
      name: 'bench-launchdarkly',
      bundle: ldBundle,
      compatibilityDate: '2026-04-20',
      compatibilityFlags: ['nodejs_compat'],
      options: { kvNamespaces: { LD_KV: 'bench-ld-kv' }, bindings: { LD_SDK_KEY } },
    });
    workers.push(worker);
    await (await worker.mf.getKVNamespace('LD_KV')).put(LD_KV_KEY, LD_KV_VALUE);
    targets.push({
      name: 'launchdarkly',
      group: 'edge',
      label: 'launchdarkly: SDK 2.2.3, same flag',
      worker,
      request: {
        url: worker.url,
        path: '/v1/flags/evaluate',
        method: 'POST',
        body: JSON.stringify(FLAGS_REQUEST_BODY),
      },
      check: (res) => {
        const flags = json(res.body)?.flags as Record<string, unknown> | undefined;
        return typeof flags?.[BENCH_FLAG_KEY] === 'boolean'
          ? undefined
          : `expected {"flags": {"${BENCH_FLAG_KEY}": true|false}}`;
      },
      results: [],
    });
  }
  let loadPrefix: string[] = [];
  if (targets.length) {
    log(`  ✓ ${workers.map((w) => `${w.name} on ${w.url.host}`).join(', ')} ${since()}`);
    step('Verifying every target answers its status (200, or 304) with a sane body');
    for (const t of targets) await verify(t);
    const pinning = pinProcesses(cpus, !args['no-pin']);
    log(`  ${pinning.description}`);
    loadPrefix = pinning.loadPrefix;
  }

  const load = {
    connections: opts.connections,
    threads: opts.threads,
    prefix: loadPrefix,
    tmpdir,
  };
  const active = targets.filter((t) => !t.skipped);
  const pids = workerdPids();
  for (let round = 1; round <= opts.repeat && active.length; round++) {
    if (opts.repeat > 1) step(`Round ${round} of ${opts.repeat}`);
    for (const t of active) {
      await measure(t, load, pids, round === 1 ? opts.warmup : 0);
    }
  }

  let killswitchP99: number | null = null;
  const edge = workers.find((w) => w.name === 'azotte-edge');
  if (edge) {
    killswitchP99 = await measureKillswitchFlip({
      mf: edge.mf,
      url: edge.url,
      headers: edgeHeaders,
      seconds: opts.seconds,
      log,
    });
  }

  if (need.e2e) {
    targets.push(
      ...(await runE2e({ database, edgeBundle, pgBundle, baselineBundle, project, cpus, tmpdir })),
    );
  }

  const decideUs = measureDecide();
  log(`  payment routing decision (pure): ${decideUs.toFixed(2)} µs per decision`);
  return report(targets, killswitchP99, decideUs);
}

// --- report -----------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

interface Summary {
  name: TargetName;
  rps: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  cpu_us_per_req: number | null;
  skipped?: string;
  invalid?: string;
  errors: number;
}

function summarize(t: Target): Summary {
  if (t.skipped || t.results.length === 0) {
    return {
      name: t.name,
      rps: null,
      p50_ms: null,
      p99_ms: null,
      cpu_us_per_req: null,
      skipped: t.skipped,
      errors: 0,
      ...(t.invalid ? { invalid: t.invalid } : {}),
    };
  }
  return {
    name: t.name,
    rps: Math.round(median(t.results.map((r) => r.rps))),
    p50_ms: median(t.results.map((r) => r.p50_ms)),
    p99_ms: median(t.results.map((r) => r.p99_ms)),
    cpu_us_per_req: Math.round(median(t.results.map((r) => r.cpuUsPerReq))),
    errors: t.results.reduce((n, r) => n + r.non2xx + r.socketErrors, 0),
    ...(t.invalid ? { invalid: t.invalid } : {}),
  };
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  log('');
  log(bold(line(head)));
  log(dim(widths.map((w) => '─'.repeat(w)).join('  ')));
  for (const row of rows) log(line(row));
  log('');
}

/** Prints the table and ratios (and the JSON line); false when a run was not valid. */
function report(targets: Target[], killswitchP99: number | null, decideUs: number): boolean {
  const runs = targets.map(summarize);
  const rps = (n: TargetName) => {
    const r = runs.find((x) => x.name === n);
    return r && !r.invalid ? r.rps : null;
  };
  const ratio = (a: number | null, b: number | null) =>
    a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
  const baseline = rps('baseline');
  /**
   * How many times `a`'s throughput is `b`'s: the median over rounds of the ratio within each
   * round (neighbouring runs drift together). `by: 'cpu'` uses workerd CPU per request instead
   * (b's over a's), which holds up when other processes compete for the CPUs.
   */
  const roundRatio = (a: TargetName, b: TargetName, by: 'rps' | 'cpu' = 'rps') => {
    const valid = (n: TargetName) =>
      targets.find((t) => t.name === n && !t.skipped && !t.invalid)?.results ?? [];
    const ra = valid(a);
    const rb = valid(b);
    const n = Math.min(ra.length, rb.length);
    if (n === 0) return null;
    const per = Array.from({ length: n }, (_, i) => {
      const x = ra[i] as Measured;
      const y = rb[i] as Measured;
      return by === 'rps' ? x.rps / (y.rps || 1) : y.cpuUsPerReq / (x.cpuUsPerReq || 1);
    });
    return Math.round(median(per) * 1000) / 1000;
  };
  const entRatio = (by: 'rps' | 'cpu') => ({
    entitlement_check_token_vs_bare: roundRatio('entitlement_check_token', 'ent_baseline', by),
    entitlement_check_server_vs_bare: roundRatio('entitlement_check_server', 'ent_baseline', by),
    entitlement_consume_vs_bare: roundRatio('entitlement_consume', 'ent_baseline', by),
  });
  const ratios = {
    catalog_vs_baseline: roundRatio('catalog', 'baseline'),
    catalog304_vs_baseline: roundRatio('catalog304', 'baseline'),
    flags_vs_launchdarkly: roundRatio('flags', 'launchdarkly'),
    ...entRatio('rps'),
  };
  const ratiosByCpu = {
    catalog_vs_baseline: roundRatio('catalog', 'baseline', 'cpu'),
    catalog304_vs_baseline: roundRatio('catalog304', 'baseline', 'cpu'),
    flags_vs_launchdarkly: roundRatio('flags', 'launchdarkly', 'cpu'),
    ...entRatio('cpu'),
  };
  const entMarks = {
    entitlement_check_token_vs_bare: ENT_TARGETS.entitlement_check_token,
    entitlement_check_server_vs_bare: ENT_TARGETS.entitlement_check_server,
    entitlement_consume_vs_bare: ENT_TARGETS.entitlement_consume,
  };

  const labels = new Map(targets.map((t) => [t.name, t.label]));
  const edgeRuns = runs.filter((r) => !isE2e(r.name) && !isEnt(r.name));
  const e2eRuns = runs.filter((r) => isE2e(r.name));
  const entRuns = runs.filter((r) => isEnt(r.name));
  const rows = edgeRuns.map((r) => [
    labels.get(r.name) ?? r.name,
    r.rps === null ? 'skipped' : r.invalid ? `${fmtInt(r.rps)} ✗` : fmtInt(r.rps),
    r.p50_ms === null ? '–' : fmtMs(r.p50_ms),
    r.p99_ms === null ? '–' : fmtMs(r.p99_ms),
    ratio(r.rps, baseline) === null ? '–' : `${(ratio(r.rps, baseline) as number).toFixed(2)}×`,
    r.cpu_us_per_req === null ? '–' : fmtInt(r.cpu_us_per_req),
  ]);
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'vs baseline', 'CPU µs/req'];
  if (edgeRuns.length) printTable(head, rows);

  // The Postgres rows' p50 as multiples of one insert transaction's (same run, same driver).
  const pgP50 = runs.find((r) => r.name === 'pg_insert_tx' && !r.invalid)?.p50_ms ?? null;
  const p50Ratio = (n: E2eName) => {
    const r = runs.find((x) => x.name === n && !x.invalid);
    return r?.p50_ms != null && pgP50 ? Math.round((r.p50_ms / pgP50) * 100) / 100 : null;
  };
  const p50VsPgInsert = {
    payment_sandbox_e2e: p50Ratio('payment_sandbox_e2e'),
    checkout_sandbox_e2e: p50Ratio('checkout_sandbox_e2e'),
  };
  const units = new Map(targets.map((t) => [t.name, t.unit ?? 'req/s']));
  if (e2eRuns.length) {
    log(bold(`Postgres rows${e2e.describe ? ` (${e2e.describe})` : ''}`));
    printTable(
      ['target', 'rate', 'p50 ms', 'p99 ms', 'p50 / pg_insert_tx', 'CPU µs/req'],
      e2eRuns.map((r) => {
        const label = labels.get(r.name) ?? r.name;
        if (r.rps === null) {
          return [
            label,
            r.invalid ? `✗ ${r.invalid.replace(/:.*/s, '')}` : `skipped: ${r.skipped}`,
            '–',
            '–',
            '–',
            '–',
          ];
        }
        const x =
          r.name === 'pg_insert_tx' ? 1 : p50VsPgInsert[r.name as keyof typeof p50VsPgInsert];
        return [
          label,
          `${fmtInt(r.rps)} ${units.get(r.name)}${r.invalid ? ' ✗' : ''}`,
          r.p50_ms === null ? '–' : fmtMs(r.p50_ms),
          r.p99_ms === null ? '–' : fmtMs(r.p99_ms),
          x == null ? '–' : `${x.toFixed(2)}×`,
          r.cpu_us_per_req === null ? '–' : fmtInt(r.cpu_us_per_req),
        ];
      }),
    );
  }

  if (entRuns.length) {
    log(
      bold(
        `Entitlement rows (Postgres-backed worker, wrk -c${opts.connections}, ratios to ent_baseline)`,
      ),
    );
    const byName = {
      entitlement_check_token: 'entitlement_check_token_vs_bare',
      entitlement_check_server: 'entitlement_check_server_vs_bare',
      entitlement_consume: 'entitlement_consume_vs_bare',
    } as const;
    printTable(
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'by CPU', 'CPU µs/req'],
      entRuns.map((r) => {
        const label = labels.get(r.name) ?? r.name;
        if (r.rps === null) {
          // The reason is in the lines below the table.
          return [label, r.invalid ? '✗ invalid' : 'skipped', '–', '–', '–', '–', '–'];
        }
        const key = byName[r.name as keyof typeof byName];
        const x = key ? ratios[key] : 1;
        const c = key ? ratiosByCpu[key] : 1;
        return [
          label,
          `${fmtInt(r.rps)}${r.invalid ? ' ✗' : ''}`,
          r.p50_ms === null ? '–' : fmtMs(r.p50_ms),
          r.p99_ms === null ? '–' : fmtMs(r.p99_ms),
          x == null ? '–' : `${x.toFixed(2)}×`,
          c == null ? '–' : `${c.toFixed(2)}×`,
          r.cpu_us_per_req === null ? '–' : fmtInt(r.cpu_us_per_req),
        ];
      }),
    );
  }

  const verdict = (
    what: keyof typeof ratios & keyof typeof ratiosByCpu,
    mark: number,
    why: string | undefined = undefined,
  ) => {
    const value = ratios[what];
    if (value === null) return `  ${what}: not measured${why ? ` (${why})` : ''}`;
    const ok = value >= mark;
    const cpu = ratiosByCpu[what];
    return (
      `  ${what}: ${value.toFixed(2)}× (target ≥ ${mark}×) ${ok ? '✓ pass' : '✗ MISSED'}` +
      dim(cpu === null ? '' : `   by workerd CPU per request: ${cpu.toFixed(2)}×`)
    );
  };
  if (edgeRuns.length) {
    log(bold('Ratios of req/s (compare these; p99 is mostly workerd stalls)'));
    log(verdict('catalog_vs_baseline', TARGETS.catalogVsBaseline));
    log(verdict('catalog304_vs_baseline', TARGETS.catalog304VsBaseline));
    const flagsSkip = runs.find((r) => r.name === 'flags')?.skipped;
    log(verdict('flags_vs_launchdarkly', TARGETS.flagsVsLaunchDarkly, flagsSkip));
    log(
      `  killswitch_p99_ms: ${killswitchP99 === null ? 'not measured yet' : `${fmtMs(killswitchP99)} ms`}`,
    );
  }
  if (e2eRuns.length) {
    log(bold('Postgres rows: p50 as multiples of pg_insert_tx’s p50 (same run, same driver)'));
    for (const [name, value] of Object.entries(p50VsPgInsert)) {
      const r = runs.find((x) => x.name === name);
      if (!r) continue;
      const what = name.replace(/_sandbox_e2e$/, '');
      log(
        `  ${what}_p50_vs_pg_insert_tx: ` +
          (value !== null
            ? `${value.toFixed(2)}× ${dim(`(${fmtMs(r.p50_ms as number)} ms / ${fmtMs(pgP50 as number)} ms)`)}`
            : r.skipped
              ? `skipped: ${r.skipped}`
              : `not measured${r.invalid ? ` (${r.invalid})` : ''}`),
      );
    }
  }
  if (entRuns.length) {
    log(bold('Entitlement rows: req/s as ratios of the bare Hono route’s (same rounds)'));
    for (const [what, mark] of Object.entries(entMarks)) {
      const name = what.replace(/_vs_bare$/, '');
      const r = runs.find((x) => x.name === name);
      if (!r) continue;
      const why = r.skipped ?? r.invalid;
      log(verdict(what as keyof typeof entMarks, mark, why));
    }
    if (ent.consume) {
      const c = ent.consume;
      log(
        `  consume over_grant: ${c.overGrant} ${c.overGrant === 0 && c.consistent ? '✓' : '✗'}` +
          dim(
            `   (wrk saw ${fmtInt(c.granted)} × 200, the counter grew by ${fmtInt(c.used)}, limit ${fmtInt(c.limit)})`,
          ),
      );
    }
    if (ent.probe) {
      const p = ent.probe;
      const exact = p.granted === Math.min(p.limit, p.requests) && p.used === p.granted;
      log(
        `  probe over_grant: ${p.overGrant} ${p.overGrant === 0 && exact ? '✓' : '✗'}` +
          dim(
            `   (${fmtInt(p.requests)} consumes against ${fmtInt(p.limit)}: ${fmtInt(p.granted)} × 200, ` +
              `${fmtInt(p.refused)} × 429, ${p.other} other; used ${fmtInt(p.used)})`,
          ),
      );
    }
  }
  log(`  payment_decision_us: ${decideUs.toFixed(2)} µs (routing decision, pure function, Node)`);
  const busiest = Math.max(
    0,
    ...targets
      .filter((t) => t.group !== 'e2e')
      .flatMap((t) => t.results.map((r) => r.otherCpu + r.stealCpu)),
  );
  if (busiest > BUSY_CPU) {
    log(
      `  ⚠ other processes used up to ${Math.round(busiest * 100)} % of a CPU during the runs: req/s` +
        ' are low and their ratios noisy; the CPU-per-request ratios hold up better' +
        (opts.repeat === 1 ? ', and --repeat 3 gives medians of interleaved rounds' : ''),
    );
  }
  const errored = runs.filter((r) => r.errors > 0);
  if (errored.length) {
    log(`  ⚠ errors under load in: ${errored.map((r) => `${r.name} (${r.errors})`).join(', ')}`);
  }
  const invalid = runs.filter((r) => r.invalid);
  // Rows that failed for one reason (a failed setup) are listed together.
  const byReason = new Map<string, string[]>();
  for (const r of invalid) {
    const why = r.invalid as string;
    byReason.set(why, [...(byReason.get(why) ?? []), r.name]);
  }
  for (const [why, names] of byReason) {
    log(`  ✗ ${names.join(', ')}: not a valid measurement (${why}); left out of the ratios`);
  }
  log(dim(`  total ${((Date.now() - t0) / 1000).toFixed(1)} s`));

  if (args.json) {
    console.log(
      JSON.stringify({
        runs: runs.map(({ name, rps, p50_ms, p99_ms, cpu_us_per_req, skipped, invalid }) => ({
          name,
          rps,
          p50_ms,
          p99_ms,
          cpu_us_per_req,
          ...(skipped ? { skipped } : {}),
          ...(invalid ? { invalid } : {}),
        })),
        ratios,
        ratios_by_cpu: ratiosByCpu,
        targets: {
          catalog_vs_baseline: TARGETS.catalogVsBaseline,
          catalog304_vs_baseline: TARGETS.catalog304VsBaseline,
          flags_vs_launchdarkly: TARGETS.flagsVsLaunchDarkly,
          ...entMarks,
        },
        killswitch_p99_ms: killswitchP99,
        payment_decision_us: decideUs,
        ...(e2eRuns.length
          ? {
              p50_vs_pg_insert_tx: p50VsPgInsert,
              e2e: { database: e2e.database, connections: e2e.connections, rounds: 1 },
            }
          : {}),
        ...(entRuns.length
          ? {
              entitlements: {
                connections: opts.connections,
                rounds: opts.repeat,
                consume: ent.consume && {
                  granted: ent.consume.granted,
                  used: ent.consume.used,
                  unseen_bound: ent.consume.unseenBound,
                  consistent: ent.consume.consistent,
                  limit: ent.consume.limit,
                  over_grant: ent.consume.overGrant,
                },
                over_grant_probe: ent.probe && {
                  requests: ent.probe.requests,
                  limit: ent.probe.limit,
                  granted: ent.probe.granted,
                  refused: ent.probe.refused,
                  other: ent.probe.other,
                  used: ent.probe.used,
                  over_grant: ent.probe.overGrant,
                  retried: ent.probe.retried,
                },
              },
            }
          : {}),
      }),
    );
  }
  // Granting past a quota is a bug, not a missed target.
  const overGranted =
    (ent.consume?.overGrant ?? 0) + (ent.probe?.overGrant ?? 0) > 0 ||
    ent.consume?.consistent === false;
  if (overGranted) log('  ✗ entitlement consumes granted more than the quota');
  return invalid.length === 0 && !overGranted;
}

try {
  const valid = await main();
  await cleanup();
  // The JSON line, when asked for, stays the last line of stdout: this goes to stderr.
  if (!valid) {
    console.error(
      'bench: a target answered errors under load or could not be set up, so it was not measured',
    );
  }
  process.exit(valid ? 0 : 1);
} catch (err) {
  if (stopping) await stopping; // interrupted: that error is only the broken run
  await stop(
    1,
    `bench failed: ${err instanceof Error ? (process.env.BENCH_DEBUG ? err.stack : err.message) : String(err)}`,
  );
}
