/**
 * The emergency view: every killswitch of the tenant on one screen — those set before and the
 * standard ones (the tenant, each storefront, channel, feature and payment provider) — with a
 * search box that has the focus on arrival and on `/`, arrow keys to move, Enter to flip, a
 * reason prompt, and then a live confirmation: the console polls `edge-status` on its own origin
 * until the edge serves the new config version with the switch flipped, and says how long it
 * took ("live at the edge after N ms").
 */
export const EMERGENCY_JS = `
  const FEATURES = ['catalog', 'checkout', 'customers', 'entitlements', 'flags', 'payments', 'signup', 'subscriptions'];
  const PROVIDERS = PROVIDERS_JSON;
  const CHANNELS = CHANNELS_JSON;
  const SCOPE_ORDER = { tenant: 0, storefront: 1, channel: 2, feature: 3, provider: 4 };
  const TARGETS = { feature: FEATURES, channel: CHANNELS, provider: PROVIDERS };
  /** How long the console waits for the edge before it says the change is not live yet. */
  const LIVE_WAIT_MS = 20000;
  const LIVE_POLL_MS = 100;

  const ks = { query: '', index: 0, rows: [], live: null, watch: 0 };

  const ksKey = (k) => k.scope + ':' + (k.target || '') + ':' + (k.storefrontId || '');

  /** The switches set before, and the standard ones nobody has touched yet (released). */
  function catalogue() {
    const t = current();
    const map = new Map();
    const add = (scope, target, storefrontId, onSearch) => {
      const k = { id: null, scope, target, storefrontId, engaged: false, failMode: null, retryAfterSeconds: null, reason: null, updatedAt: null, onSearch };
      map.set(ksKey(k), k);
    };
    add('tenant', '', null);
    for (const sf of t ? t.items : []) add('storefront', '', sf.id);
    for (const c of CHANNELS) add('channel', c, null);
    for (const f of FEATURES) add('feature', f, null);
    for (const p of PROVIDERS) add('provider', p, null);
    // One storefront's feature or provider: listed when a search asks for them ("checkout eu").
    for (const sf of t ? t.items : []) {
      for (const f of FEATURES) add('feature', f, sf.id, true);
      for (const p of PROVIDERS) add('provider', p, sf.id, true);
    }
    for (const k of state.killswitches) map.set(ksKey(k), k);
    return [...map.values()].sort(
      (a, b) => Number(b.engaged) - Number(a.engaged) || SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] ||
        String(a.storefrontId || '').localeCompare(String(b.storefrontId || '')) || a.target.localeCompare(b.target),
    );
  }

  function haystack(k) {
    const sf = k.storefrontId && current() ? current().items.find((x) => x.id === k.storefrontId) : null;
    return [switchLabel(k), k.scope, k.target, sf ? sf.name + ' ' + sf.slug : 'all storefronts every', k.reason || '', k.engaged ? 'engaged off down' : 'released on serving']
      .join(' ').toLowerCase();
  }

  function filtered() {
    const words = ks.query.toLowerCase().split(' ').filter(Boolean);
    return catalogue().filter((k) => {
      if (k.onSearch && words.length === 0) return false;
      const text = haystack(k);
      return words.every((w) => text.includes(w));
    });
  }

  function renderEmergency() {
    panelError('#ks-error', state.loadErrors.killswitches);
    ks.rows = filtered();
    if (ks.index >= ks.rows.length) ks.index = Math.max(0, ks.rows.length - 1);
    const engagedCount = state.killswitches.filter((k) => k.engaged).length;
    $('#ks-engaged').textContent = engagedCount + ' engaged';
    $('#ks-engaged').className = 'count' + (engagedCount > 0 ? ' hot' : '');
    const nav = $('[data-nav="emergency"] .nav-count');
    if (nav) {
      nav.textContent = engagedCount ? String(engagedCount) : '';
      nav.hidden = engagedCount === 0;
    }
    const list = $('#ks-list');
    if (ks.rows.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, 'No switch matches “' + ks.query + '”.'));
      $('#ks-search').removeAttribute('aria-activedescendant');
    } else {
      list.replaceChildren(...ks.rows.map((k, i) => {
        const allowed = can('killswitch.write', k.storefrontId);
        const selected = i === ks.index;
        return h('li', {
          id: 'ks-opt-' + i,
          role: 'option',
          'aria-selected': String(selected),
          class: 'ks-item' + (k.engaged ? ' engaged' : '') + (selected ? ' selected' : ''),
          'data-killswitch': ksKey(k),
          onclick: (e) => {
            ks.index = i;
            markSelected();
            if (e.target.closest('button') === null) $('#ks-search').focus();
          },
        },
          h('span', { class: 'pill ' + (k.engaged ? 'bad' : 'good') }, k.engaged ? 'Engaged' : 'Released'),
          h('div', { class: 'ks-main' },
            h('div', { class: 'ks-title' }, h('span', { class: 'badge scope' }, k.scope), ' ', h('strong', {}, k.target || (k.scope === 'storefront' ? sfName(k.storefrontId) : 'all traffic'))),
            h('div', { class: 'muted small' },
              k.storefrontId && k.scope !== 'storefront' ? 'in ' + sfName(k.storefrontId) : k.scope === 'storefront' ? 'the whole storefront' : 'all storefronts',
              k.id ? ' · fail ' + k.failMode + ' · retry ' + k.retryAfterSeconds + ' s' : ' · never engaged'),
          ),
          h('div', { class: 'ks-reason small' },
            k.reason ? h('q', {}, k.reason) : null,
            k.updatedAt ? h('div', { class: 'muted' }, time(k.updatedAt)) : null,
          ),
          h('button', {
            type: 'button',
            tabindex: '-1',
            class: 'btn small ' + (k.engaged ? 'primary' : 'danger'),
            disabled: !allowed,
            title: allowed ? (k.engaged ? 'Release (Enter)' : 'Engage (Enter)') : roleNote(),
            onclick: () => flipSwitch(k, !k.engaged),
          }, k.engaged ? 'Release…' : 'Engage…'),
        );
      }));
      $('#ks-search').setAttribute('aria-activedescendant', 'ks-opt-' + ks.index);
    }
    $('#ks-hint').textContent = plural(ks.rows.length, 'switch', 'switches') + (ks.query ? ' match' : '') +
      (canAnywhere('killswitch.write') ? ' · ↑ ↓ to choose, Enter to flip' : ' · read-only');
    renderCustomForm();
    renderLive();
  }

  function markSelected() {
    $$('#ks-list [role="option"]').forEach((li, i) => {
      const on = i === ks.index;
      li.setAttribute('aria-selected', String(on));
      li.classList.toggle('selected', on);
      if (on) li.scrollIntoView({ block: 'nearest' });
    });
    $('#ks-search').setAttribute('aria-activedescendant', 'ks-opt-' + ks.index);
  }

  function onEmergencyKey(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      ks.index = Math.min(ks.rows.length - 1, Math.max(0, ks.index + step));
      markSelected();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const k = ks.rows[ks.index];
      if (!k) return;
      if (!can('killswitch.write', k.storefrontId)) return toast(roleNote() + '.', 'warn');
      flipSwitch(k, !k.engaged);
    } else if (e.key === 'Escape') {
      // Esc clears the search; on an empty one it leaves it, so the digit shortcuts work.
      if (e.target.value === '') return e.target.blur();
      e.target.value = '';
      ks.query = '';
      ks.index = 0;
      renderEmergency();
    }
  }

  // ------------------------------------------------ one storefront's switch (custom)
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

  function renderCustomForm() {
    const t = current();
    const sfSelect = $('#ks-storefront');
    const prev = sfSelect.value;
    sfSelect.replaceChildren(
      h('option', { value: '' }, 'All storefronts'),
      ...(t ? t.items : []).map((s) => h('option', { value: s.id }, s.name)),
    );
    sfSelect.value = [...sfSelect.options].some((o) => o.value === prev) ? prev : '';
    const anyWrite = canAnywhere('killswitch.write');
    for (const el of $('#ks-form').elements) el.disabled = !anyWrite;
    $('#ks-submit').title = anyWrite ? '' : roleNote();
    syncScope();
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
    await flipSwitch({ scope, target, storefrontId, retryAfterSeconds: retry, custom: true }, true);
  }

  // ------------------------------------------------ flip and confirm
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
    const t0 = performance.now();
    let res;
    try {
      res = await api('POST', tenantPath('/killswitches'), body);
    } catch (x) {
      return failed('Could not ' + (engaged ? 'engage' : 'release') + ' ' + switchLabel(k), x);
    }
    hideAlert();
    toast(
      (res.killswitch.engaged ? 'Engaged ' : 'Released ') + switchLabel(res.killswitch) +
        '. Published config v' + res.configVersion + '.',
      res.killswitch.engaged ? 'warn' : 'ok',
    );
    if (k.custom) $('#ks-target').value = '';
    watchEdge(res.killswitch, res.configVersion, t0);
    await refresh();
    if (state.view === 'emergency') $('#ks-search').focus();
  }

  /** Polls what the edge serves until it has the change (or LIVE_WAIT_MS pass). */
  async function watchEdge(k, version, t0) {
    const token = ++ks.watch;
    ks.live = { label: switchLabel(k), engaged: k.engaged, version, status: 'waiting', ms: null, seen: null };
    renderLive();
    while (token === ks.watch && state.tenantId) {
      const elapsed = performance.now() - t0;
      try {
        // A storefront's switch is in that storefront's config (and a storefront-scoped
        // operator may ask about their storefront only).
        const q = k.storefrontId ? '?storefront=' + encodeURIComponent(k.storefrontId) : '';
        const st = await api('GET', tenantPath('/edge-status') + q);
        if (token !== ks.watch) return;
        const entry = st.edge.killswitches.find((x) => x.id === k.id);
        const applied = entry ? entry.engaged === k.engaged : !k.engaged;
        ks.live.seen = st.edge.version;
        if (st.edge.version !== null && st.edge.version >= version && applied) {
          ks.live.status = 'live';
          ks.live.ms = Math.round(performance.now() - t0);
          renderLive();
          return;
        }
      } catch (x) {
        if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
        if (x.status === 403 || x.status === 404) {
          ks.live.status = 'slow';
          ks.live.error = x.message;
          renderLive();
          return;
        }
      }
      if (elapsed > LIVE_WAIT_MS) {
        ks.live.status = 'slow';
        renderLive();
        return;
      }
      renderLive();
      await new Promise((r) => setTimeout(r, LIVE_POLL_MS));
    }
  }

  function renderLive() {
    const box = $('#ks-live');
    const l = ks.live;
    box.hidden = !l;
    if (!l) return;
    const what = cap(l.label) + ' ' + (l.engaged ? 'engaged' : 'released');
    box.className = 'live is-' + l.status;
    if (l.status === 'live') {
      box.replaceChildren(
        h('span', { class: 'live-dot' }),
        h('strong', {}, 'Live at the edge after ' + l.ms + ' ms'),
        h('span', { class: 'muted' }, ' · ' + what + ' · the edge serves config v' + l.seen + (l.engaged ? ': those requests now answer 503' : '')),
      );
    } else if (l.status === 'slow') {
      box.replaceChildren(
        h('span', { class: 'live-dot' }),
        h('strong', {}, l.error ? 'Cannot confirm at the edge' : 'Not live yet after ' + LIVE_WAIT_MS / 1000 + ' s'),
        h('span', { class: 'muted' }, l.error
          ? ' · saved as config v' + l.version + '. ' + l.error
          : ' · saved as config v' + l.version + ', the edge still serves v' + (l.seen === null ? '—' : l.seen) + '. The edge keeps checking; see the README on flip-to-effect.'),
      );
    } else {
      box.replaceChildren(
        h('span', { class: 'live-dot' }),
        h('strong', {}, 'Waiting for the edge…'),
        h('span', { class: 'muted' }, ' · ' + what + ' saved as config v' + l.version + (l.seen === null ? '' : '; the edge serves v' + l.seen)),
      );
    }
  }

  VIEWS.emergency = {
    init() {
      $('#ks-search').addEventListener('input', (e) => {
        ks.query = e.target.value;
        ks.index = 0;
        renderEmergency();
      });
      $('#ks-search').addEventListener('keydown', onEmergencyKey);
      $('#ks-scope').addEventListener('change', syncScope);
      $('#ks-form').addEventListener('submit', engageNew);
    },
    reset() {
      ks.watch++;
      ks.live = null;
      ks.query = '';
      ks.index = 0;
      $('#ks-search').value = '';
    },
    leave() {
      ks.watch++;
    },
    render: renderEmergency,
    enter() {
      const s = $('#ks-search');
      s.focus();
      s.select();
    },
  };
`;
