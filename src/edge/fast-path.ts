/**
 * Direct dispatch of the two hottest storefront routes, `GET /v1/catalog` and
 * `POST /v1/flags/evaluate` (also under a tenant's path prefix). They run the same pipeline
 * functions as every other storefront route (resolve → killswitches → key → rate limit) and the
 * same renderers, but skip the router, the middleware chain and the response rebuilds a Hono
 * context does on each header: on these routes that overhead is most of the cost (npm run
 * bench). Their OpenAPI description is registered with the app like any route's.
 */
import { problemFromError, requestIdFrom, validationError } from '../app';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { apiKeyLimitsFor, enforceRateLimitsFor } from '../middleware/rate-limit';
import { CATALOG_VARY, catalogBody } from './catalog-body';
import { EvaluateRequestSchema, evaluateFlags, quickParseEvaluateRequest } from './flag-evaluate';
import { assertFeature, authenticateKey, requestTarget, resolveEdge } from './pipeline';

const CATALOG_RE = /^(?:\/([a-z0-9-]{1,63}))?\/v1\/catalog$/;
const FLAGS_RE = /^(?:\/([a-z0-9-]{1,63}))?\/v1\/flags\/evaluate$/;
const MAX_FLAGS_BODY = 64 * 1024;

type Route = { kind: 'catalog' | 'flags'; prefix: string | undefined };

function match(method: string, pathname: string): Route | undefined {
  if (method === 'GET') {
    const m = CATALOG_RE.exec(pathname);
    if (m) return { kind: 'catalog', prefix: m[1] };
  } else if (method === 'POST') {
    const m = FLAGS_RE.exec(pathname);
    if (m) return { kind: 'flags', prefix: m[1] };
  }
  return undefined;
}

async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new ApiError(
      'unsupported_media_type',
      'Send the body as `content-type: application/json`.',
    );
  }
  const text = await req.text();
  if (text.length > MAX_FLAGS_BODY) {
    throw new ApiError('payload_too_large', `The body may be at most ${MAX_FLAGS_BODY} bytes.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('validation_failed', 'The body is not valid JSON.');
  }
}

/** The response for a fast route, or undefined when the request is for the router. */
export async function fastPath(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
): Promise<Response | undefined> {
  const target = requestTarget(req.url);
  const { pathname } = target;
  const route = match(req.method, pathname);
  if (!route) return undefined;
  const requestId = requestIdFrom(req.headers);
  try {
    const edge = await resolveEdge(req, env, ctx, route.prefix, target);
    assertFeature(edge, route.kind);
    const key = await authenticateKey(edge, req.headers, 'publishable');
    const limits = await enforceRateLimitsFor(
      env,
      ctx,
      apiKeyLimitsFor(env, edge, key, req.headers),
    );
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-request-id': requestId,
      ratelimit: limits.RateLimit ?? '',
      'ratelimit-policy': limits['RateLimit-Policy'] ?? '',
    };
    if (route.kind === 'catalog') {
      headers.vary = CATALOG_VARY;
      headers['x-response-shape'] = edge.client.shape;
      return new Response(catalogBody(edge), { status: 200, headers });
    }
    const input = await readJson(req);
    let body = quickParseEvaluateRequest(input);
    if (!body) {
      const parsed = EvaluateRequestSchema.safeParse(input);
      if (!parsed.success) throw validationError(parsed.error.issues);
      body = parsed.data;
    }
    return new Response(JSON.stringify(evaluateFlags(edge, body, env, ctx)), {
      status: 200,
      headers,
    });
  } catch (err) {
    return problemFromError(err, requestId, pathname);
  }
}
