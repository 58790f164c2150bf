/** Bundles the bench's workers with `wrangler deploy --dry-run`, as a deploy would. */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

export interface Bundle {
  /** Absolute path of the bundle's main module. */
  scriptPath: string;
  /** Its directory (Miniflare's `modulesRoot`). */
  dir: string;
}

/** Child processes still running, so that Ctrl-C can stop them. */
export const buildChildren = new Set<import('node:child_process').ChildProcess>();

/**
 * `wrangler deploy --dry-run --outdir <outdir>` with `configPath` (the project's wrangler.toml
 * when omitted, default environment). Rejects with wrangler's output when it fails.
 */
export async function buildWorker(outdir: string, configPath?: string): Promise<Bundle> {
  const args = [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir];
  if (configPath) args.push('--config', configPath);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  buildChildren.add(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  buildChildren.delete(child);
  // wrangler leaves a .wrangler/ scratch directory next to a non-root config: not ours to keep.
  if (configPath)
    await rm(path.join(path.dirname(configPath), '.wrangler'), { recursive: true, force: true });
  if (code !== 0) {
    throw new Error(
      `wrangler deploy --dry-run${configPath ? ` -c ${path.relative(ROOT, configPath)}` : ''} failed (exit ${code}):\n${output.trim()}`,
    );
  }
  const main = (await readdir(outdir)).filter((f) => f.endsWith('.js'));
  if (main.length !== 1 || !main[0]) {
    throw new Error(`expected one .js module in ${outdir}, found: ${main.join(', ') || 'none'}`);
  }
  return { scriptPath: path.join(outdir, main[0]), dir: outdir };
}
