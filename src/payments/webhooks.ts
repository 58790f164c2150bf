/**
 * Provider webhooks, Stripe's scheme: the signature header is `t=<unix seconds>,v1=<hex>`, where
 * `v1` is HMAC-SHA256 (key: the endpoint's secret) over `${t}.${body}`. A header may carry
 * several `v1` (during a secret rotation); one matching is enough. A timestamp further than the
 * tolerance (default 300 s) from now, either way, is refused: a captured request cannot be
 * replayed later.
 *
 * Within the tolerance the same signed request can be sent again, so the caller dedups on the
 * event id: `webhookReplayKey(provider, event.id)`, remembered for at least twice the tolerance
 * (`WEBHOOK_TOLERANCE_SECONDS`), which covers clock skew both ways.
 */
import { z } from 'zod';
import type { ProviderEvent } from './types';

export const WEBHOOK_TOLERANCE_SECONDS = 300;
/** Larger bodies are refused before any HMAC work. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
const MAX_SIGNATURE_HEADER_LENGTH = 1024;
const MAX_SIGNATURES = 5;

export type WebhookFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'timestamp_out_of_tolerance'
  | 'signature_mismatch'
  | 'payload_too_large'
  | 'malformed_payload';

/** A webhook that must be refused (answer 400; do not process it). */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;
  constructor(reason: WebhookFailure) {
    super(`webhook refused: ${reason}`);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    [usage],
  );
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length !== 64 || !/^[0-9a-f]+$/.test(text)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The signature header for `body` at `timestampSec`: `t=<timestampSec>,v1=<hex>`. */
export async function signWebhook(
  secret: string,
  body: string,
  timestampSec: number,
): Promise<string> {
  const t = Math.floor(timestampSec);
  const key = await hmacKey(secret, 'sign');
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${t}.${body}`));
  return `t=${t},v1=${hex(new Uint8Array(mac))}`;
}

function parseSignatureHeader(header: string): { t: number; v1: Uint8Array<ArrayBuffer>[] } {
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) {
    throw new WebhookVerificationError('malformed_signature');
  }
  let t: number | undefined;
  const v1: Uint8Array<ArrayBuffer>[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (t !== undefined || !/^[0-9]{1,12}$/.test(value)) {
        throw new WebhookVerificationError('malformed_signature');
      }
      t = Number(value);
    } else if (name === 'v1') {
      const bytes = fromHex(value);
      // Unparseable v1 entries are ignored (as Stripe does for schemes it does not know).
      if (bytes && v1.length < MAX_SIGNATURES) v1.push(bytes);
    }
  }
  if (t === undefined || v1.length === 0) throw new WebhookVerificationError('malformed_signature');
  return { t, v1 };
}

/**
 * Verifies a signature header over the raw body at `nowSec`. Resolves with the signed timestamp;
 * rejects with `WebhookVerificationError` otherwise. Comparison is constant-time
 * (`crypto.subtle.verify`).
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowSec: number,
  toleranceSec = WEBHOOK_TOLERANCE_SECONDS,
): Promise<{ timestamp: number }> {
  if (header === null || header === undefined || header === '') {
    throw new WebhookVerificationError('missing_signature');
  }
  const data = encoder.encode(body);
  if (data.byteLength > MAX_WEBHOOK_BODY_BYTES) {
    throw new WebhookVerificationError('payload_too_large');
  }
  const { t, v1 } = parseSignatureHeader(header);
  if (Math.abs(nowSec - t) > toleranceSec) {
    throw new WebhookVerificationError('timestamp_out_of_tolerance');
  }
  const key = await hmacKey(secret, 'verify');
  const signed = encoder.encode(`${t}.${body}`);
  for (const sig of v1) {
    if (await crypto.subtle.verify('HMAC', key, sig, signed)) return { timestamp: t };
  }
  throw new WebhookVerificationError('signature_mismatch');
}

/**
 * The event body: `{ id, type, created, data: { providerChargeId, amount?, reference?, refundId?,
 * declineCode? } }`. Read tolerantly
 * (unknown fields are ignored: providers add them).
 */
const EventBodySchema = z.object({
  id: z.string().min(1).max(255),
  type: z.enum(['charge.captured', 'charge.failed', 'charge.refunded']),
  created: z.number().int().nonnegative().optional(),
  data: z.object({
    providerChargeId: z.string().min(1).max(255),
    amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    reference: z.string().min(1).max(255).optional(),
    refundId: z.string().min(1).max(255).optional(),
    declineCode: z.string().min(1).max(64).optional(),
  }),
});

/** Parses a (verified) event body; rejects with `malformed_payload`. */
export function parseProviderEvent(body: string): ProviderEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new WebhookVerificationError('malformed_payload');
  }
  const parsed = EventBodySchema.safeParse(json);
  if (!parsed.success) throw new WebhookVerificationError('malformed_payload');
  const { id, type, data } = parsed.data;
  const event: ProviderEvent = { id, type, providerChargeId: data.providerChargeId };
  if (data.amount !== undefined) event.amount = data.amount;
  if (data.reference !== undefined) event.reference = data.reference;
  if (data.refundId !== undefined) event.providerRefundId = data.refundId;
  if (data.declineCode !== undefined) event.declineCode = data.declineCode;
  return event;
}

/** The body of an event, as `parseProviderEvent` reads it. */
export function serializeProviderEvent(event: ProviderEvent, createdSec: number): string {
  const data: {
    providerChargeId: string;
    amount?: number;
    reference?: string;
    refundId?: string;
    declineCode?: string;
  } = { providerChargeId: event.providerChargeId };
  if (event.amount !== undefined) data.amount = event.amount;
  if (event.reference !== undefined) data.reference = event.reference;
  if (event.providerRefundId !== undefined) data.refundId = event.providerRefundId;
  if (event.declineCode !== undefined) data.declineCode = event.declineCode;
  return JSON.stringify({ id: event.id, type: event.type, created: Math.floor(createdSec), data });
}

/** The key a receiver dedups deliveries on: event ids are unique per provider only. */
export function webhookReplayKey(provider: string, eventId: string): string {
  return `${provider}:${eventId}`;
}
