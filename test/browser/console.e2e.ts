/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against
 * the real worker under `wrangler dev`, Postgres and the publisher: sign in, find a customer and
 * the routing decision of their subscription's payments, flip a killswitch from the emergency
 * view with the keyboard and see the storefront answer 503 while the console says it is live,
 * edit a flag's rollout through the diff-and-reason review, create an API key shown once, and
 * check that a viewer can look but not flip.
 *
 * Screenshots go to a temporary directory, or to `CONSOLE_SCREENSHOTS` when set (the README's
 * are made with `CONSOLE_SCREENSHOTS=docs/screenshots`).
 *
 * Run with `npx vitest run -c vitest.browser.config.ts` (part of `npm test`).
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, withDb } from '../../scripts/lib/database';
import { seedDemoHistory } from '../../scripts/lib/demo-history';
import { createApiKey } from '../../src/services/admin/api-keys';
import { putFlag } from '../../src/services/admin/config-changes';
import { upsertOperator } from '../../src/services/admin/operators';
import { applyTenantSpec } from '../../src/services/tenant-config/apply';
import { request, type Stack, startStack } from './stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const MISSING = `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) to run the console browser test`;
if (!hasChromium && !process.env.CI) console.warn(`[browser] SKIPPED: ${MISSING}.`);

const u = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const slug = `console-${u}`;
const usHost = `us.${slug}.test`;
const password = `Console-Test-${u}-pw`;
const adminEmail = `admin-${u}@example.test`;
const operatorEmail = `operator-${u}@example.test`;
const viewerEmail = `viewer-${u}@example.test`;
const customerEmail = `ada.active-${u}@us-store.demo`;
const otherSlug = `other-${u}`;

let stack: Stack;
let browser: Browser;
let publishableKey = '';
const testKeys = { publishable: '', secret: '' };
let shots = '';
let subscriptionId = '';
let euStore = '';

const catalogStatus = async () =>
  (
    await request(stack.port, '/v1/catalog', {
      host: usHost,
      headers: { authorization: `Bearer ${publishableKey}` },
    })
  ).status;

async function seed(databaseUrl: string): Promise<void> {
  await withDb(databaseUrl, async (db) => {
    const applied = await applyTenantSpec(db, {
      slug,
      name: 'Console Corp',
      sharedHosts: [`shop.${slug}.test`],
      defaultStorefront: 'us-store',
      entitlements: [{ key: 'api_access', name: 'API Access', type: 'quota', unit: 'calls' }],
      storefronts: [
        {
          slug: 'us-store',
          name: 'US Store',
          currency: 'USD',
          region: 'US',
          hosts: [usHost],
          pathPrefixes: ['/us'],
          paymentProviders: [
            { provider: 'stripe', priority: 0, weight: 100 },
            { provider: 'paypal', priority: 1, weight: 100 },
          ],
          paymentRouting: {
            default: {
              tiers: [
                { providers: [{ provider: 'stripe', weight: 100 }] },
                { providers: [{ provider: 'paypal', weight: 100 }] },
              ],
            },
          },
        },
        {
          slug: 'eu-store',
          name: 'EU Store',
          currency: 'EUR',
          region: 'EU',
          locale: 'de-DE',
          hosts: [`eu.${slug}.test`],
          pathPrefixes: ['/eu'],
        },
      ],
      bundles: [
        {
          slug: 'pro-plan',
          name: 'Pro Plan',
          entitlements: [{ key: 'api_access', value: { limit: 10000, period: 'month' } }],
          prices: [
            { storefront: 'us-store', amount: 2900 },
            { storefront: 'eu-store', amount: 2500 },
          ],
        },
      ],
    });
    const other = await applyTenantSpec(db, {
      slug: otherSlug,
      name: 'Someone Else',
      defaultStorefront: 'main',
      storefronts: [{ slug: 'main', name: 'Main', currency: 'USD', region: 'US' }],
    });
    const system = { type: 'system' as const, id: 'browser-test' };
    const usStore = applied.storefronts['us-store'] ?? '';
    euStore = applied.storefronts['eu-store'] ?? '';
    const ctx = {
      tenantId: applied.tenantId,
      storefrontId: usStore,
      actor: system,
      requestId: null,
      reason: 'browser test',
    };
    const key = (kind: 'publishable' | 'secret', mode: 'live' | 'test') =>
      createApiKey(db, ctx, {
        kind,
        mode,
        name: `browser test ${mode} ${kind}`,
        channels: [],
        expiresAt: null,
        rateLimit: null,
      });
    publishableKey = (await key('publishable', 'live')).secret;
    testKeys.publishable = (await key('publishable', 'test')).secret;
    testKeys.secret = (await key('secret', 'test')).secret;
    await putFlag(
      db,
      { tenantId: applied.tenantId, actor: system, requestId: null, reason: 'browser test' },
      {
        key: 'new-checkout',
        storefrontId: null,
        valueType: 'boolean',
        enabled: true,
        definition: { variations: [true, false], offVariation: 1, fallthrough: { variation: 0 } },
      },
    );
    const grant = (role: 'admin' | 'operator' | 'viewer') => [{ tenantId: applied.tenantId, role }];
    await upsertOperator(db, {
      email: adminEmail,
      name: 'Ada Admin',
      password,
      grants: grant('admin'),
    });
    await upsertOperator(db, {
      email: operatorEmail,
      name: 'Olga Operator',
      password,
      grants: grant('operator'),
    });
    await upsertOperator(db, {
      email: viewerEmail,
      name: 'Vik Viewer',
      password,
      grants: grant('viewer'),
    });
    expect(other.tenantId).not.toBe(applied.tenantId);
    // Six months of generated sales in live mode (the demo's history, for this tenant).
    const history = await seedDemoHistory(db, { tenantSlug: slug });
    expect(history.subscriptions).toBeGreaterThan(100);
  });
}

async function api(
  method: string,
  p: string,
  init: { host?: string; token?: string; key?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  const res = await request(stack.port, p, {
    method,
    host: init.host,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, json: () => JSON.parse(res.body) as Record<string, unknown> };
}

async function tokenFor(email: string): Promise<string> {
  const res = await api('POST', '/admin/v1/sessions', { body: { email, password } });
  return res.json().token as string;
}

/**
 * A customer with a subscription whose first payment failed over: Stripe (the first tier) is
 * switched to `error` through the sandbox outage switch, so PayPal captured it.
 */
async function seedSubscription(): Promise<void> {
  const admin = await tokenFor(adminEmail);
  const outage = (mode: string) =>
    api('PUT', `/admin/v1/tenants/${slug}/sandbox/providers/stripe`, {
      token: admin,
      body: { mode, reason: 'browser test: show a failover' },
    });
  expect((await outage('error')).status).toBe(200);
  const pm = await api('POST', '/v1/payment-methods', {
    host: usHost,
    key: testKeys.publishable,
    body: {
      type: 'card',
      card: { number: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' },
    },
  });
  expect(pm.status).toBe(201);
  const checkout = await api('POST', '/v1/checkout', {
    host: usHost,
    key: testKeys.secret,
    body: {
      bundleId: 'pro-plan',
      customer: { email: customerEmail },
      paymentMethodId: pm.json().id,
    },
  });
  expect(checkout.status).toBe(201);
  subscriptionId = (checkout.json().subscription as { id: string }).id;
  expect((await outage('ok')).status).toBe(200);
}

async function newPage(
  viewport = { width: 1440, height: 1000 },
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  // CSP violations and script errors show up here; failed API calls are expected in places.
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  return { context, page, problems };
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${stack.baseUrl}/console`);
  await page.locator('#signin-email').fill(email);
  await page.locator('#signin-password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-storefront="us-store"]').waitFor();
}

const shot = (page: Page, name: string, fullPage = false) =>
  page.screenshot({ path: path.join(shots, name), fullPage });

/** Removes the toasts (a click does the same) so that they do not cover a screenshot. */
const dismissToasts = (page: Page) =>
  page.locator('.toast').evaluateAll((ts) => {
    for (const t of ts) t.remove();
  });

if (!hasChromium && process.env.CI) {
  it('has Chromium for the console browser test', () => {
    throw new Error(`${MISSING} (CI is set, so this fails instead of skipping).`);
  });
}

describe.skipIf(!hasChromium)('operator console (Chromium)', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    stack = await startStack({ prepare: seed });
    await stack.publish();
    await seedSubscription();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // launch() gives the browser a fresh temporary profile (its own --user-data-dir).
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--font-render-hinting=none',
      ],
    });
    const wanted = process.env.CONSOLE_SCREENSHOTS;
    shots = wanted
      ? path.resolve(ROOT, wanted)
      : mkdtempSync(path.join(tmpdir(), 'azotte-console-shots-'));
    mkdirSync(shots, { recursive: true });
    console.log(
      `[browser] stack up in ${Date.now() - t0} ms (${stack.describeDb}, wrangler dev on ${stack.baseUrl}); screenshots in ${shots}`,
    );
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 30_000);

  it('serves the page with a strict CSP, no framing and its script from /console/app.js', async () => {
    const res = await request(stack.port, '/console');
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.body).toMatch(/<script src="\/console\/app\.js\?v=[0-9a-f]{8}" defer><\/script>/);
    expect(res.body).not.toMatch(/<script>|<style>| style="/);
    const js = await request(stack.port, '/console/app.js');
    expect(js.headers['content-type']).toContain('javascript');
  });

  it('finds a customer, their subscription and the routing decision of its payment', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, operatorEmail);
      await shot(page, 'console-overview.png');
      await page.keyboard.press('3'); // the Customers view
      const query = page.getByPlaceholder(/Email \(or its start\)/);
      await expect
        .poll(() => query.evaluate((el) => el === el.ownerDocument.activeElement))
        .toBe(true);
      await query.fill('ada.active-');
      await query.press('Enter');
      // The only match opens at once.
      const row = page.locator(`[data-subscription="${subscriptionId}"]`);
      await row.waitFor();
      const text = await row.textContent();
      expect(text).toContain('Pro Plan');
      expect(text).toContain('active');
      expect(text).toMatch(/\$29\.00/);
      await row.getByRole('button', { name: 'Payments' }).click();
      const payment = page.locator('.pay').first();
      await payment.waitFor();
      const story = await payment.locator('.routing-story').textContent();
      expect(story).toContain('The default route chose stripe → paypal');
      expect(story).toContain('Failed over from stripe (provider_unavailable) to paypal');
      expect(story).toContain('Captured by paypal');
      const attempts = await payment.locator('.attempts li').allTextContents();
      expect(attempts).toHaveLength(2);
      expect(attempts[0]).toMatch(/stripe\s*error/);
      expect(attempts[1]).toMatch(/paypal\s*captured/);
      await shot(page, 'console-customer.png', true);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('flips a killswitch with the keyboard: the storefront answers 503 and the console says it is live', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, operatorEmail);
      expect(await catalogStatus()).toBe(200);
      await page.keyboard.press('2'); // the Emergency view: the search has the focus
      const search = page.locator('#ks-search');
      await expect
        .poll(() => search.evaluate((el) => el === el.ownerDocument.activeElement))
        .toBe(true);
      await page.keyboard.type('feature catalog');
      const row = page.locator('[data-killswitch="feature:catalog:"]');
      expect(await row.getAttribute('aria-selected')).toBe('true');
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(/Reason/).waitFor();
      await page.keyboard.type('INC-42 catalog drill');
      await shot(page, 'console-reason.png');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'hidden' });
      const live = page.locator('#ks-live.is-live');
      await live.waitFor();
      const said = (await live.textContent()) ?? '';
      expect(said).toMatch(/Live at the edge after \d+ ms/);
      expect(said).toContain('Feature catalog engaged');
      // The edge said so; the storefront API agrees.
      expect(await catalogStatus()).toBe(503);
      const blocked = await request(stack.port, '/v1/catalog', {
        host: usHost,
        headers: { authorization: `Bearer ${publishableKey}` },
      });
      expect(blocked.headers['content-type']).toBe('application/problem+json');
      expect(blocked.headers['retry-after']).toBe('60');
      await row.getByText('Engaged', { exact: true }).waitFor();
      expect(await page.locator('#ks-engaged').textContent()).toBe('1 engaged');
      // Esc clears the search: every switch, the engaged one first, the confirmation above.
      await search.press('Escape');
      await dismissToasts(page);
      await shot(page, 'console-emergency.png');
      console.log(`[browser] console: ${said}`);

      // Release it by clicking, and the edge follows again.
      await row.getByRole('button', { name: 'Release…' }).click();
      await dialog.getByLabel(/Reason/).fill('INC-42 resolved');
      await dialog.getByRole('button', { name: 'Release', exact: true }).click();
      await page.locator('#ks-live.is-live', { hasText: 'Feature catalog released' }).waitFor();
      expect(await catalogStatus()).toBe(200);

      // The audit trail names who did it.
      await page.locator('[data-nav="audit"]').click();
      const flip = page.locator('#audit-rows [data-audit="killswitch.create"]');
      await flip.waitFor();
      expect(await flip.textContent()).toContain('Olga Operator');
      expect(await flip.textContent()).toContain('INC-42 catalog drill');
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.locator('#verify-result', { hasText: 'Chain intact' }).waitFor();
      await dismissToasts(page);
      await shot(page, 'console-audit.png');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('an admin edits a flag’s rollout and adds a storefront override with a rule, through a diff and a reason, and creates an API key shown once', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, adminEmail);
      await page.keyboard.press('4');
      await page.locator('[data-edit="new-checkout:"]').click();
      // Everyone else: a 25 % / 75 % rollout instead of always true.
      const editor = page.locator('#flag-editor');
      await editor.getByRole('combobox', { name: 'Serve' }).last().selectOption('rollout');
      await editor.locator('[data-rollout="0"]').last().fill('25');
      await editor.locator('[data-rollout="1"]').last().fill('75');
      await editor.getByRole('button', { name: 'Review changes…' }).click();
      const diff = editor.getByLabel('Diff');
      expect(await diff.locator('.diff-del').allTextContents()).toContainEqual(
        expect.stringContaining('"variation": 0'),
      );
      expect((await diff.locator('.diff-add').allTextContents()).join('')).toContain(
        '"weight": 25000',
      );
      await editor.locator('#fe-reason').fill('EXP-7: a quarter on the new checkout');
      await shot(page, 'console-flag-diff.png');
      await editor.getByRole('button', { name: 'Save and publish' }).click();
      await page.locator('.toast', { hasText: 'new-checkout saved' }).waitFor();
      await page.locator('[data-flag="new-checkout:"]', { hasText: 'rollout 25%/75%' }).waitFor();
      const admin = await tokenFor(adminEmail);
      const flags = await api('GET', `/admin/v1/tenants/${slug}/flags`, { token: admin });
      const saved = (
        flags.json().items as { key: string; definition: { fallthrough: unknown } }[]
      ).find((f) => f.key === 'new-checkout');
      expect(saved?.definition.fallthrough).toEqual({
        rollout: {
          variations: [
            { variation: 0, weight: 25000 },
            { variation: 1, weight: 75000 },
          ],
        },
      });

      // A storefront override with a targeting rule: off in Japan and Korea, in EU Store only.
      await page.locator('[data-edit="new-checkout:"]').click();
      await editor.locator('#fe-scope').selectOption({ label: 'EU Store — new override' });
      await editor.getByRole('button', { name: '+ Add rule' }).click();
      const rule = editor.locator('[data-rule="0"]');
      await rule.getByLabel('Values').fill('JP, KR');
      await rule
        .getByRole('combobox', { name: 'Serve' })
        .selectOption({ label: 'serve 1 · false' });
      await dismissToasts(page);
      await editor.scrollIntoViewIfNeeded();
      await shot(page, 'console-flag-rule.png');
      await editor.getByRole('button', { name: 'Review changes…' }).click();
      expect(await editor.textContent()).toContain('new override: all of it is added');
      await editor.locator('#fe-reason').fill('EXP-7: not in JP/KR from the EU store');
      await editor.getByRole('button', { name: 'Save and publish' }).click();
      await page.locator(`[data-flag="new-checkout:${euStore}"]`).waitFor();
      const after = await api('GET', `/admin/v1/tenants/${slug}/flags`, { token: admin });
      const override = (
        after.json().items as {
          key: string;
          storefrontId: string | null;
          definition: { rules: unknown[]; fallthrough: unknown };
        }[]
      ).find((f) => f.key === 'new-checkout' && f.storefrontId === euStore);
      expect(override?.definition.rules).toMatchObject([
        { clauses: [{ attribute: 'country', operator: 'in', values: ['JP', 'KR'] }], variation: 1 },
      ]);
      expect(override?.definition.fallthrough).toEqual(saved?.definition.fallthrough);

      // A key, shown once.
      await page.keyboard.press('5');
      await page.locator('#key-name').fill('partner portal');
      await page.getByRole('button', { name: 'Create key…' }).click();
      await page
        .getByRole('dialog')
        .getByLabel(/Reason/)
        .fill('onboarding the partner portal');
      await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
      const secret = page.locator('#secret-value');
      await expect.poll(() => secret.textContent()).toMatch(/^pk_test_[0-9A-Za-z]{49}$/);
      await shot(page, 'console-key-once.png');
      const shown = (await secret.textContent()) ?? '';
      await page.getByRole('button', { name: 'I have stored it' }).click();
      const prefix = shown.slice(0, 12);
      await page.locator(`[data-key="${prefix}"]`).waitFor();
      expect(await page.locator('#key-rows').textContent()).not.toContain(shown);

      // The sandbox outage switches (admins only).
      await page.keyboard.press('6');
      const stripe = page.locator('[data-provider="stripe"]');
      await stripe.getByText('Failing').click();
      await stripe.getByRole('button', { name: 'Apply…' }).click();
      await page
        .getByRole('dialog')
        .getByLabel(/Reason/)
        .fill('demo: Stripe is down');
      await page.getByRole('dialog').getByRole('button', { name: 'Apply', exact: true }).click();
      await page.locator('.sbx.down [data-provider="stripe"]').waitFor();
      const sandbox = await api('GET', `/admin/v1/tenants/${slug}/sandbox/providers/stripe`, {
        token: admin,
      });
      expect(sandbox.json()).toMatchObject({ mode: 'error', reason: 'demo: Stripe is down' });
      await dismissToasts(page);
      await shot(page, 'console-sandbox.png');
      await api('PUT', `/admin/v1/tenants/${slug}/sandbox/providers/stripe`, {
        token: admin,
        body: { mode: 'ok', reason: 'demo over' },
      });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('an operator opens Analytics: headline numbers, the SVG charts, payment bars and experiments of six months of live history', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, operatorEmail);
      await page.keyboard.press('7'); // the Analytics view, live mode by default
      expect(await page.locator('#an-mode').inputValue()).toBe('live');
      await page.locator('#an-range').selectOption('180');
      const from = new Date(Date.now() - 179 * 86_400_000).toISOString().slice(0, 10);
      await expect.poll(() => page.locator('#an-status').textContent()).toContain(from);
      expect(await page.locator('#an-status').textContent()).toContain('live mode');
      const tile = (m: string) => page.locator(`[data-metric="${m}"] .tile-value`).first();
      const digits = async (m: string) =>
        Number((await tile(m).textContent())?.replace(/[^0-9]/g, ''));
      expect(await digits('checkouts-started')).toBeGreaterThan(50);
      expect(await digits('conversion')).toBeGreaterThan(0);
      expect(await digits('active')).toBeGreaterThan(0);
      // MRR per currency (USD and EUR here), and their converted total labelled as such.
      expect(
        await page.locator('[data-metric="mrr"][data-currency="USD"] .tile-value').textContent(),
      ).toMatch(/\$[1-9]/);
      expect(
        await page.locator('[data-metric="mrr"][data-currency="EUR"] .tile-value').textContent(),
      ).toMatch(/[1-9]/);
      expect(
        await page.locator('[data-metric="mrr-converted"] .tile-note').textContent(),
      ).toContain('reference rates');
      // Four server-drawn charts, loaded as same-origin <img> with the session cookie.
      const charts = page.locator('img[data-chart]');
      await expect.poll(() => charts.count()).toBe(4);
      await expect
        .poll(() =>
          charts.evaluateAll((imgs) =>
            (imgs as unknown as { complete: boolean; naturalWidth: number }[]).every(
              (i) => i.complete && i.naturalWidth > 0,
            ),
          ),
        )
        .toBe(true);
      // fetch's default credentials are same-origin: the session cookie, as for the <img>.
      const svg = await page.locator('img[data-chart="mrr"]').evaluate(async (img) => {
        const res = await fetch((img as unknown as { src: string }).src);
        return {
          status: res.status,
          type: res.headers.get('content-type'),
          body: await res.text(),
        };
      });
      expect(svg.status).toBe(200);
      expect(svg.type).toContain('image/svg+xml');
      // One line per currency, each through every weekly point (26 weeks: M and 25+ L).
      const paths = [...svg.body.matchAll(/<path d="(M[^"]+)"/g)].map((m) => m[1] ?? '');
      expect(paths.length).toBe(2);
      for (const d of paths) expect(d.split('L').length).toBeGreaterThan(25);
      // Payment success by provider: a bar with its captured share.
      const provider = page.locator('[data-provider]').first();
      await provider.waitFor();
      expect(await provider.locator('.an-seg.captured').count()).toBe(1);
      expect(await page.locator('.an-seg.issuer').count()).toBeGreaterThan(0);
      // The experiments: us-store's new-checkout and eu-store's hero-copy, two variants each.
      const exp = page.locator(
        '[data-flag="new-checkout"][data-storefront="us-store"] tr[data-variant]',
      );
      expect(await exp.count()).toBe(2);
      expect(await page.locator('[data-flag="hero-copy"] tr[data-variant]').count()).toBe(2);
      expect(await exp.first().locator('.an-ci-range').count()).toBe(1);
      // One storefront: its own currency only.
      await page.locator('#an-storefront').selectOption('eu-store');
      await expect.poll(() => page.locator('[data-metric="mrr"]').count()).toBe(1);
      expect(await page.locator('[data-metric="mrr"]').getAttribute('data-currency')).toBe('EUR');
      await page.locator('#an-storefront').selectOption('');
      await expect.poll(() => page.locator('[data-metric="mrr"]').count()).toBe(2);
      await expect
        .poll(() =>
          charts.evaluateAll((imgs) =>
            (imgs as unknown as { complete: boolean; naturalWidth: number }[]).every(
              (i) => i.complete && i.naturalWidth > 0,
            ),
          ),
        )
        .toBe(true);
      await dismissToasts(page);
      await shot(page, 'analytics.png', true);
      // On a phone the charts stack and nothing but the tables' own wrappers scrolls sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => {
        type El = { tagName: string; className: string; closest(s: string): unknown };
        const d = (
          globalThis as unknown as {
            document: {
              documentElement: { scrollWidth: number; clientWidth: number };
              querySelectorAll(
                s: string,
              ): Iterable<El & { getBoundingClientRect(): { right: number } }>;
            };
          }
        ).document;
        const width = d.documentElement.clientWidth;
        const wide = [...d.querySelectorAll('#view-analytics *')]
          .filter(
            (el) => el.getBoundingClientRect().right > width + 1 && !el.closest('.table-wrap'),
          )
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        return { scroll: d.documentElement.scrollWidth, width, wide: wide.slice(0, 5) };
      });
      expect(overflow.wide).toEqual([]);
      expect(overflow.scroll).toBeLessThanOrEqual(overflow.width);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a viewer cannot flip: the controls are disabled and the API refuses', async () => {
    const { context, page, problems } = await newPage({ width: 390, height: 844 });
    try {
      await signIn(page, viewerEmail);
      await page.locator('#readonly').waitFor();
      expect(await page.locator('#role-badge').textContent()).toBe('viewer');
      await page.locator('[data-nav="emergency"]').click();
      const buttons = page.locator('[data-killswitch] button');
      expect(await buttons.count()).toBeGreaterThan(5);
      for (const b of await buttons.all()) expect(await b.isDisabled()).toBe(true);
      await shot(page, 'console-phone-viewer.png');
      // A search naming a storefront finds its own switches; Enter on one opens no prompt.
      await page.keyboard.type('catalog eu');
      const euCatalog = page.locator(`[data-killswitch="feature:catalog:${euStore}"]`);
      expect(await euCatalog.getAttribute('aria-selected')).toBe('true');
      expect(await euCatalog.getByRole('button').isDisabled()).toBe(true);
      await page.keyboard.press('Enter');
      expect(await page.getByRole('dialog').count()).toBe(0);
      const viewer = await tokenFor(viewerEmail);
      const refused = await api('POST', `/admin/v1/tenants/${slug}/killswitches`, {
        token: viewer,
        body: { scope: 'feature', target: 'catalog', engaged: true, reason: 'viewer try' },
      });
      expect(refused.status).toBe(403);
      expect(await catalogStatus()).toBe(200);

      // Reading is allowed: the customer view, on the phone.
      await page.locator('[data-nav="customers"]').click();
      await page.locator('#cust-query').fill(customerEmail);
      await page.locator('#cust-query').press('Enter');
      const row = page.locator(`[data-subscription="${subscriptionId}"]`);
      await row.getByRole('button', { name: 'Payments' }).click();
      const story = page.locator('.pay .routing-story');
      await story.waitFor();
      await dismissToasts(page);
      await story.evaluate((el) => el.scrollIntoView({ block: 'center' }));
      await shot(page, 'console-phone-customer.png');

      // Signing out returns to the form, and the session is gone.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.locator('#app').isHidden()).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
