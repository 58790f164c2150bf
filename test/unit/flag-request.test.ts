import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvaluateRequestSchema, quickParseEvaluateRequest } from '../../src/edge/flag-evaluate';

const attrName = fc.oneof(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/),
  fc.string({ maxLength: 70 }),
  fc.constantFrom('__proto__', 'constructor', 'a'.repeat(64), 'a'.repeat(65), '1abc'),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const body = fc.oneof(
  fc.record(
    {
      context: fc.oneof(
        fc.dictionary(attrName, scalar, { maxKeys: 55 }),
        fc.constant(null),
        fc.string(),
      ),
      flags: fc.oneof(
        fc.array(fc.string({ maxLength: 130 }), { maxLength: 102 }),
        fc.string(),
        fc.array(fc.integer()),
      ),
      defaults: fc.oneof(
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
        fc.array(fc.integer()),
        fc.constant(null),
      ),
      record: fc.oneof(fc.boolean(), fc.constant('yes'), fc.constant(null)),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

describe('quickParseEvaluateRequest', () => {
  it('agrees with the zod schema: same value when it accepts, never accepts what zod refuses', () => {
    fc.assert(
      fc.property(body, (input) => {
        // Bodies arrive as JSON, so compare on what JSON can carry.
        const json = JSON.parse(JSON.stringify(input) ?? 'null');
        const quick = quickParseEvaluateRequest(json);
        const zod = EvaluateRequestSchema.safeParse(json);
        if (quick !== undefined) {
          expect(zod.success).toBe(true);
          if (zod.success) expect(quick).toEqual(zod.data);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts the everyday bodies (so the fast path is taken)', () => {
    for (const b of [
      {},
      {
        context: { targetingKey: 'cus_1', country: 'JP', appVersion: '5.2.0', beta: true, age: 3 },
      },
      { flags: ['new-checkout'], defaults: { 'new-checkout': false }, record: true },
    ]) {
      expect(quickParseEvaluateRequest(b)).toEqual(EvaluateRequestSchema.parse(b));
    }
  });
});
