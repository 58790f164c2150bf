/**
 * Where payment providers deliver their webhooks: `POST /webhooks/{mode}/{tenant}/{provider}`.
 * No API key: the provider's signature over the raw body is the credential (verified by the
 * provider's adapter with the tenant's endpoint secret), and a delivery of an event id already
 * applied has no effect. The work is in src/services/payments/webhooks.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../../app';
import { ApiError } from '../../errors';
import { SANDBOX_SIGNATURE_HEADER } from '../../payments/sandbox';
import { receiveProviderWebhook } from '../../services/payments/webhooks';
import { problem } from '../schemas';

const ReceiptSchema = z
  .object({
    received: z.literal(true),
    eventId: z.string(),
    type: z.enum(['charge.captured', 'charge.failed', 'charge.refunded']),
    effect: z.enum(['applied', 'unchanged', 'duplicate', 'ignored']),
    paymentId: z.string().nullable(),
    detail: z.string(),
  })
  .openapi('WebhookReceipt');

export const webhookRoutes = newRouter().openapi(
  createRoute({
    method: 'post',
    path: '/webhooks/{mode}/{tenant}/{provider}',
    tags: ['Payments'],
    summary: 'Receive a payment provider’s webhook (signed; a replayed event has no effect)',
    description:
      'The endpoint a provider is configured to call for one tenant, in test or live mode. ' +
      `The signature (sandbox providers: \`${SANDBOX_SIGNATURE_HEADER}: t=<unix s>,v1=<hex>\`, ` +
      'HMAC-SHA256 over `<t>.<body>` with the endpoint secret shown by ' +
      '`GET /admin/v1/tenants/{tenant}/sandbox/providers/{provider}`) must verify and be within ' +
      '300 s of now. The event is applied to the payment it names, once: it settles a payment ' +
      'whose outcome was unknown, records a refund made at the provider, and refunds a capture ' +
      'beside the payment’s result. 200 for every event taken (even one with no effect, so the ' +
      'provider stops sending it); 503 when it should be delivered again later.',
    request: {
      params: z.object({
        mode: z.enum(['test', 'live']),
        tenant: z
          .string()
          .regex(/^ten_[0-9A-Z]{26}$/, 'a tenant id (ten_…)')
          .openapi({ example: 'ten_01JD8Y3W5T6X2Q9R4M7N8P0K1A' }),
        provider: z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a provider name')
          .openapi({ example: 'stripe' }),
      }),
      body: {
        required: true,
        content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
      },
    },
    responses: {
      200: {
        description: 'Taken',
        content: { 'application/json': { schema: ReceiptSchema } },
      },
      400: problem('Signature or body refused (`webhook_rejected`, with its `reason`)'),
      404: problem('No such provider in this mode'),
      413: problem('Body larger than 64 KiB'),
      503: problem('Not applied yet: deliver it again (`webhook_retry_later`)'),
    },
  }),
  async (c) => {
    const { mode, tenant, provider } = c.req.valid('param');
    const receipt = await receiveProviderWebhook(c.env, {
      mode,
      tenantId: tenant,
      provider,
      headers: c.req.raw.headers,
      body: await c.req.text(),
    });
    const { effect } = receipt;
    if (effect === 'retry') {
      throw new ApiError('webhook_retry_later', receipt.detail, {
        headers: { 'retry-after': '5' },
      });
    }
    return c.json({ ...receipt, effect }, 200);
  },
);
