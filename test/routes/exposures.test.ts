import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { flagExposures } from '../../src/db/schema';
import { consumeExposures, type ExposureMessage } from '../../src/queues/exposures';
import { createTenant, withDb } from '../helpers/factories';

describe('flag exposures queue', () => {
  it('writes a batch to Postgres and acks it', async () => {
    const t = await createTenant();
    const base: ExposureMessage = {
      tenantId: t.tenantId,
      storefrontId: t.storefronts['eu-store'] ?? '',
      flagKey: 'hero-copy',
      flagVersion: 2,
      variationIndex: 1,
      variant: 'treatment',
      reason: 'SPLIT',
      inExperiment: true,
      targetingKey: 'cus_1',
      channel: 'web',
      occurredAt: new Date().toISOString(),
    };
    const batch = createMessageBatch<ExposureMessage>('azotte-flag-exposures', [
      { id: 'm1', timestamp: new Date(), attempts: 1, body: base },
      {
        id: 'm2',
        timestamp: new Date(),
        attempts: 1,
        body: { ...base, targetingKey: 'cus_2', variationIndex: 0, variant: 'control' },
      },
    ]);
    const ctx = createExecutionContext();
    await consumeExposures(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.length + (result.ackAll ? 2 : 0)).toBeGreaterThan(0);
    expect(result.retryBatch.retry).toBe(false);
    const rows = await withDb((db) =>
      db
        .select()
        .from(flagExposures)
        .where(and(eq(flagExposures.tenantId, t.tenantId), eq(flagExposures.flagKey, 'hero-copy'))),
    );
    expect(rows.map((r) => r.variant).sort()).toEqual(['control', 'treatment']);
  });

  it('a bad message is retried alone, the good ones are written; it is dropped after 5 tries', async () => {
    const t = await createTenant();
    const good: ExposureMessage = {
      tenantId: t.tenantId,
      storefrontId: 'sf_x',
      flagKey: 'poison-test',
      reason: 'SPLIT',
      inExperiment: true,
      occurredAt: new Date().toISOString(),
    };
    const bad: ExposureMessage = { ...good, tenantId: 'ten_missing' };
    const batch = createMessageBatch<ExposureMessage>('azotte-flag-exposures', [
      { id: 'good', timestamp: new Date(), attempts: 1, body: good },
      { id: 'bad', timestamp: new Date(), attempts: 1, body: bad },
      { id: 'bad-old', timestamp: new Date(), attempts: 5, body: bad },
    ]);
    const ctx = createExecutionContext();
    await consumeExposures(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryBatch.retry).toBe(false);
    expect(result.explicitAcks.sort()).toEqual(['bad-old', 'good']);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['bad']);
    const rows = await withDb((db) =>
      db.select().from(flagExposures).where(eq(flagExposures.flagKey, 'poison-test')),
    );
    expect(rows.filter((r) => r.tenantId === t.tenantId)).toHaveLength(1);
  });
});
