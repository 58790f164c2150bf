/**
 * Feature flags: on/off from the list, and an editor for everything else — targeting rules
 * (clauses, served variation or percentage rollout), the fallthrough, experiments and storefront
 * overrides — that shows the change as a diff (before/after) and asks for a reason before it
 * saves with `PUT /admin/v1/tenants/{tenant}/flags/{key}`. "Edit as JSON" covers the rest
 * (variations, names, segments' clauses the form does not draw).
 */
export const FLAGS_JS = `
  const OPERATORS = ['in', 'notIn', 'startsWith', 'endsWith', 'contains', 'matches', 'lessThan', 'greaterThan', 'semverEq', 'semverLessThan', 'semverGreaterThan', 'segmentMatch'];
  const NUMERIC_OPS = ['lessThan', 'greaterThan'];
  /** Rollout weights are in units of 1/100000 (README: bucketing). */
  const SCALE = 100000;

  const fe = { open: false, key: '', valueType: 'boolean', storefrontId: null, before: null, draft: null, enabled: true, json: false, review: false, tenantFlag: null };

  const clone = (v) => JSON.parse(JSON.stringify(v));
  const variationLabel = (d, i) => {
    const name = d.variationNames && d.variationNames[i];
    return i + ' · ' + JSON.stringify(d.variations[i]) + (name ? ' (' + name + ')' : '');
  };

  function renderFlagList() {
    panelError('#flag-error', state.loadErrors.flags);
    const rows = [...state.flags].sort((a, b) => a.key.localeCompare(b.key) || String(a.storefrontId).localeCompare(String(b.storefrontId)));
    $('#flag-count').textContent = String(rows.length);
    const tbody = $('#flag-rows');
    if (rows.length === 0) return tbody.replaceChildren(emptyRow(5, 'No feature flags in this tenant.'));
    tbody.replaceChildren(
      ...rows.map((f) => {
        const allowed = can('flag.write', f.storefrontId);
        const scope = f.storefrontId ? sfName(f.storefrontId) : 'all storefronts';
        const d = f.definition || {};
        const rules = Array.isArray(d.rules) ? d.rules.length : 0;
        const ft = d.fallthrough || {};
        return h('tr', { 'data-flag': f.key + ':' + (f.storefrontId || '') },
          h('td', {}, h('strong', { class: 'mono' }, f.key), h('div', { class: 'muted small' }, f.valueType + ' · v' + f.version + (d.experiment ? ' · experiment' : ''))),
          h('td', {}, f.storefrontId ? h('span', { class: 'chip' }, 'override · ' + scope) : h('span', { class: 'muted' }, scope)),
          h('td', { class: 'small' }, plural(rules, 'rule', 'rules') + ' · ' + (ft.rollout ? 'rollout ' + ft.rollout.variations.map((v) => Math.round(v.weight / 1000) + '%').join('/') : 'serves ' + (ft.variation !== undefined ? JSON.stringify((d.variations || [])[ft.variation]) : '?'))),
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
            ' ',
            h('button', { type: 'button', class: 'btn small ghost', 'data-edit': f.key + ':' + (f.storefrontId || ''), onclick: () => openEditor(f.key, f.storefrontId) }, allowed ? 'Edit…' : 'View…'),
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

  // ------------------------------------------------ the editor
  function openEditor(key, storefrontId) {
    const tenantFlag = state.flags.find((f) => f.key === key && !f.storefrontId) || null;
    const own = state.flags.find((f) => f.key === key && (f.storefrontId || null) === (storefrontId || null)) || null;
    const source = own || tenantFlag || state.flags.find((f) => f.key === key);
    fe.open = true;
    fe.key = key;
    fe.tenantFlag = tenantFlag;
    fe.valueType = source.valueType;
    fe.storefrontId = storefrontId || null;
    fe.before = own ? { enabled: own.enabled, definition: own.definition } : null;
    fe.draft = clone(source.definition);
    fe.enabled = source.enabled;
    fe.json = false;
    fe.review = false;
    renderEditor();
    $('#flag-editor').scrollIntoView({ block: 'start' });
  }

  function closeEditor() {
    fe.open = false;
    renderEditor();
  }

  function syncJson() {
    if (!fe.json) return true;
    try {
      const parsed = JSON.parse($('#fe-json').value);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the definition is a JSON object');
      fe.draft = parsed;
      $('#fe-json-error').hidden = true;
      return true;
    } catch (e) {
      const box = $('#fe-json-error');
      box.textContent = 'Not valid JSON: ' + e.message;
      box.hidden = false;
      return false;
    }
  }

  function serveEditor(serve, d, onChange) {
    const isRollout = serve.rollout !== undefined;
    const pick = h('select', {
      'aria-label': 'Serve',
      onchange: (e) => {
        const v = e.target.value;
        if (v === 'rollout') {
          delete serve.variation;
          const n = d.variations.length;
          const each = Math.floor(SCALE / n);
          serve.rollout = { variations: d.variations.map((_, i) => ({ variation: i, weight: i === 0 ? SCALE - each * (n - 1) : each })) };
        } else {
          delete serve.rollout;
          serve.variation = Number(v);
        }
        onChange();
      },
    },
      d.variations.map((_, i) => h('option', { value: String(i), selected: !isRollout && serve.variation === i }, 'serve ' + variationLabel(d, i))),
      h('option', { value: 'rollout', selected: isRollout }, 'percentage rollout'),
    );
    if (!isRollout) return h('div', { class: 'serve' }, pick);
    const total = () => serve.rollout.variations.reduce((s, v) => s + v.weight, 0);
    const sum = h('span', { class: 'small' });
    const showSum = () => {
      const t = total();
      sum.textContent = 'total ' + t / 1000 + ' %' + (t === SCALE ? '' : ' (must be 100 %)');
      sum.className = 'small ' + (t === SCALE ? 'muted' : 'bad-text');
    };
    showSum();
    return h('div', { class: 'serve' }, pick,
      h('div', { class: 'rollout' },
        d.variations.map((_, i) => {
          let slot = serve.rollout.variations.find((v) => v.variation === i);
          return h('label', { class: 'pct' }, variationLabel(d, i),
            h('input', {
              type: 'number', min: '0', max: '100', step: '0.001', value: String((slot ? slot.weight : 0) / 1000), 'data-rollout': String(i),
              oninput: (e) => {
                const w = Math.round(Number(e.target.value) * 1000);
                if (!slot) {
                  slot = { variation: i, weight: 0 };
                  serve.rollout.variations.push(slot);
                }
                slot.weight = Number.isFinite(w) ? w : 0;
                showSum();
              },
            }), '%');
        }),
        h('label', { class: 'pct' }, 'bucket by',
          h('input', { type: 'text', maxlength: '256', placeholder: 'targetingKey', value: serve.rollout.bucketBy || '', oninput: (e) => {
            if (e.target.value.trim()) serve.rollout.bucketBy = e.target.value.trim();
            else delete serve.rollout.bucketBy;
          } })),
        sum,
      ),
    );
  }

  function clauseRow(rule, clause, ci, rerender) {
    return h('div', { class: 'clause' },
      h('input', { type: 'text', 'aria-label': 'Attribute', placeholder: 'attribute (country, plan…)', maxlength: '256', value: clause.attribute || '', disabled: clause.operator === 'segmentMatch', oninput: (e) => { clause.attribute = e.target.value.trim(); } }),
      h('select', { 'aria-label': 'Operator', onchange: (e) => {
        clause.operator = e.target.value;
        if (clause.operator === 'segmentMatch') delete clause.attribute;
        if (NUMERIC_OPS.includes(clause.operator)) clause.values = clause.values.map(Number).filter((n) => Number.isFinite(n));
        else clause.values = clause.values.map(String);
        rerender();
      } }, OPERATORS.map((o) => h('option', { value: o, selected: o === clause.operator }, o))),
      h('input', { type: 'text', 'aria-label': 'Values', placeholder: 'values, comma separated', value: clause.values.join(', '), oninput: (e) => {
        const parts = e.target.value.split(',').map((x) => x.trim()).filter(Boolean);
        clause.values = NUMERIC_OPS.includes(clause.operator) ? parts.map(Number) : parts;
      } }),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: Boolean(clause.negate), onchange: (e) => { clause.negate = e.target.checked; } }), 'not'),
      h('button', { type: 'button', class: 'btn ghost small', title: 'Remove this condition', onclick: () => { rule.clauses.splice(ci, 1); rerender(); } }, '✕'),
    );
  }

  function rulesEditor(d, rerender) {
    d.rules = Array.isArray(d.rules) ? d.rules : [];
    return h('div', { class: 'rules' },
      d.rules.map((rule, ri) => {
        rule.clauses = Array.isArray(rule.clauses) ? rule.clauses : [];
        return h('fieldset', { class: 'rule', 'data-rule': String(ri) },
          h('legend', {}, 'Rule ' + (ri + 1) + (rule.id ? ' · ' + rule.id : '')),
          h('input', { type: 'text', class: 'rule-desc', 'aria-label': 'Description', placeholder: 'what this rule is for', maxlength: '1000', value: rule.description || '', oninput: (e) => {
            if (e.target.value) rule.description = e.target.value;
            else delete rule.description;
          } }),
          h('p', { class: 'muted small' }, rule.clauses.length ? 'When all of these match:' : 'Matches everyone (no conditions).'),
          rule.clauses.map((c, ci) => clauseRow(rule, c, ci, rerender)),
          h('div', { class: 'rule-tools' },
            h('button', { type: 'button', class: 'btn ghost small', onclick: () => { rule.clauses.push({ attribute: 'country', operator: 'in', values: [] }); rerender(); } }, '+ condition'),
            serveEditor(rule, d, rerender),
            h('span', { class: 'spacer' }),
            h('button', { type: 'button', class: 'btn ghost small', disabled: ri === 0, title: 'Move up (rules run in order)', onclick: () => { d.rules.splice(ri - 1, 0, d.rules.splice(ri, 1)[0]); rerender(); } }, '↑'),
            h('button', { type: 'button', class: 'btn ghost small', disabled: ri === d.rules.length - 1, title: 'Move down', onclick: () => { d.rules.splice(ri + 1, 0, d.rules.splice(ri, 1)[0]); rerender(); } }, '↓'),
            h('button', { type: 'button', class: 'btn ghost small', onclick: () => { d.rules.splice(ri, 1); rerender(); } }, 'Remove rule'),
          ),
        );
      }),
      h('button', { type: 'button', class: 'btn small', id: 'fe-add-rule', onclick: () => { d.rules.push({ clauses: [{ attribute: 'country', operator: 'in', values: [] }], variation: 0 }); rerender(); } }, '+ Add rule'),
    );
  }

  /** Line diff (longest common subsequence) of two texts, with 3 lines of context. */
  function diffLines(a, b) {
    const x = a ? a.split(NL) : [];
    const y = b.split(NL);
    const n = x.length;
    const m = y.length;
    const L = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
      else if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) { out.push(['+', y[j]]); j++; }
      else { out.push(['-', x[i]]); i++; }
    }
    const keep = out.map((l, k) => l[0] !== ' ' || out.slice(Math.max(0, k - 3), k + 4).some((o) => o[0] !== ' '));
    const lines = [];
    let skipped = 0;
    out.forEach((l, k) => {
      if (keep[k]) {
        if (skipped) lines.push(h('span', { class: 'diff-skip' }, '⋯ ' + plural(skipped, 'unchanged line', 'unchanged lines') + NL));
        skipped = 0;
        lines.push(h('span', { class: l[0] === '+' ? 'diff-add' : l[0] === '-' ? 'diff-del' : 'diff-ctx' }, l[0] + ' ' + l[1] + NL));
      } else skipped++;
    });
    if (skipped) lines.push(h('span', { class: 'diff-skip' }, '⋯ ' + plural(skipped, 'unchanged line', 'unchanged lines') + NL));
    return { lines, changed: out.some((l) => l[0] !== ' ') };
  }

  function renderEditor() {
    const box = $('#flag-editor');
    box.hidden = !fe.open;
    if (!fe.open) return box.replaceChildren();
    const t = current();
    const allowed = can('flag.write', fe.storefrontId);
    const d = fe.draft;
    const rerender = () => renderEditor();
    const overrides = new Set(state.flags.filter((f) => f.key === fe.key && f.storefrontId).map((f) => f.storefrontId));
    const scopePick = h('select', { id: 'fe-scope', 'aria-label': 'Where', onchange: (e) => openEditor(fe.key, e.target.value || null) },
      h('option', { value: '', selected: !fe.storefrontId, disabled: !fe.tenantFlag }, 'All storefronts (tenant definition)'),
      (t ? t.items : []).map((s) => h('option', { value: s.id, selected: fe.storefrontId === s.id }, s.name + (overrides.has(s.id) ? ' — override' : ' — new override'))),
    );
    const head = h('header', { class: 'fe-head' },
      h('div', {},
        h('h3', {}, (allowed ? 'Edit ' : '') + fe.key),
        h('p', { class: 'muted small' }, fe.valueType + ' flag · ',
          fe.storefrontId ? (fe.before ? 'override in ' + sfName(fe.storefrontId) + ': replaces the tenant definition there' : 'a new override for ' + sfName(fe.storefrontId) + ', starting from the tenant definition') : 'tenant-wide: every storefront without an override'),
      ),
      h('label', { class: 'fe-where' }, 'Where ', scopePick),
      h('button', { type: 'button', class: 'btn ghost small', onclick: closeEditor }, 'Close'),
    );
    if (fe.review) return box.replaceChildren(head, reviewPane(allowed));
    const body = fe.json
      ? h('div', { class: 'fe-json' },
          h('textarea', { id: 'fe-json', rows: '18', spellcheck: 'false', 'aria-label': 'Definition (JSON)' }, JSON.stringify(d, null, 2)),
          h('p', { id: 'fe-json-error', class: 'error', hidden: true }))
      : h('div', { class: 'fe-form' },
          h('section', {},
            h('h4', {}, 'Variations'),
            h('div', { class: 'chips' }, d.variations.map((_, i) => h('span', { class: 'chip' + (d.offVariation === i ? ' warn' : '') }, variationLabel(d, i) + (d.offVariation === i ? ' · off' : '')))),
          ),
          h('section', {}, h('h4', {}, 'Rules ', h('span', { class: 'muted small' }, 'first match wins')), rulesEditor(d, rerender)),
          h('section', {}, h('h4', {}, 'Everyone else'), serveEditor(d.fallthrough, d, rerender)),
          h('section', { class: 'fe-opts' },
            h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'fe-enabled', checked: fe.enabled, onchange: (e) => { fe.enabled = e.target.checked; } }), 'Enabled (off serves the off variation)'),
            h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: Boolean(d.experiment), onchange: (e) => { d.experiment = e.target.checked; } }), 'A/B experiment (records exposures)'),
          ),
        );
    box.replaceChildren(head, body,
      h('div', { class: 'fe-actions' },
        h('button', { type: 'button', class: 'btn ghost small', onclick: () => {
          if (!syncJson()) return;
          fe.json = !fe.json;
          renderEditor();
        } }, fe.json ? 'Back to the form' : 'Edit as JSON'),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', id: 'fe-review', class: 'btn primary', disabled: !allowed, title: allowed ? '' : roleNote(), onclick: () => {
          if (!syncJson()) return;
          fe.review = true;
          renderEditor();
        } }, 'Review changes…'),
      ),
    );
  }

  function reviewPane(allowed) {
    const after = { enabled: fe.enabled, definition: fe.draft };
    const before = fe.before ? JSON.stringify(fe.before, null, 2) : '';
    const { lines, changed } = diffLines(before, JSON.stringify(after, null, 2));
    const reason = h('textarea', { id: 'fe-reason', rows: '2', maxlength: '500', required: true, placeholder: 'e.g. EXP-12: widen the rollout to 50 %' });
    const err = h('div', { class: 'error', hidden: true });
    const save = h('button', { type: 'submit', class: 'btn primary', disabled: !changed || !allowed }, 'Save and publish');
    return h('form', { class: 'fe-review', onsubmit: async (e) => {
      e.preventDefault();
      const why = reason.value.trim();
      if (why.length < 3) {
        reason.setCustomValidity('Say why in at least 3 characters: it goes into the audit trail.');
        reason.reportValidity();
        return;
      }
      save.disabled = true;
      const body = { valueType: fe.valueType, enabled: fe.enabled, definition: fe.draft, reason: why };
      if (fe.storefrontId) body.storefront = fe.storefrontId;
      try {
        const res = await api('PUT', tenantPath('/flags/' + encodeURIComponent(fe.key)), body);
        // The saved flag at once (an editor opened before the refresh below ends starts from it).
        const same = (f) => f.key === res.flag.key && (f.storefrontId || null) === (res.flag.storefrontId || null);
        state.flags = state.flags.filter((f) => !same(f)).concat([res.flag]);
        renderFlagList();
        toast(fe.key + ' saved (v' + res.flag.version + '). Published config v' + res.configVersion + '.', 'ok');
        fe.open = false;
        await refresh();
      } catch (x) {
        if (x.status === 401) return signedOut('Your session has ended. Sign in again.');
        err.replaceChildren(...problemNodes(x));
        err.hidden = false;
        save.disabled = false;
      }
    } },
      h('h4', {}, changed ? 'The change' : 'Nothing changed', h('span', { class: 'muted small' }, fe.before ? ' before → after' : ' (new override: all of it is added)')),
      h('pre', { class: 'diff', 'aria-label': 'Diff' }, lines),
      h('label', { for: 'fe-reason' }, 'Reason ', h('span', { class: 'muted small' }, '(required, goes into the audit trail)')),
      reason,
      err,
      h('div', { class: 'fe-actions' },
        h('button', { type: 'button', class: 'btn ghost', onclick: () => { fe.review = false; renderEditor(); } }, 'Back to editing'),
        h('span', { class: 'spacer' }),
        save,
      ),
    );
  }

  VIEWS.flags = {
    init() {
      $('#flag-search').addEventListener('input', (e) => {
        const q = e.target.value.trim().toLowerCase();
        for (const tr of $$('#flag-rows tr[data-flag]')) tr.hidden = q !== '' && !tr.getAttribute('data-flag').toLowerCase().includes(q);
      });
    },
    reset() {
      fe.open = false;
    },
    render() {
      renderFlagList();
      if (fe.open && !fe.review) {
        const still = state.flags.some((f) => f.key === fe.key);
        if (!still) fe.open = false;
      }
      renderEditor();
    },
  };
`;
