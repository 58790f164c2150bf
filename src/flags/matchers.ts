/**
 * Clauses and segments compiled into closures: the per-evaluation work is a Set lookup, a
 * precompiled linear-time matcher or a comparison against values parsed once, never a re-parse
 * of the flag.
 */
import { compileSafeRegex, type SafeRegex } from './regex';
import type { Clause, Segment } from './schema';
import { compareSemver, parseSemver, parseSemverCached, type SemVer } from './semver';
import type { EvaluationContext } from './types';

/** A compiled condition on the context. */
export type Matcher = (ctx: EvaluationContext) => boolean;

type Scalar = string | number | boolean;

/** Reads one attribute; anything but a string, number or boolean reads as absent. */
export type AttributeReader = (ctx: EvaluationContext) => Scalar | undefined;

type ValueTest = (value: Scalar) => boolean;

const NEVER: Matcher = () => false;
const NO_SEGMENTS: ReadonlyMap<string, Matcher> = new Map();

function scalar(v: unknown): Scalar | undefined {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

function str(v: Scalar): string {
  return typeof v === 'string' ? v : String(v);
}

function num(v: Scalar): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A reader for a context attribute. `targetingKey` and `customerId` fall back to each other:
 * storefronts send the customer id under either name, and a rule or segment written against one
 * must not silently miss contexts that use the other.
 */
export function attributeReader(name: string): AttributeReader {
  if (name === 'targetingKey' || name === 'customerId') {
    const other = name === 'targetingKey' ? 'customerId' : 'targetingKey';
    return (ctx) => scalar(ctx[name]) ?? scalar(ctx[other]);
  }
  return (ctx) => scalar(ctx[name]);
}

function anyString(values: readonly string[], test: (s: string, value: string) => boolean) {
  return (v: Scalar) => {
    const s = str(v);
    for (const value of values) if (test(s, value)) return true;
    return false;
  };
}

/**
 * The longest attribute value a `matches` clause tests; a longer one does not match (as a
 * missing attribute does not). With the matcher's program bound this caps one test's work.
 */
export const MAX_MATCH_INPUT_LENGTH = 1024;

/**
 * Never JavaScript's RegExp: it backtracks, and one tenant's `^(a+)+$` would stall every request
 * on the isolate. A pattern outside the linear-time subset (stored before patterns were checked
 * at write time) never matches.
 */
function compileMatcher(pattern: string): SafeRegex | undefined {
  const compiled = compileSafeRegex(pattern);
  return compiled.ok ? compiled.regex : undefined;
}

function semverTest(values: readonly Scalar[], accept: (cmp: number) => boolean): ValueTest {
  const parsed = values.map((v) => parseSemver(str(v))).filter((v): v is SemVer => v !== undefined);
  return (v) => {
    const version = parseSemverCached(str(v));
    if (version === undefined) return false;
    for (const p of parsed) if (accept(compareSemver(version, p))) return true;
    return false;
  };
}

/** The test on a present attribute value, before `negate`. */
function valueTest(clause: Clause): ValueTest {
  const values = clause.values;
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  switch (clause.operator) {
    case 'in':
    case 'notIn': {
      // Compared as strings, so `in ["5"]` matches the number 5 and the string "5" alike.
      const set = new Set(values.map(str));
      return clause.operator === 'in' ? (v) => set.has(str(v)) : (v) => !set.has(str(v));
    }
    case 'startsWith':
      return anyString(strings, (s, prefix) => s.startsWith(prefix));
    case 'endsWith':
      return anyString(strings, (s, suffix) => s.endsWith(suffix));
    case 'contains':
      return anyString(strings, (s, part) => s.includes(part));
    case 'matches': {
      const regexps = strings.map(compileMatcher).filter((r) => r !== undefined);
      return (v) => {
        const s = str(v);
        if (s.length > MAX_MATCH_INPUT_LENGTH) return false;
        for (const r of regexps) if (r.test(s)) return true;
        return false;
      };
    }
    case 'lessThan': {
      // "less than any value" is "less than the largest".
      const bound = numbers.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
      return (v) => {
        const n = num(v);
        return n !== undefined && n < bound;
      };
    }
    case 'greaterThan': {
      const bound = numbers.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
      return (v) => {
        const n = num(v);
        return n !== undefined && n > bound;
      };
    }
    case 'semverEq':
      return semverTest(values, (cmp) => cmp === 0);
    case 'semverLessThan':
      return semverTest(values, (cmp) => cmp < 0);
    case 'semverGreaterThan':
      return semverTest(values, (cmp) => cmp > 0);
    case 'segmentMatch':
      // Handled by compileClause; a segment has no attribute value to test.
      return () => false;
  }
}

/**
 * Compiles a clause. `segments` resolves `segmentMatch` keys; an unknown segment never matches
 * (as an empty segment would), so a deleted segment turns its rules off rather than failing the
 * flag.
 */
export function compileClause(clause: Clause, segments: ReadonlyMap<string, Matcher>): Matcher {
  if (clause.operator === 'segmentMatch') {
    const members = clause.values.map((key) => segments.get(str(key)) ?? NEVER);
    const inAny: Matcher = (ctx) => {
      for (const m of members) if (m(ctx)) return true;
      return false;
    };
    return clause.negate ? (ctx) => !inAny(ctx) : inAny;
  }
  const read = attributeReader(clause.attribute ?? '');
  const test = valueTest(clause);
  // A missing attribute never matches, negated or not: "country is not DE" must not target
  // contexts whose country is unknown.
  if (clause.negate) {
    return (ctx) => {
      const v = read(ctx);
      return v !== undefined && !test(v);
    };
  }
  return (ctx) => {
    const v = read(ctx);
    return v !== undefined && test(v);
  };
}

/** Compiles a segment's membership test (see `SegmentSchema` for the order of precedence). */
export function compileSegment(segment: Segment): Matcher {
  const included = new Set(segment.included);
  const excluded = new Set(segment.excluded);
  const rules = segment.rules.map((c) => compileClause(c, NO_SEGMENTS));
  const readKey = attributeReader('targetingKey');
  return (ctx) => {
    const key = readKey(ctx);
    if (key !== undefined) {
      const k = str(key);
      if (included.has(k)) return true;
      if (excluded.has(k)) return false;
    }
    if (rules.length === 0) return false;
    for (const rule of rules) if (!rule(ctx)) return false;
    return true;
  };
}
