import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { newRouter } from '../../app';
import { getDb } from '../../db/client';
import { ApiError } from '../../errors';
import { SESSION_COOKIE } from '../../middleware/operator-auth';
import { consoleKeys } from '../../security/console-keys';
import {
  createCsrfToken,
  newSessionId,
  SESSION_TTL_SECONDS,
  signSessionToken,
} from '../../security/sessions';
import { authenticateOperator } from '../../services/admin/operators';
import { settings } from '../../settings';
import { safeText } from '../schemas';
import { adminProblems, adminRoute } from './support';

const GrantSchema = z.object({
  tenantId: z.string(),
  role: z.enum(['owner', 'admin', 'operator', 'viewer']),
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
        'Returns a short-lived session token (30 minutes) and sets it as an HttpOnly cookie for the console, with a CSRF token for cookie-authenticated writes.',
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
      },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const { db, close } = getDb(c.env);
      let operator: Awaited<ReturnType<typeof authenticateOperator>>;
      try {
        operator = await authenticateOperator(db, email, password);
      } finally {
        c.executionCtx.waitUntil(close());
      }
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
    createRoute({
      method: 'delete',
      path: '/sessions/current',
      tags: ['Admin'],
      summary: 'Sign out (clears the console cookie)',
      responses: { 204: { description: 'Signed out' } },
    }),
    (c) => {
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  );
