/**
 * CPU profile of our worker under load, to see where a bench target's time goes:
 *
 *   npx tsx scripts/bench/profile.ts [catalog|flags] [--seconds 5] [--bundle <dir>]
 *
 * Builds the worker (or takes an already built bundle directory), serves it on a direct workerd
 * socket with the V8 inspector on, seeds the bench KV, drives wrk at it while the sampling
 * profiler runs, then prints the top functions by self time and by inclusive time and writes
 * the `.cpuprofile` (open it in Chrome DevTools → Performance) next to the temp bundle.
 * The inspector costs throughput: read the shares, not the absolute numbers.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freePort } from '../lib/ports';
import { type Bundle, buildWorker, ROOT } from './build';
import { projectWorker, publishBenchConfig } from './edge';
import { FLAGS_REQUEST_BODY } from './fixture';
import { pinProcesses, request, startWorker } from './runtime';
import { runLoad } from './wrk';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    bundle: { type: 'string' },
    top: { type: 'string', default: '25' },
  },
});
const targetName = positionals[0] ?? 'catalog';
const seconds = Number(values.seconds);
const requestFor = {
  catalog: { path: '/v1/catalog', method: 'GET' as const, body: undefined },
  flags: {
    path: '/v1/flags/evaluate',
    method: 'POST' as const,
    body: JSON.stringify(FLAGS_REQUEST_BODY),
  },
}[targetName];
if (!requestFor) {
  console.error('target must be catalog or flags');
  process.exit(2);
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * (generated line, column) → the original source, shortened to its npm package or its path
 * under the project; undefined when the source map cannot be read.
 */
async function sourceLocator(
  mapPath: string,
): Promise<((line: number, col: number) => string) | undefined> {
  let map: { sources: string[]; mappings: string };
  try {
    map = JSON.parse(await readFile(mapPath, 'utf8'));
  } catch {
    return undefined;
  }
  // Per generated line: [column, source index] pairs (VLQ fields 1 and 2 of each segment).
  const lines: [number, number][][] = [];
  let src = 0;
  for (const line of map.mappings.split(';')) {
    const segs: [number, number][] = [];
    let col = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += fields[0] ?? 0;
      if (fields.length > 1) {
        src += fields[1] ?? 0;
        segs.push([col, src]);
      }
    }
    lines.push(segs);
  }
  const short = (s: string) => {
    const nm = s.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const rest = s.slice(nm + 13).split('/');
      return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? s);
    }
    return path.relative(ROOT, path.resolve(path.dirname(mapPath), s));
  };
  return (line, col) => {
    const segs = lines[line] ?? [];
    let best: number | undefined;
    for (const [c, si] of segs) {
      if (c > col) break;
      best = si;
    }
    return best === undefined ? '(unmapped)' : short(map.sources[best] ?? '?');
  };
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'azotte-profile-'));
let stopWorker: (() => Promise<void>) | undefined;
try {
  const bundle: Bundle = values.bundle
    ? await (async () => {
        const dir = path.resolve(values.bundle as string);
        const { readdir } = await import('node:fs/promises');
        const js = (await readdir(dir)).find((f) => f.endsWith('.js'));
        if (!js) throw new Error(`no .js in ${dir}`);
        return { dir, scriptPath: path.join(dir, js) };
      })()
    : await buildWorker(path.join(tmp, 'edge'));
  const project = await projectWorker();
  const inspectorPort = await freePort();
  const worker = await startWorker({
    name: 'azotte-edge',
    bundle,
    compatibilityDate: project.compatibilityDate,
    compatibilityFlags: project.compatibilityFlags,
    options: project.options,
    instance: { inspectorPort },
  });
  stopWorker = () => worker.mf.dispose();
  const { headers } = await publishBenchConfig(worker.mf);
  const req = { url: worker.url, headers, ...requestFor };
  const check = await request(worker.url, req.path, req);
  console.log(`${req.method} ${req.path} → ${check.status}`);
  if (check.status !== 200) throw new Error(check.body);
  const pin = pinProcesses(os.availableParallelism?.() ?? os.cpus().length, true);
  const load = { connections: 32, threads: 1, prefix: pin.loadPrefix, tmpdir: tmp };
  await runLoad(req, { ...load, seconds: 2 });

  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    title?: string;
    id?: string;
    webSocketDebuggerUrl?: string;
  }[];
  const t = targets.find((x) => x.webSocketDebuggerUrl?.includes('azotte-edge')) ?? targets[0];
  if (!t?.webSocketDebuggerUrl) throw new Error(`no inspector target: ${JSON.stringify(targets)}`);
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let seq = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++seq;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  const r = await runLoad(req, { ...load, seconds });
  const { profile } = (await send('Profiler.stop')) as { profile: Profile };
  ws.close();
  console.log(`under the profiler: ${Math.round(r.rps)} req/s, p50 ${r.p50_ms} ms`);
  const file = path.join(os.tmpdir(), `azotte-${targetName}-${Date.now()}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (f: CallFrame) =>
    `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const s of profile.samples) {
    const node = byId.get(s);
    if (!node) continue;
    const l = label(node.callFrame);
    self.set(l, (self.get(l) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n) break;
      const k = label(n.callFrame);
      if (!seen.has(k)) {
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + 1);
      }
    }
  }
  const total = profile.samples.length;
  const top = Number(values.top);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (${total} samples)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
    }
  };
  print('self time', self);
  print('inclusive time', incl);

  // Self time by source file / package, through the bundle's source map.
  const where = await sourceLocator(`${bundle.scriptPath}.map`);
  if (where) {
    const bySource = new Map<string, number>();
    for (const s of profile.samples) {
      const f = byId.get(s)?.callFrame;
      if (!f) continue;
      const k = f.url ? where(f.lineNumber, f.columnNumber) : f.functionName || '(native)';
      bySource.set(k, (bySource.get(k) ?? 0) + 1);
    }
    print('self time by source', bySource);
    // Inclusive: a sample counts for every source on its stack (once each), so a middleware's
    // line includes the Hono, zod or crypto work it causes synchronously.
    const inclSource = new Map<string, number>();
    for (const s of profile.samples) {
      const seen = new Set<string>();
      for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
        const f = byId.get(id)?.callFrame;
        if (!f?.url) continue;
        const k = where(f.lineNumber, f.columnNumber);
        if (seen.has(k)) continue;
        seen.add(k);
        inclSource.set(k, (inclSource.get(k) ?? 0) + 1);
      }
    }
    print('inclusive time by source (synchronous stacks only)', inclSource);
  }
  console.log(`\nprofile written to ${file}`);
} finally {
  await stopWorker?.();
  await rm(tmp, { recursive: true, force: true });
}
