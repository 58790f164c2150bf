/**
 * Semantic versions for app/device version targeting (`semverEq`, `semverLessThan`,
 * `semverGreaterThan`).
 *
 * Lenient where app stores are: a leading `v` and missing minor/patch are accepted (`v5.2` is
 * `5.2.0`), and so are leading zeros (`5.02.1`). Precedence follows semver.org §11: numeric
 * major.minor.patch, then a version with a pre-release sorts before the same version without
 * one; build metadata (`+…`) is ignored.
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers; numeric ones as numbers. Empty for a release. */
  pre: readonly (string | number)[];
}

const SEMVER_RE =
  /^v?(\d{1,15})(?:\.(\d{1,15}))?(?:\.(\d{1,15}))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const NUMERIC_RE = /^\d+$/;

/** Parses a version, or returns `undefined` when it is not one. */
export function parseSemver(input: string): SemVer | undefined {
  const m = SEMVER_RE.exec(input.trim());
  if (!m) return undefined;
  const pre = m[4] ? m[4].split('.').map((id) => (NUMERIC_RE.test(id) ? Number(id) : id)) : [];
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), pre };
}

/** Negative, zero or positive as `a` precedes, equals or follows `b`. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const x = a.pre[i] as string | number;
    const y = b.pre[i] as string | number;
    if (x === y) continue;
    // Numeric identifiers sort before alphanumeric ones.
    if (typeof x === 'number') return typeof y === 'number' ? x - y : -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length - b.pre.length;
}

// Evaluations see few distinct app versions (one per release in the wild), so parsed context
// values are memoised; the cap only stops a client sending random strings from growing it.
const cache = new Map<string, SemVer | null>();
const CACHE_LIMIT = 1024;

/** `parseSemver` memoised for context values. */
export function parseSemverCached(input: string): SemVer | undefined {
  const hit = cache.get(input);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parseSemver(input);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(input, parsed ?? null);
  return parsed;
}
