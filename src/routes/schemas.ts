import { z } from '@hono/zod-openapi';
import { channelEnum } from '../db/schema/enums';
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
    code: z
      .string()
      .optional()
      .openapi({ description: 'A stable code naming the particular refusal, when it has one' }),
    state: z.string().optional().openapi({
      description: 'The resource’s current state (an `invalid_state` problem)',
      example: 'cancelled',
    }),
  })
  .openapi('Problem');

/** An OpenAPI response that is an RFC 9457 problem. */
export const problem = (description: string) => ({
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
    channel: z.enum(channelEnum.enumValues),
    currency: z.string().openapi({ example: 'USD' }),
    region: z.string().openapi({ example: 'US' }),
    locale: z.string().openapi({ example: 'en-US' }),
    resolvedBy: z.enum(['host', 'path', 'header', 'geo', 'default']),
    configVersion: z.number().int(),
  })
  .openapi('Storefront');

/** Response headers of a cacheable storefront read (200 and 304 alike). */
export const CachingHeadersDoc = {
  ETag: {
    description: 'Weak validator of the body; send it back in `If-None-Match` to get a 304',
    schema: { type: 'string' as const, example: 'W/"1k3x9c0f2ab"' },
  },
  'Cache-Control': {
    description: 'The storefront’s cache policy for this resource and the client’s channel',
    schema: { type: 'string' as const, example: 'private, max-age=60, stale-while-revalidate=300' },
  },
};

/** The conditional-GET answer of a cacheable read. */
export const notModifiedResponse = {
  304: {
    description:
      '`If-None-Match` matched the current `ETag` (weak comparison; a list or `*` too). No body; the same `ETag`, `Cache-Control` and `Vary` as the 200. Authentication and rate limits apply as for the 200.',
    headers: CachingHeadersDoc,
  },
} as const;
