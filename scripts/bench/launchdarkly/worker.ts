/**
 * LaunchDarkly's Cloudflare SDK evaluating the bench flag, for comparison with
 * `POST /v1/flags/evaluate`: same request body, same answer shape, flag data from a local KV
 * (`LD-Env-<sdkKey>`), offline (`sendEvents: false`). A plain fetch handler, so the SDK is the
 * only cost on top of the baseline.
 */
import { init, type LDClient } from '@launchdarkly/cloudflare-server-sdk';

interface Env {
  LD_KV: KVNamespace;
  LD_SDK_KEY: string;
}

interface EvaluateBody {
  context?: { targetingKey?: string; [attr: string]: unknown };
  flags?: string[];
}

const quiet = {
  error: (...args: unknown[]) => console.error('[ld]', ...args),
  warn: () => {},
  info: () => {},
  debug: () => {},
};

let client: Promise<LDClient> | undefined;

function ldClient(env: Env): Promise<LDClient> {
  if (client) return client;
  const c = init(env.LD_SDK_KEY, env.LD_KV, { sendEvents: false, logger: quiet });
  const ready = c.waitForInitialization().then(() => c);
  client = ready;
  return ready;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/v1/flags/evaluate') {
      return Response.json({ error: 'not_found' }, { status: 404 });
    }
    const body = (await request.json()) as EvaluateBody;
    const { targetingKey = 'anonymous', ...attributes } = body.context ?? {};
    const context = { kind: 'user', key: targetingKey, ...attributes };
    const ld = await ldClient(env);
    const flags: Record<string, unknown> = {};
    for (const key of body.flags ?? []) flags[key] = await ld.variation(key, context, false);
    return Response.json({ flags });
  },
} satisfies ExportedHandler<Env>;
