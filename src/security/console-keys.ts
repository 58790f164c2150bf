import type { Env } from '../env';
import { type ConsoleKeys, deriveConsoleKeys } from './sessions';

let cached: { secret: string; keys: Promise<ConsoleKeys> } | undefined;

/** The console's session and CSRF keys, derived once per isolate from SESSION_SECRET. */
export function consoleKeys(env: Env): Promise<ConsoleKeys> {
  const secret = env.SESSION_SECRET;
  if (!secret) return Promise.reject(new Error('SESSION_SECRET is not configured'));
  if (cached?.secret !== secret) cached = { secret, keys: deriveConsoleKeys(secret) };
  return cached.keys;
}
