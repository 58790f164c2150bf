/**
 * The console's shell: sign-in and sign-out, the tenant picker, the views and their navigation
 * (`#t=<tenant>&v=<view>` in the address, so a link or a reload opens the same screen), the
 * global keyboard shortcuts and the boot sequence. Views register in `VIEWS` with `enter()` (the
 * view was opened) and `render()` (the tenant's data changed).
 */
export const SHELL_JS = `
  const VIEWS = {};
  const VIEW_ORDER = ['overview', 'emergency', 'customers', 'flags', 'keys', 'sandbox', 'analytics', 'audit'];

  function hashParams() {
    return new URLSearchParams(location.hash.slice(1));
  }

  function writeHash() {
    const t = current();
    const p = new URLSearchParams();
    if (t) p.set('t', t.tenant.slug);
    p.set('v', state.view);
    history.replaceState(null, '', '#' + p.toString());
  }

  function showView(name, opts) {
    if (!VIEW_ORDER.includes(name)) name = 'overview';
    state.view = name;
    for (const s of $$('[data-view]')) s.hidden = s.getAttribute('data-view') !== name;
    for (const a of $$('[data-nav]')) {
      if (a.getAttribute('data-nav') === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    writeHash();
    const v = VIEWS[name];
    if (v && v.enter) v.enter(opts || {});
  }

  // ---------------------------------------------------------------- sign in / out
  function signedOut(message) {
    state.me = null;
    state.csrf = '';
    state.tenants.clear();
    for (const v of Object.values(VIEWS)) if (v.leave) v.leave();
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
    const wanted = hashParams().get('t');
    const view = hashParams().get('v');
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
    if (view) state.view = view;
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
    for (const v of Object.values(VIEWS)) if (v.reset) v.reset();
    await refresh();
    showView(state.view);
  }

  /** Reloads the tenant's storefronts, killswitches and flags, and re-renders every view. */
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
      $('#tenant-version').textContent = 'config v' + t.tenant.configVersion;
      const readOnly = !canAnywhere('killswitch.write') && !canAnywhere('flag.write') && !canAnywhere('apikey.write');
      $('#readonly').hidden = !readOnly;
      if (readOnly) $('#readonly-text').textContent = roleNote().replace('this', 'anything here') + ': you can look, and the API refuses changes.';
      writeHash();
    }
    state.killswitches = ks.status === 'fulfilled' ? ks.value.items : [];
    state.flags = fl.status === 'fulfilled' ? fl.value.items : [];
    state.loadErrors = {
      storefronts: sf.status === 'rejected' ? sf.reason : null,
      killswitches: ks.status === 'rejected' ? ks.reason : null,
      flags: fl.status === 'rejected' ? fl.reason : null,
    };
    for (const v of Object.values(VIEWS)) if (v.render) v.render();
  }

  // ---------------------------------------------------------------- keyboard
  function typing(el) {
    if (!el) return false;
    const tag = el.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
  }

  function onGlobalKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if ($('#app').hidden || document.querySelector('dialog[open]')) return;
    if (typing(e.target)) return;
    if (e.key === '/') {
      const search = $('[data-view="' + state.view + '"] [data-search]');
      if (search) {
        e.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    const n = Number(e.key);
    if (Number.isInteger(n) && n >= 1 && n <= VIEW_ORDER.length) {
      e.preventDefault();
      showView(VIEW_ORDER[n - 1]);
      return;
    }
    if (e.key === '?') {
      e.preventDefault();
      $('#keys-dialog').showModal();
    }
  }

  // ---------------------------------------------------------------- boot
  document.addEventListener('DOMContentLoaded', async () => {
    $('#signin-form').addEventListener('submit', signIn);
    $('#sign-out').addEventListener('click', signOut);
    $('#refresh').addEventListener('click', () => refresh());
    $('#tenant-picker').addEventListener('change', (e) => selectTenant(e.target.value));
    for (const a of $$('[data-nav]')) {
      a.addEventListener('click', (e) => {
        e.preventDefault();
        showView(a.getAttribute('data-nav'));
      });
    }
    $('#reason-cancel').addEventListener('click', () => $('#reason-dialog').close());
    $('#reason-input').addEventListener('input', (e) => e.target.setCustomValidity(''));
    // Enter confirms the reason (Shift+Enter for a new line): flip, say why, Enter.
    $('#reason-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        $('#reason-form').requestSubmit();
      }
    });
    $('#secret-close').addEventListener('click', () => $('#secret-dialog').close());
    $('#secret-copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText($('#secret-value').textContent);
        $('#secret-copied').hidden = false;
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents($('#secret-value'));
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
    $('#keys-close').addEventListener('click', () => $('#keys-dialog').close());
    $('#shortcuts').addEventListener('click', () => $('#keys-dialog').showModal());
    document.addEventListener('keydown', onGlobalKey);
    for (const v of Object.values(VIEWS)) if (v.init) v.init();
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
`;
