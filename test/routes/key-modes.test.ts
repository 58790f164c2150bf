import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { KeyMode } from '../../src/db/schema/enums';
import { requireMode } from '../../src/edge/key-mode';
import { KV_KEYS } from '../../src/edge/snapshot';
import { storefront } from '../../src/middleware/storefront';
import { hashApiKey } from '../../src/security/api-keys';
import { createApiKey } from '../../src/services/admin/api-keys';
import { createTenant, publish, type TestTenant, withDb } from '../helpers/factories';
import { call, expectProblem, json } from '../helpers/http';

/**
 * A route as the payments work will write one: the pipeline authenticates the key, the route
 * reads its mode and refuses what the mode does not reach.
 */
const probe = createApp();
for (const access of ['publishable', 'secret'] as const) {
  probe.get(`/v1/mode-probe/${access}/:need`, storefront({ access }), (c) => {
    const key = c.get('apiKey');
    const need = c.req.param('need');
    if (need === 'test' || need === 'live') requireMode(key, need, 'Test clocks');
    return c.json({ kind: key.kind, mode: key.mode });
  });
}

async function viaProbe(key: string, path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await probe.fetch(
    new Request(`https://${t.hosts['us-store']}/v1/mode-probe/${path}`, {
      headers: { authorization: `Bearer ${key}` },
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

let t: TestTenant;
const live = { publishable: '', secret: '' };

function liveKey(kind: 'publishable' | 'secret', mode: KeyMode = 'live') {
  return withDb(async (db) => {
    const created = await createApiKey(
      db,
      {
        tenantId: t.tenantId,
        storefrontId: t.storefronts['us-store'] ?? '',
        actor: { type: 'system', id: 'tests' },
        requestId: null,
        reason: 'mode test',
      },
      { kind, mode, name: `${mode} ${kind}`, channels: [], expiresAt: null, rateLimit: null },
    );
    return created.secret;
  });
}

beforeAll(async () => {
  t = await createTenant(); // test keys, as the demo's
  live.publishable = await liveKey('publishable');
  live.secret = await liveKey('secret');
  await publish();
});

describe('key modes at the edge', () => {
  it('the factories and the demo hand out test keys', () => {
    expect(t.keys['us-store']?.publishable).toMatch(/^pk_test_[0-9A-Za-z]{49}$/);
    expect(t.keys['us-store']?.secret).toMatch(/^sk_test_[0-9A-Za-z]{49}$/);
    expect(live.publishable).toMatch(/^pk_live_/);
  });

  it('a test key authenticates as a live one does', async () => {
    const host = t.hosts['us-store'] ?? '';
    for (const key of [t.keys['us-store']?.publishable ?? '', live.publishable]) {
      const res = await call(host, '/v1/catalog', { key });
      expect(res.status, key.slice(0, 8)).toBe(200);
    }
  });

  it('the published key entry carries the mode', async () => {
    const entry = await env.CONFIG_KV.get(
      KV_KEYS.apiKey(await hashApiKey(t.keys['us-store']?.secret ?? '')),
      'json',
    );
    expect(entry).toMatchObject({ kind: 'secret', mode: 'test' });
    const liveEntry = await env.CONFIG_KV.get(
      KV_KEYS.apiKey(await hashApiKey(live.secret)),
      'json',
    );
    expect(liveEntry).toMatchObject({ kind: 'secret', mode: 'live' });
  });

  it('the route reads the calling key’s mode (apiKey.mode)', async () => {
    const cases = [
      [t.keys['us-store']?.publishable, 'publishable', 'test'],
      [t.keys['us-store']?.secret, 'secret', 'test'],
      [live.publishable, 'publishable', 'live'],
      [live.secret, 'secret', 'live'],
    ] as const;
    for (const [key, kind, mode] of cases) {
      const res = await viaProbe(key ?? '', 'publishable/any');
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ kind, mode });
    }
  });

  it('requireMode refuses the other mode with key_mode_mismatch, naming the key to use', async () => {
    expect((await viaProbe(t.keys['us-store']?.secret ?? '', 'secret/test')).status).toBe(200);
    const refused = await expectProblem(
      await viaProbe(live.secret, 'secret/test'),
      403,
      'key_mode_mismatch',
    );
    expect(refused.detail).toBe(
      'Test clocks are available only in test mode: this request used a live key (sk_live_…). ' +
        'Use a test key (sk_test_…).',
    );
    expect(refused).toMatchObject({ keyMode: 'live', requiredMode: 'test' });
    const other = await expectProblem(
      await viaProbe(t.keys['us-store']?.publishable ?? '', 'publishable/live'),
      403,
      'key_mode_mismatch',
    );
    expect(other.detail).toContain('Use a live key (pk_live_…)');
  });

  it('a publishable test key on a secret route is told to use the secret test key', async () => {
    const res = await viaProbe(t.keys['us-store']?.publishable ?? '', 'secret/any');
    const problem = await expectProblem(res, 403, 'forbidden');
    expect(problem.detail).toContain('sk_test_…');
  });
});
