import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { renderDocs } from './render';

const DOC_CONFIG = {
  openapi: '3.1.0',
  info: {
    title: 'Azotte Edge API',
    version: '1.0.0',
    description:
      'The storefront API of the Azotte subscription commerce platform, served at the edge. ' +
      'Every storefront call is resolved to one storefront of one tenant: by the storefront’s ' +
      'own host, a path prefix on the tenant’s shared host (`/eu/v1/catalog`), the ' +
      '`X-Storefront` header, geography, then the tenant’s default. Money is integer minor ' +
      'units with an ISO 4217 currency.',
  },
};

/** `GET /openapi.json` and the `GET /docs` reference page, for everything registered on `app`. */
export function mountDocs(app: OpenAPIHono<AppEnv>): void {
  let html: string | undefined;
  app.doc31('/openapi.json', DOC_CONFIG);
  app.get('/docs', (c) => {
    html ??= renderDocs(app.getOpenAPI31Document(DOC_CONFIG) as unknown as Record<string, unknown>);
    return c.html(html);
  });
}
