import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attemptIdempotencyKey, executePayment } from '../../src/payments/execute';
import { decide, PaymentRoutingSchema } from '../../src/payments/routing';
import type {
  Attempt,
  ChargeOutcome,
  ChargeRequest,
  ProviderAdapter,
  StoredPaymentMethod,
} from '../../src/payments/types';

const METHOD: StoredPaymentMethod = {
  id: 'pm_1',
  mode: 'test',
  type: 'card',
  card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
  fingerprint: 'f'.repeat(64),
};

const REQUEST: Omit<ChargeRequest, 'idempotencyKey'> = {
  tenantId: 'ten_1',
  storefrontId: 'sf_1',
  amount: 1000,
  currency: 'USD',
  country: 'US',
  paymentMethod: METHOD,
};

type Direct = 'captured' | 'declined' | 'error' | 'failed';
/** What a provider does with one charge, and what its lookup says afterwards. */
interface Script {
  /** The answer the executor sees: an outcome, an `unknown`, a throw, or no answer at all. */
  answer: Direct | 'unknown' | 'throw' | 'hang';
  /** When the answer is not direct: what the provider really did. */
  actually: Direct | 'nothing';
  lookup: 'answers' | 'throws' | 'unknown' | 'hangs';
}

/** A world of fake providers that counts the captures really made. */
class World {
  readonly captures: { provider: string; key: string; id: string }[] = [];
  readonly log: string[] = [];
  private readonly done = new Map<string, ChargeOutcome>();

  adapter(name: string, script: Script, mode: 'test' | 'live' = 'test'): ProviderAdapter {
    const world = this;
    const outcome = (what: Direct, key: string): ChargeOutcome => {
      switch (what) {
        case 'captured': {
          const id = `ch_${name}_${world.captures.length}`;
          world.captures.push({ provider: name, key, id });
          return { status: 'captured', providerChargeId: id, latencyMs: 1 };
        }
        case 'declined':
          return {
            status: 'declined',
            declineCode: 'insufficient_funds',
            declineClass: 'issuer',
            latencyMs: 1,
          };
        case 'error':
          return {
            status: 'error',
            declineCode: 'provider_unavailable',
            declineClass: 'provider',
            latencyMs: 1,
          };
        case 'failed':
          return { status: 'failed', declineCode: 'weird', latencyMs: 1 };
      }
    };
    return {
      name,
      mode,
      capabilities: { methods: ['card'], currencies: '*', countries: '*' },
      timeoutMs: 5,
      async charge(req) {
        world.log.push(`charge:${name}`);
        expect(req.idempotencyKey).toBe(attemptIdempotencyKey('pay_1', name));
        const replay = world.done.get(req.idempotencyKey);
        if (replay) return replay;
        if (script.answer !== 'unknown' && script.answer !== 'throw' && script.answer !== 'hang') {
          const o = outcome(script.answer, req.idempotencyKey);
          world.done.set(req.idempotencyKey, o);
          return o;
        }
        if (script.actually !== 'nothing') {
          world.done.set(req.idempotencyKey, outcome(script.actually, req.idempotencyKey));
        }
        if (script.answer === 'throw') throw new Error('connection reset');
        if (script.answer === 'hang') return new Promise<ChargeOutcome>(() => {});
        return { status: 'unknown', latencyMs: 5 };
      },
      async lookup(key) {
        world.log.push(`lookup:${name}`);
        if (script.lookup === 'throws') throw new Error('lookup failed');
        if (script.lookup === 'hangs') return new Promise<ChargeOutcome | null>(() => {});
        if (script.lookup === 'unknown') return { status: 'unknown', latencyMs: 1 };
        return world.done.get(key) ?? null;
      },
      async refund() {
        throw new Error('not used');
      },
      async verifyWebhook() {
        throw new Error('not used');
      },
    };
  }
}

async function run(
  scripts: Record<string, Script | undefined>,
  order: string[],
  maxAttempts = 5,
): Promise<{
  world: World;
  result: Awaited<ReturnType<typeof executePayment>>;
  persisted: Attempt[];
}> {
  const world = new World();
  const adapters = new Map<string, ProviderAdapter>();
  for (const [name, script] of Object.entries(scripts)) {
    if (script) adapters.set(name, world.adapter(name, script));
  }
  const persisted: Attempt[] = [];
  const result = await executePayment({
    decision: { order },
    adapters: (p) => adapters.get(p),
    request: REQUEST,
    paymentId: 'pay_1',
    maxAttempts,
    graceMs: 5,
    onAttempt: async (a, i) => {
      world.log.push(`persist:${a.provider}`);
      expect(i).toBe(persisted.length);
      persisted.push(a);
    },
  });
  return { world, result, persisted };
}

const direct = (answer: Direct): Script => ({ answer, actually: 'nothing', lookup: 'answers' });
const timedOut = (actually: Script['actually'], lookup: Script['lookup'] = 'answers'): Script => ({
  answer: 'unknown',
  actually,
  lookup,
});

describe('executePayment', () => {
  it('a capture at the first provider is the result', async () => {
    const { result, world } = await run({ a: direct('captured'), b: direct('captured') }, [
      'a',
      'b',
    ]);
    expect(result).toEqual({
      status: 'succeeded',
      provider: 'a',
      providerChargeId: 'ch_a_0',
      attempts: [
        {
          provider: 'a',
          idempotencyKey: 'pay_1:a',
          status: 'captured',
          providerChargeId: 'ch_a_0',
          latencyMs: expect.any(Number),
        },
      ],
    });
    expect(world.log).toEqual(['charge:a', 'persist:a']);
  });

  it('an issuer decline never fails over', async () => {
    const { result, world } = await run({ a: direct('declined'), b: direct('captured') }, [
      'a',
      'b',
    ]);
    expect(result).toMatchObject({
      status: 'declined',
      provider: 'a',
      declineCode: 'insufficient_funds',
      declineClass: 'issuer',
    });
    expect(world.log).toEqual(['charge:a', 'persist:a']);
  });

  it('an unclassified error does not fail over', async () => {
    const { result } = await run({ a: direct('failed'), b: direct('captured') }, ['a', 'b']);
    expect(result).toMatchObject({ status: 'failed', provider: 'a', declineCode: 'weird' });
    expect(result.attempts).toHaveLength(1);
    expect(result.declineClass).toBeUndefined();
  });

  it('a provider error fails over, persisting each attempt first', async () => {
    const { result, world } = await run({ a: direct('error'), b: direct('captured') }, ['a', 'b']);
    expect(result).toMatchObject({
      status: 'succeeded',
      provider: 'b',
      providerChargeId: 'ch_b_0',
    });
    expect(result.attempts.map((a) => [a.provider, a.status])).toEqual([
      ['a', 'error'],
      ['b', 'captured'],
    ]);
    expect(world.log).toEqual(['charge:a', 'persist:a', 'charge:b', 'persist:b']);
  });

  it('stops at maxAttempts', async () => {
    const { result } = await run(
      { a: direct('error'), b: direct('error'), c: direct('captured') },
      ['a', 'b', 'c'],
      2,
    );
    expect(result).toMatchObject({
      status: 'failed',
      provider: 'b',
      declineCode: 'provider_unavailable',
      declineClass: 'provider',
    });
    expect(result.attempts).toHaveLength(2);
  });

  it('a timeout that captured is the result, with one capture, nothing tried elsewhere', async () => {
    const { result, world } = await run({ a: timedOut('captured'), b: direct('captured') }, [
      'a',
      'b',
    ]);
    expect(result).toMatchObject({
      status: 'succeeded',
      provider: 'a',
      providerChargeId: 'ch_a_0',
    });
    expect(result.attempts).toEqual([
      expect.objectContaining({ provider: 'a', status: 'captured', lookedUp: true }),
    ]);
    expect(world.captures).toHaveLength(1);
    expect(world.log).toEqual(['charge:a', 'lookup:a', 'persist:a']);
  });

  it('a timeout that charged nothing fails over, as an error', async () => {
    const { result, world } = await run({ a: timedOut('nothing'), b: direct('captured') }, [
      'a',
      'b',
    ]);
    expect(result.status).toBe('succeeded');
    expect(result.attempts[0]).toMatchObject({
      provider: 'a',
      status: 'error',
      declineCode: 'timeout',
      declineClass: 'provider',
      lookedUp: true,
    });
    expect(world.log).toEqual(['charge:a', 'lookup:a', 'persist:a', 'charge:b', 'persist:b']);
  });

  it('a timeout whose charge the issuer declined is that decline', async () => {
    const { result } = await run({ a: timedOut('declined'), b: direct('captured') }, ['a', 'b']);
    expect(result).toMatchObject({ status: 'declined', provider: 'a' });
    expect(result.attempts).toHaveLength(1);
  });

  it.each(['throws', 'unknown', 'hangs'] as const)(
    'stops with unknown when the lookup %s',
    async (lookup) => {
      const { result, world } = await run(
        { a: timedOut('nothing', lookup), b: direct('captured') },
        ['a', 'b'],
      );
      expect(result).toMatchObject({ status: 'unknown', provider: 'a' });
      expect(result.attempts).toEqual([
        expect.objectContaining({ provider: 'a', status: 'unknown', lookedUp: true }),
      ]);
      expect(world.log).not.toContain('charge:b');
    },
  );

  it('an adapter that throws or never answers is an unknown outcome, looked up', async () => {
    for (const answer of ['throw', 'hang'] as const) {
      const { result, world } = await run(
        { a: { answer, actually: 'captured', lookup: 'answers' }, b: direct('captured') },
        ['a', 'b'],
      );
      expect(result).toMatchObject({ status: 'succeeded', provider: 'a' });
      expect(world.captures).toHaveLength(1);
    }
  });

  it('skips providers without an adapter without counting them', async () => {
    const { result } = await run({ b: direct('error'), c: direct('captured') }, ['a', 'b', 'c'], 2);
    expect(result.attempts.map((a) => a.provider)).toEqual(['b', 'c']);
    expect(result.status).toBe('succeeded');
  });

  it('with no provider to call: failed, no_provider_available', async () => {
    const { result } = await run({}, ['a']);
    expect(result).toEqual({
      status: 'failed',
      attempts: [],
      declineCode: 'no_provider_available',
    });
  });

  it('replays rather than recharging when run again for the same payment', async () => {
    const world = new World();
    const a = world.adapter('a', timedOut('captured', 'throws'));
    const input = {
      decision: { order: ['a'] },
      adapters: () => a,
      request: REQUEST,
      paymentId: 'pay_1',
      graceMs: 5,
    };
    expect((await executePayment(input)).status).toBe('unknown');
    // The fake replays the recorded capture for the same key, as providers do.
    expect(await executePayment(input)).toMatchObject({ status: 'succeeded', provider: 'a' });
    expect(world.captures).toHaveLength(1);
  });

  it('a failing onAttempt stops the loop', async () => {
    const world = new World();
    const adapters = new Map([
      ['a', world.adapter('a', direct('error'))],
      ['b', world.adapter('b', direct('captured'))],
    ]);
    await expect(
      executePayment({
        decision: { order: ['a', 'b'] },
        adapters: (p) => adapters.get(p),
        request: REQUEST,
        paymentId: 'pay_1',
        onAttempt: async () => {
          throw new Error('db down');
        },
      }),
    ).rejects.toThrow('db down');
    expect(world.log).toEqual(['charge:a']);
  });

  it('refuses to send a test method to a live adapter', async () => {
    const world = new World();
    const live = world.adapter('a', direct('captured'), 'live');
    await expect(
      executePayment({
        decision: { order: ['a'] },
        adapters: () => live,
        request: REQUEST,
        paymentId: 'pay_1',
      }),
    ).rejects.toThrow(/test payment method/);
    expect(world.log).toEqual([]);
  });
});

// ---- properties ---------------------------------------------------------------------------

const POOL = ['a', 'b', 'c', 'd', 'e', 'f'];

const scriptArb: fc.Arbitrary<Script> = fc.record({
  answer: fc.constantFrom<Script['answer']>(
    'captured',
    'declined',
    'error',
    'failed',
    'unknown',
    'unknown',
    'throw',
    'hang',
  ),
  actually: fc.constantFrom<Script['actually']>(
    'captured',
    'declined',
    'error',
    'failed',
    'nothing',
  ),
  lookup: fc.constantFrom<Script['lookup']>(
    'answers',
    'answers',
    'answers',
    'throws',
    'unknown',
    'hangs',
  ),
});

/** Weights summing to exactly 100. */
const weightsOf = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
    const points = [0, ...[...cuts].sort((a, b) => a - b), 100];
    return points.slice(1).map((p, i) => p - (points[i] as number));
  });

/** A random valid routing config (one route) over distinct providers of POOL. */
const configArb = fc
  .tuple(
    fc.shuffledSubarray(POOL, { minLength: 1 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
    fc.integer({ min: 1, max: 5 }),
  )
  .chain(([providers, sizes, maxAttempts]) => {
    const tiers: string[][] = [];
    let at = 0;
    for (const s of sizes) {
      if (at >= providers.length) break;
      tiers.push(providers.slice(at, at + s));
      at += s;
    }
    return fc.tuple(...tiers.map((t) => weightsOf(t.length))).map((ws) =>
      PaymentRoutingSchema.parse({
        default: {
          tiers: tiers.map((t, i) => ({
            providers: t.map((provider, j) => ({ provider, weight: (ws[i] as number[])[j] })),
          })),
        },
        maxAttempts,
      }),
    );
  });

describe('executePayment properties', () => {
  it('at most one capture; the attempt log explains the result', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.integer({ min: 0, max: 9999 }),
        fc.dictionary(fc.constantFrom(...POOL), fc.option(scriptArb, { nil: undefined })),
        fc.subarray(POOL),
        async (config, bucket, scriptsRaw, open) => {
          const scripts: Record<string, Script | undefined> = {};
          for (const p of POOL)
            scripts[p] = Object.hasOwn(scriptsRaw, p) ? scriptsRaw[p] : direct('captured');
          const decision = decide(
            config,
            { method: 'card', currency: 'USD', amount: 1000 },
            {
              bucket,
              killed: new Set(),
              breakerOpen: new Set(open),
              capabilities: () => ({ methods: ['card'], currencies: '*', countries: '*' }),
            },
          );
          const { result, world, persisted } = await run(
            scripts,
            decision.order,
            config.maxAttempts,
          );
          const { attempts } = result;

          // At most one successful capture per logical payment; success ⇔ exactly one.
          expect(world.captures.length).toBeLessThanOrEqual(1);
          if (result.status === 'succeeded') {
            expect(world.captures).toHaveLength(1);
            expect(world.captures[0]).toMatchObject({
              provider: result.provider,
              id: result.providerChargeId,
            });
          }
          if (result.status === 'declined' || result.status === 'failed') {
            expect(world.captures).toHaveLength(0);
          }

          // Every attempt persisted, in order; only providers actually called.
          expect(persisted).toEqual(attempts);
          expect(attempts.length).toBeLessThanOrEqual(config.maxAttempts);
          const called = world.log.filter((l) => l.startsWith('charge:')).map((l) => l.slice(7));
          expect(attempts.map((a) => a.provider)).toEqual(called);

          // Attempts follow decision.order, in order, skipping only providers without an adapter.
          const expected = decision.order.filter((p) => scripts[p] !== undefined);
          expect(attempts.map((a) => a.provider)).toEqual(expected.slice(0, attempts.length));

          // The final provider is the last attempt's; failover only after provider errors.
          const last = attempts[attempts.length - 1];
          if (last === undefined) {
            expect(result.status).toBe('failed');
            expect(expected).toEqual([]);
            return;
          }
          expect(result.provider).toBe(last.provider);
          for (const a of attempts.slice(0, -1)) {
            expect(a.status).toBe('error');
            const s = scripts[a.provider] as Script;
            if (a.lookedUp) {
              // Unknown, then the lookup found nothing (or a provider error) there.
              expect(s.lookup).toBe('answers');
              expect(['nothing', 'error']).toContain(s.actually);
            } else {
              expect(s.answer).toBe('error');
            }
          }
          // The loop ended for a reason.
          if (last.status === 'error') {
            expect(
              attempts.length === config.maxAttempts || attempts.length === expected.length,
            ).toBe(true);
            expect(result.status).toBe('failed');
          }
          // Declines and unclassified errors are final; unknown lookups stop everything.
          const s = scripts[last.provider] as Script;
          if (s.answer === 'declined' || s.answer === 'failed') {
            expect(last.status).toBe(s.answer);
            expect(last.lookedUp).toBeUndefined();
          }
          if (last.status === 'unknown') {
            expect(result.status).toBe('unknown');
            expect(last.lookedUp).toBe(true);
            expect(s.lookup).not.toBe('answers');
          }
          // A timeout that captured (and could be looked up) is the result, exactly one capture.
          if (
            !['captured', 'declined', 'error', 'failed'].includes(s.answer) &&
            s.lookup === 'answers' &&
            s.actually === 'captured'
          ) {
            expect(result).toMatchObject({ status: 'succeeded', provider: last.provider });
            expect(last.lookedUp).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
