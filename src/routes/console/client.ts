/**
 * The console's browser script, served as `/console/app.js` (so the page's CSP needs no
 * 'unsafe-inline'). Plain ES2020 for evergreen browsers, no build step. It builds every node with
 * `h()` and `textContent`, never `innerHTML`, so nothing the API returns is parsed as HTML.
 * Written without template literals, `${` or backslash escapes, so it can live in a TS template
 * literal unchanged.
 */
import { CHANNELS } from '../../db/schema/enums';

const CONSOLE_TEMPLATE = `(() => {
  'use strict';

  const $ = (sel, root) => (root || document).querySelector(sel);

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(4)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const state = {
    me: null,
    csrf: '',
    tenantId: null,
    tenants: new Map(), // tenantId -> { tenant, actions, items }
    killswitches: [],
    flags: [],
    chain: '',
  };

  // ---------------------------------------------------------------- API
  function randomKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'console-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  class ApiFailure extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || 'The server answered ' + status + '.');
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(method, path, body) {
    const headers = { accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') {
      if (state.csrf) headers['x-csrf-token'] = state.csrf;
      // A retried click must not flip twice: the API replays the first answer for this key.
      if (body !== undefined) headers['idempotency-key'] = randomKey();
    }
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiFailure(0, { detail: 'The console could not reach the API (' + e.message + ').' });
    }
    const type = res.headers.get('content-type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) throw new ApiFailure(res.status, data);
    return data;
  }

  const tenantPath = (p) => '/admin/v1/tenants/' + encodeURIComponent(state.tenantId) + p;

  // ---------------------------------------------------------------- feedback
  function toast(message, kind) {
    const t = h('div', { class: 'toast ' + (kind || 'ok'), role: 'status', title: 'Click to dismiss', onclick: () => t.remove() }, message);
    $('#toasts').append(t);
    setTimeout(() => t.classList.add('leaving'), 5200);
    setTimeout(() => t.remove(), 5600);
  }

  function problemNodes(err) {
    const p = err.problem || {};
    const errors = Array.isArray(p.errors) ? p.errors : [];
    return [
      h('p', { class: 'detail' }, err.message),
      errors.length
        ? h('ul', { class: 'field-errors' }, errors.map((e) => h('li', {}, h('code', {}, e.path), ' ', e.message)))
        : null,
      p.requestId ? h('p', { class: 'request-id' }, 'Request id ', h('code', {}, p.requestId)) : null,
    ];
  }

  function showAlert(title, err) {
    const box = $('#alert');
    box.replaceChildren(
      h('div', { class: 'alert-body' }, h('strong', {}, title), problemNodes(err)),
      h('button', { class: 'btn ghost small', type: 'button', onclick: hideAlert }, 'Dismiss'),
    );
    box.hidden = false;
  }

  function hideAlert() {
    $('#alert').hidden = true;
  }

  function failed(title, err) {
    if (err.status === 401) return signedOut('Your session has ended. Sign in again.');
    showAlert(title, err);
  }

  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  function ago(iso) {
    const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
    const a = Math.abs(s);
    if (a < 45) return rtf.format(s, 'second');
    if (a < 2700) return rtf.format(Math.round(s / 60), 'minute');
    if (a < 64800) return rtf.format(Math.round(s / 3600), 'hour');
    return rtf.format(Math.round(s / 86400), 'day');
  }
  const time = (iso) => h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));

  // ---------------------------------------------------------------- permissions
  const current = () => state.tenants.get(state.tenantId);
  function can(action, storefrontId) {
    const t = current();
    if (!t) return false;
    if (!storefrontId) return t.actions.includes(action);
    const sf = t.items.find((s) => s.id === storefrontId);
    return Boolean(sf && sf.actions.includes(action));
  }
  const grantFor = (tenantId) => (state.me ? state.me.grants.find((g) => g.tenantId === tenantId) : null);
  const sfName = (id) => {
    const sf = current() && current().items.find((s) => s.id === id);
    return sf ? sf.name : id;
  };
  const roleNote = () => {
    const g = grantFor(state.tenantId);
    return 'Your role (' + (g ? g.role : 'none') + ') cannot change this';
  };

  // ---------------------------------------------------------------- reason dialog
  function askReason(opts) {
    const dlg = $('#reason-dialog');
    const form = $('#reason-form');
    const input = $('#reason-input');
    $('#reason-title').textContent = opts.title;
    $('#reason-text').textContent = opts.text;
    const ok = $('#reason-confirm');
    ok.textContent = opts.confirm;
    ok.className = 'btn ' + (opts.danger ? 'danger' : 'primary');
    input.value = '';
    input.setCustomValidity('');
    return new Promise((resolve) => {
      let settled = false;
      const finish = (value) => {
        if (settled) return;
        settled = true;
        form.removeEventListener('submit', onSubmit);
        dlg.removeEventListener('close', onClose);
        if (dlg.open) dlg.close();
        resolve(value);
      };
      const onSubmit = (e) => {
        e.preventDefault();
        const reason = input.value.trim();
        if (reason.length < 3) {
          input.setCustomValidity('Say why in at least 3 characters: it goes into the audit trail.');
          input.reportValidity();
          return;
        }
        finish(reason);
      };
      const onClose = () => finish(null);
      form.addEventListener('submit', onSubmit);
      dlg.addEventListener('close', onClose);
      dlg.showModal();
      input.focus();
    });
  }

  // ---------------------------------------------------------------- sign in / out
  function signedOut(message) {
    state.me = null;
    state.csrf = '';
    state.tenants.clear();
    $('#app').hidden = true;
    $('#session').hidden = true;
    $('#signin').hidden = false;
    hideAlert();
    const err = $('#signin-error');
    err.textContent = message || '';
    err.hidden = !message;
    $('#signin-password').value = '';
    $('#signin-email').focus();
  }

  async function signIn(e) {
    e.preventDefault();
    const button = $('#signin-submit');
    const err = $('#signin-error');
    button.disabled = true;
    err.hidden = true;
    try {
      const session = await api('POST', '/admin/v1/sessions', {
        email: $('#signin-email').value.trim(),
        password: $('#signin-password').value,
      });
      state.csrf = session.csrfToken;
      await start(session.operator);
    } catch (x) {
      err.replaceChildren(...problemNodes(x));
      err.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async function signOut() {
    try {
      await api('DELETE', '/admin/v1/sessions/current');
    } catch (_) {
      // The cookie is cleared server-side only; nothing to do if that fails.
    }
    history.replaceState(null, '', location.pathname);
    signedOut('You are signed out.');
  }

  async function start(me) {
    state.me = me;
    $('#signin').hidden = true;
    $('#session').hidden = false;
    $('#whoami-name').textContent = me.name;
    $('#whoami-email').textContent = me.email;
    const picker = $('#tenant-picker');
    picker.replaceChildren(...me.grants.map((g) => h('option', { value: g.tenantId }, g.tenantId)));
    if (me.grants.length === 0) {
      $('#app').hidden = false;
      showAlert('No tenants', { message: 'Your account holds no role in any tenant yet. Ask an owner to grant you one.' });
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1)).get('t');
    // Label the picker with tenant names (one small request per grant, in parallel).
    await Promise.allSettled(me.grants.slice(0, 25).map((g) => fetchTenant(g.tenantId)));
    for (const opt of picker.options) {
      const t = state.tenants.get(opt.value);
      if (t) opt.textContent = t.tenant.name + ' (' + t.tenant.slug + ')';
    }
    const match = me.grants.find((g) => {
      const t = state.tenants.get(g.tenantId);
      return g.tenantId === wanted || (t && t.tenant.slug === wanted);
    });
    picker.value = (match || me.grants[0]).tenantId;
    $('#app').hidden = false;
    await selectTenant(picker.value);
  }

  // ---------------------------------------------------------------- tenant data
  async function fetchTenant(tenantId) {
    const data = await api('GET', '/admin/v1/tenants/' + encodeURIComponent(tenantId) + '/storefronts');
    state.tenants.set(tenantId, data);
    return data;
  }

  async function selectTenant(tenantId) {
    state.tenantId = tenantId;
    state.chain = '';
    const g = grantFor(tenantId);
    $('#role-badge').textContent = g ? g.role : '';
    $('#role-badge').className = 'badge role-' + (g ? g.role : 'none');
    hideAlert();
    await refresh();
  }

  async function refresh() {
    const tenantId = state.tenantId;
    const [sf, ks, fl] = await Promise.allSettled([
      fetchTenant(tenantId),
      api('GET', tenantPath('/killswitches')),
      api('GET', tenantPath('/flags')),
    ]);
    if (tenantId !== state.tenantId) return; // the operator picked another tenant meanwhile
    for (const r of [sf, ks, fl]) {
      if (r.status === 'rejected' && r.reason.status === 401) return signedOut('Your session has ended. Sign in again.');
    }
    const t = current();
    if (t) {
      history.replaceState(null, '', '#t=' + encodeURIComponent(t.tenant.slug));
      $('#tenant-version').textContent = 'config v' + t.tenant.configVersion;
      const readOnly = !t.actions.includes('killswitch.write') && !t.actions.includes('flag.write') &&
        !t.items.some((s) => s.actions.includes('killswitch.write') || s.actions.includes('flag.write'));
      $('#readonly').hidden = !readOnly;
      if (readOnly) $('#readonly-text').textContent = roleNote().replace('this', 'anything here') + ': you can look, and the API refuses changes.';
    }
    state.killswitches = ks.status === 'fulfilled' ? ks.value.items : [];
    state.flags = fl.status === 'fulfilled' ? fl.value.items : [];
    renderStorefronts(sf.status === 'rejected' ? sf.reason : null);
    renderKillswitches(ks.status === 'rejected' ? ks.reason : null);
    renderFlags(fl.status === 'rejected' ? fl.reason : null);
    renderChainPicker();
    await loadAudit();
  }

  function panelError(id, err) {
    const box = $(id);
    box.hidden = !err;
    if (err) box.replaceChildren(...problemNodes(err));
  }

  // ---------------------------------------------------------------- storefronts
  function renderStorefronts(err) {
    panelError('#sf-error', err);
    const t = current();
    const list = $('#sf-list');
    if (!t) return list.replaceChildren();
    $('#sf-count').textContent = String(t.items.length);
    if (t.items.length === 0) return list.replaceChildren(h('p', { class: 'empty' }, 'No storefronts yet.'));
    list.replaceChildren(
      ...t.items.map((sf) => {
        const blocking = state.killswitches.filter(
          (k) => k.engaged && (k.storefrontId === null || k.storefrontId === sf.id),
        );
        const keys = h('div', { class: 'keys' }, h('p', { class: 'muted small' }, 'Loading…'));
        const details = h('details', { class: 'sf-keys' }, h('summary', {}, 'API keys'), keys);
        details.addEventListener('toggle', () => {
          if (details.open) loadKeys(sf, keys);
        });
        return h(
          'article',
          { class: 'card sf', 'data-storefront': sf.slug },
          h('header', {},
            h('h3', {}, sf.name),
            sf.status === 'archived' ? h('span', { class: 'badge muted' }, 'archived') : null,
          ),
          h('p', { class: 'slug' }, h('code', {}, sf.slug)),
          h('div', { class: 'chips' },
            h('span', { class: 'chip', title: 'Channel' }, sf.channel),
            h('span', { class: 'chip', title: 'Currency' }, sf.currency),
            h('span', { class: 'chip', title: 'Region' }, sf.region),
            h('span', { class: 'chip', title: 'Locale' }, sf.locale),
          ),
          h('dl', { class: 'routes' },
            h('dt', {}, 'Hosts'),
            h('dd', {}, sf.hosts.length ? sf.hosts.map((x) => h('code', { class: 'host' }, x)) : h('span', { class: 'muted' }, 'none')),
            sf.pathPrefixes.length ? [h('dt', {}, 'Paths'), h('dd', {}, sf.pathPrefixes.map((x) => h('code', {}, x)))] : null,
          ),
          blocking.length
            ? h('div', { class: 'chips' }, blocking.map((k) => h('span', { class: 'chip bad' }, 'off: ' + switchLabel(k))))
            : h('div', { class: 'chips' }, h('span', { class: 'chip good' }, 'serving')),
          details,
        );
      }),
    );
  }

  async function loadKeys(sf, box) {
    try {
      const { items } = await api('GET', tenantPath('/storefronts/' + encodeURIComponent(sf.id) + '/api-keys'));
      box.replaceChildren(
        items.length
          ? h('ul', { class: 'key-list' }, items.map((k) => h('li', {},
              h('code', {}, k.prefix + '…'), ' ',
              h('span', { class: 'badge ' + (k.kind === 'secret' ? 'warn' : 'muted') }, k.kind), ' ',
              h('span', { class: 'badge ' + (k.mode === 'live' ? 'warn' : 'muted'), title: k.mode === 'test' ? 'sandbox only' : 'real providers' }, k.mode), ' ',
              k.revokedAt ? h('span', { class: 'badge bad' }, 'revoked') : k.expiresAt ? h('span', { class: 'badge muted' }, 'expires ', time(k.expiresAt)) : null,
              ' ', h('span', { class: 'muted small' }, k.name),
            )))
          : h('p', { class: 'muted small' }, 'No keys.'),
      );
    } catch (e) {
      if (e.status === 401) return signedOut('Your session has ended. Sign in again.');
      box.replaceChildren(h('p', { class: 'error small' }, e.message));
    }
  }

  // ---------------------------------------------------------------- killswitches
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

  function switchLabel(k) {
    if (k.scope === 'tenant') return 'whole tenant';
    if (k.scope === 'storefront') return 'storefront ' + sfName(k.storefrontId);
    return k.scope + ' ' + k.target;
  }

  function renderKillswitches(err) {
    panelError('#ks-error', err);
    const rows = [...state.killswitches].sort(
      (a, b) => Number(b.engaged) - Number(a.engaged) || (a.scope + a.target).localeCompare(b.scope + b.target),
    );
    const engagedCount = rows.filter((k) => k.engaged).length;
    $('#ks-engaged').textContent = engagedCount + ' engaged';
    $('#ks-engaged').className = 'count' + (engagedCount > 0 ? ' hot' : '');
    const tbody = $('#ks-rows');
    if (rows.length === 0) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No killswitches yet. Everything is serving.')));
    } else {
      tbody.replaceChildren(
        ...rows.map((k) => {
          const allowed = can('killswitch.write', k.storefrontId);
          return h('tr', { class: k.engaged ? 'engaged' : '', 'data-killswitch': k.scope + ':' + k.target + ':' + (k.storefrontId || '') },
            h('td', {}, h('span', { class: 'badge scope' }, k.scope), ' ', h('strong', {}, k.target || (k.scope === 'storefront' ? sfName(k.storefrontId) : 'all traffic'))),
            h('td', {}, k.storefrontId ? sfName(k.storefrontId) : h('span', { class: 'muted' }, 'all storefronts')),
            h('td', {}, h('span', { class: 'pill ' + (k.engaged ? 'bad' : 'good') }, k.engaged ? 'Engaged' : 'Released'),
              h('div', { class: 'muted small' }, 'fail ' + k.failMode + ' · retry ' + k.retryAfterSeconds + ' s')),
            h('td', { class: 'reason' }, k.reason ? h('q', {}, k.reason) : h('span', { class: 'muted' }, '—'), h('div', { class: 'muted small' }, time(k.updatedAt))),
            h('td', { class: 'actions' },
              h('button', {
                type: 'button',
                class: 'btn small ' + (k.engaged ? 'primary' : 'danger'),
                disabled: !allowed,
                title: allowed ? null : roleNote(),
                onclick: () => flipSwitch(k, !k.engaged),
              }, k.engaged ? 'Release…' : 'Engage…'),
            ),
          );
        }),
      );
    }
    // The "engage a switch" form
    const t = current();
    const sfSelect = $('#ks-storefront');
    const prev = sfSelect.value;
    sfSelect.replaceChildren(
      h('option', { value: '' }, 'All storefronts'),
      ...(t ? t.items : []).map((s) => h('option', { value: s.id }, s.name)),
    );
    sfSelect.value = [...sfSelect.options].some((o) => o.value === prev) ? prev : '';
    const anyWrite = Boolean(t) && (t.actions.includes('killswitch.write') || t.items.some((s) => s.actions.includes('killswitch.write')));
    for (const el of $('#ks-form').elements) el.disabled = !anyWrite;
    $('#ks-submit').title = anyWrite ? '' : roleNote();
    syncScope();
  }

  const TARGETS = {
    feature: ['catalog', 'checkout', 'flags', 'signup', 'subscriptions'],
    channel: CHANNELS_JSON,
    provider: ['stripe', 'paypal', 'adyen', 'sandbox'],
  };

  function syncScope() {
    const scope = $('#ks-scope').value;
    const target = $('#ks-target');
    const needsTarget = scope in TARGETS;
    target.disabled = !needsTarget || $('#ks-scope').disabled;
    target.required = needsTarget;
    target.placeholder = needsTarget ? 'e.g. ' + TARGETS[scope][0] : 'not needed';
    if (!needsTarget) target.value = '';
    $('#ks-targets').replaceChildren(...(TARGETS[scope] || []).map((v) => h('option', { value: v })));
    $('#ks-storefront').required = scope === 'storefront';
  }

  async function engageNew(e) {
    e.preventDefault();
    const scope = $('#ks-scope').value;
    const target = $('#ks-target').value.trim().toLowerCase();
    const storefrontId = $('#ks-storefront').value || null;
    if (scope === 'storefront' && !storefrontId) {
      showAlert('Pick a storefront', { message: 'A storefront switch needs the storefront it turns off.' });
      return;
    }
    const retry = Number($('#ks-retry').value) || undefined;
    await flipSwitch({ scope, target, storefrontId, retryAfterSeconds: retry }, true);
  }

  async function flipSwitch(k, engaged) {
    const where = k.storefrontId ? 'in ' + sfName(k.storefrontId) : 'in every storefront';
    const reason = await askReason({
      title: (engaged ? 'Engage ' : 'Release ') + switchLabel(k),
      text: engaged
        ? 'Requests for ' + switchLabel(k) + ' ' + where + ' will be refused with 503 across the edge within seconds.'
        : cap(switchLabel(k)) + ' ' + where + ' will serve again across the edge within seconds.',
      confirm: engaged ? 'Engage' : 'Release',
      danger: engaged,
    });
    if (reason === null) return;
    const body = { scope: k.scope, target: k.target || '', engaged, reason };
    if (k.storefrontId) body.storefront = k.storefrontId;
    if (engaged && k.retryAfterSeconds && !k.id) body.retryAfterSeconds = k.retryAfterSeconds;
    try {
      const res = await api('POST', tenantPath('/killswitches'), body);
      hideAlert();
      toast(
        (res.killswitch.engaged ? 'Engaged ' : 'Released ') + switchLabel(res.killswitch) +
          '. Published config v' + res.configVersion + '; the edge follows within seconds.',
        res.killswitch.engaged ? 'warn' : 'ok',
      );
      if (!k.id) $('#ks-target').value = '';
    } catch (x) {
      return failed('Could not ' + (engaged ? 'engage' : 'release') + ' ' + switchLabel(k), x);
    }
    await refresh();
  }

  // ---------------------------------------------------------------- flags
  function renderFlags(err) {
    panelError('#flag-error', err);
    const rows = [...state.flags].sort((a, b) => a.key.localeCompare(b.key) || String(a.storefrontId).localeCompare(String(b.storefrontId)));
    $('#flag-count').textContent = String(rows.length);
    const tbody = $('#flag-rows');
    if (rows.length === 0) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No feature flags in this tenant.')));
      return;
    }
    tbody.replaceChildren(
      ...rows.map((f) => {
        const allowed = can('flag.write', f.storefrontId);
        const scope = f.storefrontId ? sfName(f.storefrontId) : 'all storefronts';
        return h('tr', { 'data-flag': f.key + ':' + (f.storefrontId || '') },
          h('td', {}, h('strong', { class: 'mono' }, f.key), h('div', { class: 'muted small' }, f.valueType + ' · v' + f.version)),
          h('td', {}, f.storefrontId ? scope : h('span', { class: 'muted' }, scope)),
          h('td', { class: 'muted small' }, time(f.updatedAt)),
          h('td', { class: 'actions' },
            h('button', {
              type: 'button',
              class: 'switch',
              role: 'switch',
              'aria-checked': String(f.enabled),
              'aria-label': f.key + ' (' + scope + ')',
              disabled: !allowed,
              title: allowed ? (f.enabled ? 'On: click to turn off' : 'Off: click to turn on') : roleNote(),
              onclick: () => toggleFlag(f, scope),
            }, h('span', { class: 'knob' }), h('span', { class: 'switch-text' }, f.enabled ? 'On' : 'Off')),
          ),
        );
      }),
    );
  }

  async function toggleFlag(f, scope) {
    const enabled = !f.enabled;
    const reason = await askReason({
      title: 'Turn ' + f.key + (enabled ? ' on' : ' off'),
      text: enabled
        ? f.key + ' will serve its variations again (' + scope + ').'
        : f.key + ' will serve its off variation to everyone (' + scope + ').',
      confirm: enabled ? 'Turn on' : 'Turn off',
      danger: !enabled,
    });
    if (reason === null) return;
    const body = { enabled, reason };
    if (f.storefrontId) body.storefront = f.storefrontId;
    try {
      const res = await api('POST', tenantPath('/flags/' + encodeURIComponent(f.key) + '/toggle'), body);
      hideAlert();
      toast(f.key + ' is now ' + (res.flag.enabled ? 'on' : 'off') + '. Published config v' + res.configVersion + '.', 'ok');
    } catch (x) {
      return failed('Could not change ' + f.key, x);
    }
    await refresh();
  }

  // ---------------------------------------------------------------- audit
  function renderChainPicker() {
    const t = current();
    const picker = $('#audit-chain');
    picker.replaceChildren(
      h('option', { value: '' }, 'Tenant-wide changes'),
      ...(t ? t.items : []).map((s) => h('option', { value: s.id }, s.name)),
    );
    picker.value = state.chain;
  }

  function describeTarget(row) {
    const a = row.after || row.before || {};
    if (row.targetType === 'killswitch') return switchLabel(a);
    if (row.targetType === 'flag') return 'flag ' + a.key;
    if (row.targetType === 'api_key') return 'key ' + (a.prefix ? a.prefix + '…' : row.targetId);
    return row.targetType + ' ' + row.targetId;
  }

  async function loadAudit() {
    const verify = $('#verify-result');
    verify.hidden = true;
    const q = state.chain ? '?storefront=' + encodeURIComponent(state.chain) + '&' : '?';
    let rows = [];
    try {
      // Oldest first, 200 a page: read to the end and show the newest.
      let after = 0;
      for (let page = 0; page < 20; page++) {
        const res = await api('GET', tenantPath('/audit') + q + 'limit=200&after=' + after);
        rows = rows.concat(res.items).slice(-200);
        if (res.nextAfter === null) break;
        after = res.nextAfter;
      }
      panelError('#audit-error', null);
    } catch (x) {
      if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
      panelError('#audit-error', x);
    }
    const latest = rows.slice(-25).reverse();
    const me = state.me ? state.me.id : '';
    const tbody = $('#audit-rows');
    $('#audit-count').textContent = rows.length ? 'latest ' + latest.length + ' of ' + (latest[0] ? latest[0].seq : 0) : '';
    if (latest.length === 0) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No changes recorded in this trail yet.')));
      return;
    }
    tbody.replaceChildren(
      ...latest.map((r) => h('tr', { 'data-audit': r.action },
        h('td', { class: 'mono muted' }, '#' + r.seq),
        h('td', { class: 'small' }, time(r.createdAt)),
        h('td', {}, h('span', { class: 'badge act act-' + r.action.split('.')[0] + ' ' + r.action.replace('.', '-') }, r.action), ' ', describeTarget(r)),
        h('td', { class: 'small' }, r.actorType === 'operator' && r.actorId === me ? 'you' : h('span', { class: 'mono' }, r.actorId), h('div', { class: 'muted' }, r.actorType)),
        h('td', { class: 'reason' }, r.reason ? h('q', {}, r.reason) : h('span', { class: 'muted' }, '—')),
      )),
    );
  }

  async function verifyChain() {
    const out = $('#verify-result');
    const button = $('#audit-verify');
    button.disabled = true;
    try {
      const q = state.chain ? '?storefront=' + encodeURIComponent(state.chain) : '';
      const v = await api('GET', tenantPath('/audit/verify') + q);
      out.className = 'verify ' + (v.ok ? 'good' : 'bad');
      out.replaceChildren(
        v.ok
          ? h('span', {}, '✓ Chain intact · ' + (v.length || 0) + ' entries', v.head ? [' · head ', h('code', {}, v.head.slice(0, 12))] : null)
          : h('span', {}, '✗ Chain broken at #' + v.brokenAt + (v.reason ? ': ' + v.reason : '')),
      );
      out.hidden = false;
    } catch (x) {
      failed('Could not verify the audit trail', x);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- boot
  document.addEventListener('DOMContentLoaded', async () => {
    $('#signin-form').addEventListener('submit', signIn);
    $('#sign-out').addEventListener('click', signOut);
    $('#refresh').addEventListener('click', () => refresh());
    $('#tenant-picker').addEventListener('change', (e) => selectTenant(e.target.value));
    $('#ks-scope').addEventListener('change', syncScope);
    $('#ks-form').addEventListener('submit', engageNew);
    $('#audit-chain').addEventListener('change', (e) => {
      state.chain = e.target.value;
      loadAudit();
    });
    $('#audit-verify').addEventListener('click', verifyChain);
    $('#reason-cancel').addEventListener('click', () => $('#reason-dialog').close());
    $('#reason-input').addEventListener('input', (e) => e.target.setCustomValidity(''));
    try {
      const me = await api('GET', '/admin/v1/me');
      state.csrf = me.csrfToken;
      await start(me);
    } catch (x) {
      signedOut(x.status === 401 ? '' : x.message);
    } finally {
      document.body.classList.remove('booting');
    }
  });
})();
`;

/** The script with the domain's enums filled in (they are written once, in db/schema/enums). */
export const CONSOLE_JS = CONSOLE_TEMPLATE.replace('CHANNELS_JSON', JSON.stringify(CHANNELS));
