import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors';
import {
  isJsonContentType,
  MAX_BODY_BYTES,
  MAX_JSON_DEPTH,
  parseJsonBody,
  readBodyText,
} from '../../src/lib/json-body';
import { textProblem } from '../../src/lib/text';

function problemOf(fn: () => unknown): ApiError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  return undefined;
}

describe('textProblem', () => {
  // The rules as regular expressions (in a `u` regex a lone surrogate is one code point).
  const NUL = /\0/;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the oracle is about control characters
  const CONTROL = /[\x01-\x1f\x7f]/;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the oracle is about control characters
  const CONTROL_BUT_WHITESPACE = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/;
  const oracle = (s: string, controls: 'any' | 'multiline' | 'none') =>
    NUL.test(s) ||
    /\p{Cs}/u.test(s) ||
    (controls === 'none' && CONTROL.test(s)) ||
    (controls === 'multiline' && CONTROL_BUT_WHITESPACE.test(s));

  it('agrees with the rules written as regular expressions', () => {
    const unit = fc.oneof(
      fc.constantFrom('\u0000', '\t', '\n', '\r', '\u0007', '\u007f', '\ud800', '\udfff', '😀'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 20 }),
        fc.constantFrom('any', 'multiline', 'none'),
        (s, controls: 'any' | 'multiline' | 'none') => {
          expect(textProblem(s, controls) !== undefined).toBe(oracle(s, controls));
        },
      ),
      { seed: 1, numRuns: 2000 },
    );
  });

  it('names U+0000 and lone surrogates specifically', () => {
    expect(textProblem('a\u0000', 'any')).toMatch(/U\+0000/);
    expect(textProblem('\udc00a', 'any')).toMatch(/surrogate/);
    expect(textProblem('a\ud83d\ude00', 'none')).toBeUndefined();
    expect(textProblem('two\nlines\ttabbed', 'multiline')).toBeUndefined();
    expect(textProblem('two\nlines', 'none')).toMatch(/control/);
  });
});

describe('parseJsonBody', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it(`allows ${MAX_JSON_DEPTH} levels and refuses one more, naming the path`, () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeDefined();
    const p = problemOf(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1)));
    expect(p?.code).toBe('validation_failed');
    expect(p?.errors?.[0]?.path).toBe(Array(MAX_JSON_DEPTH).fill(0).join('.'));
    expect(problemOf(() => parseJsonBody(nested(100_000)))?.code).toBe('validation_failed');
  });

  it('refuses U+0000 and lone surrogates in any string or key', () => {
    expect(problemOf(() => parseJsonBody('{"a":[{"b":"x\\u0000"}]}'))?.errors).toEqual([
      { path: 'a.0.b', message: 'must not contain U+0000 (NUL)' },
    ]);
    expect(problemOf(() => parseJsonBody('{"k\\ud800":1}'))?.errors?.[0]?.path).toBe('k\ud800');
    expect(problemOf(() => parseJsonBody('"\\udc00"'))?.errors?.[0]?.path).toBe('(root)');
    expect(problemOf(() => parseJsonBody('{oops'))?.message).toMatch(/not valid JSON/);
  });

  it('returns any other JSON value unchanged', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        expect(parseJsonBody(JSON.stringify(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { seed: 2, numRuns: 300 },
    );
  });
});

describe('isJsonContentType', () => {
  it('is application/json, any case, with parameters', () => {
    for (const ok of ['application/json', 'Application/JSON', 'application/json; charset=utf-8']) {
      expect(isJsonContentType(ok), ok).toBe(true);
    }
    for (const bad of [
      'application/jsonx',
      'application/json-patch+json',
      'application/problem+json',
      'text/json',
      'application/json;',
      'application/json ; charset=utf-8',
      '',
    ]) {
      expect(isJsonContentType(bad), bad).toBe(false);
    }
  });
});

describe('readBodyText', () => {
  const stream = (chunks: number, size: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < chunks; i++) c.enqueue(new Uint8Array(size).fill(0x61));
        c.close();
      },
    });
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    new Request('https://x.test/', { method: 'POST', body, headers });

  it('cuts a body without Content-Length at the limit', async () => {
    const under = await readBodyText(post(stream(4, MAX_BODY_BYTES / 4)));
    expect(under.length).toBe(MAX_BODY_BYTES);
    await expect(readBodyText(post(stream(5, MAX_BODY_BYTES / 4)))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const req = post('{}', { 'content-length': String(MAX_BODY_BYTES + 1) });
    await expect(readBodyText(req)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(req.bodyUsed).toBe(false);
  });
});
