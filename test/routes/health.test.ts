import { describe, expect, it } from 'vitest';
import { call, expectProblem, json } from '../helpers/http';

describe('GET /healthz', () => {
  it('answers on any host without touching KV or Postgres', async () => {
    const res = await call('anything.example', '/healthz');
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('unknown routes are problem+json 404s', async () => {
    await expectProblem(await call('x.example', '/nope'), 404, 'not_found');
  });
});
