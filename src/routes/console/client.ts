/**
 * The console's browser script, served as `/console/app.js` (so the page's CSP needs no
 * 'unsafe-inline'). Plain ES2020 for evergreen browsers, no build step: the modules under
 * `client/` are pieces of one function body, joined here in order (core first, the shell that
 * boots last). Every node is built with `h()` and `textContent`, never `innerHTML`, so nothing
 * the API returns is parsed as HTML. The pieces are written without template literals, `${` or
 * backslash escapes, so they live in TS template literals unchanged.
 *
 * A view is a `VIEWS.<name> = { init, reset, render, enter, leave }` entry plus its section in
 * page.ts.
 */
import { CHANNELS } from '../../db/schema/enums';
import { SANDBOX_PROVIDERS } from '../../payments/sandbox';
import { ANALYTICS_JS } from './client/analytics';
import { CORE_JS } from './client/core';
import { CUSTOMERS_JS } from './client/customers';
import { EMERGENCY_JS } from './client/emergency';
import { FLAGS_JS } from './client/flags';
import { KEYS_JS } from './client/keys';
import { OVERVIEW_JS } from './client/overview';
import { SHELL_JS } from './client/shell';

const CONSOLE_TEMPLATE = [
  "(() => {\n  'use strict';\n",
  CORE_JS,
  SHELL_JS,
  OVERVIEW_JS,
  EMERGENCY_JS,
  CUSTOMERS_JS,
  FLAGS_JS,
  KEYS_JS,
  ANALYTICS_JS,
  '})();\n',
].join('\n');

/** The script with the domain's enums filled in (they are written once, in db/schema/enums). */
export const CONSOLE_JS = CONSOLE_TEMPLATE.replace(
  'CHANNELS_JSON',
  JSON.stringify(CHANNELS),
).replace('PROVIDERS_JSON', JSON.stringify(SANDBOX_PROVIDERS));
