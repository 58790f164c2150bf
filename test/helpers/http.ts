import { SELF } from 'cloudflare:test';
import { expect } from 'vitest';
import { hostKeys } from './factories';

export interface SfRequest {
  method?: string;
  headers?: Record<string, string>;
  cf?: Record<string, unknown>;
  body?: unknown;
  /** The API key to send; default: the host's publishable key (if a test storefront's); null: none. */
  key?: string | null;
}

/** A request to the worker as a storefront client on `host` would send it. */
export function call(host: string, path: string, init: SfRequest = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? hostKeys.get(host)?.publishable : init.key;
  if (key && !headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return SELF.fetch(`https://${host}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body,
    cf: init.cf,
  } as RequestInit);
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Asserts an RFC 9457 problem with the given status and type slug; returns its body. */
export async function expectProblem(res: Response, status: number, type: string) {
  const body = await json<Record<string, unknown>>(res);
  expect({ status: res.status, type: body.type }).toEqual({
    status,
    type: `https://azotte.dev/problems/${type}`,
  });
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe('string');
  expect(typeof body.requestId).toBe('string');
  return body;
}
