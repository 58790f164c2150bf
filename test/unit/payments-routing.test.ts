import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldErrors } from '../../src/errors';
import {
  bucketOf,
  compileRouting,
  decide,
  type PaymentRouting,
  type PaymentRoutingInput,
  PaymentRoutingSchema,
  type RoutablePayment,
  type RoutingContext,
} from '../../src/payments/routing';
import { SANDBOX_CAPABILITIES } from '../../src/payments/sandbox';
import type { ProviderCapabilities } from '../../src/payments/types';

function parse(input: unknown): PaymentRouting {
  return PaymentRoutingSchema.parse(input);
}

function errorsOf(input: unknown): string[] {
  const r = PaymentRoutingSchema.safeParse(input);
  if (r.success) return [];
  return fieldErrors(r.error.issues).map((e) => `${e.path}: ${e.message}`);
}

const single = (provider: string) => ({ tiers: [{ providers: [{ provider, weight: 100 }] }] });

const ANY: ProviderCapabilities = {
  methods: ['card', 'bank_debit'],
  currencies: '*',
  countries: '*',
};

function ctx(overrides: Partial<RoutingContext> = {}): RoutingContext {
  return {
    bucket: 0,
    killed: new Set(),
    breakerOpen: new Set(),
    capabilities: () => ANY,
    ...overrides,
  };
}

const card = (
  currency = 'USD',
  amount = 1000,
  country: string | undefined = 'US',
): RoutablePayment =>
  country === undefined
    ? { method: 'card', currency, amount }
    : { method: 'card', currency, amount, country };

describe('PaymentRoutingSchema', () => {
  it('applies defaults', () => {
    expect(parse({ default: single('stripe') })).toEqual({
      default: single('stripe'),
      rules: [],
      maxAttempts: 2,
    });
  });

  it('names the tier whose weights do not sum to 100', () => {
    const input: PaymentRoutingInput = {
      default: {
        tiers: [
          { providers: [{ provider: 'stripe', weight: 100 }] },
          {
            providers: [
              { provider: 'adyen', weight: 60 },
              { provider: 'paypal', weight: 30 },
            ],
          },
        ],
      },
    };
    expect(errorsOf(input)).toEqual(['default.tiers.1.providers: weights must sum to 100, got 90']);
    expect(
      errorsOf({
        default: single('stripe'),
        rules: [
          {
            id: 'eu',
            match: { currencies: ['EUR'] },
            route: { tiers: [{ providers: [{ provider: 'adyen', weight: 101 }] }] },
          },
        ],
      }),
    ).toEqual([
      'rules.0.route.tiers.0.providers.0.weight: Too big: expected number to be <=100',
      'rules.0.route.tiers.0.providers: weights must sum to 100, got 101',
    ]);
  });

  it('refuses a provider twice in one route, and duplicate rule ids', () => {
    expect(
      errorsOf({
        default: {
          tiers: [
            { providers: [{ provider: 'stripe', weight: 100 }] },
            {
              providers: [
                { provider: 'adyen', weight: 50 },
                { provider: 'stripe', weight: 50 },
              ],
            },
          ],
        },
      }),
    ).toEqual([
      'default.tiers.1.providers.1.provider: stripe appears more than once in this route',
    ]);
    expect(
      errorsOf({
        default: single('stripe'),
        rules: [
          { id: 'a', match: {}, route: single('adyen') },
          { id: 'a', match: {}, route: single('paypal') },
          { id: 'default', match: {}, route: single('paypal') },
        ],
      }),
    ).toEqual(['rules.1.id: duplicate rule id', 'rules.2.id: "default" is reserved']);
    // The same provider in two different routes is fine.
    expect(
      errorsOf({
        default: single('stripe'),
        rules: [{ id: 'a', match: {}, route: single('stripe') }],
      }),
    ).toEqual([]);
  });

  it('enforces bounds', () => {
    const providers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ provider: `p${i}`, weight: i === 0 ? 100 : 0 }));
    expect(errorsOf({ default: { tiers: [{ providers: providers(10) }] } })).toEqual([]);
    expect(errorsOf({ default: { tiers: [{ providers: providers(11) }] } })[0]).toMatch(
      /^default\.tiers\.0\.providers: Too big/,
    );
    const tiers = (n: number) => Array.from({ length: n }, (_, i) => single(`p${i}`).tiers[0]);
    expect(errorsOf({ default: { tiers: tiers(5) } })).toEqual([]);
    expect(errorsOf({ default: { tiers: tiers(6) } })[0]).toMatch(/^default\.tiers: Too big/);
    expect(errorsOf({ default: { tiers: [] } })[0]).toMatch(/^default\.tiers: Too small/);
    expect(errorsOf({ default: { tiers: [{ providers: [] }] } })[0]).toMatch(/Too small/);
    const rules = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `r${i}`, match: {}, route: single('stripe') }));
    expect(errorsOf({ default: single('stripe'), rules: rules(20) })).toEqual([]);
    expect(errorsOf({ default: single('stripe'), rules: rules(21) })[0]).toMatch(/^rules: Too big/);
    expect(errorsOf({ default: single('stripe'), maxAttempts: 0 })[0]).toMatch(/^maxAttempts/);
    expect(errorsOf({ default: single('stripe'), maxAttempts: 6 })[0]).toMatch(/^maxAttempts/);
    expect(errorsOf({ default: single('stripe'), maxAttempts: 1.5 })[0]).toMatch(/^maxAttempts/);
  });

  it.each([['Stripe'], ['1stripe'], ['strip-e'], [''], ['a'.repeat(33)], ['stri\u0000pe']])(
    'refuses the provider name %j',
    (name) => {
      expect(errorsOf({ default: single(name) })[0]).toMatch(
        /^default\.tiers\.0\.providers\.0\.provider: /,
      );
    },
  );

  it('checks matches', () => {
    const withMatch = (match: unknown) => ({
      default: single('stripe'),
      rules: [{ id: 'r', match, route: single('adyen') }],
    });
    expect(
      errorsOf(withMatch({ countries: ['JP'], currencies: ['JPY'], methods: ['card'] })),
    ).toEqual([]);
    expect(errorsOf(withMatch({ countries: ['jp'] }))[0]).toMatch(/^rules\.0\.match\.countries\.0/);
    expect(errorsOf(withMatch({ currencies: ['XXX'] }))[0]).toMatch(
      /^rules\.0\.match\.currencies\.0/,
    );
    expect(errorsOf(withMatch({ methods: ['cash'] }))[0]).toMatch(/^rules\.0\.match\.methods\.0/);
    expect(errorsOf(withMatch({ minAmount: 10, maxAmount: 9 }))).toEqual([
      'rules.0.match.maxAmount: must be ≥ minAmount',
    ]);
    expect(errorsOf(withMatch({ minAmount: -1 }))[0]).toMatch(/^rules\.0\.match\.minAmount/);
    expect(errorsOf(withMatch({ minAmount: 1.5 }))[0]).toMatch(/^rules\.0\.match\.minAmount/);
    expect(errorsOf(withMatch({ country: ['JP'] }))[0]).toMatch(/^rules\.0\.match/);
  });
});

describe('decide', () => {
  const config = parse({
    default: {
      tiers: [
        {
          providers: [
            { provider: 'stripe', weight: 70 },
            { provider: 'adyen', weight: 30 },
          ],
        },
        { providers: [{ provider: 'paypal', weight: 100 }] },
      ],
    },
    rules: [
      {
        id: 'japan',
        match: { countries: ['JP'], currencies: ['JPY'] },
        route: {
          tiers: [
            { providers: [{ provider: 'localpay', weight: 100 }] },
            { providers: [{ provider: 'stripe', weight: 100 }] },
          ],
        },
      },
      { id: 'bank', match: { methods: ['bank_debit'] }, route: single('localbank') },
      {
        id: 'big_usd',
        match: { currencies: ['USD'], minAmount: 100_000, maxAmount: 500_000 },
        route: single('adyen'),
      },
    ],
    maxAttempts: 3,
  });

  it('picks by bucket within a tier, then the others by weight, then the next tier', () => {
    expect(decide(config, card(), ctx({ bucket: 0 }))).toEqual({
      rule: 'default',
      bucket: 0,
      order: ['stripe', 'adyen', 'paypal'],
      skipped: [],
    });
    expect(decide(config, card(), ctx({ bucket: 6999 })).order).toEqual([
      'stripe',
      'adyen',
      'paypal',
    ]);
    expect(decide(config, card(), ctx({ bucket: 7000 })).order).toEqual([
      'adyen',
      'stripe',
      'paypal',
    ]);
    expect(decide(config, card(), ctx({ bucket: 9999 })).order).toEqual([
      'adyen',
      'stripe',
      'paypal',
    ]);
  });

  it('first matching rule wins; amounts inclusive', () => {
    expect(decide(config, card('JPY', 3200, 'JP'), ctx()).rule).toBe('japan');
    expect(decide(config, card('JPY', 3200, 'US'), ctx()).rule).toBe('default');
    expect(decide(config, card('JPY', 3200, undefined), ctx()).rule).toBe('default');
    expect(
      decide(config, { method: 'bank_debit', currency: 'USD', amount: 100_000 }, ctx()).rule,
    ).toBe('bank');
    expect(decide(config, card('USD', 100_000), ctx()).rule).toBe('big_usd');
    expect(decide(config, card('USD', 500_000), ctx()).rule).toBe('big_usd');
    expect(decide(config, card('USD', 99_999), ctx()).rule).toBe('default');
    expect(decide(config, card('USD', 500_001), ctx()).rule).toBe('default');
    expect(decide(config, card('EUR', 100_000), ctx()).rule).toBe('default');
  });

  it('cuts the order at maxAttempts', () => {
    const two = parse({ ...config, maxAttempts: 2 });
    expect(decide(two, card(), ctx()).order).toEqual(['stripe', 'adyen']);
    const one = parse({ ...config, maxAttempts: 1 });
    expect(decide(one, card(), ctx({ bucket: 9000 })).order).toEqual(['adyen']);
  });

  it('skips killed, open-breaker and ineligible providers, each once, with the reason', () => {
    const d = decide(
      config,
      card(),
      ctx({
        killed: new Set(['stripe']),
        breakerOpen: new Set(['adyen', 'paypal']),
      }),
    );
    expect(d).toEqual({
      rule: 'default',
      bucket: 0,
      order: [],
      skipped: [
        { provider: 'stripe', reason: 'killswitch' },
        { provider: 'adyen', reason: 'breaker_open' },
        { provider: 'paypal', reason: 'breaker_open' },
      ],
    });
    // With the sandbox's capabilities, a JPY payment outside Japan cannot go to paypal or adyen.
    const caps = (p: string) =>
      Object.hasOwn(SANDBOX_CAPABILITIES, p)
        ? SANDBOX_CAPABILITIES[p as keyof typeof SANDBOX_CAPABILITIES]
        : undefined;
    expect(decide(config, card('JPY', 3200, 'US'), ctx({ capabilities: caps }))).toEqual({
      rule: 'default',
      bucket: 0,
      order: ['stripe'],
      skipped: [
        { provider: 'adyen', reason: 'ineligible' },
        { provider: 'paypal', reason: 'ineligible' },
      ],
    });
    // No adapter at all: ineligible (before the killswitch).
    const none = decide(
      config,
      card(),
      ctx({ capabilities: () => undefined, killed: new Set(['stripe']) }),
    );
    expect(none.skipped.map((s) => s.reason)).toEqual(['ineligible', 'ineligible', 'ineligible']);
  });

  it('a 70/30 split fails over to the other provider when the pick is down', () => {
    const d = decide(config, card(), ctx({ bucket: 100, breakerOpen: new Set(['stripe']) }));
    expect(d.order).toEqual(['adyen', 'paypal']);
    expect(d.skipped).toEqual([{ provider: 'stripe', reason: 'breaker_open' }]);
  });

  it('stops walking once the order is full', () => {
    const two = parse({ ...config, maxAttempts: 2 });
    const d = decide(two, card(), ctx({ killed: new Set(['paypal']) }));
    expect(d).toMatchObject({ order: ['stripe', 'adyen'], skipped: [] });
  });

  it('weight-0 providers are standbys: never picked first', () => {
    const standby = parse({
      default: {
        tiers: [
          {
            providers: [
              { provider: 'stripe', weight: 0 },
              { provider: 'adyen', weight: 100 },
            ],
          },
        ],
      },
    });
    for (const bucket of [0, 5000, 9999]) {
      expect(decide(standby, card(), ctx({ bucket })).order).toEqual(['adyen', 'stripe']);
    }
  });

  it('accepts a compiled config, compiled once per object', () => {
    const compiled = compileRouting(config);
    expect(compileRouting(config)).toBe(compiled);
    expect(decide(compiled, card(), ctx())).toEqual(decide(config, card(), ctx()));
  });
});

describe('bucketOf', () => {
  it('is stable and in range', () => {
    expect(bucketOf('pay_1')).toBe(bucketOf('pay_1'));
    fc.assert(
      fc.property(fc.string(), (id) => {
        const b = bucketOf(id);
        return Number.isInteger(b) && b >= 0 && b < 10_000;
      }),
    );
  });

  it('a 70/30 split converges within ±2 points over 10,000 payments', () => {
    const config = parse({
      default: {
        tiers: [
          {
            providers: [
              { provider: 'stripe', weight: 70 },
              { provider: 'adyen', weight: 30 },
            ],
          },
        ],
      },
    });
    let stripe = 0;
    const n = 10_000;
    const none = new Set<string>();
    for (let i = 0; i < n; i++) {
      const bucket = bucketOf(`pay_${crypto.randomUUID()}`);
      const d = decide(config, card(), {
        bucket,
        killed: none,
        breakerOpen: none,
        capabilities: () => ANY,
      });
      if (d.order[0] === 'stripe') stripe++;
    }
    expect(Math.abs((stripe / n) * 100 - 70)).toBeLessThanOrEqual(2);
  });
});

// ---- properties over random configs --------------------------------------------------------

const POOL = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9'];

/** Weights summing to exactly 100, `n` of them. */
const weightsOf = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
    const points = [0, ...[...cuts].sort((a, b) => a - b), 100];
    return points.slice(1).map((p, i) => p - (points[i] as number));
  });

/** A valid route over distinct providers of POOL. */
const routeArb = fc
  .shuffledSubarray(POOL, { minLength: 1, maxLength: POOL.length })
  .chain((providers) =>
    fc
      .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 })
      .map((sizes) => {
        const tiers: string[][] = [];
        let at = 0;
        for (const s of sizes) {
          if (at >= providers.length) break;
          tiers.push(providers.slice(at, at + s));
          at += s;
        }
        return tiers;
      })
      .chain((tiers) =>
        fc.tuple(...tiers.map((t) => weightsOf(t.length))).map((ws) => ({
          tiers: tiers.map((t, i) => ({
            providers: t.map((provider, j) => ({
              provider,
              weight: (ws[i] as number[])[j] as number,
            })),
          })),
        })),
      ),
  );

const configArb = fc
  .record({
    default: routeArb,
    rules: fc.array(
      fc.record({
        match: fc.record(
          {
            methods: fc.subarray(['card', 'bank_debit'] as const, { minLength: 1 }),
            currencies: fc.subarray(['USD', 'EUR', 'JPY'], { minLength: 1 }),
            countries: fc.subarray(['US', 'JP', 'DE'], { minLength: 1 }),
            minAmount: fc.integer({ min: 0, max: 1000 }),
          },
          { requiredKeys: [] },
        ),
        route: routeArb,
      }),
      { maxLength: 4 },
    ),
    maxAttempts: fc.integer({ min: 1, max: 5 }),
  })
  .map((c) => parse({ ...c, rules: c.rules.map((r, i) => ({ id: `r${i}`, ...r })) }));

const paymentArb: fc.Arbitrary<RoutablePayment> = fc.record(
  {
    method: fc.constantFrom('card' as const, 'bank_debit' as const),
    currency: fc.constantFrom('USD', 'EUR', 'JPY'),
    country: fc.constantFrom('US', 'JP', 'DE'),
    amount: fc.integer({ min: 0, max: 2000 }),
  },
  { requiredKeys: ['method', 'currency', 'amount'] },
);

const capsArb = fc.dictionary(
  fc.constantFrom(...POOL),
  fc.option(
    fc.record({
      methods: fc.subarray(['card', 'bank_debit'] as const),
      currencies: fc.oneof(fc.constant('*' as const), fc.subarray(['USD', 'EUR', 'JPY'])),
      countries: fc.oneof(fc.constant('*' as const), fc.subarray(['US', 'JP', 'DE'])),
    }),
    { nil: undefined },
  ),
);

function eligible(caps: ProviderCapabilities | undefined, p: RoutablePayment): boolean {
  if (caps === undefined || !caps.methods.includes(p.method)) return false;
  if (caps.currencies !== '*' && !caps.currencies.includes(p.currency)) return false;
  if (caps.countries === '*') return true;
  return p.country !== undefined && caps.countries.includes(p.country);
}

/** The obvious, slow decision the compiled one must agree with. */
function referenceDecide(config: PaymentRouting, p: RoutablePayment, c: RoutingContext) {
  const rule = config.rules.find(
    (r) =>
      (!r.match.methods || r.match.methods.includes(p.method)) &&
      (!r.match.currencies || r.match.currencies.includes(p.currency)) &&
      (!r.match.countries || (p.country !== undefined && r.match.countries.includes(p.country))) &&
      (r.match.minAmount === undefined || p.amount >= r.match.minAmount) &&
      (r.match.maxAmount === undefined || p.amount <= r.match.maxAmount),
  );
  const route = rule ? rule.route : config.default;
  const candidates: string[] = [];
  for (const tier of route.tiers) {
    let acc = 0;
    const pick = tier.providers.find((x) => {
      acc += x.weight * 100;
      return c.bucket < acc;
    });
    const rest = tier.providers
      .map((x, i) => ({ x, i }))
      .filter(({ x }) => x !== pick)
      .sort((a, b) => b.x.weight - a.x.weight || a.i - b.i)
      .map(({ x }) => x.provider);
    candidates.push(...(pick ? [pick.provider] : []), ...rest);
  }
  const order: string[] = [];
  const skipped: { provider: string; reason: string }[] = [];
  for (const provider of candidates) {
    if (order.length >= config.maxAttempts) break;
    const ok = eligible(c.capabilities(provider), p);
    if (!ok) skipped.push({ provider, reason: 'ineligible' });
    else if (c.killed.has(provider)) skipped.push({ provider, reason: 'killswitch' });
    else if (c.breakerOpen.has(provider)) skipped.push({ provider, reason: 'breaker_open' });
    else order.push(provider);
  }
  return { rule: rule ? rule.id : 'default', bucket: c.bucket, order, skipped };
}

describe('decide properties', () => {
  it('agrees with the reference decision, and its invariants hold', () => {
    fc.assert(
      fc.property(
        configArb,
        paymentArb,
        fc.integer({ min: 0, max: 9999 }),
        fc.subarray(POOL),
        fc.subarray(POOL),
        capsArb,
        (config, payment, bucket, killed, open, caps) => {
          const c = ctx({
            bucket,
            killed: new Set(killed),
            breakerOpen: new Set(open),
            capabilities: (p) => (Object.hasOwn(caps, p) ? caps[p] : ANY),
          });
          const d = decide(config, payment, c);
          expect(d).toEqual(referenceDecide(config, payment, c));
          expect(d.order.length).toBeLessThanOrEqual(config.maxAttempts);
          expect(new Set(d.order).size).toBe(d.order.length);
          const skippedNames = d.skipped.map((s) => s.provider);
          expect(new Set(skippedNames).size).toBe(skippedNames.length);
          for (const p of d.order) {
            expect(skippedNames).not.toContain(p);
            expect(killed).not.toContain(p);
            expect(open).not.toContain(p);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
