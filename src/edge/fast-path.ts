/**
 * Direct dispatch of the two hottest storefront routes, `GET /v1/catalog` and
 * `POST /v1/flags/evaluate` (also under a tenant's path prefix). They run the same pipeline
 * functions as every other storefront route (resolve → killswitches → key → rate limit) and the
 * same renderers, but skip the router, the middleware chain and the response rebuilds a Hono
 * context does on each header: on these routes that overhead is most of the cost (npm run
 * bench). Their OpenAPI description is registered with the app like any route's.
 */
import { problemFromError, requestIdFrom, validationError } from '../app';
import type { EdgeContext, Env } from '../env';
import { bodyRequired, readJsonBody } from '../lib/json-body';
import { apiKeyLimitsFor, enforceRateLimitsFor } from '../middleware/rate-limit';
import { CATALOG_VARY, catalogBody } from './catalog-body';
import type { Shape } from './channel';
import { EvaluateRequestSchema, evaluateFlags, quickParseEvaluateRequest } from './flag-evaluate';
import {
  assertFeature,
  authenticateKey,
  authenticateKeySync,
  type RequestTarget,
  requestTarget,
  resolveEdge,
  resolveEdgeSync,
} from './pipeline';

const CATALOG_RE = /^(?:\/([a-z0-9-]{1,63}))?\/v1\/catalog$/;
const FLAGS_RE = /^(?:\/([a-z0-9-]{1,63}))?\/v1\/flags\/evaluate$/;

type Route = { kind: 'catalog' | 'flags'; prefix: string | undefined };

const CATALOG: Route = { kind: 'catalog', prefix: undefined };
const FLAGS: Route = { kind: 'flags', prefix: undefined };

function match(method: string, pathname: string): Route | undefined {
  if (method === 'GET') {
    if (pathname === '/v1/catalog') return CATALOG;
    const m = CATALOG_RE.exec(pathname);
    if (m) return { kind: 'catalog', prefix: m[1] };
  } else if (method === 'POST') {
    if (pathname === '/v1/flags/evaluate') return FLAGS;
    const m = FLAGS_RE.exec(pathname);
    if (m) return { kind: 'flags', prefix: m[1] };
  }
  return undefined;
}

/**
 * The response for a fast route, or undefined when the request is for the router. A warm
 * isolate (config, key hash and rate-limit units in memory) answers the catalog without a
 * single promise; anything that needs I/O first continues in {@link coldPath}.
 */
export function fastPath(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
): Response | Promise<Response> | undefined {
  const target = requestTarget(req.url);
  const route = match(req.method, target.pathname);
  if (!route) return undefined;
  const headers = req.headers;
  const requestId = requestIdFrom(headers);
  try {
    const edge = resolveEdgeSync(req, headers, env, ctx, route.prefix, target);
    if (!edge) return coldPath(req, env, ctx, route, target, requestId);
    assertFeature(edge, route.kind);
    const key = authenticateKeySync(edge, headers, 'publishable');
    if (!key) return coldPath(req, env, ctx, route, target, requestId, edge);
    const limits = enforceRateLimitsFor(env, ctx, apiKeyLimitsFor(env, edge, key, headers));
    if (limits instanceof Promise) {
      // A throw in `respond` lands in the same handler as a refused limit.
      return limits
        .then((l) => respond(req, headers, env, ctx, route, edge, l, requestId, target.pathname))
        .catch((err: unknown) => problemFromError(err, requestId, target.pathname));
    }
    return respond(req, headers, env, ctx, route, edge, limits, requestId, target.pathname);
  } catch (err) {
    return problemFromError(err, requestId, target.pathname);
  }
}

/** The same steps with their loads awaited (a cold isolate, a key not hashed here yet). */
async function coldPath(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
  route: Route,
  target: RequestTarget,
  requestId: string,
  resolved?: EdgeContext,
): Promise<Response> {
  try {
    let edge = resolved;
    if (!edge) {
      edge = await resolveEdge(req, env, ctx, route.prefix, target);
      assertFeature(edge, route.kind);
    }
    const key = await authenticateKey(edge, req.headers, 'publishable');
    const limits = await enforceRateLimitsFor(
      env,
      ctx,
      apiKeyLimitsFor(env, edge, key, req.headers),
    );
    return await respond(
      req,
      req.headers,
      env,
      ctx,
      route,
      edge,
      limits,
      requestId,
      target.pathname,
    );
  } catch (err) {
    return problemFromError(err, requestId, target.pathname);
  }
}

/**
 * What every response of a fast route shares (content type, `RateLimit-Policy`, and for the
 * catalog `Vary` and `X-Response-Shape`), as a Response to construct from: copying a Headers
 * is cheaper than converting an object literal, and only `X-Request-Id` and `RateLimit` are
 * set per request.
 */
/** snapshot → shape → `RateLimit-Policy` value (one per distinct key limit) → template. */
const catalogTemplates = new WeakMap<EdgeContext['snapshot'], Map<Shape, Map<string, Response>>>();
const MAX_POLICIES = 64;
const flagTemplates = new Map<string, Response>();

function template(headers: Record<string, string>): Response {
  return new Response(null, { status: 200, headers });
}

function catalogInit(edge: EdgeContext, policy: string): Response {
  let perShape = catalogTemplates.get(edge.snapshot);
  if (!perShape) {
    perShape = new Map();
    catalogTemplates.set(edge.snapshot, perShape);
  }
  const shape = edge.client.shape;
  let perPolicy = perShape.get(shape);
  if (!perPolicy) {
    perPolicy = new Map();
    perShape.set(shape, perPolicy);
  }
  let init = perPolicy.get(policy);
  if (!init) {
    if (perPolicy.size >= MAX_POLICIES) perPolicy.clear();
    init = template({
      'content-type': 'application/json',
      'ratelimit-policy': policy,
      vary: CATALOG_VARY,
      'x-response-shape': shape,
    });
    perPolicy.set(policy, init);
  }
  return init;
}

function flagsInit(policy: string): Response {
  let init = flagTemplates.get(policy);
  if (!init) {
    if (flagTemplates.size >= MAX_POLICIES) flagTemplates.clear();
    init = template({ 'content-type': 'application/json', 'ratelimit-policy': policy });
    flagTemplates.set(policy, init);
  }
  return init;
}

function withRequestHeaders(
  res: Response,
  requestId: string,
  limits: Record<string, string>,
): Response {
  // Neither is in the template, so append (no search for an existing value) is enough.
  const headers = res.headers;
  headers.append('x-request-id', requestId);
  headers.append('ratelimit', limits.RateLimit ?? '');
  return res;
}

function respond(
  req: Request,
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  route: Route,
  edge: EdgeContext,
  limits: Record<string, string>,
  requestId: string,
  pathname: string,
): Response | Promise<Response> {
  if (route.kind === 'catalog') {
    const init = catalogInit(edge, limits['RateLimit-Policy'] ?? '');
    return withRequestHeaders(new Response(catalogBody(edge), init), requestId, limits);
  }
  return evaluateResponse(req, headers, env, ctx, edge, limits, requestId, pathname);
}

async function evaluateResponse(
  req: Request,
  headers: Headers,
  env: Env,
  ctx: ExecutionContext,
  edge: EdgeContext,
  limits: Record<string, string>,
  requestId: string,
  pathname: string,
): Promise<Response> {
  try {
    const input = (await readJsonBody(req, headers))?.value;
    if (input === undefined) throw bodyRequired();
    let body = quickParseEvaluateRequest(input);
    if (!body) {
      const parsed = EvaluateRequestSchema.safeParse(input);
      if (!parsed.success) throw validationError(parsed.error.issues);
      body = parsed.data;
    }
    const init = flagsInit(limits['RateLimit-Policy'] ?? '');
    const res = new Response(evaluateFlags(edge, body, env, ctx), init);
    return withRequestHeaders(res, requestId, limits);
  } catch (err) {
    return problemFromError(err, requestId, pathname);
  }
}
