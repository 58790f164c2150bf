/**
 * Test and live mode, as Stripe has them: a key's mode (its `pk_test_` / `pk_live_` prefix,
 * carried by its edge entry) decides what a request may reach. Test keys reach only the sandbox
 * providers, test clocks and outage switches; live keys only the real providers. Routes check
 * it with {@link requireMode} after the pipeline authenticated the key.
 */
import type { KeyMode } from '../db/schema/enums';
import { ApiError } from '../errors';
import { apiKeyPrefix } from '../security/api-keys';
import type { EdgeApiKey } from './snapshot';

/**
 * Refuses a request whose key is not in `mode` with a 403 `key_mode_mismatch` problem that
 * names the key to use instead. Costs nothing when the mode matches.
 *
 * @param what what the route reaches, as a plural noun phrase ("Test clocks", "Sandbox cards",
 *   "Outage switches"): it starts the problem's detail.
 * @example
 * requireMode(c.get('apiKey'), 'test', 'Test clocks');
 * // a live key → 403: "Test clocks are available only in test mode: this request used a live
 * // key (sk_live_…). Use a test key (sk_test_…)."
 */
export function requireMode(
  apiKey: Pick<EdgeApiKey, 'kind' | 'mode'>,
  mode: KeyMode,
  what: string,
): void {
  if (apiKey.mode !== mode) throw modeMismatch(apiKey, mode, what);
}

function modeMismatch(
  apiKey: Pick<EdgeApiKey, 'kind' | 'mode'>,
  mode: KeyMode,
  what: string,
): ApiError {
  return new ApiError(
    'key_mode_mismatch',
    `${what} are available only in ${mode} mode: this request used a ${apiKey.mode} key ` +
      `(${apiKeyPrefix(apiKey.kind, apiKey.mode)}…). Use a ${mode} key ` +
      `(${apiKeyPrefix(apiKey.kind, mode)}…).`,
    { extensions: { keyMode: apiKey.mode, requiredMode: mode } },
  );
}
