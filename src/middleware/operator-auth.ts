import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { getDb } from '../db/client';
import type { Db } from '../db/types';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { consoleKeys } from '../security/console-keys';
import { verifyCsrfToken, verifySessionToken } from '../security/sessions';
import { loadSession, type OperatorPrincipal } from '../services/admin/operators';

export const SESSION_COOKIE = 'azotte_session';
export const CSRF_HEADER = 'x-csrf-token';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const unauthenticated = (detail: string) =>
  new ApiError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer realm="azotte-admin"' },
  });

/**
 * Operator authentication for the admin API and the console: a session token in
 * `Authorization: Bearer …` or in the session cookie. Cookie-authenticated unsafe requests must
 * also carry the session's CSRF token in `X-CSRF-Token`. The session must still be live in
 * Postgres (not signed out, operator enabled; see `loadSession`), checked in the query that
 * loads the operator. Opens a database handle for the request (`c.var.db`), closed when the
 * response is done. Every response is `no-store`.
 */
export const operatorAuth = createMiddleware<AppEnv>(async (c, next) => {
  const auth = c.req.header('authorization');
  let token: string | undefined;
  let viaCookie = false;
  if (auth !== undefined) {
    if (!auth.startsWith('Bearer '))
      throw unauthenticated('Use `Authorization: Bearer <session token>`.');
    token = auth.slice(7).trim();
  } else {
    token = getCookie(c, SESSION_COOKIE);
    viaCookie = token !== undefined;
  }
  if (!token)
    throw unauthenticated('Sign in first: POST /admin/v1/sessions with your email and password.');
  const keys = await consoleKeys(c.env);
  const verified = await verifySessionToken(token, keys, { now: Date.now() });
  if (!verified.ok) {
    throw unauthenticated(
      verified.reason === 'expired'
        ? 'The session has expired. Sign in again.'
        : 'The session token is not valid. Sign in again.',
    );
  }
  if (viaCookie && UNSAFE.has(c.req.method)) {
    const csrf = c.req.header(CSRF_HEADER);
    if (!(await verifyCsrfToken(keys, verified.claims.sid, csrf))) {
      throw new ApiError(
        'forbidden',
        'Missing or invalid X-CSRF-Token for a cookie-authenticated request.',
      );
    }
  }
  const { sid, operatorId, iat, exp } = verified.claims;
  const handle = getDb(c.env);
  try {
    const session = await loadSession(handle.db, { sessionId: sid, operatorId, issuedAt: iat });
    if (!session.ok) {
      throw unauthenticated(
        session.reason === 'disabled'
          ? 'This operator account is disabled.'
          : 'This session has been signed out. Sign in again.',
      );
    }
    c.set('operator', {
      ...session.operator,
      sessionId: sid,
      sessionExpiresAt: new Date(exp * 1000),
    });
    c.set('db', handle.db);
    await next();
    // Every admin answer is the operator's own (a CSRF token, a key shown once, grants…):
    // never stored by a browser or any cache on the way.
    c.header('cache-control', 'no-store');
  } finally {
    c.executionCtx.waitUntil(handle.close());
  }
});

export type { Db, OperatorPrincipal };
