/**
 * Customers: search by email (or its start) or an id, a customer's subscriptions (state, next
 * renewal, bundle, price), and each subscription's payments with the routing decision of every
 * attempt — which rule matched, the bucket, the order tried, what was skipped and why.
 */
export const CUSTOMERS_JS = `
  const cust = { storefront: '', selected: null, openSub: null };

  const SKIP_WHY = {
    killswitch: 'switched off by a provider killswitch',
    breaker_open: 'its circuit breaker was open (recent provider errors)',
    ineligible: 'it cannot take this method, currency or country',
  };

  function statusPill(s) {
    const kind = { active: 'good', trialing: 'info', past_due: 'warn', paused: 'muted', succeeded: 'good', captured: 'good', declined: 'bad', failed: 'bad', error: 'bad', unknown: 'warn' }[s] || 'muted';
    return h('span', { class: 'pill ' + kind }, s.replace('_', ' '));
  }

  function cadence(p) {
    return (p.intervalCount === 1 ? '' : p.intervalCount + ' ') + p.interval + (p.intervalCount === 1 ? '' : 's');
  }

  /** One sentence: why the payment went where it went. */
  function routingStory(p) {
    const d = p.decision;
    if (!d) return 'No routing decision was recorded.';
    const parts = [];
    parts.push((d.rule === 'default' ? 'The default route' : 'Rule “' + d.rule + '”') + ' chose ' + (d.order.length ? d.order.join(' → ') : 'no provider') + ' (bucket ' + d.bucket + ').');
    for (const s of d.skipped) parts.push(cap(s.provider) + ' was skipped: ' + (SKIP_WHY[s.reason] || s.reason) + '.');
    const a = p.attempts;
    if (a.length > 1) {
      const failedOver = a.slice(0, -1).map((x) => x.provider + ' (' + (x.declineCode || x.status) + ')').join(', ');
      parts.push('Failed over from ' + failedOver + ' to ' + a[a.length - 1].provider + '.');
    }
    const last = a[a.length - 1];
    const untried = d.order.slice(a.length);
    if (p.status === 'succeeded') parts.push('Captured by ' + (p.provider || (last && last.provider)) + '.');
    else if (p.status === 'declined') {
      parts.push('Declined by ' + (p.provider || (last && last.provider)) + (p.declineCode ? ' (' + p.declineCode + ')' : '') +
        (untried.length ? ': an issuer decline never fails over, so ' + untried.join(' and ') + ' ' + (untried.length === 1 ? 'was' : 'were') + ' not tried.' : '.'));
    } else if (p.status === 'failed') {
      parts.push(a.length ? 'Failed at every provider tried' + (p.declineCode ? ' (' + p.declineCode + ')' : '') + '.' : 'No provider could take it' + (p.declineCode ? ' (' + p.declineCode + ')' : '') + '.');
    } else if (p.status === 'unknown') {
      parts.push('The outcome is unknown: a provider timed out and could not be asked yet; nothing else was tried, and the payment settles when it answers.');
    }
    return parts.join(' ');
  }

  async function searchCustomers(e) {
    if (e) e.preventDefault();
    const query = $('#cust-query').value.trim();
    const out = $('#cust-results');
    if (!query) {
      out.replaceChildren(h('p', { class: 'muted' }, 'Type an email (or its start) or an id — cus_…, sub_…, pay_….'));
      return;
    }
    cust.storefront = $('#cust-storefront').value;
    const q = '?query=' + encodeURIComponent(query) + (cust.storefront ? '&storefront=' + encodeURIComponent(cust.storefront) : '') + '&limit=25';
    out.replaceChildren(h('p', { class: 'muted' }, 'Searching…'));
    try {
      const { items } = await api('GET', tenantPath('/customers') + q);
      panelError('#cust-error', null);
      if (items.length === 0) {
        out.replaceChildren(h('p', { class: 'empty' }, 'No customer matches “' + query + '”.'));
        return;
      }
      out.replaceChildren(h('ul', { class: 'cust-list', 'aria-label': 'Customers found' }, items.map((c) =>
        h('li', {},
          h('button', { type: 'button', class: 'cust-hit' + (cust.selected === c.id ? ' selected' : ''), 'data-customer': c.email, 'data-id': c.id, onclick: () => openCustomer(c.id) },
            h('strong', {}, c.email),
            c.name ? h('span', { class: 'muted' }, ' ' + c.name) : null,
            h('span', { class: 'chips' },
              h('span', { class: 'chip' }, c.storefront.name),
              h('span', { class: 'chip' }, plural(c.subscriptionCount, 'subscription', 'subscriptions')),
            ),
          ),
        ))));
      if (items.length === 1) await openCustomer(items[0].id);
    } catch (x) {
      if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
      out.replaceChildren();
      panelError('#cust-error', x);
    }
  }

  async function openCustomer(id) {
    cust.selected = id;
    cust.openSub = null;
    for (const b of $$('.cust-hit')) b.classList.toggle('selected', b.getAttribute('data-id') === id);
    const box = $('#cust-detail');
    box.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    let data;
    try {
      data = await api('GET', tenantPath('/customers/' + encodeURIComponent(id)));
    } catch (x) {
      if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
      box.replaceChildren(...problemNodes(x));
      return;
    }
    const c = data.customer;
    box.replaceChildren(
      h('header', { class: 'cust-head' },
        h('div', {},
          h('h3', {}, c.email),
          h('p', { class: 'muted small' }, c.name ? c.name + ' · ' : '', h('code', {}, c.id), ' · ', c.storefront.name, ' · customer since ', dateOf(c.createdAt)),
        ),
      ),
      data.subscriptions.length === 0
        ? h('p', { class: 'empty' }, 'No subscriptions.')
        : h('div', { class: 'table-wrap' }, h('table', { class: 'grid subs' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Bundle'), h('th', {}, 'State'), h('th', {}, 'Price'), h('th', {}, 'Next renewal'), h('th', {}, 'Period'), h('th', {}))),
            h('tbody', {}, data.subscriptions.map((s) => subscriptionRows(s))),
          )),
    );
  }

  function subscriptionRows(s) {
    const payments = h('tr', { class: 'pay-row', hidden: true }, h('td', { colspan: 6 }, h('div', { class: 'payments' })));
    const notes = [];
    if (s.billingIssue) notes.push(h('span', { class: 'chip bad' }, 'billing issue'));
    if (s.cancelAtPeriodEnd) notes.push(h('span', { class: 'chip warn' }, 'cancels at period end'));
    if (s.testClockId) notes.push(h('span', { class: 'chip' }, 'test clock'));
    if (s.mode === 'test') notes.push(h('span', { class: 'chip' }, 'test'));
    const button = h('button', {
      type: 'button',
      class: 'btn small',
      'aria-expanded': 'false',
      onclick: () => togglePayments(s, payments, button),
    }, 'Payments');
    return [
      h('tr', { 'data-subscription': s.id },
        h('td', { 'data-label': 'Bundle' }, h('strong', {}, s.bundle.name), h('div', { class: 'muted small mono' }, s.id)),
        h('td', { 'data-label': 'State' }, statusPill(s.status), notes.length ? h('div', { class: 'chips' }, notes) : null),
        h('td', { 'data-label': 'Price' }, money(s.price.amount, s.price.currency), h('span', { class: 'muted small' }, ' / ' + cadence(s.price))),
        h('td', { 'data-label': 'Next renewal' }, s.nextRenewalAt ? when(s.nextRenewalAt) : h('span', { class: 'muted' }, s.status === 'past_due' ? 'dunning retry' : '—')),
        h('td', { class: 'small', 'data-label': 'Period' }, s.currentPeriodStart ? dateOf(s.currentPeriodStart) + ' – ' + dateOf(s.currentPeriodEnd) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'actions' }, button),
      ),
      payments,
    ];
  }

  async function togglePayments(s, row, button) {
    const open = row.hidden;
    row.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (!open) return;
    const box = $('.payments', row);
    box.replaceChildren(h('p', { class: 'muted' }, 'Loading payments…'));
    try {
      const { items } = await api('GET', tenantPath('/subscriptions/' + encodeURIComponent(s.id) + '/payments'));
      box.replaceChildren(items.length === 0 ? h('p', { class: 'muted' }, 'No payments yet.') : h('ol', { class: 'pay-list' }, items.map(paymentItem)));
    } catch (x) {
      if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
      box.replaceChildren(...problemNodes(x));
    }
  }

  function paymentItem(p) {
    const d = p.decision;
    return h('li', { class: 'pay', 'data-payment': p.id },
      h('div', { class: 'pay-head' },
        h('strong', {}, money(p.amount, p.currency)), ' ', statusPill(p.status),
        p.amountRefunded ? h('span', { class: 'chip' }, 'refunded ' + money(p.amountRefunded, p.currency)) : null,
        h('span', { class: 'muted small' }, ' ', dateOf(p.createdAt), ' · ', time(p.createdAt), ' · ', h('code', {}, p.id)),
      ),
      h('p', { class: 'routing-story' }, routingStory(p)),
      h('div', { class: 'routing' },
        h('div', { class: 'decision', 'aria-label': 'Routing decision' },
          h('span', { class: 'muted small' }, 'Decision'),
          d ? [
            h('span', { class: 'chip' }, 'rule ' + d.rule),
            h('span', { class: 'chip' }, 'bucket ' + d.bucket),
            h('span', { class: 'chip' }, 'config v' + d.configVersion),
            h('span', { class: 'order' }, d.order.map((x, i) => [i ? h('span', { class: 'arrow' }, '→') : null, h('span', { class: 'chip provider' }, x)])),
            d.skipped.map((x) => h('span', { class: 'chip bad', title: SKIP_WHY[x.reason] || x.reason }, x.provider + ' skipped: ' + x.reason.replace('_', ' '))),
          ] : h('span', { class: 'muted' }, '—'),
        ),
        h('ol', { class: 'attempts', 'aria-label': 'Attempts' }, p.attempts.map((a) =>
          h('li', { class: 'attempt ' + a.status },
            h('span', { class: 'chip provider' }, a.provider), ' ', statusPill(a.status),
            a.declineCode ? h('span', { class: 'muted small' }, ' ' + a.declineCode + (a.declineClass ? ' (' + a.declineClass.replace('_', ' ') + ')' : '')) : null,
            h('span', { class: 'muted small' }, ' · ' + a.latencyMs + ' ms' + (a.lookedUp ? ' · looked up after a timeout' : '')),
          ))),
      ),
    );
  }

  VIEWS.customers = {
    init() {
      $('#cust-form').addEventListener('submit', searchCustomers);
    },
    reset() {
      cust.selected = null;
      $('#cust-results').replaceChildren();
      $('#cust-detail').replaceChildren();
      $('#cust-query').value = '';
    },
    render() {
      const t = current();
      const sel = $('#cust-storefront');
      const prev = sel.value;
      const readable = (t ? t.items : []).filter((s) => s.actions.includes('customer.read'));
      sel.replaceChildren(
        h('option', { value: '' }, 'All storefronts'),
        ...readable.map((s) => h('option', { value: s.id }, s.name)),
      );
      sel.value = [...sel.options].some((o) => o.value === prev) ? prev : '';
    },
    enter(opts) {
      if (opts.storefront) $('#cust-storefront').value = opts.storefront;
      $('#cust-query').focus();
    },
  };
`;
