/**
 * The operator console: `GET /console`, a self-contained page (no CDN, no build step) on top of
 * the admin API with the cookie session and `X-CSRF-Token`. Its script and stylesheet are served
 * from this worker, so the CSP allows nothing inline and nothing from elsewhere.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../../env';
import { CONSOLE_JS } from './client';
import { renderConsolePage } from './page';
import { CONSOLE_CSS } from './styles';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#9db4ff"/><stop offset="1" stop-color="#5b7cff"/></linearGradient></defs><rect width="32" height="32" rx="8" fill="#171b30"/><path d="M16 5 27 16 16 27 5 16Z" fill="url(#g)"/><path d="M16 11 21 16 16 21 11 16Z" fill="#0f1222"/></svg>`;

/** FNV-1a, hex: a cache-busting version of the assets, computed once per isolate. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const VERSION = fnv1a(CONSOLE_JS + CONSOLE_CSS + ICON_SVG);
let page: string | undefined;

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

function asset(body: string, contentType: string, versioned: boolean): Response {
  return new Response(body, {
    headers: {
      ...SECURITY_HEADERS,
      'content-type': contentType,
      // A versioned URL never changes content; an unversioned one is revalidated.
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
    },
  });
}

export const consoleRoutes = new Hono<AppEnv>()
  .get('/console', () => {
    page ??= renderConsolePage(VERSION);
    return new Response(page, {
      headers: {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      },
    });
  })
  .get('/console/', (c) => c.redirect('/console', 301))
  .get('/console/app.js', (c) =>
    asset(CONSOLE_JS, 'text/javascript; charset=utf-8', c.req.query('v') === VERSION),
  )
  .get('/console/app.css', (c) =>
    asset(CONSOLE_CSS, 'text/css; charset=utf-8', c.req.query('v') === VERSION),
  )
  .get('/console/icon.svg', (c) => asset(ICON_SVG, 'image/svg+xml', c.req.query('v') === VERSION));
