import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

type Provided = 'wsProxy' | 'outageWsProxy';

/**
 * One workers project: the real worker plus test-only objects (test/worker/index.ts), reaching
 * Postgres through the proxy `proxy` names (both are started by test/global-setup.ts).
 */
function workersProject(
  name: string,
  proxy: Provided,
  test: NonNullable<TestProjectInlineConfiguration['test']>,
): TestProjectInlineConfiguration {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
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
            NEON_LOCAL_WS_PROXY: inject(proxy),
            PUBLISH_TOKEN: 'test-publish-token',
            SESSION_SECRET: 'test-session-secret-0123456789abcdef0123456789',
            SIGNING_KEY_SECRET: 'test-signing-key-secret-0123456789abcdef012345',
          },
        },
      })),
    ],
    test: { name, testTimeout: 20_000, hookTimeout: 30_000, ...test },
  };
}

export default defineConfig({
  test: {
    // Runs once for all projects (the root project's); its `provide`d values reach every project.
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      workersProject('workers', 'wsProxy', {
        include: ['test/**/*.test.ts'],
        exclude: [...configDefaults.exclude, 'test/outage/**'],
      }),
      // Postgres-outage tests (test/helpers/outage.ts): their worker reaches Postgres through a
      // proxy of its own that they switch down and up, so no other file sees the outage. One
      // file at a time (they share that switch); vitest runs such a project after the others.
      workersProject('outage', 'outageWsProxy', {
        include: ['test/outage/**/*.test.ts'],
        setupFiles: ['./test/outage/setup.ts'],
        fileParallelism: false,
      }),
    ],
  },
});
