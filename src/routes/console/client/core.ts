/**
 * The console script's shared core: DOM building, the API client, feedback, permissions, the
 * reason prompt, formatting. Every module of the script runs inside one function scope (see
 * ../client.ts), so these names are visible to the views. Written without template literals,
 * `${` or backslashes, so it can live in a TS template literal unchanged.
 */
export const CORE_JS = `
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const NL = String.fromCharCode(10);

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
    view: 'overview',
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
      // A retried click must not act twice: the API replays the first answer for this key.
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
        ? h('ul', { class: 'field-errors' }, errors.slice(0, 20).map((e) => h('li', {}, h('code', {}, e.path), ' ', e.message)))
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

  function panelError(id, err) {
    const box = $(id);
    if (!box) return;
    box.hidden = !err;
    if (err) box.replaceChildren(...problemNodes(err));
  }

  // ---------------------------------------------------------------- formatting
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
  const dateOf = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  const when = (iso) => (iso ? h('span', {}, dateOf(iso), ' ', h('span', { class: 'muted small' }, '(', time(iso), ')')) : h('span', { class: 'muted' }, '—'));

  const moneyFormats = new Map();
  /** Integer minor units of an ISO 4217 currency, as the reader's locale writes it. */
  function money(amount, currency) {
    let f = moneyFormats.get(currency);
    if (!f) {
      try {
        f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
      } catch (_) {
        f = { format: (n) => n + ' ' + currency, resolvedOptions: () => ({ maximumFractionDigits: 2 }) };
      }
      moneyFormats.set(currency, f);
    }
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(amount / Math.pow(10, digits));
  }
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

  // ---------------------------------------------------------------- permissions
  const current = () => state.tenants.get(state.tenantId);
  function can(action, storefrontId) {
    const t = current();
    if (!t) return false;
    if (!storefrontId) return t.actions.includes(action);
    const sf = t.items.find((s) => s.id === storefrontId);
    return Boolean(sf && sf.actions.includes(action));
  }
  const canAnywhere = (action) => {
    const t = current();
    return Boolean(t) && (t.actions.includes(action) || t.items.some((s) => s.actions.includes(action)));
  };
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
  /** Asks why (required, goes into the audit trail); null when cancelled. */
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

  /** Shows a key once, with a copy button; resolves when the operator has closed it. */
  function showSecret(title, text, secret) {
    const dlg = $('#secret-dialog');
    $('#secret-title').textContent = title;
    $('#secret-text').textContent = text;
    $('#secret-value').textContent = secret || '(not shown: this answer was a replay)';
    $('#secret-copied').hidden = true;
    dlg.showModal();
    return new Promise((resolve) => dlg.addEventListener('close', () => {
      $('#secret-value').textContent = '';
      resolve();
    }, { once: true }));
  }

  function emptyRow(cols, text) {
    return h('tr', {}, h('td', { colspan: cols, class: 'empty' }, text));
  }
`;
