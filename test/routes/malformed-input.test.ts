/**
 * No malformed input is a 5xx, on any route. The operations come from the app's own OpenAPI
 * document, so a new route is covered without being listed here. Every request carries real
 * credentials for its route (an API key, a customer token, an operator session, the publish
 * token), so what is tested is the route's validation, not its authentication.
 *
 * Each operation gets a table of malformations (missing body, invalid JSON, wrong types, huge
 * strings, U+0000 in path, query and body strings, deep nesting, wrong content type, oversized
 * body, malformed headers), then a seeded fast-check property with random bodies, parameters
 * and content types.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from '../../src/lib/json-body';
import { createApiKey } from '../../src/services/admin/api-keys';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { createOperator, type TestOperator } from '../helpers/operators';

type JsonSchema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  properties?: Record<string, JsonSchema>;
};

interface Operation {
  method: string;
  /** OpenAPI path template, `/admin/v1/tenants/{tenant}/flags` */
  path: string;
  security: string[];
  params: { in: string; name: string }[];
  body?: { required: boolean; schema: JsonSchema };
}

/**
 * What an answer may be: `invalid` — refused by validation (400, 413, 415, 431); `error` — any
 * 4xx (a value that decodes to an unknown object may be a 404); `any` — anything but a 5xx
 * (the input may be legitimately valid).
 */
type Expectation = 'invalid' | 'error' | 'any';

interface Case {
  name: string;
  expect: Expectation;
  /** Path parameters, already percent-encoded. */
  pathParams?: Record<string, string>;
  /** The raw query string, without `?`. */
  query?: string;
  headers?: Record<string, string>;
  /** undefined: no body. */
  body?: string | Uint8Array;
  /** undefined: `application/json` when there is a body; null: none. */
  contentType?: string | null;
}

const NUL = 'a\u0000b';
const FAKE_KEY_ID = 'key_01AAAAAAAAAAAAAAAAAAAAAAAA';

let t: TestTenant;
let owner: TestOperator;
/** Signs out when the walk reaches the sign-out routes, so it is not `owner`. */
let leaving: TestOperator;
let secretKey: string;
let customerId: string;
let customerToken: string;
/** The `token` of that customer's `GET /v1/entitlements` (the token path's credential). */
let entitlementsToken: string;
let doc: {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
};
let operations: Operation[] = [];
const background: Promise<void>[] = [];

const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

function resolveSchema(schema: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').pop() ?? '';
  return doc.components?.schemas?.[name] ?? {};
}

/** A plausible value of a schema; the cases then break one thing about it. */
function sample(schema: JsonSchema): unknown {
  const s = resolveSchema(schema);
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'string':
      if (s.format === 'email') return 'someone@example.test';
      if (s.format === 'date-time') return '2099-01-01T00:00:00Z';
      return 'sample text';
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, sample(v)]));
    default:
      return null;
  }
}

/** A value of the wrong JSON type for the schema. */
function wrongType(schema: JsonSchema): unknown {
  const s = resolveSchema(schema);
  if (s.enum) return 'not-one-of-the-values';
  switch (s.type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not a number';
    case 'boolean':
      return 'yes';
    case 'array':
      return { not: 'an array' };
    default:
      return ['not', 'an', 'object'];
  }
}

/** The same shape of value with U+0000 inside a string. */
function withNul(schema: JsonSchema): unknown {
  const s = resolveSchema(schema);
  if (s.type === 'array') return [NUL];
  if (s.type === 'object') return { key: NUL };
  return NUL;
}

function baselineParams(op: Operation): Record<string, string> {
  const values: Record<string, string> = {};
  for (const p of op.params.filter((p) => p.in === 'path')) {
    if (p.name === 'tenant') values.tenant = t.slug;
    else if (p.name === 'storefront') values.storefront = 'us-store';
    else if (p.name === 'id') values.id = customerId;
    else if (p.name === 'customer') values.customer = customerId;
    else if (p.name === 'key')
      values.key = op.path.includes('/api-keys/') ? FAKE_KEY_ID : 'prop-flag';
    else values[p.name] = 'sample';
  }
  return values;
}

function casesFor(op: Operation): Case[] {
  const cases: Case[] = [];
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const headerParams = op.params.filter((p) => p.in === 'header');
  // An admin call that gets past the body check loads the operator from Postgres (tens of ms
  // each): those cases are kept few, one per parameter and a few per body.
  for (const p of pathParams) {
    cases.push({
      name: `path ${p.name}: U+0000`,
      expect: 'invalid',
      pathParams: { [p.name]: 'a%00b' },
    });
  }
  if (pathParams[0]) {
    const at = (name: string, value: string, expect: Expectation) =>
      cases.push({
        name: `path ${name}`,
        expect,
        pathParams: { [pathParams[0]?.name ?? '']: value },
      });
    at('huge', 'x'.repeat(2000), 'invalid');
    at('a control character', 'a%07b', 'invalid');
    at('invalid UTF-8', '%FF%FE', 'error');
  }
  for (const p of queryParams) {
    cases.push({ name: `query ${p.name}: U+0000`, expect: 'invalid', query: `${p.name}=a%00b` });
  }
  if (queryParams[0]) {
    const name = queryParams[0].name;
    cases.push({ name: `query ${name}: twice`, expect: 'any', query: `${name}=1&${name}=2` });
    cases.push({
      name: `query ${name}: huge`,
      expect: 'invalid',
      query: `${name}=${'9'.repeat(2000)}`,
    });
  }
  cases.push({ name: 'an unknown query parameter with U+0000', expect: 'any', query: 'zz=%00' });
  for (const p of headerParams) {
    cases.push({
      name: `header ${p.name}: malformed`,
      expect: 'invalid',
      headers: { [p.name]: p === headerParams[0] ? 'a'.repeat(5000) : 'not valid!' },
    });
  }
  if (op.method === 'get') return cases;

  // Every route refuses these bodies, whether or not it reads one.
  const malformedBody: [string, string][] = [
    ['invalid JSON', '{"a":'],
    ['a bare word', 'oops'],
    ['single quotes', "{'a': 1}"],
    [`nested ${MAX_JSON_DEPTH * 100} levels`, nested(MAX_JSON_DEPTH * 100)],
    [`nested ${MAX_JSON_DEPTH + 1} levels`, nested(MAX_JSON_DEPTH + 1)],
    ['U+0000 in a string', JSON.stringify({ any: NUL })],
    ['a lone surrogate', '{"any":"\\ud800"}'],
    ['oversized', JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) })],
  ];
  for (const [name, body] of malformedBody) {
    cases.push({ name: `body: ${name}`, expect: 'invalid', body });
  }
  const valid = JSON.stringify(op.body ? sample(op.body.schema) : {});
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/xml',
  ]) {
    cases.push({ name: `content-type ${type}`, expect: 'invalid', body: valid, contentType: type });
  }
  cases.push({
    name: 'a body without a content type',
    expect: 'invalid',
    body: new TextEncoder().encode(valid),
    contentType: null,
  });
  cases.push({ name: 'a JSON content type with an empty body', expect: 'invalid', body: '' });
  if (!op.body) {
    cases.push({ name: 'no body', expect: 'any' });
    return cases;
  }
  cases.push({ name: 'no body', expect: op.body.required ? 'invalid' : 'any' });
  for (const root of [42, null]) {
    cases.push({
      name: `body is ${JSON.stringify(root)}`,
      expect: 'invalid',
      body: JSON.stringify(root),
    });
  }
  const schema = resolveSchema(op.body.schema);
  const base = sample(schema) as Record<string, unknown>;
  const props = Object.entries(schema.properties ?? {});
  const every = (value: (p: JsonSchema) => unknown, only = (_: JsonSchema) => true) =>
    JSON.stringify({
      ...base,
      ...Object.fromEntries(
        props.filter(([, p]) => only(resolveSchema(p))).map(([k, p]) => [k, value(p)]),
      ),
    });
  const isString = (p: JsonSchema) => p.type === 'string';
  cases.push({
    name: 'every property of the wrong type',
    expect: 'invalid',
    body: every(wrongType),
  });
  if (props.some(([, p]) => isString(resolveSchema(p)))) {
    cases.push({
      name: 'every string property huge',
      expect: 'invalid',
      body: every(() => 'x'.repeat(5_000), isString),
    });
    // (a 401 would be as good an answer for a password with a control character)
    cases.push({
      name: 'a control character in every string property',
      expect: 'error',
      body: every(() => 'a\u0001b', isString),
    });
  }
  // Refused by the body check, before any route runs: one case per property is cheap.
  for (const [prop, propSchema] of props) {
    const withProp = (value: unknown) => JSON.stringify({ ...base, [prop]: value });
    cases.push({ name: `${prop}: U+0000`, expect: 'invalid', body: withProp(withNul(propSchema)) });
    cases.push({
      name: `${prop}: deep`,
      expect: 'invalid',
      body: withProp('__DEEP__').replace('"__DEEP__"', nested(100)),
    });
  }
  return cases;
}

function credentials(op: Operation): Record<string, string> {
  if (op.security.includes('apiKey')) return { authorization: `Bearer ${secretKey}` };
  if (op.security.includes('customerToken')) return { authorization: `Bearer ${customerToken}` };
  if (op.security.includes('entitlementsToken')) {
    return { authorization: `Bearer ${entitlementsToken}` };
  }
  if (op.security.includes('bearer')) {
    const token = op.path.startsWith('/internal/')
      ? env.PUBLISH_TOKEN
      : op.path.startsWith('/admin/v1/sessions')
        ? leaving.token
        : owner.token;
    return { authorization: `Bearer ${token}` };
  }
  return {};
}

/**
 * The request, handed to the worker's fetch handler directly rather than through `SELF.fetch`:
 * in the test pool every `SELF.fetch` makes the next one slower (cloudflare/workers-sdk#15446),
 * and this file sends several hundred. The transport itself (chunked bodies, Content-Length) is
 * tested through `SELF` in input-bounds.test.ts.
 */
async function send(op: Operation, c: Case, withCredentials = true): Promise<Response> {
  const params = { ...baselineParams(op), ...c.pathParams };
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    c.pathParams?.[name] !== undefined
      ? (params[name] ?? '')
      : encodeURIComponent(params[name] ?? ''),
  );
  const host = op.path.startsWith('/v1/') ? (t.hosts['us-store'] ?? '') : 'admin.test';
  const headers = new Headers({ ...(withCredentials ? credentials(op) : {}), ...c.headers });
  const body = typeof c.body === 'string' ? new TextEncoder().encode(c.body) : c.body;
  if (body !== undefined) {
    // What the HTTP layer would add.
    headers.set('content-length', String(body.byteLength));
    if (c.contentType !== null) headers.set('content-type', c.contentType ?? 'application/json');
  }
  const request: Request<unknown, IncomingRequestCfProperties> = new Request(
    `https://${host}${path}${c.query ? `?${c.query}` : ''}`,
    {
      method: op.method.toUpperCase(),
      headers,
      body,
    },
  );
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  // Background work (cache revalidation, rate-limit leases, closing pools) is awaited once, at
  // the end: some of it waits for a timer, and the answer does not depend on it.
  background.push(waitOnExecutionContext(ctx));
  return res;
}

/** Not a 5xx; an error is a problem+json; `invalid` is refused by validation. */
async function check(op: Operation, c: Case, res: Response): Promise<void> {
  const text = await res.text();
  const what = `${op.method.toUpperCase()} ${op.path} — ${c.name}: ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  if (c.expect === 'invalid') expect([400, 413, 415, 431], what).toContain(res.status);
  if (c.expect === 'error') expect(res.status, what).toBeGreaterThanOrEqual(400);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    const problem = JSON.parse(text) as { type: string; status: number };
    expect(problem.type, what).toMatch(/^https:\/\/azotte\.dev\/problems\/[a-z_]+$/);
    expect(problem.status, what).toBe(res.status);
  }
}

beforeAll(async () => {
  t = await createTenant();
  const storefrontId = t.storefronts['us-store'] ?? '';
  // A key of its own with a high limit: this file sends a few hundred requests with it.
  secretKey = await withDb(
    async (db) =>
      (
        await createApiKey(
          db,
          {
            tenantId: t.tenantId,
            storefrontId,
            actor: { type: 'system', id: 'tests' },
            requestId: null,
            reason: 'malformed input test',
          },
          { kind: 'secret', name: 'fuzz', channels: [], expiresAt: null, rateLimit: 1_000_000 },
        )
      ).secret,
  );
  await publish();
  owner = await createOperator(t.tenantId, 'owner');
  leaving = await createOperator(t.tenantId, 'viewer');
  const host = t.hosts['us-store'] ?? '';
  const auth = { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' };
  const created = await SELF.fetch(`https://${host}/v1/customers`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ email: 'fuzz@example.test' }),
  });
  customerId = ((await created.json()) as { customer: { id: string } }).customer.id;
  const issued = await SELF.fetch(`https://${host}/v1/customers/${customerId}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secretKey}` },
  });
  customerToken = ((await issued.json()) as { token: string }).token;
  await publish(); // the signing key the token was issued with
  const read = await SELF.fetch(`https://${host}/v1/entitlements`, {
    headers: { authorization: `Bearer ${customerToken}` },
  });
  entitlementsToken = ((await read.json()) as { token: string }).token;

  doc = (await (await SELF.fetch('https://admin.test/openapi.json')).json()) as typeof doc;
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, raw]) => {
      const o = raw as {
        security?: Record<string, unknown>[];
        parameters?: { in: string; name: string }[];
        requestBody?: { required?: boolean; content?: Record<string, { schema: JsonSchema }> };
      };
      const schema = o.requestBody?.content?.['application/json']?.schema;
      return {
        method,
        path,
        security: (o.security ?? []).flatMap((s) => Object.keys(s)),
        params: o.parameters ?? [],
        body: schema ? { required: o.requestBody?.required === true, schema } : undefined,
      };
    }),
  );
});

afterAll(async () => {
  await Promise.all(background);
});

describe('no 5xx from malformed input, on any route of the OpenAPI document', () => {
  it('the document lists the API (so the walk below is not empty)', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const names = operations.map((o) => `${o.method} ${o.path}`);
    expect(names).toContain('post /v1/flags/evaluate');
    expect(names).toContain('post /v1/customers');
    expect(names).toContain('put /admin/v1/tenants/{tenant}/flags/{key}');
  });

  it('the table of malformations, on every operation', async () => {
    for (const op of operations) {
      const cases = casesFor(op);
      for (let i = 0; i < cases.length; i += 6) {
        const batch = cases.slice(i, i + 6);
        const answers = await Promise.all(batch.map((c) => send(op, c)));
        for (const [j, res] of answers.entries()) await check(op, batch[j] as Case, res);
      }
    }
  }, 60_000);

  it('random bodies, parameters and content types (seeded)', async () => {
    const unit = fc.oneof(
      {
        weight: 1,
        arbitrary: fc.constantFrom('\u0000', '\ud800', '\udc00', '\u0007', '\n', '%', '/'),
      },
      { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    );
    const text = fc.string({ unit, maxLength: 40 });
    const percentEncoded = text.map((s) =>
      [...new TextEncoder().encode(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    );
    const json = fc.jsonValue({ maxDepth: 4, stringUnit: unit });
    const printable = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
    const casesOf = (op: Operation): fc.Arbitrary<Case> => {
      const pathNames = op.params.filter((p) => p.in === 'path').map((p) => p.name);
      const queryNames = op.params.filter((p) => p.in === 'query').map((p) => p.name);
      const arbitraries: fc.Arbitrary<Case>[] = [
        fc
          .record({ k: fc.constantFrom('zz', ...queryNames), v: percentEncoded })
          .map(({ k, v }) => ({ name: `query ${k}=${v}`, expect: 'any', query: `${k}=${v}` })),
      ];
      if (pathNames.length > 0) {
        arbitraries.push(
          fc.record({ k: fc.constantFrom(...pathNames), v: percentEncoded }).map(({ k, v }) => ({
            name: `path ${k}=${v}`,
            expect: 'any',
            pathParams: { [k]: v || '%20' },
          })),
        );
      }
      if (op.method !== 'get') {
        const base = op.body ? (sample(op.body.schema) as Record<string, unknown>) : {};
        const named = Object.keys(resolveSchema(op.body?.schema ?? {}).properties ?? {});
        const props = named.length > 0 ? named : ['any'];
        arbitraries.push(
          json.map((v) => ({
            name: `body ${JSON.stringify(v)}`,
            expect: 'any',
            body: JSON.stringify(v),
          })),
          text.map((s) => ({ name: `raw body ${JSON.stringify(s)}`, expect: 'any', body: s })),
          fc.record({ k: fc.constantFrom(...props), v: json }).map(({ k, v }) => ({
            name: `${k}: ${JSON.stringify(v)}`,
            expect: 'any',
            body: JSON.stringify({ ...base, [k]: v }),
          })),
          printable.map((type) => ({
            name: `content-type ${JSON.stringify(type)}`,
            expect: 'any',
            body: JSON.stringify(base),
            contentType: type,
          })),
        );
      }
      return fc.oneof(...arbitraries);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations).chain((op) => casesOf(op).map((c) => ({ op, c }))),
        async ({ op, c }) => {
          // The publish route would publish on every valid request: call it without its token.
          await check(op, c, await send(op, c, !op.path.startsWith('/internal/')));
        },
      ),
      { seed: 9, numRuns: 150, endOnFailure: true },
    );
  }, 60_000);
});
