import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { ApiError, fieldErrors, problemResponse } from './errors';
import { newId } from './lib/ids';

// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by every route's schemas
const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    const errors = fieldErrors(result.error.issues);
    throw new ApiError(
      'validation_failed',
      `${errors.length} field${errors.length === 1 ? '' : 's'} failed validation: ${errors
        .map((e) => `${e.path}: ${e.message}`)
        .join('; ')}`,
      { errors },
    );
  }
};

/** A router for one resource, sharing the validation hook. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

export function toProblem(err: unknown, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId');
  const instance = new URL(c.req.url).pathname;
  if (err instanceof ApiError) {
    return problemResponse(
      err.code,
      err.message,
      { instance, requestId, errors: err.errors, ...err.extensions },
      { 'x-request-id': requestId, ...err.headers },
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    // e.g. a malformed JSON body caught by Hono's validator
    return problemResponse('validation_failed', err.message || 'The request could not be read.', {
      instance,
      requestId,
    });
  }
  console.error(JSON.stringify({ level: 'error', requestId, error: String(err) }));
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
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : newId('req');
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
  });
  app.onError((err, c) => toProblem(err, c));
  app.notFound((c) =>
    problemResponse(
      'not_found',
      `No route for ${c.req.method} ${new URL(c.req.url).pathname}. See /docs for the API reference.`,
      { instance: new URL(c.req.url).pathname, requestId: c.get('requestId') },
    ),
  );
  return app;
}
