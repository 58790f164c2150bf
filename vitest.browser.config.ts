import { defineConfig } from 'vitest/config';

/**
 * The browser suite: Node (not the workers pool) drives Debian's Chromium with playwright-core
 * against the real worker under `wrangler dev`. Files end in `.e2e.ts` so the workers suite
 * (`test/**\/*.test.ts`) never picks them up.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/browser/**/*.e2e.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
