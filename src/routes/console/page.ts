/**
 * The console's HTML shell. Everything dynamic is rendered by `/console/app.js`; this file only
 * holds the static structure — the navigation and one section per view — so the page's CSP can
 * forbid inline script and style entirely. `v` is a content hash that makes the asset URLs
 * cacheable forever.
 */

/** The views, in navigation order; the digit is its keyboard shortcut. */
const NAV: { view: string; label: string; icon: string }[] = [
  { view: 'overview', label: 'Overview', icon: '◎' },
  { view: 'emergency', label: 'Emergency', icon: '⚠' },
  { view: 'customers', label: 'Customers', icon: '☺' },
  { view: 'flags', label: 'Flags', icon: '⚑' },
  { view: 'keys', label: 'API keys', icon: '✦' },
  { view: 'sandbox', label: 'Sandbox', icon: '⚙' },
  { view: 'analytics', label: 'Analytics', icon: '▥' },
  { view: 'audit', label: 'Audit', icon: '☰' },
];

const nav = NAV.map(
  (n, i) =>
    `<a href="#v=${n.view}" data-nav="${n.view}"><span class="nav-icon" aria-hidden="true">${n.icon}</span><span class="nav-label">${n.label}</span><span class="nav-count" hidden></span><kbd class="nav-key">${i + 1}</kbd></a>`,
).join('\n    ');

export function renderConsolePage(v: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="dark">
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
    <button id="refresh" class="btn ghost small" type="button" title="Reload storefronts, switches and flags">Refresh</button>
    <button id="shortcuts" class="btn ghost small" type="button" title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">?</button>
    <div class="whoami"><span id="whoami-name"></span><span id="whoami-email" class="muted small"></span></div>
    <span id="role-badge" class="badge"></span>
    <button id="sign-out" class="btn ghost small" type="button">Sign out</button>
  </div>
</header>

<div id="alert" class="alert" role="alert" hidden></div>

<section id="signin" class="signin" hidden>
  <form id="signin-form" class="card signin-card" autocomplete="on">
    <h1>Sign in</h1>
    <p class="muted">Find a customer and their payments, flip flags and killswitches, and see the edge follow. Every change is audited.</p>
    <label for="signin-email">Email</label>
    <input id="signin-email" name="email" type="email" autocomplete="username" required maxlength="254" autofocus>
    <label for="signin-password">Password</label>
    <input id="signin-password" name="password" type="password" autocomplete="current-password" required maxlength="256">
    <div id="signin-error" class="error" role="alert" hidden></div>
    <button id="signin-submit" class="btn primary wide" type="submit">Sign in</button>
  </form>
</section>

<div id="app" class="shell" hidden>
  <nav id="nav" class="nav" aria-label="Views">
    ${nav}
  </nav>

  <main id="main">
  <div id="readonly" class="banner" hidden><strong>Read-only.</strong> <span id="readonly-text"></span></div>

  <section id="view-overview" data-view="overview" aria-labelledby="sf-title">
    <div id="tiles" class="tiles"></div>
    <div class="panel">
      <div class="panel-head"><h2 id="sf-title">Storefronts <span id="sf-count" class="count"></span></h2></div>
      <div id="sf-error" class="error" hidden></div>
      <div id="sf-list" class="sf-grid"></div>
    </div>
  </section>

  <section id="view-emergency" data-view="emergency" class="panel" aria-labelledby="ks-title" hidden>
    <div class="panel-head">
      <h2 id="ks-title">Killswitches <span id="ks-engaged" class="count"></span></h2>
      <p class="muted small">An engaged switch answers 503 with Retry-After. Flips are audited; the console confirms when the edge serves them.</p>
    </div>
    <div id="ks-error" class="error" hidden></div>
    <div class="ks-search">
      <label class="sr-only" for="ks-search">Find a switch</label>
      <input id="ks-search" type="search" data-search autocomplete="off" spellcheck="false" placeholder="Find a switch: checkout, stripe, ott, EU Store…  ( / )" role="combobox" aria-expanded="true" aria-controls="ks-list" aria-autocomplete="list">
      <span id="ks-hint" class="muted small"></span>
    </div>
    <div id="ks-live" class="live" role="status" aria-live="polite" hidden></div>
    <ul id="ks-list" class="ks-list" role="listbox" aria-label="Killswitches"></ul>
    <details class="ks-custom">
      <summary>A switch for one storefront, or another target…</summary>
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
    </details>
  </section>

  <section id="view-customers" data-view="customers" class="panel" aria-labelledby="cust-title" hidden>
    <div class="panel-head">
      <h2 id="cust-title">Customers</h2>
      <p class="muted small">Subscriptions, renewals and every payment with the provider it went to and why. From the Postgres copies: a moment behind the live objects.</p>
    </div>
    <form id="cust-form" class="cust-form" role="search">
      <label class="sr-only" for="cust-query">Email or id</label>
      <input id="cust-query" type="search" data-search maxlength="254" autocomplete="off" spellcheck="false" placeholder="Email (or its start), or cus_… / sub_… / pay_…  ( / )">
      <label class="sr-only" for="cust-storefront">Storefront</label>
      <select id="cust-storefront"></select>
      <button class="btn primary" type="submit">Search</button>
    </form>
    <div id="cust-error" class="error" hidden></div>
    <div id="cust-results" class="cust-results"></div>
    <div id="cust-detail" class="cust-detail"></div>
  </section>

  <section id="view-flags" data-view="flags" aria-labelledby="flag-title" hidden>
    <div class="panel">
      <div class="panel-head">
        <h2 id="flag-title">Feature flags <span id="flag-count" class="count"></span></h2>
        <label class="sr-only" for="flag-search">Filter flags</label>
        <input id="flag-search" type="search" data-search class="narrow" placeholder="Filter  ( / )" autocomplete="off">
      </div>
      <div id="flag-error" class="error" hidden></div>
      <div class="table-wrap">
        <table class="grid">
          <thead><tr><th>Flag</th><th>Scope</th><th>Serves</th><th>Changed</th><th></th></tr></thead>
          <tbody id="flag-rows"></tbody>
        </table>
      </div>
    </div>
    <div id="flag-editor" class="panel flag-editor" hidden></div>
  </section>

  <section id="view-keys" data-view="keys" class="panel" aria-labelledby="key-title" hidden>
    <div class="panel-head">
      <h2 id="key-title">API keys</h2>
      <label class="inline">Storefront <select id="key-storefront"></select></label>
    </div>
    <form id="key-form" class="key-form" aria-label="Create a key">
      <label>Kind <select id="key-kind"><option value="publishable">publishable (browsers, apps)</option><option value="secret">secret (servers)</option></select></label>
      <label>Mode <select id="key-mode"><option value="test">test (sandbox only)</option><option value="live">live</option></select></label>
      <label>Channel <select id="key-channel"><option value="">all</option><option>web</option><option>mobile</option><option>partner</option><option>ott</option></select></label>
      <label>Name <input id="key-name" required maxlength="120" placeholder="e.g. iOS app 5.x"></label>
      <button id="key-create" class="btn primary" type="submit">Create key…</button>
    </form>
    <div id="key-error" class="error" hidden></div>
    <div class="table-wrap">
      <table class="grid">
        <thead><tr><th>Key</th><th>Kind</th><th>Channels</th><th>Created</th><th>State</th><th class="actions">
          <label class="inline small">Overlap <select id="key-overlap" aria-label="Rotation overlap"><option value="0">none</option><option value="3600">1 hour</option><option value="86400" selected>24 hours</option><option value="604800">7 days</option></select></label>
        </th></tr></thead>
        <tbody id="key-rows"></tbody>
      </table>
    </div>
  </section>

  <section id="view-sandbox" data-view="sandbox" class="panel" aria-labelledby="sbx-title" hidden>
    <div class="panel-head">
      <h2 id="sbx-title">Sandbox providers</h2>
      <p class="muted small">Outages on demand, for demos and drills: test mode only, audited. Watch payments fail over in the customer view.</p>
    </div>
    <div id="sbx-list" class="sbx-grid"></div>
  </section>

  <section id="view-analytics" data-view="analytics" class="panel" aria-labelledby="an-title" hidden>
    <div class="panel-head">
      <h2 id="an-title">Analytics</h2>
      <p class="muted small">How each storefront sells: computed from Postgres on request, UTC days. Live mode is real sales; test mode what test keys made.</p>
    </div>
    <form id="an-form" class="an-toolbar">
      <label>Storefront <select id="an-storefront" aria-label="Storefront"></select></label>
      <label>Range <select id="an-range" aria-label="Range">
        <option value="30">Last 30 days</option>
        <option value="90" selected>Last 90 days</option>
        <option value="180">Last 180 days</option>
        <option value="365">Last 365 days</option>
      </select></label>
      <label>Mode <select id="an-mode" aria-label="Mode">
        <option value="live" selected>live</option>
        <option value="test">test</option>
      </select></label>
      <span id="an-status" class="muted small" role="status"></span>
    </form>
    <div id="an-error" class="error" hidden></div>
    <div id="analytics-root" class="analytics-root">
      <div id="an-tiles" class="tiles an-tiles"></div>
      <div id="an-charts" class="an-charts"></div>
      <h3 class="an-h">Storefronts</h3>
      <div id="an-storefronts" class="table-wrap"></div>
      <h3 class="an-h">Payment success by provider</h3>
      <div id="an-payments" class="an-bars"></div>
      <h3 class="an-h">Experiments</h3>
      <div id="an-experiments"></div>
    </div>
  </section>

  <section id="view-audit" data-view="audit" class="panel" aria-labelledby="audit-title" hidden>
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
    <div class="table-wrap">
      <table class="grid audit">
        <thead><tr><th>#</th><th>When</th><th>Change</th><th>Who</th><th>Reason</th></tr></thead>
        <tbody id="audit-rows"></tbody>
      </table>
    </div>
  </section>
  </main>
</div>

<dialog id="reason-dialog" aria-labelledby="reason-title">
  <form id="reason-form" method="dialog">
    <h2 id="reason-title"></h2>
    <p id="reason-text" class="muted"></p>
    <label for="reason-input">Reason <span class="muted small">(required, goes into the audit trail; Enter confirms)</span></label>
    <textarea id="reason-input" rows="3" maxlength="500" required placeholder="e.g. INC-1234: catalog errors after the 14:02 deploy"></textarea>
    <div class="dialog-actions">
      <button id="reason-cancel" class="btn ghost" type="button">Cancel</button>
      <button id="reason-confirm" class="btn primary" type="submit">Confirm</button>
    </div>
  </form>
</dialog>

<dialog id="secret-dialog" aria-labelledby="secret-title">
  <h2 id="secret-title"></h2>
  <p id="secret-text" class="muted"></p>
  <code id="secret-value" class="secret"></code>
  <p id="secret-copied" class="small good-text" hidden>Copied.</p>
  <div class="dialog-actions">
    <button id="secret-copy" class="btn" type="button">Copy</button>
    <button id="secret-close" class="btn primary" type="button">I have stored it</button>
  </div>
</dialog>

<dialog id="keys-dialog" aria-labelledby="keys-title">
  <h2 id="keys-title">Keyboard</h2>
  <dl class="shortcuts">
    <dt><kbd>1</kbd> … <kbd>8</kbd></dt><dd>open a view (Overview, Emergency, Customers, Flags, API keys, Sandbox, Analytics, Audit)</dd>
    <dt><kbd>/</kbd></dt><dd>focus the view’s search</dd>
    <dt><kbd>↑</kbd> <kbd>↓</kbd></dt><dd>Emergency: choose a switch</dd>
    <dt><kbd>Enter</kbd></dt><dd>Emergency: flip it (then type the reason, Enter again)</dd>
    <dt><kbd>Esc</kbd></dt><dd>clear the search, close a dialog</dd>
    <dt><kbd>?</kbd></dt><dd>this list</dd>
  </dl>
  <div class="dialog-actions"><button id="keys-close" class="btn primary" type="button">Close</button></div>
</dialog>

<div id="toasts" class="toasts" aria-live="polite"></div>
</body>
</html>`;
}
