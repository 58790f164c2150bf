/** The overview: the tenant at a glance (what is switched off, flags, edge) and its storefronts. */
export const OVERVIEW_JS = `
  function switchLabel(k) {
    if (k.scope === 'tenant') return 'whole tenant';
    if (k.scope === 'storefront') return 'storefront ' + sfName(k.storefrontId);
    return k.scope + ' ' + k.target;
  }

  function tile(label, value, note, view, hot, noteId) {
    return h('button', { type: 'button', class: 'tile' + (hot ? ' hot' : ''), onclick: () => showView(view) },
      h('span', { class: 'tile-label' }, label),
      h('strong', { class: 'tile-value' }, value),
      h('span', { class: 'tile-note muted small', id: noteId }, note),
    );
  }

  /** What the edge serves, next to what was saved (the same endpoint as the live confirmation). */
  async function edgeNote(tenantId) {
    if (!can('killswitch.read')) return;
    try {
      const st = await api('GET', tenantPath('/edge-status'));
      const note = $('#tile-edge');
      if (tenantId !== state.tenantId || !note) return;
      note.textContent = st.edge.version === null
        ? 'not published to the edge yet'
        : st.live ? '✓ the edge serves v' + st.edge.version : 'the edge serves v' + st.edge.version + ', catching up';
    } catch (_) {
      // The tile keeps its default note.
    }
  }

  VIEWS.overview = {
    render() {
      panelError('#sf-error', state.loadErrors.storefronts);
      const t = current();
      const list = $('#sf-list');
      if (!t) return list.replaceChildren();
      const engaged = state.killswitches.filter((k) => k.engaged);
      $('#tiles').replaceChildren(
        tile('Switched off', String(engaged.length), engaged.length ? engaged.map(switchLabel).join(', ') : 'everything is serving', 'emergency', engaged.length > 0),
        tile('Feature flags', String(state.flags.length), plural(state.flags.filter((f) => f.enabled).length, 'on', 'on') + ', ' + state.flags.filter((f) => !f.enabled).length + ' off', 'flags'),
        tile('Storefronts', String(t.items.length), t.items.map((s) => s.currency).filter((c, i, a) => a.indexOf(c) === i).join(' · '), 'customers'),
        tile('Config', 'v' + t.tenant.configVersion, 'every change is audited', 'audit', false, 'tile-edge'),
      );
      edgeNote(state.tenantId);
      $('#sf-count').textContent = String(t.items.length);
      if (t.items.length === 0) return list.replaceChildren(h('p', { class: 'empty' }, 'No storefronts yet.'));
      list.replaceChildren(
        ...t.items.map((sf) => {
          const blocking = state.killswitches.filter(
            (k) => k.engaged && (k.storefrontId === null || k.storefrontId === sf.id),
          );
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
            h('div', { class: 'sf-actions' },
              h('button', { type: 'button', class: 'btn ghost small', onclick: () => showView('keys', { storefront: sf.id }) }, 'API keys'),
              h('button', { type: 'button', class: 'btn ghost small', onclick: () => showView('customers', { storefront: sf.id }) }, 'Customers'),
              h('button', { type: 'button', class: 'btn ghost small', onclick: () => showView('analytics', { storefront: sf.id }) }, 'Analytics'),
            ),
          );
        }),
      );
    },
  };

`;
