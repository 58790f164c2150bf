/**
 * Setup file of the vitest project `outage` (vitest.config.ts): whatever a test did, Postgres is
 * up again before each file and after each test (test/helpers/outage.ts).
 */
import { afterEach, beforeAll } from 'vitest';
import { postgresUp } from '../helpers/outage';

beforeAll(async () => {
  await postgresUp();
});

afterEach(async () => {
  await postgresUp();
});
