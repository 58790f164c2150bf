/**
 * The errors of the domain, below any transport. Services and Durable Objects throw these when
 * a request cannot be done as asked (no such thing, the thing is in the wrong state, the input
 * breaks a rule, the provider declined); they know nothing of HTTP. One mapper next to
 * `ApiError` (src/errors.ts, `apiErrorOf`) turns them into problem responses, and a queue
 * consumer or an alarm may handle them its own way (retry an `unavailable`, drop a `not_found`).
 *
 * Each error has a `kind` (what the caller can do about it, and so its problem type) and a
 * stable `code` naming the particular refusal (`api_key_revoked`); the code defaults to the kind.
 *
 * An error thrown inside a Durable Object loses its class and its fields on the way back over
 * RPC (the caller sees a plain `Error` with the message). So an object's RPC method answers an
 * {@link Outcome} instead: {@link asOutcome} around its work in the object, {@link unwrap} in the
 * caller, which throws the same domain error again on this side.
 */

/** One input field that broke a rule, by its dotted path (`items.0.qty`). */
export interface FieldError {
  path: string;
  message: string;
}

export type DomainErrorKind = SerializedDomainError['kind'];

/**
 * A domain error as data: what crosses RPC (and a queue, or storage) in place of the error.
 * Structured-cloneable; every member but `payment` is also JSON.
 */
export type SerializedDomainError =
  | { kind: 'not_found'; code: string; message: string }
  | { kind: 'conflict'; code: string; message: string }
  | {
      kind: 'invalid_state';
      code: string;
      message: string;
      state: string;
      allowed?: readonly string[];
    }
  | { kind: 'validation'; code: string; message: string; errors: readonly FieldError[] }
  | {
      kind: 'payment_declined';
      code: string;
      message: string;
      payment: unknown;
      declineCode: string | null;
    }
  | { kind: 'idempotency_key_reused'; code: string; message: string }
  | { kind: 'unavailable'; code: string; message: string; retryAfterSeconds?: number };

/** Options every domain error takes. */
export interface DomainErrorOptions {
  /** A stable, specific code (snake_case) for this refusal; defaults to the error's kind. */
  code?: string;
  cause?: unknown;
}

/** The base of every domain error. Switch on `kind`, never on the message. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  readonly #code: string | undefined;

  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.#code = options.code;
  }

  /** The specific code the thrower gave, else the kind. */
  get code(): string {
    return this.#code ?? this.kind;
  }

  /** The error as data, for an {@link Outcome} (see {@link domainErrorFrom} for the reverse). */
  abstract serialize(): SerializedDomainError;
}

/** The thing asked for does not exist (or the caller must not learn that it does). */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  serialize(): SerializedDomainError {
    return { kind: this.kind, code: this.code, message: this.message };
  }
}

/** The request clashes with what exists (a duplicate, a concurrent change). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  serialize(): SerializedDomainError {
    return { kind: this.kind, code: this.code, message: this.message };
  }
}

/**
 * The thing exists but its current state does not allow this (refunding a payment that did not
 * succeed, pausing a cancelled subscription). Carries the state, so the caller can show it
 * without a second read, and optionally the states that would have allowed it.
 */
export class InvalidStateError extends DomainError {
  readonly kind = 'invalid_state';
  readonly state: string;
  readonly allowed: readonly string[] | undefined;

  constructor(
    message: string,
    options: DomainErrorOptions & { state: string; allowed?: readonly string[] },
  ) {
    super(message, options);
    this.state = options.state;
    this.allowed = options.allowed;
  }

  serialize(): SerializedDomainError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      state: this.state,
      ...(this.allowed ? { allowed: [...this.allowed] } : {}),
    };
  }
}

/** The input breaks a rule of the domain (beyond its schema), field by field. */
export class ValidationError extends DomainError {
  readonly kind = 'validation';
  readonly errors: readonly FieldError[];

  constructor(message: string, options: DomainErrorOptions & { errors?: readonly FieldError[] }) {
    super(message, options);
    this.errors = options.errors ?? [];
  }

  serialize(): SerializedDomainError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      errors: this.errors.map((e) => ({ ...e })),
    };
  }
}

/**
 * A payment was declined, or failed at every provider tried. Carries what the caller answers
 * with: the payment as the API shows it (`payment`, structured-cloneable) and the decline code.
 */
export class PaymentDeclinedError<P = unknown> extends DomainError {
  readonly kind = 'payment_declined';
  readonly payment: P;
  readonly declineCode: string | null;

  constructor(
    message: string,
    options: DomainErrorOptions & { payment: P; declineCode: string | null },
  ) {
    super(message, options);
    this.payment = options.payment;
    this.declineCode = options.declineCode;
  }

  serialize(): SerializedDomainError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      payment: this.payment,
      declineCode: this.declineCode,
    };
  }
}

/** An idempotency key came back with different terms than it was first used with. */
export class IdempotencyKeyReusedError extends DomainError {
  readonly kind = 'idempotency_key_reused';
  serialize(): SerializedDomainError {
    return { kind: this.kind, code: this.code, message: this.message };
  }
}

/**
 * Something the request needs is not available now (a provider, a config that must be fixed);
 * the same request may succeed later, after `retryAfterSeconds` when given.
 */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: DomainErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  serialize(): SerializedDomainError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      ...(this.retryAfterSeconds === undefined
        ? {}
        : { retryAfterSeconds: this.retryAfterSeconds }),
    };
  }
}

/** The error again from its data (the far side of an {@link Outcome}). */
export function domainErrorFrom(data: SerializedDomainError): DomainError {
  // A code equal to the kind is the default: keep it implicit, as the thrower had it.
  const code = data.code === data.kind ? undefined : data.code;
  switch (data.kind) {
    case 'not_found':
      return new NotFoundError(data.message, { code });
    case 'conflict':
      return new ConflictError(data.message, { code });
    case 'invalid_state':
      return new InvalidStateError(data.message, {
        code,
        state: data.state,
        allowed: data.allowed,
      });
    case 'validation':
      return new ValidationError(data.message, { code, errors: data.errors });
    case 'payment_declined':
      return new PaymentDeclinedError(data.message, {
        code,
        payment: data.payment,
        declineCode: data.declineCode,
      });
    case 'idempotency_key_reused':
      return new IdempotencyKeyReusedError(data.message, { code });
    case 'unavailable':
      return new UnavailableError(data.message, {
        code,
        retryAfterSeconds: data.retryAfterSeconds,
      });
    default:
      return assertNever(data);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown domain error ${JSON.stringify(value)}`);
}

/**
 * A call's result, or the domain error it ran into, as data: what a Durable Object's RPC method
 * answers, since a thrown error loses its class across RPC.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SerializedDomainError };

/**
 * Runs `run`; its result, or the {@link DomainError} it threw, as an {@link Outcome}. Any other
 * error (a bug, an outage) is thrown as it was: it is not an answer, and the caller's error
 * handling (a 500, a retried alarm) applies.
 */
export async function asOutcome<T>(run: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof DomainError) return { ok: false, error: err.serialize() };
    throw err;
  }
}

/** The outcome's value; or its domain error, thrown again (as its own class) on this side. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw domainErrorFrom(outcome.error);
}
