/** Drives `wrk` (one load thread, few connections: the server has one core of two). */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface LoadRequest {
  url: URL;
  path: string;
  method: 'GET' | 'POST';
  /** Request headers (`host` included, which wrk otherwise takes from the URL). */
  headers?: Record<string, string>;
  body?: string;
  /**
   * A placeholder (e.g. `{{unique}}`) that every request replaces, in header values and the
   * body, by a token no other request of any run has (`<run>-<thread>-<n>`, letters, digits and
   * `-`): an Idempotency-Key or a customer email per request.
   */
  vary?: string;
  /**
   * Count the responses by status (a `response()` in the Lua script): the run's result then
   * has `statuses`. Costs the load generator a little, not the server.
   */
  countStatuses?: boolean;
}

/** A fresh token of the shape the load's requests get (`<run>-<thread>-<n>`). */
export function uniqueToken(): string {
  return `${randomBytes(6).toString('hex')}-0-1`;
}

/** `req` with its placeholder (if any) replaced by `token`: one concrete request. */
export function concreteRequest(req: LoadRequest, token = uniqueToken()): LoadRequest {
  const { vary, countStatuses: _, ...rest } = req;
  if (!vary) return rest;
  const fill = (s: string) => s.split(vary).join(token);
  return {
    ...rest,
    headers: Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k, fill(v)])),
    body: req.body === undefined ? undefined : fill(req.body),
  };
}

export interface LoadOptions {
  seconds: number;
  connections: number;
  threads: number;
  /** Command prefix, e.g. `taskset -c 0`. */
  prefix: string[];
  /** Where the Lua script goes. */
  tmpdir: string;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
  /** connect + read + write errors and timeouts */
  socketErrors: number;
  /** Responses by status, when the request asked for `countStatuses`. */
  statuses?: Record<string, number>;
}

/** The running wrk, so that Ctrl-C can stop it. */
export let currentLoad: ChildProcess | undefined;

/** `wrk`'s version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) return undefined;
  const first = `${r.stdout}${r.stderr}`.split('\n')[0] ?? '';
  return first.match(/^wrk\s+\S+/)?.[0] ?? 'wrk';
}

const MARK = 'BENCH_RESULT ';
const STATUS_MARK = 'BENCH_STATUS ';

function luaLong(s: string): string {
  let eq = '=';
  while (s.includes(`]${eq}]`)) eq += '=';
  return `[${eq}[${s}]${eq}]`;
}

/** A Lua script that sets the request and prints the summary as one JSON line. */
function luaScript(req: LoadRequest): string {
  const lines = [`wrk.method = "${req.method}"`];
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    // wrk's own Host entry is keyed "Host"; a "host" key would send a second Host header.
    const key = name.toLowerCase() === 'host' ? 'Host' : name;
    lines.push(`wrk.headers[ ${luaLong(key)} ] = ${luaLong(value)}`);
  }
  if (req.body !== undefined) {
    lines.push(`wrk.body = ${luaLong(req.body)}`);
    lines.push('wrk.headers["Content-Type"] = "application/json"');
  }
  if (req.vary) lines.push(...luaVarying(req));
  if (req.countStatuses) lines.push(...luaCounting());
  lines.push(
    'done = function(summary, latency, requests)',
    ...(req.countStatuses ? luaCountingDone() : []),
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"status":%d,"socket":%d,` +
      `"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}\\n',`,
    '    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A `request()` that fills the placeholder per request: the templates split at the
 * placeholder, joined by the token (`table.concat`), so no Lua pattern escaping is involved.
 * Each thread numbers its own requests; `setup` gives every thread its index.
 */
function luaVarying(req: LoadRequest): string[] {
  const vary = req.vary as string;
  const parts = (s: string) => `{ ${s.split(vary).map(luaLong).join(', ')} }`;
  const varying = Object.entries(req.headers ?? {}).filter(([, v]) => v.includes(vary));
  const run = randomBytes(6).toString('hex');
  const lines = [
    'local threads = 0',
    'setup = function(thread)',
    '  threads = threads + 1',
    '  thread:set("tid", threads)',
    'end',
    'local n = 0',
    'local varying = {',
    ...varying.map(
      ([k, v]) => `  [ ${luaLong(k.toLowerCase() === 'host' ? 'Host' : k)} ] = ${parts(v)},`,
    ),
    '}',
    `local body = ${req.body?.includes(vary) ? parts(req.body) : 'nil'}`,
    'request = function()',
    '  n = n + 1',
    `  local token = "${run}-" .. tostring(tid or 0) .. "-" .. tostring(n)`,
    '  local h = {}',
    '  for k, v in pairs(wrk.headers) do h[k] = v end',
    '  for k, p in pairs(varying) do h[k] = table.concat(p, token) end',
    '  return wrk.format(nil, nil, h, body and table.concat(body, token) or nil)',
    'end',
  ];
  return lines;
}

/**
 * Counts responses by status in each thread (`bench_statuses`, a global so that `done` can read
 * it with `thread:get`), keeping the threads from `setup` (after any `setup` defined before).
 */
function luaCounting(): string[] {
  return [
    'bench_statuses = {}',
    'local counted_threads = {}',
    'local setup_before = setup',
    'setup = function(thread)',
    '  table.insert(counted_threads, thread)',
    '  if setup_before then setup_before(thread) end',
    'end',
    'response = function(status, headers, body)',
    '  bench_statuses[status] = (bench_statuses[status] or 0) + 1',
    'end',
    'function bench_status_line()',
    '  local total = {}',
    '  for _, t in ipairs(counted_threads) do',
    '    for status, n in pairs(t:get("bench_statuses") or {}) do',
    '      total[status] = (total[status] or 0) + n',
    '    end',
    '  end',
    '  local parts = {}',
    '  for status, n in pairs(total) do',
    '    table.insert(parts, string.format(\'"%d":%d\', status, n))',
    '  end',
    `  return "${STATUS_MARK}{" .. table.concat(parts, ",") .. "}\\n"`,
    'end',
  ];
}

function luaCountingDone(): string[] {
  return ['  io.write(bench_status_line())'];
}

let scriptSeq = 0;

/** One wrk run against `req` for `opts.seconds`. */
export async function runLoad(req: LoadRequest, opts: LoadOptions): Promise<LoadResult> {
  const script = path.join(opts.tmpdir, `load-${++scriptSeq}.lua`);
  await writeFile(script, luaScript(req));
  const target = new URL(req.path, req.url).toString();
  const args = [
    ...opts.prefix,
    'wrk',
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    script,
    target,
  ];
  const [cmd, ...rest] = args as [string, ...string[]];
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  currentLoad = child;
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  // wrk stops itself after -d; this only guards against a hang.
  const guard = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(guard);
  currentLoad = undefined;
  const line = out.split('\n').find((l) => l.startsWith(MARK));
  // wrk reports Lua errors on stderr and carries on; a run with a broken script is no run.
  if (code !== 0 || !line || out.includes(`${script}:`)) {
    throw new Error(`wrk failed (exit ${code}) on ${target}:\n${out.trim()}`);
  }
  const r = JSON.parse(line.slice(MARK.length)) as Record<string, number>;
  const statusLine = out.split('\n').find((l) => l.startsWith(STATUS_MARK));
  if (req.countStatuses && !statusLine) {
    throw new Error(`wrk did not count statuses on ${target}:\n${out.trim()}`);
  }
  const us = (k: string) => Math.round((r[k] ?? 0) / 10) / 100;
  const requests = r.requests ?? 0;
  return {
    requests,
    rps: requests / ((r.duration_us ?? 1) / 1e6),
    p50_ms: us('p50'),
    p90_ms: us('p90'),
    p99_ms: us('p99'),
    max_ms: us('max'),
    non2xx: r.status ?? 0,
    socketErrors: r.socket ?? 0,
    ...(statusLine
      ? { statuses: JSON.parse(statusLine.slice(STATUS_MARK.length)) as Record<string, number> }
      : {}),
  };
}
