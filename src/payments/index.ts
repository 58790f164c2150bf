/** The payments layer's pure core: card checks, routing, the breaker, the attempt loop, sandbox. */
export * from './breaker';
export * from './cards';
export * from './execute';
export * from './routing';
export * from './sandbox';
export * from './sandbox-cards';
export type * from './types';
export * from './webhooks';
