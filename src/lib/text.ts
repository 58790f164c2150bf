/**
 * The character rules for text that reaches Postgres or the audit trail. Postgres refuses
 * U+0000 in `text` and `jsonb` (a 500 if it gets that far), `jsonb` refuses a lone surrogate
 * escape, and `text` silently turns one into U+FFFD; control characters are never meaningful in
 * a name or a slug.
 */

export type TextControls =
  /** Only U+0000 and lone surrogates are refused (e.g. any string inside a JSON body). */
  | 'any'
  /** Free text: tab, line feed and carriage return are allowed, other controls are not. */
  | 'multiline'
  /** A name, slug or id: no control characters at all. */
  | 'none';

/**
 * Why `s` is not acceptable text, or undefined when it is.
 * @param controls which control characters may appear besides printable text
 */
export function textProblem(s: string, controls: TextControls = 'none'): string | undefined {
  let control = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      if (c === 0) return 'must not contain U+0000 (NUL)';
      // tab, line feed, carriage return
      const whitespace = c === 0x09 || c === 0x0a || c === 0x0d;
      if (controls === 'none' || (controls === 'multiline' && !whitespace)) control = true;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1); // NaN past the end
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'must be well-formed Unicode (no lone surrogates)';
    }
  }
  if (!control) return undefined;
  return controls === 'multiline'
    ? 'must not contain control characters other than tab and line breaks'
    : 'must not contain control characters';
}
