/**
 * The fast routes' CPU per request without HTTP: runs `GET /v1/catalog` (a 200, and a 304 for
 * its current ETag) and `POST /v1/flags/evaluate` through the direct dispatch thousands of times
 * inside one request and reads workerd's CPU time around it. Much steadier than wrk on a shared machine (a few %
 * between runs instead of ±15 %), so it is the tool for judging a hot-path change; the ratios
 * that count are still `npm run bench`'s, which include the HTTP server.
 *
 *   npx tsx scripts/bench/loop.ts [--n 30000] [--runs 5]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildWorker, ROOT } from './build';
import { projectWorker, publishBenchConfig } from './edge';
import { FLAGS_REQUEST_BODY } from './fixture';
import { request, sampleCpu, serverCpuSeconds, startWorker, workerdPids } from './runtime';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '30000' }, runs: { type: 'string', default: '5' } },
});
const n = Number(values.n);
const runs = Number(values.runs);

const tmp = await mkdtemp(path.join(os.tmpdir(), 'azotte-loop-'));
let dispose: (() => Promise<void>) | undefined;
try {
  // wrangler.toml with the loop entry as main, so bindings and settings stay the project's.
  const toml = (await readFile(path.join(ROOT, 'wrangler.toml'), 'utf8')).replace(
    /^main = .*$/m,
    `main = ${JSON.stringify(path.join(ROOT, 'scripts/bench/loop-entry.ts'))}`,
  );
  const configPath = path.join(tmp, 'wrangler.toml');
  await writeFile(configPath, toml);
  process.stdout.write('building… ');
  const bundle = await buildWorker(path.join(tmp, 'bundle'), configPath);
  const project = await projectWorker();
  const worker = await startWorker({ name: 'azotte-edge', bundle, ...project });
  dispose = () => worker.mf.dispose();
  const { headers } = await publishBenchConfig(worker.mf);
  const etag = (await request(worker.url, '/v1/catalog', { headers })).headers?.etag;
  if (typeof etag !== 'string') throw new Error('the catalog answered without an ETag');
  const pids = workerdPids();
  console.log(`serving on ${worker.url.host}; ${n} iterations × ${runs} runs per case`);
  const cases = [
    { name: 'catalog', path: '/v1/catalog', method: 'GET' as const, only: '' },
    {
      name: 'catalog 304',
      path: '/v1/catalog',
      method: 'GET' as const,
      only: '',
      extra: { 'if-none-match': etag },
    },
    { name: 'flags', path: '/v1/flags/evaluate', method: 'POST' as const, only: '' },
    {
      name: '(new POST Request)',
      path: '/v1/flags/evaluate',
      method: 'POST' as const,
      only: 'requests',
    },
  ];
  for (const c of cases) {
    const q = (count: number) =>
      `/__bench/loop?n=${count}&path=${encodeURIComponent(c.path)}&only=${c.only}`;
    const req = (count: number) => ({
      url: worker.url,
      path: q(count),
      method: c.method,
      headers: {
        ...headers,
        ...('extra' in c ? c.extra : {}),
        ...(c.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      body: c.method === 'POST' ? JSON.stringify(FLAGS_REQUEST_BODY) : undefined,
    });
    await request(worker.url, q(2000), req(2000)); // warm-up: JIT, leases, caches
    const perIteration: number[] = [];
    for (let r = 0; r < runs; r++) {
      const a = sampleCpu(pids);
      const res = await request(worker.url, q(n), req(n));
      const b = sampleCpu(pids);
      const inner = (JSON.parse(res.body) as { status?: number }).status;
      const expected = 'extra' in c ? 304 : 200;
      if (res.status !== 200 || (c.only === '' && inner !== expected)) {
        throw new Error(`${c.name}: ${res.status} ${res.body} (expected ${expected} inside)`);
      }
      perIteration.push((serverCpuSeconds(a, b) / n) * 1e6);
    }
    perIteration.sort((x, y) => x - y);
    const median = perIteration[Math.floor(perIteration.length / 2)] ?? 0;
    console.log(
      `${c.name.padEnd(20)} ${median.toFixed(2)} µs/iteration (median; min ${(perIteration[0] ?? 0).toFixed(2)})`,
    );
  }
} finally {
  await dispose?.();
  await rm(tmp, { recursive: true, force: true });
}
