/**
 * Direct dispatch of the two hottest storefront routes, `GET /v1/catalog` and
 * `POST /v1/flags/evaluate` (also under a tenant's path prefix). They run the same pipeline as
 * every other storefront route (src/edge/pipeline.ts) and the same renderers, but skip the
 * router, the middleware chain and the response rebuilds a Hono context does on each header: on
 * these routes that overhead is most of the cost (npm run bench). Their OpenAPI description is
 * registered with the app like any route's.
 */
import type { z } from 'zod';
import { problemFromError, requestIdFrom, validationError } from '../app';
import { entitlementsObjectName } from '../contracts/customer-entitlements';
import {
  ConsumeRequestSchema,
  consumeAnswer,
  consumeSubject,
  ENTITLEMENT_KEY_RE,
  quickParseConsume,
  ServerCheckRequestSchema,
} from '../entitlements/check-request';
import { checkToken } from '../entitlements/token-check';
import type { Env } from '../env';
import { bodyRequired, readJsonBody } from '../lib/json-body';
import { catalogRepresentation } from './catalog-body';
import type { Shape } from './channel';
import { forgetHeldView, serverCheck } from './entitlement-views';
import { EvaluateRequestSchema, evaluateFlags, quickParseEvaluateRequest } from './flag-evaluate';
import { type PipelineState, type RoutePolicy, runPipeline } from './pipeline';
import { consumeAtEdge } from './quota-leases';
import { cachingHeaders, notModified, type Representation } from './representation';
import { PREFIX_SEGMENT_SOURCE } from './reserved-paths';
import { requestTarget } from './resolve-edge';

const CATALOG_RE = new RegExp(`^/(${PREFIX_SEGMENT_SOURCE})/v1/catalog$`);
const FLAGS_RE = new RegExp(`^/(${PREFIX_SEGMENT_SOURCE})/v1/flags/evaluate$`);
const CHECK_RE = new RegExp(`^/(${PREFIX_SEGMENT_SOURCE})/v1/entitlements/check$`);
const CHECK_PATH = '/v1/entitlements/check';
const CONSUME_RE = new RegExp(
  `^(?:/(${PREFIX_SEGMENT_SOURCE}))?/v1/entitlements/([a-z][a-z0-9_]{0,63})/consume$`,
);

/** `head`: a HEAD request, answered like the GET without a body. */
type Route = {
  kind: 'catalog' | 'flags' | 'entitlementCheck' | 'serverCheck' | 'consume';
  prefix: string | undefined;
  head: boolean;
  /** The entitlement key of a consume. */
  key?: string;
};

const CATALOG: Route = { kind: 'catalog', prefix: undefined, head: false };
const CATALOG_HEAD: Route = { kind: 'catalog', prefix: undefined, head: true };
const FLAGS: Route = { kind: 'flags', prefix: undefined, head: false };
const CHECK: Route = { kind: 'entitlementCheck', prefix: undefined, head: false };
const CHECK_HEAD: Route = { kind: 'entitlementCheck', prefix: undefined, head: true };
const SERVER_CHECK: Route = { kind: 'serverCheck', prefix: undefined, head: false };

/** What the routes ask of the pipeline: a publishable key (or a token), and their feature switch. */
const POLICIES: Record<Route['kind'], RoutePolicy> = {
  catalog: { access: 'publishable', feature: 'catalog' },
  flags: { access: 'publishable', feature: 'flags' },
  entitlementCheck: { access: 'entitlements_token', feature: 'entitlements' },
  serverCheck: { access: 'secret', feature: 'entitlements' },
  consume: { access: 'secret_or_customer', feature: 'entitlements', metered: true },
};

function match(method: string, pathname: string): Route | undefined {
  if (method === 'GET' || method === 'HEAD') {
    const head = method === 'HEAD';
    if (pathname === '/v1/catalog') return head ? CATALOG_HEAD : CATALOG;
    if (pathname === '/v1/entitlements/check') return head ? CHECK_HEAD : CHECK;
    const m = CATALOG_RE.exec(pathname);
    if (m) return { kind: 'catalog', prefix: m[1], head };
    const c = CHECK_RE.exec(pathname);
    if (c) return { kind: 'entitlementCheck', prefix: c[1], head };
  } else if (method === 'POST') {
    if (pathname === '/v1/flags/evaluate') return FLAGS;
    if (pathname === CHECK_PATH) return SERVER_CHECK;
    const m = FLAGS_RE.exec(pathname);
    if (m) return { kind: 'flags', prefix: m[1], head: false };
    const c = CHECK_RE.exec(pathname);
    if (c) return { kind: 'serverCheck', prefix: c[1], head: false };
    const k = pathname.endsWith('/consume') ? CONSUME_RE.exec(pathname) : null;
    if (k) return { kind: 'consume', prefix: k[1], head: false, key: k[2] };
  }
  return undefined;
}

/**
 * The response for a fast route, or undefined when the request is for the router. A warm
 * isolate (config, key hash and rate-limit units in memory) answers the catalog without a
 * single promise.
 */
export function fastPath(
  req: Request,
  env: Env,
  ctx: ExecutionContext,
): Response | Promise<Response> | undefined {
  const target = requestTarget(req.url);
  const route = match(req.method, target.pathname);
  if (!route) return undefined;
  // A consume with an Idempotency-Key is the router's (the object keeps the key's answer).
  if (route.kind === 'consume' && req.headers.has('idempotency-key')) return undefined;
  const requestId = requestIdFrom(req.headers);
  const fail = (err: unknown) => problem(route, err, requestId, target.pathname);
  try {
    const s = runPipeline(req, env, ctx, target, route.prefix, POLICIES[route.kind]);
    if (s instanceof Promise) {
      // A throw in `respond` lands in the same handler as a refused step.
      return s.then((done) => respond(route, done, requestId)).catch(fail);
    }
    return respond(route, s, requestId);
  } catch (err) {
    return fail(err);
  }
}

/** The problem response for `err`; for a HEAD request, its status and headers only. */
function problem(route: Route, err: unknown, requestId: string, pathname: string): Response {
  const res = problemFromError(err, requestId, pathname);
  return route.head ? new Response(null, res) : res;
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
const jsonTemplates = new Map<string, Response>();

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

/**
 * The template of a JSON answer of the fast routes, per `Cache-Control` (none for the flags) and
 * `RateLimit-Policy` value.
 */
function jsonInit(cacheControl: string | null, policy: string): Response {
  const id = `${cacheControl ?? ''}\n${policy}`;
  let init = jsonTemplates.get(id);
  if (!init) {
    if (jsonTemplates.size >= MAX_POLICIES) jsonTemplates.clear();
    init = template({
      'content-type': 'application/json',
      ...(cacheControl ? { 'cache-control': cacheControl } : {}),
      'ratelimit-policy': policy,
    });
    jsonTemplates.set(id, init);
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

function respond(route: Route, s: PipelineState, requestId: string): Response | Promise<Response> {
  const limits = s.rateLimit ?? NO_LIMITS;
  const { edge } = s;
  if (route.kind === 'catalog') {
    const rep = catalogRepresentation(edge);
    const init = catalogInit(rep, edge.client.shape, limits['RateLimit-Policy'] ?? '');
    // Only now, after the key check and the rate limit: a caller without a valid key gets its
    // 401 (or 429), never a 304 that would confirm what it asked about.
    if (notModified(rep, s.headers)) {
      return withRequestHeaders(new Response(null, init.notModified), requestId, limits);
    }
    const body = route.head ? null : rep.body;
    return withRequestHeaders(new Response(body, init.ok), requestId, limits);
  }
  if (route.kind === 'entitlementCheck') return tokenCheckResponse(route, s, limits, requestId);
  if (route.kind === 'serverCheck') return serverCheckResponse(s, limits, requestId);
  if (route.kind === 'consume') return consumeResponse(route.key ?? '', s, limits, requestId);
  return evaluateResponse(s, limits, requestId);
}

/**
 * A fast route that takes a JSON body: reads it (a missing one is a 400), parses it — the usual
 * shape by `quick` without zod, anything else by `schema`, which words the errors — and answers
 * `run`'s JSON with the route's template; any throw is its problem+json.
 */
async function jsonBodyRoute<T>(
  s: PipelineState,
  limits: Record<string, string>,
  requestId: string,
  cacheControl: string | null,
  parse: { quick?: (input: unknown) => T | null | undefined; schema: z.ZodType<T> },
  run: (body: T) => string | Promise<string>,
): Promise<Response> {
  try {
    const input = (await readJsonBody(s.req, s.headers))?.value;
    if (input === undefined) throw bodyRequired();
    let body: T | null | undefined = parse.quick?.(input);
    if (body == null) {
      const parsed = parse.schema.safeParse(input);
      if (!parsed.success) throw validationError(parsed.error.issues);
      body = parsed.data;
    }
    const init = jsonInit(cacheControl, limits['RateLimit-Policy'] ?? '');
    const out = run(body);
    const text = typeof out === 'string' ? out : await out;
    return withRequestHeaders(new Response(text, init), requestId, limits);
  } catch (err) {
    return problemFromError(err, requestId, s.target.pathname);
  }
}

/** A consume without an Idempotency-Key, from this isolate's lease when it holds one. */
function consumeResponse(
  key: string,
  s: PipelineState,
  limits: Record<string, string>,
  requestId: string,
): Promise<Response> {
  const parse = { quick: quickParseConsume, schema: ConsumeRequestSchema };
  return jsonBodyRoute(s, limits, requestId, 'no-store', parse, async (req) => {
    const name = entitlementsObjectName(consumeSubject(s, req.customerId));
    forgetHeldView(name);
    const out = await consumeAtEdge(s.env, s.ctx, name, key, req.quantity);
    return JSON.stringify(consumeAnswer(key, req.quantity, out));
  });
}

/** The server path: `{ customerId, key }` with a secret key, from the edge's held views. */
function serverCheckResponse(
  s: PipelineState,
  limits: Record<string, string>,
  requestId: string,
): Promise<Response> {
  const parse = { schema: ServerCheckRequestSchema };
  return jsonBodyRoute(s, limits, requestId, 'private, no-store', parse, async (req) => {
    const apiKey = s.apiKey;
    if (!apiKey) throw new Error('the key step did not run');
    const who = {
      tenantId: s.edge.resolution.tenantId,
      storefrontId: s.edge.resolution.storefrontId,
      mode: apiKey.mode,
      customerId: req.customerId,
    };
    return JSON.stringify(await serverCheck(s.env, s.ctx, who, req.key));
  });
}

/** The token path of an entitlement check: from the token's claims, no lookup. */
function tokenCheckResponse(
  route: Route,
  s: PipelineState,
  limits: Record<string, string>,
  requestId: string,
): Response {
  const url = s.req.url;
  const q = url.indexOf('?');
  const query = q === -1 ? '' : url.slice(q + 1);
  // The usual `?key=…` alone without a parser; anything else through URLSearchParams.
  const key =
    query.startsWith('key=') && !query.includes('&') && !query.includes('%')
      ? query.slice(4)
      : new URLSearchParams(query).get('key');
  if (key === null || !ENTITLEMENT_KEY_RE.test(key)) {
    throw validationError([
      { path: ['query', 'key'], message: 'an entitlement key (a-z, 0-9, _; at most 64)' },
    ]);
  }
  const principal = s.entitlements;
  if (!principal) throw new Error('the entitlements token step did not run');
  // The answer for a key depends on the time only through the entitlement's own end: made once
  // per token and key, until then.
  const now = Date.now();
  if (!principal.answers) principal.answers = new Map();
  const answers = principal.answers;
  let held = answers.get(key);
  if (!held || now >= held.until) {
    const answer = checkToken(principal.claims, key, Math.floor(now / 1000));
    const end = principal.claims.entitlements.find((e) => e.key === key)?.validUntil ?? null;
    held = {
      body: JSON.stringify(answer),
      until: end === null || now >= end * 1000 ? Number.POSITIVE_INFINITY : end * 1000,
    };
    if (answers.size < 256) answers.set(key, held);
  }
  const init = jsonInit('private, no-store', limits['RateLimit-Policy'] ?? '');
  const body = route.head ? null : held.body;
  return withRequestHeaders(new Response(body, init), requestId, limits);
}

const NO_LIMITS: Record<string, string> = {};

function evaluateResponse(
  s: PipelineState,
  limits: Record<string, string>,
  requestId: string,
): Promise<Response> {
  const parse = { quick: quickParseEvaluateRequest, schema: EvaluateRequestSchema };
  return jsonBodyRoute(s, limits, requestId, null, parse, (body) =>
    evaluateFlags(s.edge, body, s.env, s.ctx),
  );
}
