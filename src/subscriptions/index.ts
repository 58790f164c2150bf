/**
 * The pure core of the subscription engine (issue 12): no I/O, no clock, no runtime. The
 * subscription's Durable Object and routes build on these modules:
 * - `lifecycle`: statuses, the transition table and `transition()`;
 * - `cycles`: billing periods from an anchor (month ends as Stripe's);
 * - `trials`: trial end and what it does;
 * - `proration`: the rounding and upgrade/downgrade rules;
 * - `billing`: plan changes with proration and their preview, renewal invoices, credit balance;
 * - `dunning`: retry schedule, grace period, end state;
 * - `time`: whole UTC seconds, the unit of all of them.
 */
export * from './billing';
export * from './cycles';
export * from './dunning';
export * from './lifecycle';
export * from './proration';
export * from './time';
export * from './trials';
