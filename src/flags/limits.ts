/**
 * Size bounds of flag definitions. Each one keeps a single operator's write from costing every
 * evaluation (a 2 MB variation is 2 MB in every answer) or from making the tenant's published
 * config too large for the edge, KV or the tenant's config object. Validated when a flag is
 * written (400, naming the field); the reader enforces the structural ones too, so a flag stored
 * before they existed cannot serve an oversized or too-deep value.
 */

/** One variation, serialized as JSON (UTF-8 bytes). */
export const MAX_VARIATION_BYTES = 8 * 1024;
/** A whole definition as stored, serialized as JSON (UTF-8 bytes). */
export const MAX_DEFINITION_BYTES = 32 * 1024;
/** Nesting of a JSON variation: arrays and objects inside each other. */
export const MAX_JSON_DEPTH = 32;
export const MAX_VARIATIONS = 100;
export const MAX_RULES = 100;
export const MAX_CLAUSES_PER_RULE = 32;
export const MAX_CLAUSE_VALUES = 1_000;
/** All `matches` patterns of one flag (or segment) together, in matcher instructions. */
export const MAX_PATTERN_PROGRAM_PER_FLAG = 1_024;
/** `included` and `excluded` of a segment, each. */
export const MAX_SEGMENT_KEYS = 10_000;
export const MAX_SEGMENT_RULES = 32;

/** The UTF-8 length of `s`, as TextEncoder would encode it (lone surrogates as U+FFFD). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      // A surrogate pair: two units, four bytes.
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

/** The UTF-8 length of `value` serialized as JSON. */
export function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? '');
}

/** `12,345` */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "40,000 bytes serialized; the limit is 32,768 (over by 7,232)" */
export function overLimitMessage(bytes: number, limit: number, what = 'bytes serialized'): string {
  return `${formatCount(bytes)} ${what}; the limit is ${formatCount(limit)} (over by ${formatCount(bytes - limit)})`;
}

/**
 * Why `value` is not a JSON value of at most `maxDepth` nested arrays and objects, or undefined
 * when it is one. Iterative: a 100,000-level value costs its size, not the stack.
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  if (value === undefined) return 'undefined is not a JSON value';
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    // Inside a container undefined is what JSON.stringify drops (a member) or writes as null.
    if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'numbers must be finite';
      continue;
    }
    if (typeof v !== 'object') return `${typeof v} is not a JSON value`;
    if (depth + 1 > maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return 'not a plain JSON object';
    for (const item of Object.values(v)) stack.push([item, depth + 1]);
  }
  return undefined;
}
