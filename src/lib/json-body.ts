/**
 * How every request body is read, for the router (src/middleware/json-body.ts) and the fast
 * path alike: one size limit, one content-type rule, one JSON parser with a depth bound and the
 * text rules of `./text` for every string in it.
 */
import { ApiError, type FieldError } from '../errors';
import { textProblem } from './text';

/** The largest request body any route accepts, in bytes (64 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * The deepest nesting of arrays and objects in a JSON body; the body's own object or array is
 * level 1. Deeper input is never meaningful here, and recursive code (schemas, jsonb) must not
 * meet it.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * `application/json`, in any case, with optional parameters (`; charset=utf-8`). No `+json`
 * types: the API documents `application/json` only. The router's own media-type gate
 * (@hono/zod-openapi) accepts a superset of this grammar, so this rule is the one that answers.
 */
const JSON_CONTENT_TYPE = /^application\/json(?:;\s*[A-Za-z0-9-]+=[^;]+)*$/i;

/** Whether a Content-Type header value declares a JSON body. */
export function isJsonContentType(value: string): boolean {
  return JSON_CONTENT_TYPE.test(value);
}

function unsupportedMediaType(): ApiError {
  return new ApiError(
    'unsupported_media_type',
    'Send the body as JSON, with `content-type: application/json`.',
  );
}

function tooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `The body may be at most ${limit} bytes.`);
}

/** The 400 for a route that needs a body and got none. */
export function bodyRequired(): ApiError {
  return new ApiError(
    'validation_failed',
    'This endpoint needs a JSON body, sent with `content-type: application/json`.',
    { errors: [{ path: '(body)', message: 'required' }] },
  );
}

/**
 * The body as text; '' when there is none. More than `limit` bytes is a 413, whether
 * Content-Length says so up front or a chunked body only turns out that long.
 */
export async function readBodyText(
  req: Request,
  headers: Headers = req.headers,
  limit = MAX_BODY_BYTES,
): Promise<string> {
  const declared = headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  const stream = req.body;
  if (stream === null || declared === '0') return '';
  if (declared !== null) {
    // A body is never longer than its Content-Length (the runtime ends it there); one string
    // unit is at least one UTF-8 byte, so the check is a backstop, not the limit.
    const text = await req.text();
    if (text.length > limit) throw tooLarge(limit);
    return text;
  }
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** The first string, key or container of `value` that breaks the rules, with its path. */
function findProblem(value: unknown, depth: number): FieldError | undefined {
  if (typeof value === 'string') {
    const message = textProblem(value, 'any');
    return message === undefined ? undefined : { path: '', message };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_JSON_DEPTH) {
    return { path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  const at = (key: string | number, found: FieldError): FieldError => ({
    path: found.path === '' ? String(key) : `${key}.${found.path}`,
    message: found.message,
  });
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findProblem(value[i], depth + 1);
      if (found) return at(i, found);
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const message = textProblem(key, 'any');
    if (message !== undefined) return { path: key, message: `name ${message}` };
    const found = findProblem(record[key], depth + 1);
    if (found) return at(key, found);
  }
  return undefined;
}

/**
 * JSON text → value; a 400 `validation_failed` for invalid JSON, nesting deeper than
 * {@link MAX_JSON_DEPTH}, or a string (or key) with U+0000 or a lone surrogate, naming the field.
 */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('validation_failed', 'The body is not valid JSON.', {
      errors: [{ path: '(body)', message: 'not valid JSON' }],
    });
  }
  const found = findProblem(value, 1);
  if (found) {
    const error = { path: found.path || '(root)', message: found.message };
    throw new ApiError(
      'validation_failed',
      `1 field failed validation: ${error.path}: ${error.message}`,
      {
        errors: [error],
      },
    );
  }
  return value;
}

/**
 * A request's JSON body, or undefined when it has none. A Content-Type other than JSON is a
 * 415 (before the body is read), as is a body without one; a JSON Content-Type with an empty
 * body is a 400; more than {@link MAX_BODY_BYTES} is a 413. `headers` are the request's, for a
 * caller that already holds them (each `req.headers` read makes a new object in workerd).
 */
export async function readJsonBody(
  req: Request,
  headers: Headers = req.headers,
): Promise<{ text: string; value: unknown } | undefined> {
  const type = headers.get('content-type');
  if (type !== null && !isJsonContentType(type)) throw unsupportedMediaType();
  const text = await readBodyText(req, headers);
  if (text === '') {
    if (type === null) return undefined;
    throw new ApiError(
      'validation_failed',
      'The body is empty but Content-Type says JSON: send a JSON document, or no Content-Type.',
      { errors: [{ path: '(body)', message: 'empty' }] },
    );
  }
  if (type === null) throw unsupportedMediaType();
  return { text, value: parseJsonBody(text) };
}
