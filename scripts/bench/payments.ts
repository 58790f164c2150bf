/**
 * The payment routing decision as a pure function (`decide` in src/payments/routing.ts), in µs
 * per decision: a storefront config shaped like the demo's us-store with a few more rules, a
 * compiled config (as the payment object holds it), buckets of random payment ids.
 */
import { bucketOf, compileRouting, decide, PaymentRoutingSchema } from '../../src/payments/routing';
import { SANDBOX_CAPABILITIES } from '../../src/payments/sandbox';
import type { ProviderCapabilities } from '../../src/payments/types';

const CONFIG = PaymentRoutingSchema.parse({
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
      id: 'bank_debit',
      match: { methods: ['bank_debit'] },
      route: { tiers: [{ providers: [{ provider: 'localbank', weight: 100 }] }] },
    },
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
    {
      id: 'large',
      match: { minAmount: 100_000 },
      route: {
        tiers: [
          { providers: [{ provider: 'adyen', weight: 100 }] },
          { providers: [{ provider: 'stripe', weight: 100 }] },
        ],
      },
    },
    {
      id: 'eu',
      match: { countries: ['DE', 'FR', 'NL', 'ES', 'IT'] },
      route: {
        tiers: [
          {
            providers: [
              { provider: 'adyen', weight: 60 },
              { provider: 'stripe', weight: 40 },
            ],
          },
        ],
      },
    },
  ],
  maxAttempts: 2,
});

const capabilities = (p: string): ProviderCapabilities | undefined =>
  (SANDBOX_CAPABILITIES as Record<string, ProviderCapabilities>)[p];

/** Median µs per decision over `rounds` runs of `n` decisions. */
export function measureDecide(n = 200_000, rounds = 5): number {
  const compiled = compileRouting(CONFIG);
  const buckets = Array.from({ length: 1024 }, (_, i) =>
    bucketOf(`pay_${i.toString(36)}_${Math.random()}`),
  );
  const payments = [
    { method: 'card' as const, currency: 'USD', country: 'US', amount: 2900 },
    { method: 'card' as const, currency: 'EUR', country: 'DE', amount: 2500 },
    { method: 'bank_debit' as const, currency: 'USD', country: 'US', amount: 9900 },
    { method: 'card' as const, currency: 'JPY', country: 'JP', amount: 3200 },
  ];
  const killed = new Set<string>();
  const open = new Set<string>(['paypal']);
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const d = decide(compiled, payments[i & 3] as (typeof payments)[number], {
        bucket: buckets[i & 1023] as number,
        killed,
        breakerOpen: open,
        capabilities,
      });
      sink += d.order.length;
    }
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  if (sink < 0) console.log(sink);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}
