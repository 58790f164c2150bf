/**
 * CPU profile of the entitlement rows (scripts/bench/entitlements.ts) under load:
 *
 *   DATABASE_URL=… npx tsx scripts/bench/profile-entitlements.ts entitlement_check_server entitlement_consume
 *
 * Starts what `npm run bench` starts for them (a scratch database, the Postgres-backed worker
 * with the V8 inspector on, the seeded customers), drives each named row with wrk for 6 s
 * (after 2 s of warm-up) under the sampling profiler, and prints self time, self time by
 * source and inclusive time by source (through the bundle's source map). The worker and its
 * Durable Objects share one isolate, so one profile holds both. The inspector costs
 * throughput: read the shares, not the absolute numbers. The source-map reader is
 * scripts/bench/profile.ts's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../lib/ports';
import { buildWorker, ROOT } from './build';
import { startBenchDatabase, startE2e } from './e2e';
import { projectWorker } from './edge';
import { prepareEntitlements } from './entitlements';
import { pinProcesses, type RunningWorker } from './runtime';
import { runLoad } from './wrk';

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

const tmp = await mkdtemp(path.join(os.tmpdir(), 'azotte-entprof-'));
const workers: RunningWorker[] = [];
const db = await startBenchDatabase(path.join(tmp, 'pg'));
let closeProxy: (() => Promise<void>) | undefined;
try {
  const bundle = await buildWorker(path.join(tmp, 'edge'));
  const project = await projectWorker();
  const inspectorPort = await freePort();
  const setup = await startE2e({
    db,
    edgeBundle: bundle,
    project,
    onWorker: (w) => workers.push(w),
    edgeInstance: { inspectorPort },
  });
  closeProxy = () => setup.proxy.close();
  const ent = await prepareEntitlements(setup.seed, setup.seed.edge);
  const pin = pinProcesses(os.availableParallelism?.() ?? os.cpus().length, true);
  const load = { connections: 32, threads: 1, prefix: pin.loadPrefix, tmpdir: tmp };
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl?: string;
  }[];
  console.log(targets.map((t) => t.webSocketDebuggerUrl));
  const t = targets.find((x) => x.webSocketDebuggerUrl?.includes('azotte-edge-pg')) ?? targets[0];
  const ws = new WebSocket(t?.webSocketDebuggerUrl ?? '');
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
  const where = await sourceLocator(`${bundle.scriptPath}.map`);
  for (const name of process.argv.slice(2)) {
    const target = ent.targets.find((x) => x.name === name);
    if (!target) continue;
    await runLoad(target.request, { ...load, seconds: 2 });
    await send('Profiler.start');
    const r = await runLoad(target.request, { ...load, seconds: 6 });
    const { profile } = (await send('Profiler.stop')) as { profile: Profile };
    console.log(`\n=== ${name}: ${Math.round(r.rps)} req/s under the profiler`);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const total = profile.samples.length;
    const print = (title: string, m: Map<string, number>, top = 18) => {
      console.log(`${title} (${total} samples)`);
      for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
        console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
    };
    const self = new Map<string, number>();
    const bySource = new Map<string, number>();
    const incl = new Map<string, number>();
    for (const s of profile.samples) {
      const f = byId.get(s)?.callFrame;
      if (!f) continue;
      const l = `${f.functionName || '(anon)'}${f.url && where ? ` ${where(f.lineNumber, f.columnNumber)}` : ''}`;
      self.set(l, (self.get(l) ?? 0) + 1);
      const k = f.url && where ? where(f.lineNumber, f.columnNumber) : f.functionName || '(native)';
      bySource.set(k, (bySource.get(k) ?? 0) + 1);
      const seen = new Set<string>();
      for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
        const g = byId.get(id)?.callFrame;
        if (!g?.url || !where) continue;
        const kk = where(g.lineNumber, g.columnNumber);
        if (seen.has(kk)) continue;
        seen.add(kk);
        incl.set(kk, (incl.get(kk) ?? 0) + 1);
      }
    }
    print('self time', self);
    print('self by source', bySource, 14);
    print('inclusive by source', incl, 22);
  }
  ws.close();
} finally {
  await Promise.allSettled(workers.map((w) => w.mf.dispose()));
  await closeProxy?.();
  await db.close();
  await rm(tmp, { recursive: true, force: true });
}
