import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { loggableError } from './db/errors';
import type { AppEnv } from './env';
import { ApiError, asApiError, fieldErrors, problemResponse } from './errors';
import { newId } from './lib/ids';
import { bodyRequired } from './lib/json-body';
import { jsonBody } from './middleware/json-body';

/** The 400 for input that failed a zod schema, with path-qualified field errors. */
export function validationError(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): ApiError {
  const errors = fieldErrors(issues);
  return new ApiError(
    'validation_failed',
    `${errors.length} field${errors.length === 1 ? '' : 's'} failed validation: ${errors
      .map((e) => `${e.path}: ${e.message}`)
      .join('; ')}`,
    { errors },
  );
}

// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by every route's schemas
const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (result.success) return;
  // Without a Content-Type there was no body (jsonBody refuses a body without one).
  if (result.target === 'json' && !c.req.header('content-type')) throw bodyRequired();
  throw validationError(result.error.issues);
};

/** A router for one resource, sharing the validation hook. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Request ids: a random per-isolate prefix (80 bits) and a counter, so minting one on every
 * request costs no randomness; unique across isolates with overwhelming probability.
 */
let isolatePrefix: string | undefined; // made on the first request: no randomness at start-up
let requestCounter = 0;

/** The caller's `X-Request-Id` when it is well-formed, else a new one. */
export function requestIdFrom(headers: Headers): string {
  const incoming = headers.get('x-request-id');
  if (incoming && REQUEST_ID_RE.test(incoming)) return incoming;
  isolatePrefix ??= newId('req').slice(-16);
  requestCounter += 1;
  return `req_${isolatePrefix}${requestCounter.toString(36)}`;
}

/**
 * Any error as an RFC 9457 response: an `ApiError` or a domain error as its problem, anything
 * else as a 500 that never carries the internal message.
 */
export function problemFromError(err: unknown, requestId: string, instance: string): Response {
  const api = asApiError(err);
  if (api) {
    return problemResponse(
      api.code,
      api.message,
      { instance, requestId, errors: api.errors, ...api.extensions },
      { 'x-request-id': requestId, ...api.headers },
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    // e.g. the router's media-type gate (415) or a malformed JSON body caught by Hono's validator
    return problemResponse(
      err.status === 415 ? 'unsupported_media_type' : 'validation_failed',
      err.message || 'The request could not be read.',
      { instance, requestId },
      { 'x-request-id': requestId },
    );
  }
  console.error(JSON.stringify({ level: 'error', requestId, ...loggableError(err) }));
  return problemResponse(
    'internal',
    `Something went wrong on our side. Quote request id ${requestId} when reporting it.`,
    { instance, requestId },
    { 'x-request-id': requestId },
  );
}

/** The app factory: request id, problem+json errors and the validation hook in one place. */
export function createApp() {
  const app = newRouter();
  app.use('*', async (c, next) => {
    c.set('requestId', requestIdFrom(c.req.raw.headers));
    await next();
    c.header('x-request-id', c.get('requestId'));
  });
  app.use('*', jsonBody);
  app.onError((err, c) => problemFromError(err, c.get('requestId'), new URL(c.req.url).pathname));
  app.notFound((c) =>
    problemResponse(
      'not_found',
      `No route for ${c.req.method} ${new URL(c.req.url).pathname}. See /docs for the API reference.`,
      { instance: new URL(c.req.url).pathname, requestId: c.get('requestId') },
    ),
  );
  return app;
}
