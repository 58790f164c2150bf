/**
 * The first path segments the platform keeps for itself. No tenant path prefix may be one of
 * them (refused when the tenant's config is written), and the storefront API's prefix mount
 * and the fast path's route patterns never match them, so `/admin/v1/...` reaches the admin API
 * whatever order the routers are mounted in. `v<digits>` is kept for future API versions.
 */
export const RESERVED_SEGMENTS: readonly string[] = [
  'admin',
  'api',
  'assets',
  'checkout',
  'console',
  'docs',
  'healthz',
  'internal',
  'openapi',
  'problems',
  'static',
  'webhooks',
  'widget',
];

const RESERVED_RE = new RegExp(`^(?:${RESERVED_SEGMENTS.join('|')}|v[0-9]+)$`);

/** True when `segment` (without slashes) is reserved for the platform. */
export function isReservedSegment(segment: string): boolean {
  return RESERVED_RE.test(segment);
}

/**
 * A tenant path prefix segment as a regular-expression source (no anchors, no capture): one to
 * 63 lower-case letters, digits and dashes, never a reserved segment.
 */
export const PREFIX_SEGMENT_SOURCE = `(?!(?:${RESERVED_SEGMENTS.join('|')}|v[0-9]+)(?![a-z0-9-]))[a-z0-9-]{1,63}`;

/** The Hono path the storefront API is mounted under for tenant path prefixes. */
export const PREFIX_MOUNT_PATH = `/:sfPrefix{${PREFIX_SEGMENT_SOURCE}}/v1`;
