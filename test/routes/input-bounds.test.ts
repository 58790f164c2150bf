/**
 * The input bounds every route shares (README, Errors): text rules (no U+0000, no control
 * characters, no lone surrogates), JSON nesting depth, the body size limit and the content-type
 * rule, and what the development geography header accepts.
 */
import { SELF } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { problemFromError } from '../../src/app';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from '../../src/lib/json-body';
import { createTenant, publish, type TestTenant, unique, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';
import { asOperator, createOperator, type TestOperator } from '../helpers/operators';

let t: TestTenant;
let owner: TestOperator;

beforeAll(async () => {
  t = await createTenant();
  await publish();
  owner = await createOperator(t.tenantId, 'owner');
});

afterEach(() => {
  vi.restoreAllMocks();
});

const us = () => t.hosts['us-store'] ?? '';
const secret = () => t.keys['us-store']?.secret ?? '';
const email = () => `c-${unique()}@example.test`;

const customers = (body: unknown, headers: Record<string, string> = {}) =>
  call(us(), '/v1/customers', { method: 'POST', key: secret(), body, headers });
const evaluate = (body: unknown, headers: Record<string, string> = {}) =>
  call(us(), '/v1/flags/evaluate', { method: 'POST', body, headers });
const admin = (method: string, path: string, body?: unknown) =>
  asOperator(owner, method, `/admin/v1/tenants/${t.slug}${path}`, body);

/** Asserts a 400 `validation_failed` whose field errors name `path`; returns the message. */
async function expectFieldError(res: Response, path: string): Promise<string> {
  const body = await expectProblem(res, 400, 'validation_failed');
  const errors = body.errors as { path: string; message: string }[];
  const hit = errors.find((e) => e.path === path);
  expect(hit, JSON.stringify(errors)).toBeDefined();
  return hit?.message ?? '';
}

/** `levels` nested objects around a number: `{"a":{"a":…1…}}`. */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('text inputs: U+0000, control characters, lone surrogates', () => {
  it('a NUL in a path parameter is a 400 naming it, not a 500', async () => {
    const res = await asOperator(owner, 'GET', '/admin/v1/tenants/a%00b/flags');
    expect(await expectFieldError(res, 'tenant')).toMatch(/U\+0000/);
    await expectFieldError(await admin('GET', '/storefronts/us%00store/api-keys'), 'storefront');
  });

  it('a NUL in a query parameter is a 400 naming it', async () => {
    await expectFieldError(await admin('GET', '/audit?storefront=us%00store'), 'storefront');
    await expectFieldError(await admin('GET', '/audit/verify?storefront=%00'), 'storefront');
  });

  it('a NUL in a body string is a 400 naming the field, on every router', async () => {
    await expectFieldError(await customers({ email: email(), name: 'Ada\u0000' }), 'name');
    await expectFieldError(
      await customers({ email: email(), externalId: 'x\u0000' }),
      'externalId',
    );
    const killswitch = { scope: 'feature', target: 'catalog', engaged: false };
    await expectFieldError(
      await admin('POST', '/killswitches', { ...killswitch, reason: 'because\u0000' }),
      'reason',
    );
    await expectFieldError(
      await admin('POST', '/storefronts/us-store/api-keys', { kind: 'secret', name: 'k\u0000' }),
      'name',
    );
    await expectFieldError(
      await admin('PUT', '/flags/nul-flag', {
        storefront: 'us-store\u0000',
        valueType: 'boolean',
        definition: { variations: [false, true], offVariation: 0, fallthrough: { variation: 0 } },
        reason: 'nul test',
      }),
      'storefront',
    );
  });

  it('a NUL anywhere in a JSON body (a flag variation, a key) is a 400 with its path', async () => {
    const res = await admin('PUT', '/flags/nul-variation', {
      valueType: 'string',
      definition: { variations: ['a\u0000', 'b'], offVariation: 0, fallthrough: { variation: 0 } },
      reason: 'nul test',
    });
    expect(await expectFieldError(res, 'definition.variations.0')).toMatch(/U\+0000/);
    await expectFieldError(
      await evaluate({ context: { targetingKey: 'cus_\u0000' } }),
      'context.targetingKey',
    );
    await expectFieldError(await evaluate({ defaults: { 'k\u0000': 1 } }), 'defaults.k\u0000');
  });

  it('control characters are refused in names, tabs and line breaks allowed in a reason', async () => {
    expect(
      await expectFieldError(await customers({ email: email(), name: 'Ada\u0007' }), 'name'),
    ).toMatch(/control/);
    await expectFieldError(await customers({ email: email(), name: 'Ada\nLovelace' }), 'name');
    const ok = await admin('POST', '/killswitches', {
      scope: 'feature',
      target: 'signup',
      engaged: false,
      reason: 'two lines:\n\tthe second indented',
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    await expectFieldError(
      await admin('POST', '/killswitches', {
        scope: 'feature',
        target: 'signup',
        engaged: false,
        reason: 'a bell \u0007 here',
      }),
      'reason',
    );
  });

  it('a lone surrogate is refused; a well-formed pair is fine', async () => {
    expect(
      await expectFieldError(await customers({ email: email(), name: 'x\ud800' }), 'name'),
    ).toMatch(/surrogate/);
    const ok = await customers({ email: email(), name: 'Ada 😀' });
    expect(ok.status, await ok.clone().text()).toBe(201);
    expect((await json<{ customer: { name: string } }>(ok)).customer.name).toBe('Ada 😀');
  });

  it('a failed query logs its SQL shape and SQLSTATE, never its parameters', async () => {
    const value = `leak-${unique()}@example.test`;
    const err = await withDb((db) => db.execute(sql`select ${`${value}\u0000`}::text`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = problemFromError(err, 'req_logtest', '/x');
    expect(res.status).toBe(500);
    const logged = spy.mock.calls.map((args) => args.map(String).join(' ')).join('\n');
    expect(logged).toContain('select $1::text');
    expect(logged).toContain('22021'); // invalid byte sequence for UTF8
    expect(logged).not.toContain(value);
    expect(await res.text()).not.toContain(value);
  });
});

describe(`JSON nesting depth (at most ${MAX_JSON_DEPTH} levels)`, () => {
  it('a 3,000-level body is a 400 on every route, flag definitions included', async () => {
    const deep = nested(3000);
    await expectProblem(
      await admin(
        'PUT',
        '/flags/deep-flag',
        `{"valueType":"json","reason":"deep","definition":{"variations":[${deep}],"offVariation":0,"fallthrough":{"variation":0}}}`,
      ),
      400,
      'validation_failed',
    );
    await expectProblem(
      await customers(`{"email":"${email()}","extra":${deep}}`),
      400,
      'validation_failed',
    );
    await expectProblem(await evaluate(`{"defaults":{"f":${deep}}}`), 400, 'validation_failed');
  });

  it(`${MAX_JSON_DEPTH} levels are accepted, ${MAX_JSON_DEPTH + 1} are not`, async () => {
    // The body is level 1, `defaults` level 2, so the value may nest 30 more.
    const at = (levels: number) => evaluate(`{"defaults":{"f":${nested(levels)}}}`);
    const ok = await at(MAX_JSON_DEPTH - 2);
    expect(ok.status, await ok.clone().text()).toBe(200);
    const message = await expectFieldError(
      await at(MAX_JSON_DEPTH - 1),
      `defaults.f${'.a'.repeat(30)}`,
    );
    expect(message).toMatch(/deeper than 32/);
  });
});

describe(`body size (at most ${MAX_BODY_BYTES} bytes on every route)`, () => {
  const padded = (bytes: number) => JSON.stringify({ email: email(), pad: 'x'.repeat(bytes) });

  it('a 2 MB body is a 413 on customer creation and token issuance', async () => {
    await expectProblem(await customers(padded(2 * 1024 * 1024)), 413, 'payload_too_large');
    const created = await customers({ email: email() });
    const { customer } = await json<{ customer: { id: string } }>(created);
    const tokens = await call(us(), `/v1/customers/${customer.id}/tokens`, {
      method: 'POST',
      key: secret(),
      body: { ttlSeconds: 600, pad: 'x'.repeat(2 * 1024 * 1024) },
    });
    await expectProblem(tokens, 413, 'payload_too_large');
  });

  it('admin routes and the flags fast path share the limit', async () => {
    await expectProblem(
      await admin('POST', '/killswitches', { reason: 'x'.repeat(MAX_BODY_BYTES) }),
      413,
      'payload_too_large',
    );
    await expectProblem(
      await evaluate({ context: {}, pad: 'x'.repeat(MAX_BODY_BYTES) }),
      413,
      'payload_too_large',
    );
  });

  it('a chunked body without Content-Length is cut at the limit too', async () => {
    const chunk = new TextEncoder().encode(`"${'x'.repeat(16 * 1024)}",`);
    const chunked = (path: string, key: string) => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"email":"a@b.test","p":['));
          else if (sent > 10) {
            controller.enqueue(new TextEncoder().encode('"end"]}'));
            controller.close();
            return;
          } else controller.enqueue(chunk);
          sent += 1;
        },
      });
      return SELF.fetch(`https://${us()}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
    };
    const res = await chunked('/v1/customers', secret());
    await expectProblem(res, 413, 'payload_too_large');
    const publishable = t.keys['us-store']?.publishable ?? '';
    await expectProblem(await chunked('/v1/flags/evaluate', publishable), 413, 'payload_too_large');
  });

  it('a body just under the limit is read', async () => {
    const res = await customers(padded(MAX_BODY_BYTES - 200));
    expect(res.status, await res.clone().text()).toBe(201);
  });
});

describe('content type: application/json (parameters allowed), else 415', () => {
  it('the flags fast path no longer accepts a prefix match', async () => {
    const body = { context: {} };
    await expectProblem(
      await evaluate(body, { 'content-type': 'application/jsonx' }),
      415,
      'unsupported_media_type',
    );
    await expectProblem(
      await evaluate(body, { 'content-type': 'application/json-patch+json' }),
      415,
      'unsupported_media_type',
    );
    for (const type of [
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json',
    ]) {
      const res = await evaluate(body, { 'content-type': type });
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(200);
    }
  });

  it('the routers answer the same 415 for another media type', async () => {
    await expectProblem(
      await customers({ email: email() }, { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    await expectProblem(
      await customers({ email: email() }, { 'content-type': 'application/jsonx' }),
      415,
      'unsupported_media_type',
    );
    await expectProblem(
      await admin('POST', '/killswitches', 'scope=feature'),
      400,
      'validation_failed',
    );
    const ok = await customers(
      { email: email() },
      { 'content-type': 'application/json; charset=UTF-8' },
    );
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  it('a body without a Content-Type is a 415 on both paths', async () => {
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const send = (path: string, key: string, body: Uint8Array) =>
      SELF.fetch(`https://${us()}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body,
      });
    await expectProblem(
      await send('/v1/customers', secret(), bytes({ email: email() })),
      415,
      'unsupported_media_type',
    );
    await expectProblem(
      await send('/v1/flags/evaluate', t.keys['us-store']?.publishable ?? '', bytes({})),
      415,
      'unsupported_media_type',
    );
  });

  it('a missing body on a route that needs one is a 400 that says so', async () => {
    const none = await call(us(), '/v1/customers', { method: 'POST', key: secret() });
    const p = await expectProblem(none, 400, 'validation_failed');
    expect(p.detail).toMatch(/needs a JSON body/);
    const flags = await call(us(), '/v1/flags/evaluate', { method: 'POST' });
    expect((await expectProblem(flags, 400, 'validation_failed')).detail).toMatch(
      /needs a JSON body/,
    );
    const empty = await call(us(), '/v1/customers', {
      method: 'POST',
      key: secret(),
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect((await expectProblem(empty, 400, 'validation_failed')).detail).toMatch(/empty/);
  });

  it('a route whose body is optional still works without one', async () => {
    const created = await customers({ email: email() });
    const { customer } = await json<{ customer: { id: string } }>(created);
    const res = await call(us(), `/v1/customers/${customer.id}/tokens`, {
      method: 'POST',
      key: secret(),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });
});

describe('CF-IPCountry / CF-IPContinent: what Cloudflare sends', () => {
  const resolve = async (headers: Record<string, string>) => {
    const res = await call(t.sharedHost, '/v1/storefront', { headers });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<{ slug: string; resolvedBy: string }>(res);
  };

  it('T1 (Tor) is no country: the tenant default', async () => {
    expect(await resolve({ 'cf-ipcountry': 'T1' })).toMatchObject({
      slug: 'us-store',
      resolvedBy: 'default',
    });
    expect(await resolve({ 'cf-ipcountry': 'T1', 'cf-ipcontinent': 'T1' })).toMatchObject({
      resolvedBy: 'default',
    });
    expect(await resolve({ 'cf-ipcountry': 'XX' })).toMatchObject({ resolvedBy: 'default' });
  });

  it('T1 with a continent falls through to the continent rule', async () => {
    expect(await resolve({ 'cf-ipcountry': 't1', 'cf-ipcontinent': 'EU' })).toMatchObject({
      slug: 'eu-store',
      resolvedBy: 'geo',
    });
  });

  it('anything else that is not a code is still a 400', async () => {
    for (const v of ['T2', '1', 'DEU', 'D\u00e9']) {
      const res = await call(t.sharedHost, '/v1/storefront', { headers: { 'cf-ipcountry': v } });
      await expectProblem(res, 400, 'malformed_header');
    }
  });
});
