/**
 * API keys (create, rotate with an overlap, revoke; the key shown once), the sandbox providers'
 * outage switches (demo use, admin role), and the audit trail with operator names.
 */
export const KEYS_JS = `
  const keys = { storefront: '' };

  async function loadKeys() {
    const t = current();
    const sfId = keys.storefront;
    const tbody = $('#key-rows');
    const writable = Boolean(sfId) && can('apikey.write', sfId);
    for (const el of $('#key-form').elements) el.disabled = !writable;
    $('#key-create').title = writable ? '' : roleNote();
    if (!t || !sfId) return tbody.replaceChildren(emptyRow(6, 'Pick a storefront.'));
    try {
      const { items } = await api('GET', tenantPath('/storefronts/' + encodeURIComponent(sfId) + '/api-keys'));
      panelError('#key-error', null);
      if (items.length === 0) return tbody.replaceChildren(emptyRow(6, 'No keys yet.'));
      tbody.replaceChildren(...items.map((k) => {
        const live = !k.revokedAt && !(k.expiresAt && Date.parse(k.expiresAt) < Date.now());
        return h('tr', { 'data-key': k.prefix, class: live ? '' : 'dim' },
          h('td', {}, h('code', {}, k.prefix + '…'), h('div', { class: 'muted small' }, k.name)),
          h('td', {}, h('span', { class: 'badge ' + (k.kind === 'secret' ? 'warn' : 'muted') }, k.kind), ' ',
            h('span', { class: 'badge ' + (k.mode === 'live' ? 'warn' : 'muted'), title: k.mode === 'test' ? 'sandbox only' : 'real providers' }, k.mode)),
          h('td', { class: 'small' }, k.channels.length ? k.channels.join(', ') : h('span', { class: 'muted' }, 'all channels'), k.rateLimit ? h('div', { class: 'muted' }, k.rateLimit + '/min') : null),
          h('td', { class: 'small' }, time(k.createdAt), k.rotatedFrom ? h('div', { class: 'muted' }, 'rotated') : null),
          h('td', { class: 'small' }, k.revokedAt ? h('span', { class: 'pill bad' }, 'revoked') : k.expiresAt ? h('span', {}, 'expires ', time(k.expiresAt)) : h('span', { class: 'pill good' }, 'active')),
          h('td', { class: 'actions' }, live ? [
            h('button', { type: 'button', class: 'btn small', disabled: !writable, title: writable ? 'A new key now; this one keeps working for the overlap' : roleNote(), onclick: () => rotateKey(k) }, 'Rotate…'), ' ',
            h('button', { type: 'button', class: 'btn small danger', disabled: !writable, title: writable ? 'Refused at the edge within seconds' : roleNote(), onclick: () => revokeKey(k) }, 'Revoke…'),
          ] : null),
        );
      }));
    } catch (x) {
      if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
      tbody.replaceChildren();
      panelError('#key-error', x);
    }
  }

  async function createKey(e) {
    e.preventDefault();
    const sfId = keys.storefront;
    const body = {
      kind: $('#key-kind').value,
      mode: $('#key-mode').value,
      name: $('#key-name').value.trim(),
    };
    const channel = $('#key-channel').value;
    if (channel) body.channels = [channel];
    const reason = await askReason({
      title: 'Create a ' + body.mode + ' ' + body.kind + ' key',
      text: 'For ' + sfName(sfId) + '. The key is shown once, right after this.',
      confirm: 'Create',
    });
    if (reason === null) return;
    body.reason = reason;
    try {
      const res = await api('POST', tenantPath('/storefronts/' + encodeURIComponent(sfId) + '/api-keys'), body);
      $('#key-name').value = '';
      await showSecret('Your new key', 'Store it now: it is shown once, and Azotte keeps only its hash.', res.secret);
    } catch (x) {
      return failed('Could not create the key', x);
    }
    await loadKeys();
  }

  async function rotateKey(k) {
    const overlap = Number($('#key-overlap').value);
    const reason = await askReason({
      title: 'Rotate ' + k.prefix + '…',
      text: 'A new ' + k.kind + ' key now; the old one keeps working for ' + (overlap ? $('#key-overlap').selectedOptions[0].textContent : 'no time at all') + '.',
      confirm: 'Rotate',
    });
    if (reason === null) return;
    try {
      const res = await api('POST', tenantPath('/storefronts/' + encodeURIComponent(keys.storefront) + '/api-keys/' + encodeURIComponent(k.id) + '/rotate'), { overlapSeconds: overlap, reason });
      await showSecret('The replacement key', 'Store it now: it is shown once. ' + k.prefix + '… ' + (res.previous && res.previous.expiresAt ? 'stops working ' + ago(res.previous.expiresAt) + '.' : 'stops working now.'), res.secret);
    } catch (x) {
      return failed('Could not rotate the key', x);
    }
    await loadKeys();
  }

  async function revokeKey(k) {
    const reason = await askReason({
      title: 'Revoke ' + k.prefix + '…',
      text: 'Every request with this key is refused at the edge within seconds. This cannot be undone.',
      confirm: 'Revoke',
      danger: true,
    });
    if (reason === null) return;
    try {
      await api('POST', tenantPath('/storefronts/' + encodeURIComponent(keys.storefront) + '/api-keys/' + encodeURIComponent(k.id) + '/revoke'), { reason });
      toast('Revoked ' + k.prefix + '….', 'warn');
    } catch (x) {
      return failed('Could not revoke the key', x);
    }
    await loadKeys();
  }

  VIEWS.keys = {
    init() {
      $('#key-storefront').addEventListener('change', (e) => {
        keys.storefront = e.target.value;
        loadKeys();
      });
      $('#key-form').addEventListener('submit', createKey);
    },
    reset() {
      keys.storefront = '';
    },
    render() {
      const t = current();
      const readable = (t ? t.items : []).filter((s) => s.actions.includes('apikey.read'));
      if (!readable.some((s) => s.id === keys.storefront)) keys.storefront = readable.length ? readable[0].id : '';
      $('#key-storefront').replaceChildren(...readable.map((s) => h('option', { value: s.id, selected: s.id === keys.storefront }, s.name)));
      if (state.view === 'keys') loadKeys();
    },
    enter(opts) {
      if (opts.storefront) {
        keys.storefront = opts.storefront;
        $('#key-storefront').value = opts.storefront;
      }
      loadKeys();
    },
  };

  // ---------------------------------------------------------------- sandbox outages
  const PROVIDER_MODES = [
    ['ok', 'Healthy', 'charges behave as the test cards say'],
    ['error', 'Failing', 'every charge is a provider error (5xx): payments fail over'],
    ['timeout', 'Timing out', 'charges outlast the adapter’s timeout: outcome unknown, looked up'],
    ['slow', 'Slow', 'slower, within the timeout'],
  ];

  async function loadSandbox() {
    const box = $('#sbx-list');
    if (!can('sandbox.write')) {
      box.replaceChildren(h('p', { class: 'empty' }, 'The outage switches belong to admins (they also show the webhook secrets). ' + roleNote() + '.'));
      return;
    }
    box.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    const results = await Promise.allSettled(PROVIDERS.map((p) => api('GET', tenantPath('/sandbox/providers/' + p))));
    box.replaceChildren(...results.map((r, i) => {
      const provider = PROVIDERS[i];
      if (r.status === 'rejected') return h('article', { class: 'card sbx' }, h('h3', {}, provider), problemNodes(r.reason));
      const s = r.value;
      const name = 'sbx-' + provider;
      const currentMode = PROVIDER_MODES.find((x) => x[0] === s.mode) || PROVIDER_MODES[0];
      const noteLine = h('p', { class: 'muted small mode-note' }, currentMode[2]);
      const form = h('form', { class: 'sbx-form', 'data-provider': provider, onsubmit: (e) => saveOutage(e, provider) },
        h('fieldset', { class: 'modes' }, h('legend', { class: 'sr-only' }, provider + ' mode'),
          PROVIDER_MODES.map(([m, label, note]) => h('label', { class: 'mode', title: note },
            h('input', { type: 'radio', name, value: m, checked: s.mode === m, onchange: () => { noteLine.textContent = note; } }),
            h('span', {}, label)))),
        noteLine,
        h('label', { class: 'check small' }, h('input', { type: 'checkbox', name: 'capture', checked: s.captureBeforeTimeout }), 'a timed-out charge did capture'),
        h('label', { class: 'check small' }, h('input', { type: 'checkbox', name: 'lookups', checked: s.lookups === 'error' }), 'status lookups fail too'),
        h('button', { type: 'submit', class: 'btn small' }, 'Apply…'),
      );
      return h('article', { class: 'card sbx' + (s.mode === 'ok' ? '' : ' down') },
        h('header', {}, h('h3', {}, provider), h('span', { class: 'pill ' + (s.mode === 'ok' ? 'good' : 'bad') }, s.mode === 'ok' ? 'healthy' : s.mode)),
        s.reason && s.mode !== 'ok' ? h('p', { class: 'small' }, h('q', {}, s.reason)) : null,
        form,
        h('p', { class: 'muted small' }, 'Webhooks: ' + s.webhook.pending + ' pending, ' + s.webhook.failed + ' given up'),
      );
    }));
  }

  async function saveOutage(e, provider) {
    e.preventDefault();
    const f = e.target;
    const mode = f.querySelector('input[type=radio]:checked').value;
    const reason = await askReason({
      title: provider + ': ' + mode,
      text: 'Test mode only: the sandbox ' + provider + ' takes this from its next charge.',
      confirm: 'Apply',
      danger: mode !== 'ok',
    });
    if (reason === null) return;
    try {
      await api('PUT', tenantPath('/sandbox/providers/' + provider), {
        mode,
        captureBeforeTimeout: f.elements.capture.checked,
        lookups: f.elements.lookups.checked ? 'error' : 'ok',
        reason,
      });
      toast('Sandbox ' + provider + ' is now ' + mode + '.', mode === 'ok' ? 'ok' : 'warn');
    } catch (x) {
      return failed('Could not switch ' + provider, x);
    }
    await loadSandbox();
  }

  VIEWS.sandbox = {
    enter: loadSandbox,
  };

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
    if (row.targetType === 'sandbox_provider') return 'sandbox ' + row.targetId + (a.mode ? ': ' + a.mode : '');
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
    const latest = rows.slice(-50).reverse();
    const me = state.me ? state.me.id : '';
    const tbody = $('#audit-rows');
    $('#audit-count').textContent = rows.length ? 'latest ' + latest.length + ' of ' + (latest[0] ? latest[0].seq : 0) : '';
    if (latest.length === 0) return tbody.replaceChildren(emptyRow(5, 'No changes recorded in this trail yet.'));
    tbody.replaceChildren(
      ...latest.map((r) => h('tr', { 'data-audit': r.action },
        h('td', { class: 'mono muted' }, '#' + r.seq),
        h('td', { class: 'small' }, time(r.createdAt)),
        h('td', {}, h('span', { class: 'badge act act-' + r.action.split('.')[0] + ' ' + r.action.replace('.', '-') }, r.action), ' ', describeTarget(r)),
        h('td', { class: 'small who' }, h('span', { class: 'actor' }, r.actorName || r.actorId), r.actorType === 'operator' && r.actorId === me ? h('span', { class: 'badge muted' }, 'you') : null,
          h('div', { class: 'muted', title: r.actorId }, r.actorType === 'api_key' ? 'API key' : r.actorType)),
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

  VIEWS.audit = {
    init() {
      $('#audit-chain').addEventListener('change', (e) => {
        state.chain = e.target.value;
        loadAudit();
      });
      $('#audit-verify').addEventListener('click', verifyChain);
    },
    render() {
      renderChainPicker();
      if (state.view === 'audit') loadAudit();
    },
    enter: loadAudit,
  };
`;
