import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      // The real worker plus test-only objects (test/worker/index.ts).
      main: './test/worker/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Test-only objects, bound here rather than in wrangler.toml (never deployed).
        durableObjects: {
          PROBE: { className: 'ProbeDurableObject', useSQLite: true },
        },
        bindings: {
          ENVIRONMENT: 'test',
          DATABASE_URL: inject('databaseUrl'),
          NEON_LOCAL_WS_PROXY: inject('wsProxy'),
          PUBLISH_TOKEN: 'test-publish-token',
          SESSION_SECRET: 'test-session-secret-0123456789abcdef0123456789',
          SIGNING_KEY_SECRET: 'test-signing-key-secret-0123456789abcdef012345',
        },
      },
    })),
  ],
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
