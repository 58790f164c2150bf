/**
 * Runs in Node before the suite: a scratch database on DATABASE_URL's server (or an embedded
 * PGlite when DATABASE_URL is unset), migrated, and the WebSocket proxy the worker reaches it by.
 * A second, switchable proxy to the same database serves only the `outage` project
 * (test/outage/, test/helpers/outage.ts): switching it down cuts that project's worker off
 * Postgres and no one else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  createScratchDatabase,
  redact,
  runMigrations,
  type ScratchDatabase,
} from '../scripts/lib/database';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-pg';
import { freePort } from '../scripts/lib/ports';
import { startSwitchableWsProxy, startWsProxy } from '../scripts/lib/ws-proxy';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    /** The switchable proxy's `ws://` URL: NEON_LOCAL_WS_PROXY of the `outage` project only. */
    outageWsProxy: string;
    /** Its control endpoint, `http://127.0.0.1:<port>` (POST /down, POST /up, GET /state). */
    outageControl: string;
    /**
     * True when DATABASE_URL is unset and the database is PGlite, in the vitest process itself:
     * one shared session (no locking or concurrency tests), and a running query blocks this
     * process — proxies included — until it ends.
     */
    embeddedPostgres: boolean;
  }
}

async function scratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  try {
    return await createScratchDatabase(serverUrl, 'azotte_test');
  } catch (err) {
    // No right to create databases (a managed Postgres): test in DATABASE_URL itself.
    console.warn(
      `[tests] could not create a scratch database (${String(err)}); using ${redact(serverUrl)}`,
    );
    return { url: serverUrl, drop: async () => {} };
  }
}

export default async function setup(project: TestProject) {
  const cleanups: (() => Promise<void>)[] = [];
  let url: string;
  if (process.env.DATABASE_URL) {
    const scratch = await scratchDatabase(process.env.DATABASE_URL);
    url = scratch.url;
    cleanups.push(scratch.drop);
    console.log(`[tests] Postgres: ${redact(url)}`);
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'azotte-test-pg-'));
    const embedded = await startEmbeddedPostgres(dir, await freePort());
    url = embedded.url;
    cleanups.push(async () => {
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    });
    console.log(
      '[tests] DATABASE_URL is unset: embedded PGlite (set DATABASE_URL for real Postgres)',
    );
  }
  await runMigrations(url);
  // PGlite: one session for every connection, so connections take turns (ws-proxy.ts).
  const oneSession = !process.env.DATABASE_URL;
  const proxy = await startWsProxy(0, { oneSession });
  cleanups.unshift(() => proxy.close());
  const outage = await startSwitchableWsProxy(0, { oneSession });
  cleanups.unshift(() => outage.close());
  project.provide('databaseUrl', url);
  project.provide('wsProxy', proxy.url);
  project.provide('outageWsProxy', outage.url);
  project.provide('outageControl', outage.controlUrl);
  project.provide('embeddedPostgres', !process.env.DATABASE_URL);
  return async () => {
    for (const fn of cleanups) await fn().catch((e) => console.warn(`[tests] cleanup: ${e}`));
  };
}
