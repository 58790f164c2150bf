/**
 * Analytics: for a storefront (or every storefront the operator may read) over the last 30 /
 * 90 / 180 / 365 days, in live (default: real sales, and the demo's generated history) or test
 * mode — headline numbers from `/analytics/summary` (MRR per currency, and the tenant total
 * converted to USD only as the API labels it), the server-drawn SVG charts as `<img>` (same
 * origin: the session cookie goes with them, and an SVG in an `<img>` runs nothing), payment
 * success by provider and decline class as bars, and each experiment's variants with their
 * Wilson intervals. Bars are sized through the CSSOM (`el.style`), which the CSP allows.
 */
export const ANALYTICS_JS = `
  const an = { seq: 0, loaded: '' };
  const DAY_MS = 86400000;
  const pct = (r) => (r === null || r === undefined ? '—' : (Math.round(r * 1000) / 10).toFixed(1) + ' %');
  const ciText = (ci) => (ci ? '95 % CI ' + pct(ci[0]) + ' – ' + pct(ci[1]) : 'no interval yet');
  const num = (n) => Number(n).toLocaleString();

  function anQuery(extra) {
    const days = Number($('#an-range').value) || 90;
    const from = new Date(Date.now() - (days - 1) * DAY_MS).toISOString().slice(0, 10);
    const p = new URLSearchParams({ from, mode: $('#an-mode').value });
    const sf = $('#an-storefront').value;
    if (sf) p.set('storefront', sf);
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return '?' + p.toString();
  }

  function anTile(label, value, note, attrs) {
    return h('div', Object.assign({ class: 'tile an-tile' }, attrs || {}),
      h('span', { class: 'tile-label' }, label),
      h('strong', { class: 'tile-value' }, value),
      h('span', { class: 'tile-note muted small' }, note),
    );
  }

  function delta(opening, closing, currency) {
    const d = closing - opening;
    return (d >= 0 ? '+' : '−') + money(Math.abs(d), currency) + ' since the range began';
  }

  function renderTiles(sum) {
    const t = sum.total;
    const pay = sum.items.reduce((a, i) => ({ total: a.total + i.payments.total, ok: a.ok + i.payments.succeeded }), { total: 0, ok: 0 });
    const mrr = t.mrr.byCurrency;
    const tiles = [
      anTile('Checkouts started', num(t.checkouts.started), plural(t.checkouts.completed, 'completed', 'completed'), { 'data-metric': 'checkouts-started' }),
      anTile('Conversion', pct(t.checkouts.conversion.rate), ciText(t.checkouts.conversion.ci95), { 'data-metric': 'conversion' }),
      anTile('Subscriptions', num(t.subscriptions.activeAtEnd) + ' active', '+' + num(t.subscriptions.new) + ' new · −' + num(t.subscriptions.churned) + ' churned', { 'data-metric': 'active' }),
      anTile('Payments', pct(pay.total ? pay.ok / pay.total : null), num(pay.ok) + ' of ' + num(pay.total) + ' succeeded', { 'data-metric': 'payments' }),
    ];
    if (mrr.length === 0) tiles.push(anTile('MRR', '—', 'no recurring revenue in this scope', { 'data-metric': 'mrr' }));
    for (const m of mrr) {
      tiles.push(anTile('MRR ' + m.currency, money(m.closing, m.currency), delta(m.opening, m.closing, m.currency), { 'data-metric': 'mrr', 'data-currency': m.currency }));
    }
    if (mrr.length > 1) {
      const c = t.mrr.converted;
      tiles.push(anTile('MRR total ≈ ' + c.currency, money(c.amount, c.currency),
        'converted at the ' + c.ratesDate + ' reference rates' + (c.unconverted.length ? '; not included: ' + c.unconverted.join(', ') : ''),
        { 'data-metric': 'mrr-converted' }));
    }
    $('#an-tiles').replaceChildren(...tiles);
  }

  const anInterval = () => ((Number($('#an-range').value) || 90) <= 31 ? 'day' : 'week');

  function chartImg(metric, title, note) {
    const src = tenantPath('/analytics/charts/' + metric + '.svg') + anQuery({ interval: anInterval() });
    const img = h('img', { src, alt: title + ' (' + note + ')', class: 'an-chart-img', 'data-chart': metric, loading: 'eager', decoding: 'async' });
    img.addEventListener('error', () => {
      img.replaceWith(h('p', { class: 'error' }, 'The ' + title + ' chart could not be loaded.'));
    });
    return h('figure', { class: 'an-chart' }, img, h('figcaption', { class: 'muted small' }, note));
  }

  function renderCharts(sum) {
    const currencies = sum.total.mrr.byCurrency.map((m) => m.currency);
    $('#an-charts').replaceChildren(
      chartImg('mrr', 'MRR', currencies.length > 1 ? 'one line per currency (' + currencies.join(', ') + '), not converted' : 'in ' + (currencies[0] || 'the storefront’s currency') + ', at the end of each ' + anInterval()),
      chartImg('active_subscriptions', 'Active subscriptions', 'at the end of each ' + anInterval()),
      chartImg('checkouts_started', 'Checkouts started', 'per ' + anInterval() + ' (the last one runs to today)'),
      chartImg('checkouts_completed', 'Checkouts completed', 'per ' + anInterval() + ': first payment succeeded or trial started'),
    );
  }

  function renderStorefronts(sum) {
    const rows = sum.items.map((i) => h('tr', { 'data-storefront': i.storefront.slug },
      h('td', {}, h('strong', {}, i.storefront.name), ' ', h('span', { class: 'chip' }, i.storefront.channel)),
      h('td', { class: 'num' }, num(i.checkouts.started)),
      h('td', { class: 'num' }, num(i.checkouts.completed)),
      h('td', { class: 'num', title: ciText(i.checkouts.conversion.ci95) }, pct(i.checkouts.conversion.rate)),
      h('td', { class: 'num' }, '+' + num(i.subscriptions.new) + ' / −' + num(i.subscriptions.churned)),
      h('td', { class: 'num' }, num(i.subscriptions.activeAtEnd)),
      h('td', { class: 'num' }, i.mrr.length ? i.mrr.map((m) => money(m.closing, m.currency)).join(' · ') : '—'),
      h('td', { class: 'num', title: num(i.trials.converted) + ' of ' + num(i.trials.ended) + ' trials converted' }, pct(i.trials.conversion.rate)),
      h('td', { class: 'num', title: 'failure streaks begun / recovered' }, num(i.dunning.pastDue) + ' / ' + num(i.dunning.recovered)),
    ));
    $('#an-storefronts').replaceChildren(h('table', { class: 'grid an-table' },
      h('thead', {}, h('tr', {}, ['Storefront', 'Checkouts', 'Completed', 'Conversion', 'New / churned', 'Active', 'MRR', 'Trial conv.', 'Dunning / recovered'].map((x) => h('th', {}, x)))),
      h('tbody', {}, rows.length ? rows : emptyRow(9, 'No storefront in this scope.')),
    ));
  }

  /** A bar split into parts; each part's share is its width (set through the CSSOM). */
  function stackBar(parts, total) {
    return h('div', { class: 'an-bar', role: 'img', 'aria-label': parts.map((p) => p.label + ' ' + num(p.value)).join(', ') },
      parts.filter((p) => p.value > 0).map((p) => {
        const seg = h('span', { class: 'an-seg ' + p.kind, title: p.label + ': ' + num(p.value) + ' (' + pct(p.value / total) + ')' });
        seg.style.width = (100 * p.value / total).toFixed(2) + '%';
        return seg;
      }));
  }

  function renderPayments(rep) {
    const box = $('#an-payments');
    if (rep.providers.length === 0) return box.replaceChildren(h('p', { class: 'empty' }, 'No payment attempts in this range.'));
    const legend = h('p', { class: 'an-legend small muted' },
      [['captured', 'captured'], ['issuer', 'declined by the issuer'], ['provider', 'declined by the provider'], ['other', 'declined, unclassified'], ['errors', 'provider errors']]
        .map(([k, label]) => h('span', {}, h('span', { class: 'an-key an-seg ' + k }), label)));
    box.replaceChildren(legend, ...rep.providers.map((p) => {
      const cls = (k) => (p.declineClasses.find((c) => c.declineClass === k) || { attempts: 0 }).attempts;
      const other = p.declined - cls('issuer') - cls('provider');
      return h('div', { class: 'an-provider', 'data-provider': p.provider },
        h('div', { class: 'an-provider-head' },
          h('strong', {}, p.provider),
          h('span', {}, pct(p.successRate.rate), ' ', h('span', { class: 'muted small' }, 'of ' + plural(p.attempts, 'attempt', 'attempts') + ' captured · ' + ciText(p.successRate.ci95))),
        ),
        stackBar([
          { kind: 'captured', label: 'captured', value: p.captured },
          { kind: 'issuer', label: 'declined by the issuer', value: cls('issuer') },
          { kind: 'provider', label: 'declined by the provider', value: cls('provider') },
          { kind: 'other', label: 'declined, unclassified', value: other },
          { kind: 'errors', label: 'errors', value: p.errors },
        ], p.attempts),
      );
    }));
  }

  function renderExperiments(rep) {
    const box = $('#an-experiments');
    if (rep.items.length === 0) return box.replaceChildren(h('p', { class: 'empty' }, 'No experiment exposures in this range.'));
    box.replaceChildren(
      h('p', { class: 'muted small' }, 'A visitor counts once, in the variant of their first exposure; converted if a checkout in the same storefront carried their targeting key and completed. Interval: Wilson score, 95 %.'),
      ...rep.items.map((x) => {
        const top = Math.max(0.01, ...x.variants.map((v) => (v.conversion.ci95 ? v.conversion.ci95[1] : v.conversion.rate || 0)));
        return h('div', { class: 'an-exp', 'data-flag': x.flagKey, 'data-storefront': x.storefront.slug },
          h('h4', {}, h('code', {}, x.flagKey), ' ', h('span', { class: 'muted small' }, 'in ' + x.storefront.name)),
          h('div', { class: 'table-wrap' }, h('table', { class: 'grid an-table' },
            h('thead', {}, h('tr', {}, ['Variant', 'Exposed', 'Checkouts', 'Completed', 'Conversion', '95 % interval', ''].map((c) => h('th', { class: c ? null : 'an-ci-cell' }, c)))),
            h('tbody', {}, x.variants.map((v) => {
              const ci = v.conversion.ci95;
              const track = h('div', { class: 'an-ci', title: ciText(ci) });
              if (ci) {
                const range = h('span', { class: 'an-ci-range' });
                range.style.left = (100 * ci[0] / top).toFixed(2) + '%';
                range.style.width = Math.max(0.5, 100 * (ci[1] - ci[0]) / top).toFixed(2) + '%';
                const dot = h('span', { class: 'an-ci-dot' });
                dot.style.left = (100 * (v.conversion.rate || 0) / top).toFixed(2) + '%';
                track.append(range, dot);
              }
              return h('tr', { 'data-variant': String(v.variant) },
                h('td', {}, h('code', {}, String(v.variant))),
                h('td', { class: 'num' }, num(v.exposed)),
                h('td', { class: 'num' }, num(v.checkoutsStarted)),
                h('td', { class: 'num' }, num(v.checkoutsCompleted)),
                h('td', { class: 'num' }, pct(v.conversion.rate)),
                h('td', { class: 'num' }, ci ? pct(ci[0]) + ' – ' + pct(ci[1]) : '—'),
                h('td', { class: 'an-ci-cell' }, track),
              );
            })),
          )),
        );
      }),
    );
  }

  async function loadAnalytics() {
    if (!state.tenantId) return;
    const seq = ++an.seq;
    const q = anQuery();
    an.loaded = state.tenantId + q;
    $('#an-status').textContent = 'Loading…';
    $('#analytics-root').setAttribute('aria-busy', 'true');
    const [sum, pay, exp] = await Promise.allSettled([
      api('GET', tenantPath('/analytics/summary') + q),
      api('GET', tenantPath('/analytics/payments') + q),
      api('GET', tenantPath('/analytics/experiments') + q),
    ]);
    if (seq !== an.seq) return; // a newer choice is loading
    $('#analytics-root').removeAttribute('aria-busy');
    const failure = [sum, pay, exp].find((r) => r.status === 'rejected');
    if (failure && failure.reason.status === 401) return signedOut('Your session has ended. Sign in again.');
    panelError('#an-error', failure ? failure.reason : null);
    if (sum.status === 'fulfilled') {
      const s = sum.value;
      $('#an-status').textContent = s.from.slice(0, 10) + ' to ' + new Date(Date.parse(s.to) - 1).toISOString().slice(0, 10) + ' · ' + s.mode + ' mode';
      renderTiles(s);
      renderCharts(s);
      renderStorefronts(s);
    } else {
      $('#an-status').textContent = '';
      for (const id of ['#an-tiles', '#an-charts', '#an-storefronts']) $(id).replaceChildren();
    }
    if (pay.status === 'fulfilled') renderPayments(pay.value);
    else $('#an-payments').replaceChildren();
    if (exp.status === 'fulfilled') renderExperiments(exp.value);
    else $('#an-experiments').replaceChildren();
  }

  VIEWS.analytics = {
    init() {
      $('#an-form').addEventListener('submit', (e) => e.preventDefault());
      for (const id of ['#an-storefront', '#an-range', '#an-mode']) $(id).addEventListener('change', loadAnalytics);
    },
    reset() {
      an.loaded = '';
      for (const id of ['#an-tiles', '#an-charts', '#an-storefronts', '#an-payments', '#an-experiments']) $(id).replaceChildren();
    },
    render() {
      const t = current();
      const sel = $('#an-storefront');
      const prev = sel.value;
      const readable = (t ? t.items : []).filter((s) => s.actions.includes('analytics.read'));
      sel.replaceChildren(
        h('option', { value: '' }, readable.length > 1 ? 'All my storefronts' : 'All storefronts'),
        ...readable.map((s) => h('option', { value: s.slug }, s.name + ' (' + s.currency + ')')),
      );
      sel.value = [...sel.options].some((o) => o.value === prev) ? prev : '';
      if (state.view === 'analytics') loadAnalytics();
    },
    enter(opts) {
      if (opts.storefront) {
        const sf = current() && current().items.find((s) => s.id === opts.storefront || s.slug === opts.storefront);
        if (sf) $('#an-storefront').value = sf.slug;
      }
      if (an.loaded !== state.tenantId + anQuery()) loadAnalytics();
    },
  };
`;
