/**
 * Receiving a provider's webhook: verify its signature with the provider's adapter, then hand
 * the event to the payment it names (`reference`), whose object applies it once — a delivery
 * of an event id it has applied already has no effect (`duplicate`). Transport-free: the HTTP
 * endpoint (`POST /webhooks/{mode}/{tenant}/{provider}`) and the sandbox providers' own
 * delivery call this with the raw body and headers.
 */
import type { Env } from '../../env';
import { ApiError } from '../../errors';
import { isSandboxProvider } from '../../payments/sandbox';
import type { Mode, ProviderAdapter, ProviderEvent } from '../../payments/types';
import { WebhookVerificationError } from '../../payments/webhooks';
import { sandboxAdapterFor } from './adapters';

export interface WebhookDelivery {
  mode: Mode;
  tenantId: string;
  provider: string;
  headers: Headers;
  /** The raw body, exactly as signed. */
  body: string;
}

/**
 * What a delivery came to. `applied`: it changed the payment (resolved an unknown outcome,
 * recorded a refund made at the provider, refunded a stray capture); `unchanged`: the payment
 * knew it already; `duplicate`: this event id was applied before; `ignored`: it names no
 * payment of this tenant and mode (acknowledged, so the provider stops sending it); `retry`:
 * the payment is mid-charge — answered with a 503 so the provider delivers it again.
 */
export type WebhookEffect = 'applied' | 'unchanged' | 'duplicate' | 'ignored' | 'retry';

export interface WebhookReceipt {
  received: true;
  eventId: string;
  type: ProviderEvent['type'];
  effect: WebhookEffect;
  paymentId: string | null;
  detail: string;
}

const PAYMENT_ID_RE = /^pay_[0-9A-Z]{26}$/;

function adapterFor(env: Env, delivery: WebhookDelivery): ProviderAdapter {
  if (delivery.mode === 'test' && isSandboxProvider(delivery.provider)) {
    return sandboxAdapterFor(env, { tenantId: delivery.tenantId, provider: delivery.provider });
  }
  throw new ApiError(
    'not_found',
    delivery.mode === 'live'
      ? `No live adapter is registered for ${delivery.provider}, so it has no webhook endpoint.`
      : `No sandbox provider ${delivery.provider}.`,
  );
}

export async function receiveProviderWebhook(
  env: Env,
  delivery: WebhookDelivery,
): Promise<WebhookReceipt> {
  const adapter = adapterFor(env, delivery);
  let event: ProviderEvent;
  try {
    event = await adapter.verifyWebhook(delivery.headers, delivery.body);
  } catch (err) {
    if (err instanceof WebhookVerificationError) {
      throw new ApiError('webhook_rejected', webhookFailureDetail(err.reason), {
        extensions: { reason: err.reason },
      });
    }
    throw err;
  }
  const base = { received: true as const, eventId: event.id, type: event.type };
  const paymentId = event.reference;
  if (paymentId === undefined || !PAYMENT_ID_RE.test(paymentId)) {
    return {
      ...base,
      effect: 'ignored',
      paymentId: null,
      detail: 'The event names no payment of this platform (no reference).',
    };
  }
  const stub = env.PAYMENT.get(env.PAYMENT.idFromName(paymentId));
  const applied = await stub.applyEvent({
    tenantId: delivery.tenantId,
    mode: delivery.mode,
    provider: delivery.provider,
    event,
  });
  return { ...base, paymentId, ...applied };
}

function webhookFailureDetail(reason: WebhookVerificationError['reason']): string {
  switch (reason) {
    case 'missing_signature':
      return 'The signature header is missing.';
    case 'malformed_signature':
      return 'The signature header is not `t=<unix seconds>,v1=<hex HMAC-SHA256>`.';
    case 'timestamp_out_of_tolerance':
      return 'The signed timestamp is more than 300 s from now: a delayed or replayed delivery.';
    case 'signature_mismatch':
      return 'No signature matches the body under this endpoint’s secret.';
    case 'payload_too_large':
      return 'The body is larger than 64 KiB.';
    case 'malformed_payload':
      return 'The body is not an event this endpoint understands.';
  }
}
