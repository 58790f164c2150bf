import { getDb } from '../db/client';
import { flagExposures } from '../db/schema';
import type { Env } from '../env';
import { newId } from '../lib/ids';

/** One exposure as sent to the `EXPOSURES` queue. */
export interface ExposureMessage {
  tenantId: string;
  storefrontId: string;
  flagKey: string;
  flagVersion?: number;
  variationIndex?: number;
  variant?: string;
  reason: string;
  inExperiment: boolean;
  targetingKey?: string;
  channel?: string;
  occurredAt: string;
}

/** Queue consumer: writes a batch of exposures to Postgres in one insert. */
export async function consumeExposures(
  batch: MessageBatch<ExposureMessage>,
  env: Env,
): Promise<void> {
  if (batch.messages.length === 0) return;
  const { db, close } = getDb(env);
  try {
    await db.insert(flagExposures).values(
      batch.messages.map((m) => ({
        id: newId('exp'),
        tenantId: m.body.tenantId,
        storefrontId: m.body.storefrontId,
        flagKey: m.body.flagKey,
        flagVersion: m.body.flagVersion ?? null,
        variationIndex: m.body.variationIndex ?? null,
        variant: m.body.variant ?? null,
        reason: m.body.reason,
        inExperiment: m.body.inExperiment,
        targetingKey: m.body.targetingKey ?? null,
        channel: m.body.channel ?? null,
        occurredAt: new Date(m.body.occurredAt),
      })),
    );
    batch.ackAll();
  } catch (err) {
    console.error(
      JSON.stringify({ level: 'error', msg: 'exposure batch failed', error: String(err) }),
    );
    batch.retryAll({ delaySeconds: 5 });
  } finally {
    await close();
  }
}
