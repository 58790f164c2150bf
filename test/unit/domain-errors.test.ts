import { describe, expect, it } from 'vitest';
import { problemFromError } from '../../src/app';
import {
  asOutcome,
  ConflictError,
  type DomainError,
  domainErrorFrom,
  IdempotencyKeyReusedError,
  InvalidStateError,
  NotFoundError,
  type Outcome,
  PaymentDeclinedError,
  type SerializedDomainError,
  UnavailableError,
  unwrap,
  ValidationError,
} from '../../src/domain/errors';
import { ApiError, apiErrorOf, asApiError } from '../../src/errors';

const problemOf = async (err: unknown) => {
  const res = problemFromError(err, 'req_test12345', '/v1/things/1');
  return { res, body: (await res.json()) as Record<string, unknown> };
};

describe('domain errors → problems (apiErrorOf)', () => {
  it('maps each kind to its problem type and status', () => {
    const cases: [DomainError, string, number][] = [
      [new NotFoundError('No such thing.'), 'not_found', 404],
      [new ConflictError('Already there.'), 'conflict', 409],
      [new InvalidStateError('It is cancelled.', { state: 'cancelled' }), 'invalid_state', 409],
      [new ValidationError('Bad.', { errors: [] }), 'validation_failed', 400],
      [
        new PaymentDeclinedError('Declined.', { payment: {}, declineCode: 'insufficient_funds' }),
        'payment_declined',
        402,
      ],
      [new IdempotencyKeyReusedError('Other terms.'), 'idempotency_key_reused', 422],
      [new UnavailableError('Later.'), 'unavailable', 503],
    ];
    for (const [err, code, status] of cases) {
      const api = apiErrorOf(err);
      expect({ code: api.code, status: api.status, detail: api.message }).toEqual({
        code,
        status,
        detail: err.message,
      });
    }
  });

  it('an invalid state names the current state (and what would have allowed it)', async () => {
    const err = new InvalidStateError(
      'Only a succeeded payment can be refunded; this one is declined.',
      {
        state: 'declined',
        allowed: ['succeeded'],
        code: 'payment_not_refundable',
      },
    );
    const { res, body } = await problemOf(err);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(body).toEqual({
      type: 'https://azotte.dev/problems/invalid_state',
      title: expect.any(String),
      status: 409,
      detail: 'Only a succeeded payment can be refunded; this one is declined.',
      instance: '/v1/things/1',
      requestId: 'req_test12345',
      code: 'payment_not_refundable',
      state: 'declined',
      allowed: ['succeeded'],
    });
  });

  it('a code equal to the kind is not repeated as a member', async () => {
    const { body } = await problemOf(new NotFoundError('No customer cus_1 in this storefront.'));
    expect(body.type).toBe('https://azotte.dev/problems/not_found');
    expect(body).not.toHaveProperty('code');
    expect(body.detail).toBe('No customer cus_1 in this storefront.');
  });

  it('carries field errors, a decline’s payment and code, and Retry-After', async () => {
    const validation = await problemOf(
      new ValidationError('The refund may be at most 500.', {
        errors: [{ path: 'amount', message: 'at most 500' }],
      }),
    );
    expect(validation.body.errors).toEqual([{ path: 'amount', message: 'at most 500' }]);

    const payment = { id: 'pay_1', status: 'declined', attempts: [] };
    const declined = await problemOf(
      new PaymentDeclinedError('The card was declined.', {
        payment,
        declineCode: 'card_declined',
      }),
    );
    expect(declined.res.status).toBe(402);
    expect(declined.body).toMatchObject({ payment, declineCode: 'card_declined' });

    const later = await problemOf(
      new UnavailableError('The provider is down.', { retryAfterSeconds: 2.5 }),
    );
    expect(later.res.status).toBe(503);
    expect(later.res.headers.get('retry-after')).toBe('3');
    // A domain message is written for the caller, so a 503 keeps it (unlike an internal error).
    expect(later.body.detail).toBe('The provider is down.');
  });

  it('ApiError passes as it is; anything else is not an answer (a 500 without its message)', async () => {
    const api = new ApiError('forbidden', 'No.');
    expect(asApiError(api)).toBe(api);
    expect(asApiError(new Error('db password in here'))).toBeUndefined();
    const { res, body } = await problemOf(new Error('db password in here'));
    expect(res.status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('password');
  });
});

describe('Outcome', () => {
  it('round-trips every kind as data, and unwrap throws the same error again', async () => {
    const errors: DomainError[] = [
      new NotFoundError('a', { code: 'customer_not_found' }),
      new ConflictError('b'),
      new InvalidStateError('c', { state: 'paused', allowed: ['active'] }),
      new ValidationError('d', { errors: [{ path: 'x.0', message: 'no' }] }),
      new PaymentDeclinedError('e', { payment: { id: 'pay_1' }, declineCode: null }),
      new IdempotencyKeyReusedError('f'),
      new UnavailableError('g', { retryAfterSeconds: 60 }),
    ];
    for (const err of errors) {
      const outcome = await asOutcome(() => {
        throw err;
      });
      // What RPC does to a value: the structured clone (a class would not survive it).
      const cloned: Outcome<never> = structuredClone(outcome);
      expect(cloned).toEqual({ ok: false, error: err.serialize() });
      let thrown: unknown;
      try {
        unwrap(cloned);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(err.constructor);
      expect((thrown as DomainError).serialize()).toEqual(err.serialize());
      expect((thrown as DomainError).code).toBe(err.code);
      expect(apiErrorOf(thrown as DomainError)).toEqual(apiErrorOf(err));
    }
  });

  it('passes a value through, and rethrows anything that is not a domain error', async () => {
    expect(await asOutcome(async () => 42)).toEqual({ ok: true, value: 42 });
    expect(unwrap({ ok: true, value: 'x' })).toBe('x');
    await expect(
      asOutcome(() => {
        throw new TypeError('a bug');
      }),
    ).rejects.toThrow(TypeError);
  });

  it('revives what was serialized elsewhere', () => {
    const data: SerializedDomainError = {
      kind: 'invalid_state',
      code: 'subscription_cancelled',
      message: 'This subscription is cancelled.',
      state: 'cancelled',
    };
    const err = domainErrorFrom(data);
    expect(err).toBeInstanceOf(InvalidStateError);
    expect((err as InvalidStateError).state).toBe('cancelled');
    expect(err.name).toBe('InvalidStateError');
  });
});
