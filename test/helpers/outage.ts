/**
 * Real Postgres outages for tests of the worker: between `postgresDown()` and `postgresUp()` every
 * database call the worker makes (routes, Durable Objects, the factories' `withDb`) fails the
 * way it would if Postgres went away — open connections are cut, new ones are refused at once —
 * while Postgres itself, and every other test file, carry on untouched.
 *
 * Where: only in files under `test/outage/` (the vitest project `outage`, vitest.config.ts). That
 * project's worker reaches Postgres through a proxy of its own (scripts/lib/ws-proxy.ts,
 * `startSwitchableWsProxy`, started by test/global-setup.ts); these helpers switch that proxy
 * through its loopback control endpoint, which the test's workerd fetches directly. Elsewhere they
 * throw, since they could not cut anything there. The project runs its files one at a time.
 *
 * Usage:
 *
 *   import { outageState, postgresDown, postgresUp, withPostgresDown } from '../helpers/outage';
 *
 *   beforeAll(async () => { t = await createTenant(); await publish(); }); // while it is up
 *
 *   it('fails while Postgres is down', async () => {
 *     await postgresDown();
 *     const res = await call(host, '/v1/customers', { method: 'POST', key, body });
 *     expect(res.status).toBeGreaterThanOrEqual(500);
 *     await postgresUp();
 *     // … and works again
 *   });
 *
 *   it('or scoped', async () => {
 *     const res = await withPostgresDown(() => call(host, '/v1/catalog'));
 *   });
 *
 * API (all async; each resolves once the switch has taken effect):
 * - `postgresDown({ mode? })`: connections open at that moment are cut (a query in flight on one
 *   fails); new ones are refused until `postgresUp()`. Modes, i.e. how a new connection fails:
 *   - `'close'` (default): the WebSocket opens and is closed at once, as Neon's proxy does when
 *     Postgres is unreachable. Routes then answer their 5xx problem.
 *   - `'reject'`: the WebSocket upgrade is answered HTTP 503.
 *   - `'reset'`: the TCP connection is dropped before the handshake.
 *   With `'reject'` and `'reset'` the Neon driver throws inside the WebSocket's error listener and
 *   workerd fails the whole request (`SELF.fetch` rejects; an uncaught exception is logged)
 *   instead of app.onError answering a problem — a finding, not a harness fault.
 *   Either way a query fails within milliseconds (test/outage/harness.test.ts logs the timings).
 * - `postgresUp()`: new connections are accepted again. Postgres never went away, so the next
 *   query just works; nothing reconnects a connection that was cut (per-request pools open fresh
 *   ones; whatever keeps a connection must cope with losing it).
 * - `withPostgresDown(fn, { mode? })`: runs `fn` while down, brings Postgres up afterwards even if
 *   `fn` throws, and returns what `fn` returned.
 * - `outageState()`: `{ down, mode, open, accepted, refused, cut }` — counters since the run
 *   began, so compare before/after: `refused` rising proves the code under test really tried
 *   Postgres (or, unchanged, that it did not); `cut` counts open connections cut by going down.
 *
 * Rules of the project `outage`:
 * - test/outage/setup.ts brings Postgres up before each file and after each test, pass or fail —
 *   after the file's own `afterEach` hooks, so a hook that needs Postgres calls `postgresUp()`.
 * - Create fixtures (tenants, `publish()`) while Postgres is up: `beforeAll`, or before
 *   `postgresDown()` in the test.
 * - Files run one at a time (they share one switch), after the other projects; keep them few.
 * - "Postgres goes away during a request": start the request without awaiting it and call
 *   `postgresDown()` once `outageState().open` shows its connection (racy for a fast request,
 *   which may finish first); cutting a long query of the test's own (`withDb`) is deterministic.
 * - With DATABASE_URL unset, Postgres is PGlite inside the vitest process: a running query
 *   blocks the proxy too, so a query in flight cannot be cut there (`inject('embeddedPostgres')`).
 */
import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import type { OutageMode, OutageState } from '../../scripts/lib/ws-proxy';

export type { OutageMode, OutageState };

function controlUrl(): string {
  if (env.NEON_LOCAL_WS_PROXY !== inject('outageWsProxy')) {
    throw new Error(
      'Postgres outages work only in the vitest project `outage`: put this file under test/outage/',
    );
  }
  return inject('outageControl');
}

async function control(method: 'GET' | 'POST', path: string): Promise<OutageState> {
  const res = await fetch(`${controlUrl()}${path}`, { method });
  if (!res.ok)
    throw new Error(`outage control ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as OutageState;
}

/** Cuts the worker off Postgres: open connections are cut, new ones refused, until `postgresUp()`. */
export function postgresDown(options: { mode?: OutageMode } = {}): Promise<OutageState> {
  return control('POST', `/down?mode=${options.mode ?? 'close'}`);
}

/** Lets the worker reach Postgres again (idempotent). */
export function postgresUp(): Promise<OutageState> {
  return control('POST', '/up');
}

/** Whether Postgres is down for the worker, and the proxy's connection counts. */
export function outageState(): Promise<OutageState> {
  return control('GET', '/state');
}

/** Runs `fn` while Postgres is down; brings it back up afterwards, whatever `fn` does. */
export async function withPostgresDown<T>(
  fn: () => Promise<T>,
  options: { mode?: OutageMode } = {},
): Promise<T> {
  await postgresDown(options);
  try {
    return await fn();
  } finally {
    await postgresUp();
  }
}
