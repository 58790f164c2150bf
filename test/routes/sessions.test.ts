import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { operators } from '../../src/db/schema';
import { createTenant, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let owner: TestOperator;

beforeAll(async () => {
  t = await createTenant();
  owner = await createOperator(t.tenantId, 'owner');
});

const signIn = (email: string, password: string, headers: Record<string, string> = {}) =>
  call('admin.test', '/admin/v1/sessions', {
    method: 'POST',
    body: { email, password },
    headers,
  });

describe('Cache-Control: no-store on every response that carries a session or a secret', () => {
  const keys = () => `/admin/v1/tenants/${t.slug}/storefronts/us-store/api-keys`;
  const cases: [string, () => Promise<Response>][] = [
    [
      'POST /admin/v1/sessions (session token, CSRF token)',
      () => signIn(owner.email, owner.password),
    ],
    ['GET /admin/v1/me (CSRF token)', () => asOperator(owner, 'GET', '/admin/v1/me')],
    [
      'POST …/api-keys (the key, shown once)',
      () => asOperator(owner, 'POST', keys(), { kind: 'secret', name: 'no-store' }),
    ],
    [
      'POST …/api-keys/{key}/rotate (the new key, shown once)',
      async () => {
        const created = await asOperator(owner, 'POST', keys(), { kind: 'secret', name: 'rot' });
        const { apiKey } = await json<{ apiKey: { id: string } }>(created);
        return asOperator(owner, 'POST', `${keys()}/${apiKey.id}/rotate`, {
          reason: 'no-store test',
        });
      },
    ],
    [
      'POST /v1/customers/{id}/tokens (a customer token)',
      async () => {
        const host = t.hosts['us-store'] ?? '';
        const key = t.keys['us-store']?.secret ?? '';
        const created = await call(host, '/v1/customers', {
          method: 'POST',
          key,
          body: { email: `no-store-${Date.now()}@example.test` },
        });
        const { customer } = await json<{ customer: { id: string } }>(created);
        return call(host, `/v1/customers/${customer.id}/tokens`, { method: 'POST', key });
      },
    ],
    [
      'POST …/signing-keys/rotate',
      () =>
        asOperator(owner, 'POST', `/admin/v1/tenants/${t.slug}/signing-keys/rotate`, {
          reason: 'no-store test',
        }),
    ],
    ['GET /console', () => call('admin.test', '/console')],
  ];

  for (const [name, send] of cases) {
    it(name, async () => {
      const res = await send();
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      expect(res.headers.get('cache-control')).toMatch(/(^|,\s*)no-store(\s*,|$)/);
    });
  }
});

describe('sign-out', () => {
  const me = (headers: Record<string, string>) => call('admin.test', '/admin/v1/me', { headers });

  it('ends the session on the server: the same bearer token and cookie are refused with 401', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const cookieHeaders = { cookie: op.cookie };
    const bearer = { authorization: `Bearer ${op.token}` };
    expect((await me(bearer)).status).toBe(200);
    expect((await me(cookieHeaders)).status).toBe(200);

    // The console signs out with its cookie and CSRF token.
    const out = await call('admin.test', '/admin/v1/sessions/current', {
      method: 'DELETE',
      headers: { ...cookieHeaders, 'x-csrf-token': op.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/azotte_session=;/);
    expect(out.headers.get('cache-control')).toBe('no-store');

    for (const headers of [bearer, cookieHeaders]) {
      const res = await me(headers);
      const problem = await expectProblem(res, 401, 'unauthenticated');
      expect(problem.detail).toMatch(/signed out/);
    }
    // Another session of the same operator is not affected.
    const again = await signIn(op.email, op.password);
    const { token } = await json<{ token: string }>(again);
    expect((await me({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('a bearer session signs out the same way; a cookie sign-out needs the CSRF token', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const forged = await call('admin.test', '/admin/v1/sessions/current', {
      method: 'DELETE',
      headers: { cookie: op.cookie },
    });
    await expectProblem(forged, 403, 'forbidden');
    expect((await asOperator(op, 'GET', '/admin/v1/me')).status).toBe(200);
    expect((await asOperator(op, 'DELETE', '/admin/v1/sessions/current')).status).toBe(204);
    await expectProblem(await asOperator(op, 'GET', '/admin/v1/me'), 401, 'unauthenticated');
  });

  it('“sign out everywhere” ends every session of the operator, and only theirs', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const second = await json<{ token: string }>(await signIn(op.email, op.password));
    const bystander = await createOperator(t.tenantId, 'viewer');
    const res = await asOperator(op, 'DELETE', '/admin/v1/sessions');
    expect(res.status).toBe(204);
    for (const token of [op.token, second.token]) {
      const refused = await me({ authorization: `Bearer ${token}` });
      await expectProblem(refused, 401, 'unauthenticated');
    }
    expect((await asOperator(bystander, 'GET', '/admin/v1/me')).status).toBe(200);
    // Signing in again works (a session of a later second than the sign-out).
    await new Promise((r) => setTimeout(r, 1_000));
    const fresh = await json<{ token: string }>(await signIn(op.email, op.password));
    expect((await me({ authorization: `Bearer ${fresh.token}` })).status).toBe(200);
  });

  it('disabling an operator ends their sessions at the next request', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    await withDb((db) =>
      db.update(operators).set({ disabledAt: new Date() }).where(eq(operators.id, op.id)),
    );
    const res = await asOperator(op, 'GET', '/admin/v1/me');
    const problem = await expectProblem(res, 401, 'unauthenticated');
    expect(problem.detail).toMatch(/disabled/);
  });
});

describe('sign-in throttling', () => {
  let address = 0;
  /** A client address of this test's own. */
  const freshAddress = () => `192.0.2.${++address}`;
  const from = (ip: string) => ({ 'cf-connecting-ip': ip });

  async function expectLockedOut(res: Response) {
    const problem = await expectProblem(res, 429, 'rate_limited');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(850);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(problem.detail).toMatch(/Too many failed sign-in attempts/);
    expect(JSON.stringify(problem)).not.toMatch(/token/);
    return problem;
  }

  it('5 failures per account in 15 minutes, then even the right password is refused', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const ip = freshAddress();
    for (let i = 0; i < 5; i++) {
      await expectProblem(
        await signIn(op.email, 'wrong-password', from(ip)),
        401,
        'unauthenticated',
      );
    }
    const locked = await expectLockedOut(await signIn(op.email, op.password, from(ip)));
    // From another address too (the account is what is guessed at), in another letter case.
    const elsewhere = await signIn(op.email.toUpperCase(), op.password, from(freshAddress()));
    await expectLockedOut(elsewhere);
    // The same answer for an account that does not exist: the lockout tells nothing.
    const ghost = `nobody-${Date.now()}@example.test`;
    for (let i = 0; i < 5; i++) {
      await expectProblem(await signIn(ghost, 'wrong-password', from(ip)), 401, 'unauthenticated');
    }
    const ghostLocked = await expectLockedOut(await signIn(ghost, 'whatever', from(ip)));
    expect(ghostLocked.detail).toBe(locked.detail);
    // Sessions opened before the lockout keep working.
    expect((await asOperator(op, 'GET', '/admin/v1/me')).status).toBe(200);
  });

  it('successful sign-ins are not counted and do not reset the failures', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const ip = freshAddress();
    for (let i = 0; i < 7; i++)
      expect((await signIn(op.email, op.password, from(ip))).status).toBe(201);
    for (let i = 0; i < 4; i++) {
      await expectProblem(
        await signIn(op.email, 'wrong-password', from(ip)),
        401,
        'unauthenticated',
      );
    }
    expect((await signIn(op.email, op.password, from(ip))).status).toBe(201);
    await expectProblem(await signIn(op.email, 'wrong-password', from(ip)), 401, 'unauthenticated');
    await expectLockedOut(await signIn(op.email, op.password, from(ip)));
  });

  it('20 failures per client address in 15 minutes, whatever the accounts', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const ip = freshAddress();
    for (let i = 0; i < 20; i++) {
      const email = `spray-${i}-${Date.now()}@example.test`;
      await expectProblem(await signIn(email, 'Winter2026!', from(ip)), 401, 'unauthenticated');
    }
    await expectLockedOut(await signIn(op.email, op.password, from(ip)));
    // The account itself is fine from anywhere else.
    expect((await signIn(op.email, op.password, from(freshAddress()))).status).toBe(201);
  });

  it('concurrent guesses never get more than 5 answers', async () => {
    const op = await createOperator(t.tenantId, 'viewer');
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        signIn(op.email, `guess-${i}`, from(freshAddress())).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});
