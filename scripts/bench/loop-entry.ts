/**
 * Entry of the loop harness (scripts/bench/loop.ts): the project's worker, plus one extra
 * route that runs the direct dispatch of a fast route N times inside one request, so its CPU
 * cost can be read without the HTTP server, wrk or workerd's stalls in the way. Never deployed.
 */
import { fastPath } from '../../src/edge/fast-path';
import type { Env } from '../../src/env';
import worker from '../../src/index';

export {
  HostDirectoryDurableObject,
  PublisherDurableObject,
  RateLimiterDurableObject,
  TenantConfigDurableObject,
} from '../../src/index';

const LOOP_PATH = '/__bench/loop';

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (!req.url.includes(LOOP_PATH)) return worker.fetch(req, env, ctx);
    const url = new URL(req.url);
    const n = Number(url.searchParams.get('n') ?? 1000);
    const path = url.searchParams.get('path') ?? '/v1/catalog';
    const onlyRequests = url.searchParams.get('only') === 'requests';
    const body = req.method === 'POST' ? await req.text() : undefined;
    const target = `http://${req.headers.get('host')}${path}`;
    const headers = new Headers(req.headers);
    let status = 0;
    const get = new Request(target, { headers });
    for (let i = 0; i < n; i++) {
      // A body can be read once: a POST needs a new Request each time (`only=requests` measures that).
      const inner =
        body === undefined ? get : new Request(target, { method: 'POST', headers, body });
      if (onlyRequests) continue;
      const res = await fastPath(inner, env, ctx);
      status = res?.status ?? 0;
    }
    return Response.json({ n, status });
  },
};
