/**
 * A linear-time matcher for the `matches` clause operator: a parser for a subset of JavaScript
 * regular expression syntax (no flags, UTF-16 code units, as `new RegExp(pattern)`) and a
 * Thompson NFA simulated breadth-first (Pike VM without captures). Every step visits each
 * instruction at most once, so a test costs O(input length × program size) whatever the
 * pattern: `^(a+)+$`, `(a|a)*b` or `(.*a){20}` cannot backtrack, because nothing does.
 *
 * Supported, with JavaScript's meaning: literals, `.`, `[...]` and `[^...]` (ranges and the
 * escapes below), `\d \D \w \W \s \S`, `\t \n \v \f \r \0 \xHH \uHHHH \cX`, escaped
 * punctuation, `^ $ \b \B`, groups `(...)`, `(?:...)`, `(?<name>...)`, alternation `|`, and
 * quantifiers `* + ? {n} {n,} {n,m}`, greedy or lazy (only whether a match exists is asked, so
 * laziness changes nothing). Refused, because no linear-time engine can honour them or because
 * JavaScript reads them in surprising ways: backreferences, lookahead and lookbehind, flags and
 * inline modifiers, `\u{...}`, `\p{...}`, octal escapes and unknown letter escapes.
 *
 * Pure and allocation-free per test once compiled.
 */

/** Longest pattern accepted, in UTF-16 code units. */
export const MAX_PATTERN_LENGTH = 256;
/**
 * Largest compiled program (counted repetitions are expanded, so `a{100}` costs 100). A test
 * visits each instruction at most once per input character, so this times the input length
 * (at most MAX_MATCH_INPUT_LENGTH, see matchers.ts) bounds its work.
 */
export const MAX_PROGRAM_SIZE = 512;
/** Largest bound of a counted repetition `{n,m}`. */
export const MAX_REPEAT = 100;

/** A compiled pattern: `test(s)` answers as `new RegExp(pattern).test(s)` would. */
export interface SafeRegex {
  readonly source: string;
  /** Instructions in the program: what one input character costs, at worst. */
  readonly size: number;
  test(input: string): boolean;
}

export type RegexCompileResult =
  | { ok: true; regex: SafeRegex }
  | { ok: false; message: string; index: number };

// ---- Character sets -------------------------------------------------------------------------

/** A set of UTF-16 code units: a bitmap for ASCII, sorted inclusive ranges above it. */
interface CharSet {
  ascii: Uint32Array;
  /** [lo0, hi0, lo1, hi1, …], all ≥ 128, sorted and disjoint */
  high: number[];
}

type Ranges = [number, number][];

function normalize(ranges: Ranges): Ranges {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0xffff) out.push([next, 0xffff]);
  return out;
}

function toCharSet(ranges: Ranges): CharSet {
  const ascii = new Uint32Array(4);
  const high: number[] = [];
  for (const [lo, hi] of normalize(ranges)) {
    for (let c = lo; c <= Math.min(hi, 127); c++) {
      ascii[c >> 5] = (ascii[c >> 5] as number) | (1 << (c & 31));
    }
    if (hi >= 128) high.push(Math.max(lo, 128), hi);
  }
  return { ascii, high };
}

const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** JavaScript's `\s`: WhiteSpace and LineTerminator. */
const SPACE: Ranges = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
/** What `.` matches without the `s` flag: everything but line terminators. */
const DOT: Ranges = complement([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);

function isWordUnit(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f
  );
}

// ---- Parser ---------------------------------------------------------------------------------

type Assertion = 'bol' | 'eol' | 'wordb' | 'nwordb';

type Node =
  | { t: 'empty' }
  | { t: 'set'; ranges: Ranges }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'assert'; kind: Assertion };

class RegexSyntaxError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

const HEX = /^[0-9A-Fa-f]$/;
const QUANTIFIER_BRACE = /^\{(\d+)(?:(,)(\d*))?\}/;

class Parser {
  private pos = 0;
  /** Group names seen so far: JavaScript refuses a name used twice. */
  private readonly names = new Set<string>();

  constructor(private readonly src: string) {}

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) this.fail("unmatched ')'");
    return node;
  }

  private fail(message: string, at = this.pos): never {
    throw new RegexSyntaxError(message, at);
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      items.push(this.sequence());
    }
    return items.length === 1 ? (items[0] as Node) : { t: 'alt', items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      items.push(this.term());
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? (items[0] as Node) : { t: 'cat', items };
  }

  private term(): Node {
    const start = this.pos;
    const atom = this.atom();
    const q = this.quantifier();
    if (q === undefined) return atom;
    // A bare assertion cannot be repeated; a group holding one can, as in JavaScript.
    if (atom.t === 'assert' && this.src[start] !== '(') this.fail('nothing to repeat', start);
    return { t: 'rep', node: atom, min: q.min, max: q.max };
  }

  /** A quantifier at the cursor (consumed), or undefined. */
  private quantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) {
      this.pos++;
    } else if (c === '{') {
      const m = QUANTIFIER_BRACE.exec(this.src.slice(this.pos));
      if (!m) return undefined; // a literal `{`, as in JavaScript
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (min > max) this.fail('numbers out of order in {} quantifier');
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
        this.fail(`a counted repetition may not exceed ${MAX_REPEAT}`);
      }
      this.pos += (m[0] as string).length;
      q = { min, max };
    } else {
      return undefined;
    }
    if (this.peek() === '?') this.pos++; // lazy: the same set of matches
    return q;
  }

  private atom(): Node {
    const start = this.pos;
    const c = this.src[this.pos++] as string;
    switch (c) {
      case '^':
        return { t: 'assert', kind: 'bol' };
      case '$':
        return { t: 'assert', kind: 'eol' };
      case '.':
        return { t: 'set', ranges: DOT };
      case '[':
        return this.charClass();
      case '(':
        return this.group(start);
      case ')':
        return this.fail("unmatched ')'", start);
      case '*':
      case '+':
      case '?':
        return this.fail('nothing to repeat', start);
      case '{':
        this.pos--;
        if (QUANTIFIER_BRACE.test(this.src.slice(this.pos))) this.fail('nothing to repeat');
        this.pos++;
        return literal(c);
      case '\\':
        return this.atomEscape(start);
      default:
        return literal(c);
    }
  }

  private group(start: number): Node {
    if (this.peek() === '?') {
      const next = this.peek(1);
      if (next === ':') {
        this.pos += 2;
      } else if (next === '=' || next === '!') {
        this.fail('lookahead is not supported', start);
      } else if (next === '<' && (this.peek(2) === '=' || this.peek(2) === '!')) {
        this.fail('lookbehind is not supported', start);
      } else if (next === '<') {
        const m = /^\?<([A-Za-z_$][A-Za-z0-9_$]*)>/.exec(this.src.slice(this.pos));
        if (!m) this.fail('invalid group name', start);
        const name = m[1] as string;
        if (this.names.has(name)) this.fail(`duplicate group name "${name}"`, start);
        this.names.add(name);
        this.pos += (m[0] as string).length;
      } else {
        this.fail('inline flags and other (?…) groups are not supported', start);
      }
    }
    const inner = this.alternation();
    if (this.peek() !== ')') this.fail("unterminated group: missing ')'", start);
    this.pos++;
    return inner;
  }

  private atomEscape(start: number): Node {
    const c = this.src[this.pos];
    if (c === undefined) this.fail('\\ at end of pattern', start);
    switch (c) {
      case 'b':
        this.pos++;
        return { t: 'assert', kind: 'wordb' };
      case 'B':
        this.pos++;
        return { t: 'assert', kind: 'nwordb' };
      case 'k':
        return this.fail('backreferences are not supported', start);
      default: {
        if (c >= '1' && c <= '9') this.fail('backreferences are not supported', start);
        const cls = this.classEscape();
        if (cls) return { t: 'set', ranges: cls };
        const unit = this.charEscape(start, false);
        return { t: 'set', ranges: [[unit, unit]] };
      }
    }
  }

  /** `\d \D \w \W \s \S` at the cursor (after the backslash), consumed; else undefined. */
  private classEscape(): Ranges | undefined {
    const c = this.src[this.pos];
    let ranges: Ranges | undefined;
    if (c === 'd') ranges = DIGIT;
    else if (c === 'D') ranges = complement(DIGIT);
    else if (c === 'w') ranges = WORD;
    else if (c === 'W') ranges = complement(WORD);
    else if (c === 's') ranges = SPACE;
    else if (c === 'S') ranges = complement(SPACE);
    if (ranges) this.pos++;
    return ranges;
  }

  /** A character escape at the cursor (after the backslash), consumed: its code unit. */
  private charEscape(start: number, inClass: boolean): number {
    const c = this.src[this.pos] as string;
    this.pos++;
    switch (c) {
      case 't':
        return 0x09;
      case 'n':
        return 0x0a;
      case 'v':
        return 0x0b;
      case 'f':
        return 0x0c;
      case 'r':
        return 0x0d;
      case '0': {
        const d = this.peek();
        if (d !== undefined && d >= '0' && d <= '9') this.fail('octal escapes are not supported');
        return 0;
      }
      case 'x':
      case 'u': {
        const n = c === 'x' ? 2 : 4;
        const hex = this.src.slice(this.pos, this.pos + n);
        if (hex.length !== n || ![...hex].every((h) => HEX.test(h))) {
          this.fail(
            `\\${c} needs ${n} hexadecimal digits${c === 'u' ? ' (no \\u{…})' : ''}`,
            start,
          );
        }
        this.pos += n;
        return Number.parseInt(hex, 16);
      }
      case 'c': {
        const letter = this.peek();
        if (letter === undefined || !/^[A-Za-z]$/.test(letter)) {
          this.fail('\\c needs a letter', start);
        }
        this.pos++;
        return letter.charCodeAt(0) % 32;
      }
      case 'b':
        if (inClass) return 0x08; // [\b] is backspace
        break;
      default:
        if (c >= '0' && c <= '9') {
          this.fail(
            inClass ? 'octal escapes are not supported' : 'backreferences are not supported',
            start,
          );
        }
        // Escaped punctuation means itself; an escaped letter without a meaning is refused
        // (JavaScript would read `\q` as `q`, which is rarely what was meant).
        if (!/^[A-Za-z]$/.test(c)) return c.charCodeAt(0);
    }
    return this.fail(`unknown escape \\${c}`, start);
  }

  private charClass(): Node {
    const start = this.pos - 1;
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.pos++;
    }
    const ranges: Ranges = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("unterminated character class: missing ']'", start);
      if (c === ']') {
        this.pos++;
        break;
      }
      const atomStart = this.pos;
      const lo = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const hiStart = this.pos;
        const hi = this.classAtom();
        if (typeof lo !== 'number' || typeof hi !== 'number') {
          this.fail('a range cannot start or end with a class escape such as \\d', atomStart);
        }
        if (lo > hi) this.fail('range out of order in character class', hiStart);
        ranges.push([lo, hi]);
      } else if (typeof lo === 'number') {
        ranges.push([lo, lo]);
      } else {
        ranges.push(...lo);
      }
    }
    return { t: 'set', ranges: negate ? complement(ranges) : normalize(ranges) };
  }

  /** One class atom: a code unit, or the ranges of a class escape. */
  private classAtom(): number | Ranges {
    const start = this.pos;
    const c = this.src[this.pos++] as string;
    if (c !== '\\') return c.charCodeAt(0);
    if (this.peek() === undefined) this.fail('\\ at end of pattern', start);
    const cls = this.classEscape();
    if (cls) return cls;
    if (this.peek() === '-') {
      this.pos++;
      return 0x2d;
    }
    return this.charEscape(start, true);
  }
}

function literal(c: string): Node {
  const u = c.charCodeAt(0);
  return { t: 'set', ranges: [[u, u]] };
}

// ---- Compiler -------------------------------------------------------------------------------

const OP_SET = 0;
const OP_SPLIT = 1;
const OP_JMP = 2;
const OP_ASSERT = 3;
const OP_MATCH = 4;

const ASSERT_CODES: Record<Assertion, number> = { bol: 0, eol: 1, wordb: 2, nwordb: 3 };

class ProgramTooLarge extends Error {}

/** Whether `n` compiles to no instruction at all (`()`, `(a{0})`, `(){5}`). */
function emitsNothing(n: Node): boolean {
  switch (n.t) {
    case 'empty':
      return true;
    case 'cat':
      return n.items.every(emitsNothing);
    case 'rep':
      return n.max === 0 || emitsNothing(n.node);
    default:
      return false;
  }
}

/** Node visits a compile may make (see `Emitter.visits`): well above any accepted program. */
const MAX_COMPILE_VISITS = 8 * MAX_PROGRAM_SIZE;

/** Emits the NFA program: op[i] with operands x[i], y[i]. */
class Emitter {
  readonly op: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly sets: CharSet[] = [];
  private readonly setIds = new Map<Ranges, number>();
  /**
   * Nodes visited while emitting. Parts that emit nothing (`()`, `a{0}`) are not caught by the
   * program-size bound, so `((((){100}){100}){100}){100}` would take exponential time to
   * compile; every visit counts against this budget too.
   */
  private visits = 0;

  emit(op: number, x = 0, y = 0): number {
    if (this.op.length >= MAX_PROGRAM_SIZE) throw new ProgramTooLarge();
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  node(n: Node): void {
    if (++this.visits > MAX_COMPILE_VISITS) throw new ProgramTooLarge();
    switch (n.t) {
      case 'empty':
        return;
      case 'set': {
        let id = this.setIds.get(n.ranges);
        if (id === undefined) {
          id = this.sets.length;
          this.sets.push(toCharSet(n.ranges));
          this.setIds.set(n.ranges, id);
        }
        this.emit(OP_SET, id);
        return;
      }
      case 'assert':
        this.emit(OP_ASSERT, ASSERT_CODES[n.kind]);
        return;
      case 'cat':
        for (const item of n.items) this.node(item);
        return;
      case 'alt': {
        // split L1, next; L1: a; jmp end; next: split L2, …; last alternative falls through
        const jumps: number[] = [];
        n.items.forEach((item, i) => {
          if (i === n.items.length - 1) {
            this.node(item);
            return;
          }
          const split = this.emit(OP_SPLIT);
          this.x[split] = split + 1;
          this.node(item);
          jumps.push(this.emit(OP_JMP));
          this.y[split] = this.op.length;
        });
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case 'rep':
        this.repeat(n.node, n.min, n.max);
        return;
    }
  }

  private repeat(node: Node, min: number, max: number): void {
    // A body that compiles to nothing repeats to nothing.
    if (max === 0 || emitsNothing(node)) return;
    for (let i = 0; i < min; i++) this.node(node);
    if (max === Infinity) {
      // L: split body, end; body; jmp L
      const split = this.emit(OP_SPLIT);
      this.x[split] = split + 1;
      this.node(node);
      this.emit(OP_JMP, split);
      this.y[split] = this.op.length;
      return;
    }
    // (body (body …)?)? : each optional copy may skip to the end
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      const split = this.emit(OP_SPLIT);
      this.x[split] = split + 1;
      splits.push(split);
      this.node(node);
    }
    for (const s of splits) this.y[s] = this.op.length;
  }
}

class PikeRegex implements SafeRegex {
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  /** Four bitmap words per set (ASCII membership), indexed by set id × 4. */
  private readonly ascii: Uint32Array;
  /** Per set, its ranges above ASCII. */
  private readonly high: readonly (readonly number[])[];
  /** Whether any set has members above ASCII (else a non-ASCII unit matches nothing). */
  private readonly anyHigh: boolean;
  /** Per instruction: the step it was last added in (dedupes threads within a step). */
  private readonly mark: Int32Array;
  private readonly stack: Int32Array;
  private clist: Int32Array;
  private nlist: Int32Array;
  private step = 0;

  constructor(
    readonly source: string,
    emitter: Emitter,
    /** Every path starts with `^`: only position 0 can start a match. */
    private readonly anchored: boolean,
  ) {
    const n = emitter.op.length;
    this.op = Uint8Array.from(emitter.op);
    this.x = Int32Array.from(emitter.x);
    this.y = Int32Array.from(emitter.y);
    this.ascii = new Uint32Array(emitter.sets.length * 4);
    emitter.sets.forEach((set, i) => {
      this.ascii.set(set.ascii, i * 4);
    });
    this.high = emitter.sets.map((set) => set.high);
    this.anyHigh = this.high.some((h) => h.length > 0);
    this.mark = new Int32Array(n).fill(-1);
    this.stack = new Int32Array(n + 1);
    this.clist = new Int32Array(n);
    this.nlist = new Int32Array(n);
  }

  get size(): number {
    return this.op.length;
  }

  /**
   * Adds `pc` and everything reachable from it without consuming input to `list` (at `count`),
   * checking assertions at `pos`. Returns the new count, or -1 when MATCH was reached.
   */
  private add(list: Int32Array, count: number, pc0: number, input: string, pos: number): number {
    const { op, x, y, mark, stack } = this;
    const step = this.step;
    let sp = 0;
    let pc = pc0;
    for (;;) {
      if (mark[pc] !== step) {
        mark[pc] = step;
        const o = op[pc];
        if (o === OP_SET) {
          list[count++] = pc;
        } else if (o === OP_SPLIT) {
          stack[sp++] = y[pc] as number;
          pc = x[pc] as number;
          continue;
        } else if (o === OP_JMP) {
          pc = x[pc] as number;
          continue;
        } else if (o === OP_MATCH) {
          return -1;
        } else if (assertHolds(x[pc] as number, input, pos)) {
          pc++;
          continue;
        }
      }
      if (sp === 0) return count;
      pc = stack[--sp] as number;
    }
  }

  test(input: string): boolean {
    const { x, ascii, high, anyHigh, anchored } = this;
    const len = input.length;
    // Step numbers only need to differ between consecutive steps; restart before they overflow.
    if (this.step > 0x3fffffff - len) {
      this.mark.fill(-1);
      this.step = 0;
    }
    let clist = this.clist;
    let nlist = this.nlist;
    this.step++;
    let ccount = this.add(clist, 0, 0, input, 0);
    if (ccount < 0) return true;
    for (let pos = 0; pos < len; pos++) {
      if (ccount === 0 && anchored) return false;
      const c = input.charCodeAt(pos);
      this.step++;
      let ncount = 0;
      if (c < 128) {
        const word = c >> 5;
        const bit = 1 << (c & 31);
        for (let i = 0; i < ccount; i++) {
          const pc = clist[i] as number;
          // Only SET instructions are ever in a list.
          if (((ascii[(x[pc] as number) * 4 + word] as number) & bit) !== 0) {
            ncount = this.add(nlist, ncount, pc + 1, input, pos + 1);
            if (ncount < 0) return true;
          }
        }
      } else if (anyHigh) {
        for (let i = 0; i < ccount; i++) {
          const pc = clist[i] as number;
          if (inHigh(high[x[pc] as number] as readonly number[], c)) {
            ncount = this.add(nlist, ncount, pc + 1, input, pos + 1);
            if (ncount < 0) return true;
          }
        }
      }
      // An unanchored search may also start at the next position.
      if (!anchored) {
        ncount = this.add(nlist, ncount, 0, input, pos + 1);
        if (ncount < 0) return true;
      }
      const t = clist;
      clist = nlist;
      nlist = t;
      ccount = ncount;
    }
    return false;
  }
}

function inHigh(high: readonly number[], c: number): boolean {
  for (let i = 0; i < high.length; i += 2) {
    if (c < (high[i] as number)) return false;
    if (c <= (high[i + 1] as number)) return true;
  }
  return false;
}

function assertHolds(kind: number, input: string, pos: number): boolean {
  switch (kind) {
    case 0:
      return pos === 0;
    case 1:
      return pos === input.length;
    default: {
      const before = pos > 0 && isWordUnit(input.charCodeAt(pos - 1));
      const after = pos < input.length && isWordUnit(input.charCodeAt(pos));
      return kind === 2 ? before !== after : before === after;
    }
  }
}

/** Whether every path through `n` starts with `^`. */
function startsAnchored(n: Node): boolean {
  switch (n.t) {
    case 'assert':
      return n.kind === 'bol';
    case 'cat':
      return n.items[0] !== undefined && startsAnchored(n.items[0]);
    case 'alt':
      return n.items.every(startsAnchored);
    case 'rep':
      return n.min > 0 && startsAnchored(n.node);
    default:
      return false;
  }
}

/**
 * Compiles `pattern` (JavaScript syntax, no flags; see the module comment for the subset).
 * Never throws: an unsupported or invalid pattern comes back with a message and its index.
 */
export function compileSafeRegex(pattern: string): RegexCompileResult {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      message: `longer than ${MAX_PATTERN_LENGTH} characters`,
      index: MAX_PATTERN_LENGTH,
    };
  }
  let ast: Node;
  try {
    ast = new Parser(pattern).parse();
  } catch (err) {
    if (err instanceof RegexSyntaxError)
      return { ok: false, message: err.message, index: err.index };
    return { ok: false, message: String(err), index: 0 };
  }
  const emitter = new Emitter();
  try {
    emitter.node(ast);
    emitter.emit(OP_MATCH);
  } catch (err) {
    if (err instanceof ProgramTooLarge) {
      return {
        ok: false,
        message: `too complex: more than ${MAX_PROGRAM_SIZE} instructions once repetitions are expanded`,
        index: 0,
      };
    }
    throw err;
  }
  return {
    ok: true,
    regex: new PikeRegex(pattern, emitter, startsAnchored(ast)),
  };
}
