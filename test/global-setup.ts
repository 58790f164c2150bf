/**
 * Runs in Node before the suite: a scratch database on DATABASE_URL's server (or an embedded
 * PGlite when DATABASE_URL is unset), migrated, and the WebSocket proxy the worker reaches it by.
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
import { startWsProxy } from '../scripts/lib/ws-proxy';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
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
  const proxy = await startWsProxy();
  cleanups.unshift(() => proxy.close());
  project.provide('databaseUrl', url);
  project.provide('wsProxy', proxy.url);
  return async () => {
    for (const fn of cleanups) await fn().catch((e) => console.warn(`[tests] cleanup: ${e}`));
  };
}
