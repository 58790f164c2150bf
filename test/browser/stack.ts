/**
 * The whole local stack for browser tests, as `npm start` runs it but throwaway: a scratch
 * Postgres database (on DATABASE_URL's server, else an embedded PGlite in a temp dir), the
 * WebSocket proxy, migrations, and `wrangler dev` on a free port with fresh local KV and Durable
 * Object state. Everything is torn down by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScratchDatabase, ROOT, redact, runMigrations } from '../../scripts/lib/database';
import { startEmbeddedPostgres } from '../../scripts/lib/embedded-pg';
import { freePort } from '../../scripts/lib/ports';
import { startWsProxy } from '../../scripts/lib/ws-proxy';

export interface Stack {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  databaseUrl: string;
  describeDb: string;
  /** POST /internal/publish: Postgres → KV and the tenant config objects. */
  publish(): Promise<void>;
  stop(): Promise<void>;
  /** What wrangler printed, for failure messages. */
  logs(): string;
}

/** GET/POST through node:http so that any `Host` can be sent to the local worker. */
export function request(
  port: number,
  p: string,
  init: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method: init.method ?? 'GET',
        headers: { ...init.headers, host: `${init.host ?? '127.0.0.1'}:${port}` },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

export interface StackOptions {
  /** Runs against the migrated database while wrangler is still booting (seed data here). */
  prepare?: (databaseUrl: string) => Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.warn(`[browser] cleanup: ${String(err)}`);
      }
    }
  };
  let log = '';
  try {
    const port = await freePort();
    const inspectorPort = await freePort();
    const stateDir = mkdtempSync(path.join(tmpdir(), 'azotte-browser-wrangler-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));

    let databaseUrl: string;
    let describeDb: string;
    if (process.env.DATABASE_URL) {
      const scratch = await createScratchDatabase(process.env.DATABASE_URL, 'azotte_browser');
      cleanups.push(scratch.drop);
      databaseUrl = scratch.url;
      describeDb = `scratch database ${redact(scratch.url)}`;
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), 'azotte-browser-pg-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const embedded = await startEmbeddedPostgres(dir, await freePort());
      cleanups.push(() => embedded.close());
      databaseUrl = embedded.url;
      describeDb = 'embedded PGlite (DATABASE_URL is unset)';
    }
    const proxy = await startWsProxy(0, { oneSession: !process.env.DATABASE_URL });
    cleanups.push(() => proxy.close());

    const publishToken = randomBytes(24).toString('base64url');
    const secret = () => randomBytes(32).toString('base64url');
    const wrangler: ChildProcess = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
        'dev',
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--inspector-port',
        String(inspectorPort),
        '--persist-to',
        stateDir,
        '--show-interactive-dev-session=false',
        '--log-level',
        'warn',
        '--var',
        `DATABASE_URL:${databaseUrl}`,
        '--var',
        `NEON_LOCAL_WS_PROXY:${proxy.url}`,
        '--var',
        `PUBLISH_TOKEN:${publishToken}`,
        '--var',
        `SESSION_SECRET:${secret()}`,
        '--var',
        `SIGNING_KEY_SECRET:${secret()}`,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
          NO_COLOR: '1',
        },
        // Its own process group, so stop() ends wrangler and the workerd it started.
        detached: true,
      },
    );
    const collect = (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    };
    wrangler.stdout?.on('data', collect);
    wrangler.stderr?.on('data', collect);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          const pid = wrangler.pid;
          if (wrangler.exitCode !== null || wrangler.signalCode !== null || !pid) return resolve();
          const kill = setTimeout(() => {
            try {
              process.kill(-pid, 'SIGKILL');
            } catch {}
            resolve();
          }, 3000);
          wrangler.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          try {
            process.kill(-pid, 'SIGTERM');
          } catch {
            clearTimeout(kill);
            resolve();
          }
        }),
    );

    // The database work runs while wrangler bundles and boots.
    await runMigrations(databaseUrl);
    await opts.prepare?.(databaseUrl);

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (wrangler.exitCode !== null) {
        throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${log}`);
      }
      try {
        if ((await request(port, '/healthz')).status === 200) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer in 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    return {
      baseUrl: `http://127.0.0.1:${port}`,
      port,
      databaseUrl,
      describeDb,
      async publish() {
        const res = await request(port, '/internal/publish', {
          method: 'POST',
          headers: { authorization: `Bearer ${publishToken}` },
        });
        if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${res.body}`);
      },
      stop,
      logs: () => log,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
