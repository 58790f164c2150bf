/**
 * `npm start`: the whole local stack on embedded defaults.
 *   Postgres (DATABASE_URL, else embedded PGlite in .local/pgdata) → WebSocket proxy →
 *   migrations → demo seed → wrangler dev (local KV + Durable Objects in .wrangler/state) →
 *   publish config to KV → demo subscriptions (through the worker's API) → print what to open.
 *   Ctrl-C stops every child.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { databaseFromEnv, ROOT, runMigrations } from './lib/database';
import {
  checkoutCurl,
  type SeededStorefront,
  seedDemoSubscriptions,
} from './lib/demo-subscriptions';
import { freePort } from './lib/ports';
import { startWsProxy } from './lib/ws-proxy';
import { seedDemo } from './seed';

const PORT = Number(process.env.PORT ?? 8787);
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const step = (s: string) => console.log(`${bold('▸')} ${s}`);
const t0 = Date.now();
const since = () => dim(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);

const cleanups: (() => Promise<void> | void)[] = [];
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {}
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/**
 * A secret that must survive restarts (data encrypted under it lives in Postgres), kept in
 * `.local/secrets.json` (git-ignored, mode 0600) and created on first use.
 */
function persistentSecret(name: string): string {
  const file = path.join(ROOT, '.local/secrets.json');
  let secrets: Record<string, unknown> = {};
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {}
  const existing = secrets[name];
  if (typeof existing === 'string' && existing.length >= 32) return existing;
  const created = randomBytes(32).toString('base64url');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...secrets, [name]: created }, null, 2)}\n`, {
    mode: 0o600,
  });
  return created;
}

step('Postgres');
const pgPort = await freePort(Number(process.env.PGLITE_PORT ?? 54329));
const db = await databaseFromEnv(path.join(ROOT, '.local/pgdata'), pgPort);
if (db.embedded) cleanups.push(() => db.embedded?.close());
console.log(`  using ${db.describe} ${since()}`);

const proxy = await startWsProxy(await freePort(), { oneSession: db.embedded !== undefined });
cleanups.push(() => proxy.close());
console.log(`  WebSocket proxy for the worker on ${proxy.url}`);

step('Migrations');
await runMigrations(db.url);
console.log(`  ✓ schema up to date ${since()}`);

step('Demo data');
const { creds, fresh } = await seedDemo(db.url, (s) => console.log(s));
if (fresh) {
  console.log(
    `\n  ${bold('Demo credentials')} (test keys, sandbox only; also in .local/demo-credentials.json; keys are stored only as hashes):`,
  );
  for (const sf of Object.values(creds.storefronts)) {
    console.log(`    ${`${sf.tenant}/${sf.slug}`.padEnd(24)} ${sf.publishable}  ${dim(sf.secret)}`);
  }
  for (const op of creds.operators)
    console.log(`    ${op.email.padEnd(28)} ${op.password}  ${dim(op.role)}`);
} else {
  console.log('  credentials: .local/demo-credentials.json');
}

step(`Worker (wrangler dev on port ${PORT})`);
const publishToken = randomBytes(24).toString('base64url');
const signingKeySecret = persistentSecret('SIGNING_KEY_SECRET');
// Persisted so console sessions survive a restart.
const sessionSecret = persistentSecret('SESSION_SECRET');
const wrangler: ChildProcess = spawn(
  process.execPath,
  [
    path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
    'dev',
    '--port',
    String(PORT),
    '--ip',
    '127.0.0.1',
    '--persist-to',
    path.join(ROOT, '.wrangler/state'),
    '--show-interactive-dev-session=false',
    '--var',
    `DATABASE_URL:${db.url}`,
    '--var',
    `NEON_LOCAL_WS_PROXY:${proxy.url}`,
    '--var',
    `PUBLISH_TOKEN:${publishToken}`,
    '--var',
    `SIGNING_KEY_SECRET:${signingKeySecret}`,
    '--var',
    `SESSION_SECRET:${sessionSecret}`,
  ],
  {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    detached: true,
  },
);
cleanups.push(
  () =>
    new Promise<void>((resolve) => {
      if (wrangler.exitCode !== null || !wrangler.pid) return resolve();
      wrangler.once('exit', () => resolve());
      try {
        process.kill(-wrangler.pid, 'SIGTERM');
      } catch {
        resolve();
      }
      setTimeout(() => {
        try {
          if (wrangler.pid) process.kill(-wrangler.pid, 'SIGKILL');
        } catch {}
        resolve();
      }, 3000).unref();
    }),
);
/** While the demo subscriptions are made, wrangler's line per request is left out. */
let quietRequests = false;
const REQUEST_LOG = /^\[wrangler:info\] (GET|POST|PUT|PATCH|DELETE|HEAD) \//;
const prefix = (stream: NodeJS.ReadableStream | null) => {
  let buf = '';
  stream?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
      if (quietRequests && REQUEST_LOG.test(l.replace(/\x1b\[[0-9;]*m/g, ''))) continue;
      console.log(`${dim('  wrangler │')} ${l}`);
    }
  });
};
prefix(wrangler.stdout);
prefix(wrangler.stderr);
wrangler.on('exit', (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code}); stopping.`);
    void stop(code ?? 1);
  }
});

const base = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    const r = await fetch(`${base}/healthz`);
    if (r.ok) break;
  } catch {}
  if (i > 240) {
    console.error('The worker did not answer /healthz within 120 s.');
    await stop(1);
  }
  await new Promise((r) => setTimeout(r, 500));
}
console.log(`  ✓ worker answering ${since()}`);

step('Publishing config to KV');
const pub = await fetch(`${base}/internal/publish`, {
  method: 'POST',
  headers: { authorization: `Bearer ${publishToken}` },
});
if (!pub.ok) {
  console.error(`publish failed: ${pub.status} ${await pub.text()}`);
  await stop(1);
}
const result = (await pub.json()) as {
  tenants: { slug: string; version: number; storefronts: number }[];
  snapshotsWritten: number;
};
for (const t of result.tenants)
  console.log(`  ✓ ${t.slug} v${t.version}: ${t.storefronts} storefront snapshots`);

step('Demo subscriptions');
quietRequests = true;
let seeded: SeededStorefront[] = [];
const seedStart = Date.now();
try {
  seeded = await seedDemoSubscriptions({
    port: PORT,
    creds,
    file: path.join(ROOT, '.local/demo-subscriptions.json'),
    // PGlite's connections share one session: one request at a time there.
    serial: db.embedded !== undefined,
  });
  const made = seeded.reduce((n, s) => n + Object.keys(s.subscriptions).length, 0);
  console.log(
    `  ${made} subscriptions in ${seeded.length} storefronts ${dim(`(${((Date.now() - seedStart) / 1000).toFixed(1)} s)`)}; ids and customers in .local/demo-subscriptions.json`,
  );
} catch (err) {
  console.log(`  ⚠ demo subscriptions not made: ${(err as Error).message}`);
} finally {
  // wrangler's lines of the last few requests arrive just after their answers.
  setTimeout(() => {
    quietRequests = false;
  }, 1_000).unref();
}

const u = (host: string, p: string) => `http://${host}:${PORT}${p}`;
const keyOf = (tenant: string, slug: string) =>
  Object.values(creds.storefronts).find((s) => s.tenant === tenant && s.slug === slug)
    ?.publishable ?? '';
const owner = creds.operators.find((o) => o.role === 'owner' && o.tenant === 'globalcorp');
const keysOf = (tenant: string, slug: string) =>
  Object.values(creds.storefronts).find((s) => s.tenant === tenant && s.slug === slug);
// The checkout example: us-store's, else the first storefront whose seeding made a card.
const shop =
  seeded.find(
    (s) => s.tenant === 'globalcorp' && s.slug === 'us-store' && s.checkoutPaymentMethodId,
  ) ??
  seeded.find((s) => s.checkoutPaymentMethodId) ??
  seeded[0];
const shopKeys = shop ? keysOf(shop.tenant, shop.slug) : undefined;
const pastDue = shop?.subscriptions.past_due;
const seededLines =
  shop && shopKeys
    ? [
        `  ${dim(`# a checkout: a new customer each time, with a 4242 test card the seed tokenized`)}`,
        ...checkoutCurl(PORT, shop, shopKeys).map((l) => `  ${l}`),
        ...(pastDue
          ? [
              `  ${dim(`# a seeded subscription (${pastDue.status}), and its event log`)}`,
              `  curl ${u(shop.host, `/v1/subscriptions/${pastDue.id}`)} -H 'Authorization: Bearer ${shopKeys.secret}'`,
              `  curl ${u(shop.host, `/v1/subscriptions/${pastDue.id}/events`)} -H 'Authorization: Bearer ${shopKeys.secret}'`,
            ]
          : []),
      ]
    : [];
console.log(`
${bold('Azotte Edge is running')} ${since()}

  Operator console ${u('127.0.0.1', '/console')}   ${dim(`sign in as ${owner?.email} / ${owner?.password}`)}
  API reference    ${u('127.0.0.1', '/docs')}
  Health           ${u('127.0.0.1', '/healthz')}

Try:
  curl ${u('globalcorp.localhost', '/v1/storefront')} -H 'CF-IPCountry: DE'
  curl ${u('globalcorp.localhost', '/v1/storefront')} -H 'X-Storefront: apac-store'
  curl ${u('apac.globalcorp.localhost', '/v1/catalog')} -H 'Authorization: Bearer ${keyOf('globalcorp', 'apac-store')}'
  curl ${u('us.globalcorp.localhost', '/v1/flags/evaluate')} -H 'Authorization: Bearer ${keyOf('globalcorp', 'us-store')}' \\
       -H 'content-type: application/json' -d '{"context":{"targetingKey":"cus_42"}}'
${seededLines.join('\n')}

${dim('Keys and operator passwords: .local/demo-credentials.json. Ctrl-C stops everything; data stays in .local/ and .wrangler/.')}
`);
