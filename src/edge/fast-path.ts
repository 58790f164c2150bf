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
import { ApiError } from '../errors';
import { apiKeyLimitsFor, enforceRateLimitsFor } from '../middleware/rate-limit';
import { catalogRepresentation } from './catalog-body';
import type { Shape } from './channel';
import { EvaluateRequestSchema, evaluateFlags, quickParseEvaluateRequest } from './flag-evaluate';
import { ifNoneMatch } from './http-cache';
import {
  assertFeature,
  authenticateKey,
  authenticateKeySync,
  type RequestTarget,
  requestTarget,
  resolveEdge,
  resolveEdgeSync,
} from './pipeline';
import { cachingHeaders, type Representation } from './representation';
import { PREFIX_SEGMENT_SOURCE } from './reserved-paths';

const CATALOG_RE = new RegExp(`^/(${PREFIX_SEGMENT_SOURCE})/v1/catalog$`);
const FLAGS_RE = new RegExp(`^/(${PREFIX_SEGMENT_SOURCE})/v1/flags/evaluate$`);
const MAX_FLAGS_BODY = 64 * 1024;

/** `head`: a HEAD request, answered like the GET without a body. */
type Route = { kind: 'catalog' | 'flags'; prefix: string | undefined; head: boolean };

const CATALOG: Route = { kind: 'catalog', prefix: undefined, head: false };
const CATALOG_HEAD: Route = { kind: 'catalog', prefix: undefined, head: true };
const FLAGS: Route = { kind: 'flags', prefix: undefined, head: false };

function match(method: string, pathname: string): Route | undefined {
  if (method === 'GET' || method === 'HEAD') {
    const head = method === 'HEAD';
    if (pathname === '/v1/catalog') return head ? CATALOG_HEAD : CATALOG;
    const m = CATALOG_RE.exec(pathname);
    if (m) return { kind: 'catalog', prefix: m[1], head };
  } else if (method === 'POST') {
    if (pathname === '/v1/flags/evaluate') return FLAGS;
    const m = FLAGS_RE.exec(pathname);
    if (m) return { kind: 'flags', prefix: m[1], head: false };
  }
  return undefined;
}

/** Refuses a body that is not declared as JSON, before reading it. */
function assertJsonBody(headers: Headers): void {
  const type = headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new ApiError(
      'unsupported_media_type',
      'Send the body as `content-type: application/json`.',
    );
  }
}

/** The parsed JSON body; a problem for an oversized or invalid one. */
function parseJsonBody(text: string): unknown {
  if (text.length > MAX_FLAGS_BODY) {
    throw new ApiError('payload_too_large', `The body may be at most ${MAX_FLAGS_BODY} bytes.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('validation_failed', 'The body is not valid JSON.');
  }
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
        .catch((err: unknown) => problem(route, err, requestId, target.pathname));
    }
    return respond(req, headers, env, ctx, route, edge, limits, requestId, target.pathname);
  } catch (err) {
    return problem(route, err, requestId, target.pathname);
  }
}

/** The problem response for `err`; for a HEAD request, its status and headers only. */
function problem(route: Route, err: unknown, requestId: string, pathname: string): Response {
  const res = problemFromError(err, requestId, pathname);
  return route.head ? new Response(null, res) : res;
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
    return problem(route, err, requestId, target.pathname);
  }
}

/**
 * What every response of a fast route shares (content type, `RateLimit-Policy`, and for the
 * catalog its caching headers and `X-Response-Shape`), as a Response to construct from:
 * copying a Headers is cheaper than converting an object literal, and only `X-Request-Id` and
 * `RateLimit` are set per request.
 */
interface CatalogTemplates {
  ok: Response;
  /** The 304: the same caching headers, no content type. */
  notModified: Response;
}
/** catalog representation → `RateLimit-Policy` value (one per distinct key limit) → templates. */
const catalogTemplates = new WeakMap<Representation, Map<string, CatalogTemplates>>();
const MAX_POLICIES = 64;
const flagTemplates = new Map<string, Response>();

function template(headers: Record<string, string>, status = 200): Response {
  return new Response(null, { status, headers });
}

function catalogInit(rep: Representation, shape: Shape, policy: string): CatalogTemplates {
  let perPolicy = catalogTemplates.get(rep);
  if (!perPolicy) {
    perPolicy = new Map();
    catalogTemplates.set(rep, perPolicy);
  }
  let init = perPolicy.get(policy);
  if (!init) {
    if (perPolicy.size >= MAX_POLICIES) perPolicy.clear();
    const shared = {
      ...cachingHeaders(rep),
      'ratelimit-policy': policy,
      'x-response-shape': shape,
    };
    init = {
      ok: template({ 'content-type': 'application/json', ...shared }),
      notModified: template(shared, 304),
    };
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
    const rep = catalogRepresentation(edge);
    const init = catalogInit(rep, edge.client.shape, limits['RateLimit-Policy'] ?? '');
    // Only now, after the key check and the rate limit: a caller without a valid key gets its
    // 401 (or 429), never a 304 that would confirm what it asked about.
    const field = headers.get('if-none-match');
    if (field !== null && ifNoneMatch(field, rep.etag)) {
      return withRequestHeaders(new Response(null, init.notModified), requestId, limits);
    }
    const body = route.head ? null : rep.body;
    return withRequestHeaders(new Response(body, init.ok), requestId, limits);
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
    assertJsonBody(headers);
    const input = parseJsonBody(await req.text());
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
