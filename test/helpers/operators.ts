import type { Channel } from '../../src/db/schema/enums';
import { upsertOperator } from '../../src/services/admin/operators';
import { unique, withDb } from './factories';
import { call, json } from './http';

export type Role = 'owner' | 'admin' | 'operator' | 'viewer';

export interface TestOperator {
  id: string;
  email: string;
  password: string;
  token: string;
  csrfToken: string;
  cookie: string;
}

/** A fresh operator with one grant, signed in. */
export async function createOperator(
  tenantId: string,
  role: Role,
  scope: { storefrontIds?: string[]; channels?: Channel[] } = {},
): Promise<TestOperator> {
  const email = `op-${unique()}@example.test`;
  const password = `Correct-Horse-${unique()}`;
  const id = await withDb((db) =>
    upsertOperator(db, {
      email,
      name: `${role} ${email}`,
      password,
      grants: [{ tenantId, role, ...scope }],
    }),
  );
  const res = await call('admin.test', '/admin/v1/sessions', {
    method: 'POST',
    body: { email, password },
  });
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const body = await json<{ token: string; csrfToken: string }>(res);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { id, email, password, token: body.token, csrfToken: body.csrfToken, cookie };
}

/** Admin API call as `op` (bearer token). */
export function asOperator(
  op: TestOperator | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return call('admin.test', path, {
    method,
    body,
    headers: op ? { authorization: `Bearer ${op.token}`, ...headers } : headers,
  });
}
