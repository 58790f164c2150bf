/**
 * Hook for the killswitch measurement (`killswitch_p99_ms` in `npm run bench -- --json`).
 * Not measured yet: fill in `measureKillswitchFlip` and the bench reports its result.
 */
import type { Miniflare } from 'miniflare';

export interface KillswitchTarget {
  /** The Miniflare running our worker (`mf.getKVNamespace('CONFIG_KV')`, DO namespaces…). */
  mf: Miniflare;
  /** Direct-socket URL of our worker. */
  url: URL;
  /** Headers of a storefront-API request to the bench storefront (Host, publishable key). */
  headers: Record<string, string>;
  /** Seconds the bench would give one load run (`--duration`), as a budget hint. */
  seconds: number;
  /** Progress output. */
  log: (line: string) => void;
}

/**
 * p99, in milliseconds, of the time from flipping a killswitch (as the publisher / admin API
 * would) until the edge answers accordingly; null while it is not measured. Runs after the
 * throughput runs, on the same worker; must stay bounded in time.
 */
export async function measureKillswitchFlip(_target: KillswitchTarget): Promise<number | null> {
  return null;
}
