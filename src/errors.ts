import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, type FieldError } from './domain/errors';

export type { FieldError } from './domain/errors';

/**
 * Every problem the API can answer with. The key is the stable `type` slug
 * (`https://azotte.dev/problems/<slug>`); clients may switch on it.
 */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_header: { status: 400, title: 'A request header is malformed' },
  header_too_large: { status: 431, title: 'A request header is too large' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  token_revoked: {
    status: 401,
    title: 'The token was revoked; get a new one',
  },
  forbidden: { status: 403, title: 'Not allowed' },
  key_mode_mismatch: {
    status: 403,
    title: 'Not available in the API key’s mode (test or live)',
  },
  not_found: { status: 404, title: 'Not found' },
  unknown_host: { status: 404, title: 'No storefront is served on this host' },
  storefront_not_found: { status: 404, title: 'Storefront not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  invalid_state: {
    status: 409,
    title: 'Not possible in the resource’s current state (see `state`)',
  },
  payment_declined: { status: 402, title: 'The payment was declined or failed' },
  webhook_rejected: { status: 400, title: 'The webhook’s signature or body was refused' },
  webhook_retry_later: {
    status: 503,
    title: 'The webhook cannot be applied yet; deliver it again',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'The Idempotency-Key was used with a different request',
  },
  idempotency_in_progress: {
    status: 409,
    title: 'A request with this Idempotency-Key is still in progress',
  },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  config_budget_exceeded: {
    status: 422,
    title: 'The change would make the tenant’s published configuration too large',
  },
  config_not_published: {
    status: 422,
    title: 'The change was saved, but the tenant’s configuration could not be published',
  },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  slots_exhausted: { status: 409, title: 'Every granted slot is taken' },
  quota_exhausted: {
    status: 429,
    title: 'The quota would be exceeded; nothing was consumed (see `resetsAt`)',
  },
  killswitch_engaged: { status: 503, title: 'Temporarily switched off' },
  config_unavailable: { status: 503, title: 'Storefront configuration is unavailable' },
  host_lookup_throttled: { status: 503, title: 'Too many unknown hosts at this edge; retry' },
  unavailable: { status: 503, title: 'Temporarily unavailable; retry later' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_BASE = 'https://azotte.dev/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/**
 * The error type routes throw; `onError` turns it into `application/problem+json`. Below the
 * routes, services and Durable Objects throw domain errors (src/domain/errors.ts) instead, which
 * `onError` maps through {@link apiErrorOf}.
 */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly status: ContentfulStatusCode;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    } = {},
  ) {
    super(detail);
    this.name = 'ApiError';
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }
}

/**
 * The problem a domain error (src/domain/errors.ts) is answered with: the one place that knows
 * both. The kind picks the problem type; a specific code is the `code` member; what the error
 * carries becomes members of the problem (`state` and `allowed` of an invalid state, the
 * `payment` and `declineCode` of a decline, the field `errors` of a validation error) or a
 * header (`Retry-After` of an unavailable).
 */
export function apiErrorOf(err: DomainError): ApiError {
  const e = err.serialize();
  const code = e.code === e.kind ? {} : { code: e.code };
  switch (e.kind) {
    case 'not_found':
      return new ApiError('not_found', e.message, { extensions: code });
    case 'conflict':
      return new ApiError('conflict', e.message, { extensions: code });
    case 'invalid_state':
      return new ApiError('invalid_state', e.message, {
        extensions: { ...code, state: e.state, ...(e.allowed ? { allowed: e.allowed } : {}) },
      });
    case 'validation':
      return new ApiError('validation_failed', e.message, {
        errors: [...e.errors],
        extensions: code,
      });
    case 'payment_declined':
      return new ApiError('payment_declined', e.message, {
        extensions: { ...code, payment: e.payment, declineCode: e.declineCode },
      });
    case 'idempotency_key_reused':
      return new ApiError('idempotency_key_reused', e.message, { extensions: code });
    case 'unavailable':
      return new ApiError('unavailable', e.message, {
        extensions: code,
        headers:
          e.retryAfterSeconds === undefined
            ? undefined
            : { 'retry-after': String(Math.max(1, Math.ceil(e.retryAfterSeconds))) },
      });
    default:
      return unknownKind(e);
  }
}

function unknownKind(e: never): never {
  throw new Error(`no problem for domain error ${JSON.stringify(e)}`);
}

/**
 * `err` as the API error it is answered with: an {@link ApiError} as it is, a domain error
 * through {@link apiErrorOf}; anything else (a bug, an outage) is not an answer: undefined.
 */
export function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return apiErrorOf(err);
  return undefined;
}

export function problemBody(
  code: ProblemCode,
  detail: string,
  extra: { instance?: string; requestId?: string; errors?: FieldError[] } & Record<
    string,
    unknown
  > = {},
): ProblemBody {
  const { title, status } = PROBLEMS[code];
  const body: ProblemBody = { type: PROBLEM_BASE + code, title, status, detail };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) body[k] = v;
  return body;
}

/** The problem body of an {@link ApiError} answered at `instance`. */
export function apiErrorBody(err: ApiError, instance: string, requestId: string): ProblemBody {
  return problemBody(err.code, err.message, {
    instance,
    requestId,
    errors: err.errors,
    ...err.extensions,
  });
}

export function problemResponse(
  code: ProblemCode,
  detail: string,
  extra: Parameters<typeof problemBody>[2] = {},
  headers: Record<string, string> = {},
): Response {
  const body = problemBody(code, detail, extra);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

/** zod issues → `path: message` field errors (`items.0.qty`). */
export function fieldErrors(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): FieldError[] {
  return issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
}
