import { z } from 'zod';

/** What a bundle grants, by entitlement type. Validated before it is written to Postgres. */
export const EntitlementValueSchemas = {
  quota: z.strictObject({
    limit: z.number().int().positive(),
    period: z.enum(['day', 'week', 'month', 'year', 'billing_period']),
  }),
  feature: z.strictObject({ enabled: z.boolean() }),
  slots: z.strictObject({ count: z.number().int().nonnegative() }),
  tier: z.strictObject({
    level: z.string().min(1).max(64),
    detail: z.string().max(200).optional(),
  }),
} as const;

export type EntitlementType = keyof typeof EntitlementValueSchemas;

export function parseEntitlementValue(type: EntitlementType, value: unknown) {
  return EntitlementValueSchemas[type].safeParse(value);
}
