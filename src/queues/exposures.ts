import { getDb } from '../db/client';
import { loggableError } from '../db/errors';
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

const MAX_ATTEMPTS = 5;

function row(m: ExposureMessage) {
  return {
    id: newId('exp'),
    tenantId: m.tenantId,
    storefrontId: m.storefrontId,
    flagKey: m.flagKey,
    flagVersion: m.flagVersion ?? null,
    variationIndex: m.variationIndex ?? null,
    variant: m.variant ?? null,
    reason: m.reason,
    inExperiment: m.inExperiment,
    targetingKey: m.targetingKey ?? null,
    channel: m.channel ?? null,
    occurredAt: new Date(m.occurredAt),
  };
}

/**
 * Queue consumer: writes a batch of exposures to Postgres in one insert. If the batch is
 * refused, each message is tried alone so one bad message cannot hold back the others; a
 * message that keeps failing is dropped (and logged) after MAX_ATTEMPTS deliveries.
 */
export async function consumeExposures(
  batch: MessageBatch<ExposureMessage>,
  env: Env,
): Promise<void> {
  if (batch.messages.length === 0) return;
  const { db, close } = getDb(env);
  try {
    try {
      await db.insert(flagExposures).values(batch.messages.map((m) => row(m.body)));
      batch.ackAll();
      return;
    } catch {
      // fall through to one-by-one
    }
    for (const m of batch.messages) {
      try {
        await db.insert(flagExposures).values(row(m.body));
        m.ack();
      } catch (err) {
        if (m.attempts >= MAX_ATTEMPTS) {
          console.error(
            JSON.stringify({
              level: 'error',
              msg: 'exposure dropped',
              id: m.id,
              ...loggableError(err),
            }),
          );
          m.ack();
        } else {
          m.retry({ delaySeconds: 5 * m.attempts });
        }
      }
    }
  } finally {
    await close();
  }
}
