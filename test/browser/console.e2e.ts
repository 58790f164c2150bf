/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against
 * the real worker under `wrangler dev`, Postgres and the publisher: sign in, see storefronts,
 * engage and release a killswitch and watch the edge follow, flip a flag, read and verify the
 * audit trail, and check that a viewer gets read-only controls.
 *
 * Run with `npx vitest run -c vitest.browser.config.ts` (part of `npm test`).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDb } from '../../scripts/lib/database';
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
const operatorEmail = `operator-${u}@example.test`;
const viewerEmail = `viewer-${u}@example.test`;
const otherSlug = `other-${u}`;

let stack: Stack;
let browser: Browser;
let publishableKey = '';
let shots = '';

/** Polls `check` until it holds; returns the milliseconds it took, or fails after `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`not within ${ms} ms`);
}

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
    const key = await createApiKey(
      db,
      {
        tenantId: applied.tenantId,
        storefrontId: usStore,
        actor: system,
        requestId: null,
        reason: 'browser test',
      },
      { kind: 'publishable', name: 'browser test', channels: [], expiresAt: null, rateLimit: null },
    );
    publishableKey = key.secret;
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
    await upsertOperator(db, {
      email: operatorEmail,
      name: 'Olga Operator',
      password,
      grants: [{ tenantId: applied.tenantId, role: 'operator' }],
    });
    await upsertOperator(db, {
      email: viewerEmail,
      name: 'Vik Viewer',
      password,
      grants: [{ tenantId: applied.tenantId, role: 'viewer' }],
    });
    expect(other.tenantId).not.toBe(applied.tenantId);
  });
}

async function newPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
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
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-storefront="us-store"]').waitFor();
}

/** Answers the reason dialog and confirms with the button named `confirm`. */
async function giveReason(page: Page, reason: string, confirm: string, shot?: string) {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/Reason/).fill(reason);
  if (shot) await page.screenshot({ path: path.join(shots, shot) });
  await dialog.getByRole('button', { name: confirm, exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
}

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
      ],
    });
    shots = mkdtempSync(path.join(tmpdir(), 'azotte-console-shots-'));
    console.log(
      `[browser] stack up in ${Date.now() - t0} ms (${stack.describeDb}, wrangler dev on ${stack.baseUrl}); screenshots in ${shots}`,
    );
  }, 120_000);

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

  it('lists storefronts only for a signed-in operator of that tenant', async () => {
    const anon = await request(stack.port, `/admin/v1/tenants/${slug}/storefronts`);
    expect(anon.status).toBe(401);
    const login = await request(stack.port, '/admin/v1/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: viewerEmail, password }),
    });
    const { token } = JSON.parse(login.body) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    const mine = await request(stack.port, `/admin/v1/tenants/${slug}/storefronts`, {
      headers: auth,
    });
    expect(mine.status).toBe(200);
    const body = JSON.parse(mine.body) as {
      tenant: { slug: string };
      actions: string[];
      items: { slug: string; hosts: string[]; currency: string; actions: string[] }[];
    };
    expect(body.tenant.slug).toBe(slug);
    expect(body.actions).toContain('killswitch.read');
    expect(body.actions).not.toContain('killswitch.write');
    expect(body.items.map((s) => [s.slug, s.currency, s.hosts])).toEqual([
      ['eu-store', 'EUR', [`eu.${slug}.test`]],
      ['us-store', 'USD', [usHost]],
    ]);
    const theirs = await request(stack.port, `/admin/v1/tenants/${otherSlug}/storefronts`, {
      headers: auth,
    });
    expect(theirs.status).toBe(404);
  });

  it('an operator flips a killswitch and a flag; the edge follows; the audit chain verifies', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, operatorEmail);
      const us = page.locator('[data-storefront="us-store"]');
      expect(await us.textContent()).toContain('US Store');
      expect(await us.textContent()).toContain(usHost);
      expect(await page.locator('[data-storefront="eu-store"]').textContent()).toContain('EUR');
      expect(await page.locator('#role-badge').textContent()).toBe('operator');
      expect(await catalogStatus()).toBe(200);

      // A problem+json detail from the API is shown to the operator.
      await page.locator('#ks-scope').selectOption('channel');
      await page.locator('#ks-target').fill('smartfridge');
      await page.locator('#ks-submit').click();
      await giveReason(page, 'trying an unknown channel', 'Engage');
      await page.locator('#alert').waitFor();
      expect(await page.locator('#alert').textContent()).toContain(
        'one of web, mobile, partner, ott',
      );
      await page.screenshot({ path: path.join(shots, 'console-problem.png') });

      // Engage feature/catalog for every storefront.
      await page.locator('#ks-scope').selectOption('feature');
      await page.locator('#ks-target').fill('catalog');
      await page.locator('#ks-submit').click();
      await giveReason(page, 'INC-42 catalog drill', 'Engage');
      await page.locator('.toast', { hasText: 'Engaged feature catalog' }).waitFor();
      expect(await page.locator('#alert').isHidden()).toBe(true);
      const row = page.locator('[data-killswitch="feature:catalog:"]');
      await row.getByText('Engaged', { exact: true }).waitFor();
      const engagedMs = await within(2000, async () => (await catalogStatus()) === 503);
      const blocked = await request(stack.port, '/v1/catalog', {
        host: usHost,
        headers: { authorization: `Bearer ${publishableKey}` },
      });
      expect(blocked.headers['content-type']).toBe('application/problem+json');
      expect(blocked.headers['retry-after']).toBe('60');
      await page.locator('[data-storefront="us-store"] .chip.bad').waitFor();
      expect(await page.locator('#ks-engaged').textContent()).toBe('1 engaged');
      await page.screenshot({ path: path.join(shots, 'console-engaged.png') });

      // Release it.
      await row.getByRole('button', { name: 'Release…' }).click();
      await giveReason(page, 'INC-42 resolved', 'Release', 'console-reason.png');
      await row.getByText('Released', { exact: true }).waitFor();
      const releasedMs = await within(2000, async () => (await catalogStatus()) === 200);
      console.log(`[browser] flip-to-effect: engage ${engagedMs} ms, release ${releasedMs} ms`);

      // Flip a flag off.
      const flag = page.getByRole('switch', { name: /new-checkout/ });
      expect(await flag.getAttribute('aria-checked')).toBe('true');
      await flag.click();
      await giveReason(page, 'pause the new checkout', 'Turn off');
      await page.locator('.toast', { hasText: 'new-checkout is now off' }).waitFor();
      await expect.poll(() => flag.getAttribute('aria-checked')).toBe('false');

      // The tenant-wide audit trail shows all three changes with their reasons, newest first.
      const audit = page.locator('#audit-rows');
      await audit.locator('[data-audit="flag.disable"]').waitFor();
      const actions = await audit
        .locator('tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit')));
      expect(actions.slice(0, 3)).toEqual([
        'flag.disable',
        'killswitch.release',
        'killswitch.create',
      ]);
      const text = await audit.textContent();
      for (const reason of ['INC-42 catalog drill', 'INC-42 resolved', 'pause the new checkout']) {
        expect(text).toContain(reason);
      }
      expect(await audit.locator('[data-audit="killswitch.create"]').textContent()).toContain(
        'you',
      );

      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.locator('#verify-result', { hasText: 'Chain intact' }).waitFor();
      expect(await page.locator('#verify-result').textContent()).toMatch(
        /Chain intact · \d+ entries/,
      );

      // Dismiss the toasts (a click does the same) so they do not cover the audit list.
      await page.locator('.toast').evaluateAll((ts) => {
        for (const t of ts) t.remove();
      });
      await page.screenshot({ path: path.join(shots, 'console-operator.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a viewer sees the same data with every control disabled', async () => {
    const { context, page, problems } = await newPage();
    try {
      await signIn(page, viewerEmail);
      await page.locator('#readonly').waitFor();
      expect(await page.locator('#role-badge').textContent()).toBe('viewer');
      expect(await page.locator('#ks-submit').isDisabled()).toBe(true);
      const switchButtons = page.locator('[data-killswitch] button');
      expect(await switchButtons.count()).toBeGreaterThan(0);
      for (const b of await switchButtons.all()) expect(await b.isDisabled()).toBe(true);
      const flag = page.getByRole('switch', { name: /new-checkout/ });
      expect(await flag.isDisabled()).toBe(true);
      expect(await flag.getAttribute('aria-checked')).toBe('false');
      // Reading is allowed: the audit trail and its verification.
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.locator('#verify-result', { hasText: 'Chain intact' }).waitFor();
      await page.screenshot({ path: path.join(shots, 'console-viewer.png'), fullPage: true });

      // Signing out returns to the form, and the session is gone.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await page.locator('#app').isHidden()).toBe(true);
      await page.screenshot({ path: path.join(shots, 'console-signin.png') });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
