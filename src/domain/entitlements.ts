import { z } from 'zod';

/** A tier level's name: letters, digits, `_`, `-` and `.`, starting with a letter or digit. */
export const TierLevelSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'a level: 1 to 64 letters, digits, _ . or -, starting with a letter or digit',
  );

/** A tier's levels, lowest first: 1 to 32 distinct names. */
export const TierLevelsSchema = z
  .array(TierLevelSchema)
  .min(1)
  .max(32)
  .refine((l) => new Set(l).size === l.length, 'each level once');

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
