import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { newRouter } from '../../app';
import { getDb } from '../../db/client';
import { operatorRoleEnum } from '../../db/schema/enums';
import { clientIpSubject } from '../../edge/limits';
import { durableObjectBackend } from '../../edge/rate-limit';
import { ApiError } from '../../errors';
import { SESSION_COOKIE } from '../../middleware/operator-auth';
import { consoleKeys } from '../../security/console-keys';
import {
  createCsrfToken,
  newSessionId,
  SESSION_TTL_SECONDS,
  signSessionToken,
} from '../../security/sessions';
import {
  authenticateOperator,
  revokeAllSessions,
  revokeSession,
} from '../../services/admin/operators';
import {
  beginSignInAttempt,
  SIGN_IN_FAILURES_PER_ACCOUNT,
  SIGN_IN_FAILURES_PER_ADDRESS,
} from '../../services/admin/sign-in-throttle';
import { settings } from '../../settings';
import { ProblemSchema, safeText } from '../schemas';
import { adminProblems, adminRoute } from './support';

/** A lease not handed back stays counted as a failure until it expires: safe, just stricter. */
function logThrottleError(err: unknown): void {
  console.error(
    JSON.stringify({ level: 'error', component: 'sign-in-throttle', error: String(err) }),
  );
}

const GrantSchema = z.object({
  tenantId: z.string(),
  role: z.enum(operatorRoleEnum.enumValues),
  storefrontIds: z.array(z.string()),
  channels: z.array(z.string()),
});

const SessionSchema = z
  .object({
    token: z.string().openapi({ description: 'Send as `Authorization: Bearer <token>`' }),
    csrfToken: z
      .string()
      .openapi({ description: 'Send as `X-CSRF-Token` on cookie-authenticated writes' }),
    expiresAt: z.string(),
    operator: z.object({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      grants: z.array(GrantSchema),
    }),
  })
  .openapi('Session');

const MeSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    grants: z.array(GrantSchema),
    csrfToken: z.string(),
  })
  .openapi('Operator');

export const sessionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/sessions',
      tags: ['Admin'],
      summary: 'Sign in as an operator',
      description:
        'Returns a short-lived session token (30 minutes) and sets it as an HttpOnly cookie for ' +
        'the console, with a CSRF token for cookie-authenticated writes. Failed attempts are ' +
        `limited to ${SIGN_IN_FAILURES_PER_ACCOUNT} per account and ` +
        `${SIGN_IN_FAILURES_PER_ADDRESS} per client address in 15 minutes; beyond that every ` +
        'attempt is a 429 with `Retry-After`, whatever the password.',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                email: z.email().max(254),
                password: safeText({ max: 256, controls: 'any' }).min(1),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: 'Signed in',
          content: { 'application/json': { schema: SessionSchema } },
        },
        400: adminProblems[400],
        401: adminProblems[401],
        429: {
          description: 'Too many failed attempts for this account or from this address',
          content: { 'application/problem+json': { schema: ProblemSchema } },
        },
      },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const attempt = await beginSignInAttempt(durableObjectBackend(c.env.RATE_LIMITER), {
        email,
        address: clientIpSubject(c.req.raw.headers),
      });
      if (!attempt.ok) {
        // Before any password check: during a lockout the right password is refused too, and
        // the answer is the same whether the account exists or not.
        throw new ApiError(
          'rate_limited',
          'Too many failed sign-in attempts for this account or from this address. ' +
            `Retry after ${attempt.retryAfterSeconds} s.`,
          { headers: { 'retry-after': String(attempt.retryAfterSeconds) } },
        );
      }
      const { db, close } = getDb(c.env);
      let operator: Awaited<ReturnType<typeof authenticateOperator>>;
      try {
        operator = await authenticateOperator(db, email, password);
      } catch (err) {
        await attempt.finish(false).catch(logThrottleError); // no answer given: not counted
        throw err;
      } finally {
        c.executionCtx.waitUntil(close());
      }
      // Settled before answering, so the next attempt sees this one's outcome.
      await attempt.finish(operator === null).catch(logThrottleError);
      if (!operator) throw new ApiError('unauthenticated', 'Wrong email or password.');
      const keys = await consoleKeys(c.env);
      const now = Date.now();
      const sessionId = newSessionId();
      const token = await signSessionToken(keys, { sessionId, operatorId: operator.id, now });
      const csrfToken = await createCsrfToken(keys, sessionId);
      setCookie(c, SESSION_COOKIE, token, {
        httpOnly: true,
        secure: settings(c.env).environment === 'production',
        sameSite: 'Strict',
        path: '/',
        maxAge: SESSION_TTL_SECONDS,
      });
      c.header('cache-control', 'no-store');
      return c.json(
        {
          token,
          csrfToken,
          expiresAt: new Date(now + SESSION_TTL_SECONDS * 1000).toISOString(),
          operator,
        },
        201,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/me',
      summary: 'The signed-in operator, their grants and a fresh CSRF token',
      responses: {
        200: { description: 'The operator', content: { 'application/json': { schema: MeSchema } } },
        401: adminProblems[401],
      },
    }),
    async (c) => {
      const op = c.get('operator');
      const csrfToken = await createCsrfToken(await consoleKeys(c.env), op.sessionId);
      return c.json(
        { id: op.id, email: op.email, name: op.name, grants: op.grants, csrfToken },
        200,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'delete',
      path: '/sessions/current',
      summary: 'Sign out: ends this session on the server and clears the console cookie',
      description:
        'The session token (bearer or cookie) is refused from the next request on, at every ' +
        'edge. With the cookie, send `X-CSRF-Token` as for any write.',
      responses: { 204: { description: 'Signed out' }, ...adminProblems },
    }),
    async (c) => {
      const op = c.get('operator');
      await revokeSession(c.get('db'), {
        sessionId: op.sessionId,
        operatorId: op.id,
        expiresAt: op.sessionExpiresAt,
      });
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  )
  .openapi(
    adminRoute({
      method: 'delete',
      path: '/sessions',
      summary: 'Sign out everywhere: ends every session of the signed-in operator',
      description:
        'Every session token of this operator issued until now (and within the same second) ' +
        'is refused from the next request on, this one included.',
      responses: { 204: { description: 'Signed out everywhere' }, ...adminProblems },
    }),
    async (c) => {
      await revokeAllSessions(c.get('db'), c.get('operator').id, Date.now());
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  );
