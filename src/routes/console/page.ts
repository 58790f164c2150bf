/**
 * The console's HTML shell. Everything dynamic is rendered by `/console/app.js`; this file only
 * holds the static structure, so the page's CSP can forbid inline script and style entirely.
 * `v` is a content hash that makes the asset URLs cacheable forever.
 */
export function renderConsolePage(v: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Azotte Edge — Operator console</title>
<link rel="icon" href="/console/icon.svg?v=${v}" type="image/svg+xml">
<link rel="stylesheet" href="/console/app.css?v=${v}">
<script src="/console/app.js?v=${v}" defer></script>
</head>
<body class="booting">
<header class="topbar">
  <div class="brand"><img src="/console/icon.svg?v=${v}" alt="" width="26" height="26"><span>Azotte Edge</span><span class="brand-sub">Operator console</span></div>
  <div id="session" class="session" hidden>
    <label class="tenant-label" for="tenant-picker">Tenant</label>
    <select id="tenant-picker" aria-label="Tenant"></select>
    <span id="tenant-version" class="muted small"></span>
    <button id="refresh" class="btn ghost small" type="button" title="Reload storefronts, switches, flags and audit">Refresh</button>
    <div class="whoami"><span id="whoami-name"></span><span id="whoami-email" class="muted small"></span></div>
    <span id="role-badge" class="badge"></span>
    <button id="sign-out" class="btn ghost small" type="button">Sign out</button>
  </div>
</header>

<div id="alert" class="alert" role="alert" hidden></div>

<section id="signin" class="signin" hidden>
  <form id="signin-form" class="card signin-card" autocomplete="on">
    <h1>Sign in</h1>
    <p class="muted">See your storefronts, flip feature flags and killswitches. Every change is audited and reaches the edge within seconds.</p>
    <label for="signin-email">Email</label>
    <input id="signin-email" name="email" type="email" autocomplete="username" required maxlength="254" autofocus>
    <label for="signin-password">Password</label>
    <input id="signin-password" name="password" type="password" autocomplete="current-password" required maxlength="256">
    <div id="signin-error" class="error" role="alert" hidden></div>
    <button id="signin-submit" class="btn primary wide" type="submit">Sign in</button>
  </form>
</section>

<main id="app" hidden>
  <div id="readonly" class="banner" hidden><strong>Read-only.</strong> <span id="readonly-text"></span></div>

  <section class="panel" aria-labelledby="sf-title">
    <div class="panel-head"><h2 id="sf-title">Storefronts <span id="sf-count" class="count"></span></h2></div>
    <div id="sf-error" class="error" hidden></div>
    <div id="sf-list" class="sf-grid"></div>
  </section>

  <div class="cols">
    <section class="panel" aria-labelledby="ks-title">
      <div class="panel-head">
        <h2 id="ks-title">Killswitches <span id="ks-engaged" class="count"></span></h2>
        <p class="muted small">An engaged switch answers 503 with Retry-After. Flips are audited and reach every edge location within seconds.</p>
      </div>
      <div id="ks-error" class="error" hidden></div>
      <form id="ks-form" class="ks-form" aria-label="Engage a killswitch">
        <label>Scope
          <select id="ks-scope" name="scope">
            <option value="feature">feature</option>
            <option value="channel">channel</option>
            <option value="provider">provider</option>
            <option value="storefront">storefront</option>
            <option value="tenant">whole tenant</option>
          </select>
        </label>
        <label>Target
          <input id="ks-target" name="target" list="ks-targets" maxlength="64" pattern="[a-z0-9_\\-]+" autocomplete="off">
          <datalist id="ks-targets"></datalist>
        </label>
        <label>Storefront
          <select id="ks-storefront" name="storefront"></select>
        </label>
        <label>Retry-After (s)
          <input id="ks-retry" name="retry" type="number" min="1" max="86400" value="60">
        </label>
        <button id="ks-submit" class="btn danger" type="submit">Engage…</button>
      </form>
      <table class="grid">
        <thead><tr><th>Switch</th><th>Applies to</th><th>State</th><th>Last reason</th><th></th></tr></thead>
        <tbody id="ks-rows"></tbody>
      </table>
    </section>

    <section class="panel" aria-labelledby="flag-title">
      <div class="panel-head">
        <h2 id="flag-title">Feature flags <span id="flag-count" class="count"></span></h2>
        <p class="muted small">Off serves each flag’s off variation. Storefront overrides are listed with their storefront.</p>
      </div>
      <div id="flag-error" class="error" hidden></div>
      <table class="grid">
        <thead><tr><th>Flag</th><th>Scope</th><th>Changed</th><th></th></tr></thead>
        <tbody id="flag-rows"></tbody>
      </table>
    </section>
  </div>

  <section class="panel" aria-labelledby="audit-title">
    <div class="panel-head audit-head">
      <h2 id="audit-title">Audit trail <span id="audit-count" class="muted small"></span></h2>
      <div class="audit-tools">
        <label class="sr-only" for="audit-chain">Trail</label>
        <select id="audit-chain"></select>
        <button id="audit-verify" class="btn small" type="button">Verify chain</button>
        <output id="verify-result" class="verify" hidden></output>
      </div>
    </div>
    <div id="audit-error" class="error" hidden></div>
    <table class="grid audit">
      <thead><tr><th>#</th><th>When</th><th>Change</th><th>Who</th><th>Reason</th></tr></thead>
      <tbody id="audit-rows"></tbody>
    </table>
  </section>
</main>

<dialog id="reason-dialog" aria-labelledby="reason-title">
  <form id="reason-form" method="dialog">
    <h2 id="reason-title"></h2>
    <p id="reason-text" class="muted"></p>
    <label for="reason-input">Reason <span class="muted small">(required, goes into the audit trail)</span></label>
    <textarea id="reason-input" rows="3" maxlength="500" required placeholder="e.g. INC-1234: catalog errors after the 14:02 deploy"></textarea>
    <div class="dialog-actions">
      <button id="reason-cancel" class="btn ghost" type="button">Cancel</button>
      <button id="reason-confirm" class="btn primary" type="submit">Confirm</button>
    </div>
  </form>
</dialog>

<div id="toasts" class="toasts" aria-live="polite"></div>
</body>
</html>`;
}
