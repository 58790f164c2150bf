import { z } from '@hono/zod-openapi';
import { type TextControls, textProblem } from '../lib/text';

/**
 * The string schema for every free-form text input (path, query and body): at most `max`
 * characters, no U+0000, no lone surrogates and no control characters (`controls: 'multiline'`
 * lets free text keep tabs and line breaks). Chain `.trim()`, `.min()`, `.optional()` as needed.
 */
export function safeText({ max, controls = 'none' }: { max: number; controls?: TextControls }) {
  return z
    .string()
    .max(max)
    .superRefine((s, ctx) => {
      const message = textProblem(s, controls);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://azotte.dev/problems/unknown_host' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** The problems every storefront route may answer with. */
export const storefrontProblems = {
  400: problem('A header or parameter is malformed'),
  401: problem('Missing, malformed, unknown, revoked or expired API key'),
  403: problem('The key may not be used for this endpoint or channel'),
  404: problem('Unknown host, storefront or path prefix'),
  429: problem('A rate limit (per key, client address or customer) is reached; see Retry-After'),
  431: problem('A header is too large'),
  503: problem('Configuration unavailable, or a killswitch is engaged'),
} as const;

export const StorefrontHeadersSchema = z.object({
  'x-storefront': z
    .string()
    .optional()
    .openapi({ description: 'Storefront slug or id, within the tenant of the host' }),
});

export const ResolvedStorefrontSchema = z
  .object({
    id: z.string().openapi({ example: 'sf_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
    slug: z.string().openapi({ example: 'us-store' }),
    name: z.string(),
    tenantId: z.string(),
    tenant: z.string().openapi({ example: 'globalcorp' }),
    channel: z.enum(['web', 'mobile', 'partner', 'ott']),
    currency: z.string().openapi({ example: 'USD' }),
    region: z.string().openapi({ example: 'US' }),
    locale: z.string().openapi({ example: 'en-US' }),
    resolvedBy: z.enum(['host', 'path', 'header', 'geo', 'default']),
    configVersion: z.number().int(),
  })
  .openapi('Storefront');
