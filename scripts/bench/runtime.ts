/**
 * Workers under test, each in its own Miniflare instance and served on a direct workerd
 * socket (`unsafeDirectSockets`) on 127.0.0.1: no entry worker or proxy in front, the way
 * workerd serves on Cloudflare. Never `wrangler dev`'s port (a proxy DO sits in front of it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { Log, LogLevel, Miniflare, type MiniflareOptions, type WorkerOptions } from 'miniflare';
import type { Bundle } from './build';

export interface RunningWorker {
  name: string;
  mf: Miniflare;
  /** `http://127.0.0.1:<port>` of the direct socket. */
  url: URL;
}

export interface WorkerSetup {
  name: string;
  bundle: Bundle;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Extra Miniflare worker options (bindings, KV, Durable Objects…). */
  options?: Partial<WorkerOptions>;
  /** Extra instance-wide Miniflare options (e.g. `inspectorPort` for profiling). */
  instance?: Partial<MiniflareOptions>;
}

/** Starts one worker in its own Miniflare and returns its direct-socket URL. */
export async function startWorker(setup: WorkerSetup): Promise<RunningWorker> {
  const mf = new Miniflare({
    ...setup.instance,
    host: '127.0.0.1',
    port: 0,
    log: new Log(LogLevel.WARN),
    // No request.cf download from workers.cloudflare.com (a direct socket has no cf anyway).
    cf: false,
    workers: [
      {
        ...setup.options,
        name: setup.name,
        modules: true,
        scriptPath: setup.bundle.scriptPath,
        modulesRoot: setup.bundle.dir,
        compatibilityDate: setup.compatibilityDate,
        compatibilityFlags: setup.compatibilityFlags,
        unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
      } as WorkerOptions,
    ],
  } as MiniflareOptions);
  try {
    await withTimeout(mf.ready, 60_000, `${setup.name}: Miniflare did not start`);
    const url = await mf.unsafeGetDirectURL(setup.name);
    return { name: setup.name, mf, url };
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
    }),
  ]);
}

export interface HttpResult {
  status: number;
  body: string;
  /** Response headers, lower-case names. */
  headers?: http.IncomingHttpHeaders;
}

/** One request to a direct socket, headers as given (fetch would not let us set Host). */
export function request(
  url: URL,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? 'GET',
        headers,
        timeout: 15_000,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** PIDs of the workerd processes that descend from this process. */
export function workerdPids(): number[] {
  const parentOf = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
      names.set(Number(entry), comm);
    } catch {
      // the process ended while we looked
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parentOf.get(pid), hops = 0; p !== undefined && hops < 16; hops++) {
      if (p === process.pid) return true;
      p = parentOf.get(p);
    }
    return false;
  };
  return [...names].filter(([pid, comm]) => comm === 'workerd' && descends(pid)).map(([p]) => p);
}

export interface Pinning {
  /** Prefix for the load generator's command (`taskset -c 0`), empty when not pinned. */
  loadPrefix: string[];
  description: string;
}

/**
 * Pins every workerd (all threads) to the last CPU and returns the command prefix that puts the
 * load generator on CPU 0, when `taskset` exists and there are at least two CPUs.
 */
export function pinProcesses(cpus: number, enabled: boolean): Pinning {
  if (!enabled) return { loadPrefix: [], description: 'not pinned (--no-pin)' };
  const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
  if (!taskset) return { loadPrefix: [], description: 'not pinned (taskset not found)' };
  if (cpus < 2) return { loadPrefix: [], description: 'not pinned (one CPU)' };
  const serverCpu = String(cpus - 1);
  const pids = workerdPids();
  for (const pid of pids) {
    execFileSync(taskset, ['-a', '-p', '-c', serverCpu, String(pid)], { stdio: 'ignore' });
  }
  return {
    loadPrefix: [taskset, '-c', '0'],
    description: `workerd (${pids.length} process${pids.length === 1 ? '' : 'es'}) on CPU ${serverCpu}, load generator on CPU 0`,
  };
}

export interface CpuSample {
  at: number;
  /** Ticks every CPU spent busy (user, nice, system, irq, softirq). */
  busy: number;
  /** Ticks the hypervisor ran something else while we wanted a CPU. */
  steal: number;
  /** Ticks of this process, its reaped children (wrk) and the workerd processes. */
  ours: number;
  /** Ticks of the workerd processes alone. */
  server: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux

function procTicks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after "pid (comm)"
    return [11, 12, 13, 14].reduce((n, i) => n + Number(f[i] ?? 0), 0);
  } catch {
    return 0;
  }
}

/** CPU accounting now (Linux only; zeros elsewhere). */
export function sampleCpu(workerd: number[]): CpuSample {
  let busy = 0;
  let steal = 0;
  try {
    const cpu = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      ?.split(/\s+/)
      .slice(1)
      .map(Number);
    if (cpu) {
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, st = 0] = cpu;
      busy = user + nice + system + irq + softirq;
      steal = st;
    }
  } catch {
    // not Linux
  }
  const server = workerd.reduce((n, pid) => n + procTicks(pid), 0);
  return { at: Date.now(), busy, steal, ours: procTicks('self') + server, server };
}

/**
 * CPU used by everything else on the machine between two samples, in CPUs (1 = one core busy
 * the whole time), and hypervisor steal: both make a run slower for reasons not its own.
 */
export function foreignCpu(a: CpuSample, b: CpuSample): { other: number; steal: number } {
  const seconds = (b.at - a.at) / 1000;
  if (seconds <= 0 || b.busy === 0) return { other: 0, steal: 0 };
  const other = (b.busy - a.busy - (b.ours - a.ours)) / TICKS_PER_SECOND / seconds;
  return { other: Math.max(0, other), steal: (b.steal - a.steal) / TICKS_PER_SECOND / seconds };
}

/** Seconds of CPU the workerd processes used between two samples. */
export function serverCpuSeconds(a: CpuSample, b: CpuSample): number {
  return (b.server - a.server) / TICKS_PER_SECOND;
}
