/**
 * The worker the tests run (vitest.config.ts `main`): the real one, plus objects that exist only
 * in tests. Everything the real worker exports is exported unchanged.
 */
export * from '../../src/index';
export { default } from '../../src/index';
export { ProbeDurableObject } from './probe';
