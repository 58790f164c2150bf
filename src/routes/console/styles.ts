/** The console's stylesheet, served as `/console/app.css` (same palette as `/docs`). */
export const CONSOLE_CSS = `
:root {
  --bg: #0f1222; --panel: #171b30; --panel-2: #1d2240; --line: #262b4a; --ink: #e8eaf6;
  --mute: #9aa0c3; --acc: #7c9cff; --acc-2: #5b7cff; --ok: #3ecf8e; --warn: #f5a524; --bad: #f16b6b;
  --radius: 12px; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: radial-gradient(1200px 500px at 80% -10%, #23295a 0%, transparent 60%), var(--bg);
  background-attachment: fixed; color: var(--ink); min-height: 100vh;
}
.booting #signin, .booting main { visibility: hidden; }
[hidden] { display: none !important; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.muted { color: var(--mute); }
.small { font-size: 12px; }
.mono, code { font-family: var(--mono); }
code { font-size: 12px; background: #0c0f1d; border: 1px solid var(--line); padding: 1px 6px; border-radius: 6px; }
q { quotes: "“" "”"; }

/* top bar */
.topbar {
  position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 20px; flex-wrap: wrap;
  padding: 12px 28px; background: rgba(15, 18, 34, .88); backdrop-filter: blur(8px);
  border-bottom: 1px solid var(--line);
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 700; font-size: 16px; letter-spacing: .01em; }
.brand-sub { color: var(--mute); font-weight: 500; font-size: 13px; padding-left: 10px; border-left: 1px solid var(--line); }
.session { display: flex; align-items: center; gap: 12px; margin-left: auto; flex-wrap: wrap; }
.tenant-label { color: var(--mute); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; }
.whoami { display: flex; flex-direction: column; line-height: 1.2; text-align: right; }

/* controls */
select, input, textarea {
  font: inherit; color: var(--ink); background: #0c0f1d; border: 1px solid var(--line);
  border-radius: 8px; padding: 7px 10px; min-width: 0;
}
select:focus, input:focus, textarea:focus, .btn:focus-visible, .switch:focus-visible {
  outline: 2px solid var(--acc); outline-offset: 1px; border-color: var(--acc);
}
input:disabled, select:disabled { opacity: .5; }
.btn {
  font: inherit; font-weight: 600; border: 1px solid transparent; border-radius: 8px; padding: 8px 14px;
  cursor: pointer; color: var(--ink); background: var(--panel-2); border-color: var(--line);
  transition: transform .05s ease, filter .15s ease, background .15s ease;
}
.btn:hover:not(:disabled) { filter: brightness(1.15); }
.btn:active:not(:disabled) { transform: translateY(1px); }
.btn:disabled { opacity: .45; cursor: not-allowed; }
.btn.small { padding: 5px 10px; font-size: 13px; }
.btn.wide { width: 100%; margin-top: 6px; padding: 10px; }
.btn.primary { background: linear-gradient(180deg, var(--acc), var(--acc-2)); color: #0b0d18; }
.btn.danger { background: linear-gradient(180deg, #ff8080, #e25555); color: #1a0707; }
.btn.ghost { background: transparent; }

/* badges, chips, pills */
.badge { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .04em; text-transform: uppercase;
  padding: 2px 8px; border-radius: 999px; background: var(--panel-2); color: var(--mute); border: 1px solid var(--line); }
.badge.role-owner { color: #f7c8ff; border-color: #6a3f7d; }
.badge.role-admin { color: #c7d3ff; border-color: #3e4d8f; }
.badge.role-operator { color: #b8f5dc; border-color: #2b6b50; }
.badge.role-viewer { color: #ffe2b0; border-color: #7a5a22; }
.badge.warn { color: var(--warn); }
.badge.bad { color: var(--bad); }
.badge.scope { text-transform: none; }
.badge.act { text-transform: none; font-family: var(--mono); font-weight: 600; }
.badge.act-killswitch { color: #ffb4b4; border-color: #6b3030; }
.badge.killswitch-release { color: #9ff0c9; border-color: #2b6b50; }
.badge.act-flag { color: #c7d3ff; border-color: #3e4d8f; }
.badge.act-apikey, .badge.act-api_key { color: #ffe2b0; border-color: #7a5a22; }
.chips { display: flex; gap: 6px; flex-wrap: wrap; margin: 8px 0; }
.chip { font-size: 12px; padding: 2px 9px; border-radius: 999px; background: #0c0f1d; border: 1px solid var(--line); color: var(--mute); }
.chip.good { color: var(--ok); border-color: #245c45; }
.chip.bad { color: var(--bad); border-color: #6b3030; background: #2a1217; }
.pill { display: inline-block; font-weight: 700; font-size: 12px; padding: 3px 10px; border-radius: 999px; }
.pill.good { color: var(--ok); background: rgba(62, 207, 142, .12); }
.pill.bad { color: #fff; background: var(--bad); box-shadow: 0 0 0 3px rgba(241, 107, 107, .18); }
.count { display: inline-block; min-width: 22px; text-align: center; font-size: 12px; padding: 1px 7px; margin-left: 6px;
  border-radius: 999px; background: var(--panel-2); color: var(--mute); vertical-align: middle; }
.count.hot { color: #fff; background: var(--bad); }

/* layout: a sidebar on a laptop, a scrolling tab bar on a phone */
.shell { display: grid; grid-template-columns: 210px minmax(0, 1fr); max-width: 1480px; margin: 0 auto; }
.nav { position: sticky; top: 58px; align-self: start; display: grid; gap: 2px; padding: 20px 10px 20px 20px; }
.nav a { display: grid; grid-template-columns: 22px 1fr auto auto; align-items: center; gap: 8px; padding: 8px 10px;
  border-radius: 9px; color: var(--mute); text-decoration: none; font-weight: 600; }
.nav a:hover { background: rgba(124, 156, 255, .07); color: var(--ink); }
.nav a[aria-current="page"] { background: linear-gradient(90deg, rgba(124, 156, 255, .18), rgba(124, 156, 255, .04)); color: var(--ink);
  box-shadow: inset 3px 0 0 var(--acc); }
.nav a:focus-visible { outline: 2px solid var(--acc); }
.nav-icon { text-align: center; font-size: 15px; }
.nav-key { font: 11px var(--mono); color: var(--mute); border: 1px solid var(--line); border-radius: 5px; padding: 0 5px; background: #0c0f1d; }
.nav-count { font-size: 11px; font-weight: 700; color: #fff; background: var(--bad); border-radius: 999px; padding: 0 7px; }
main { padding: 20px 28px 60px 18px; display: grid; gap: 20px; align-content: start; min-width: 0; }
main > section { display: grid; gap: 20px; min-width: 0; }
main > section.panel { display: block; }
@media (max-width: 860px) {
  .shell { grid-template-columns: 1fr; }
  .nav { position: sticky; top: 0; z-index: 4; display: flex; overflow-x: auto; padding: 8px 10px; gap: 4px;
    background: rgba(15, 18, 34, .94); border-bottom: 1px solid var(--line); scrollbar-width: none; }
  .nav a { grid-template-columns: auto auto auto; white-space: nowrap; padding: 7px 10px; }
  .nav a[aria-current="page"] { box-shadow: inset 0 -2px 0 var(--acc); }
  .nav-key { display: none; }
  main { padding: 14px 12px 60px; }
  .topbar { padding: 10px 12px; gap: 10px; position: static; }
  .session { margin-left: 0; gap: 8px; }
  .whoami { display: none; }
  .brand-sub { display: none; }
  .panel { padding: 14px 12px; }
}
.table-wrap { overflow-x: auto; margin: 0 -4px; padding: 0 4px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 18px;
  box-shadow: 0 10px 30px rgba(0, 0, 0, .18); min-width: 0; }
.panel-head { display: flex; align-items: baseline; justify-content: space-between; gap: 12px; flex-wrap: wrap; margin-bottom: 10px; }
.panel-head h2 { margin: 0; font-size: 16px; }
.panel-head p { margin: 0; max-width: 60ch; }
.card { background: var(--panel-2); border: 1px solid var(--line); border-radius: var(--radius); padding: 14px 16px; }
.banner { padding: 10px 14px; border-radius: 10px; background: rgba(245, 165, 36, .1); border: 1px solid #7a5a22; color: #ffe2b0; }
.empty { color: var(--mute); text-align: center; padding: 18px; }

/* sign in */
.signin { display: grid; place-items: center; padding: 9vh 20px; }
.signin-card { width: min(420px, 100%); padding: 28px; display: grid; gap: 6px;
  box-shadow: 0 20px 60px rgba(0, 0, 0, .35); background: linear-gradient(180deg, #1f2549, var(--panel-2)); }
.signin-card h1 { margin: 0; font-size: 22px; }
.signin-card p { margin: 0 0 10px; }
.signin-card label { font-size: 12px; color: var(--mute); margin-top: 6px; }

/* storefronts */
.sf-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.sf header { display: flex; justify-content: space-between; align-items: center; }
.sf h3 { margin: 0; font-size: 15px; }
.sf .slug { margin: 2px 0 0; }
.routes { display: grid; grid-template-columns: auto 1fr; gap: 4px 10px; margin: 6px 0; font-size: 12px; }
.routes dt { color: var(--mute); }
.routes dd { margin: 0; display: flex; gap: 4px; flex-wrap: wrap; }
.sf-keys summary { cursor: pointer; color: var(--acc); font-size: 12px; font-weight: 600; }
.key-list { list-style: none; padding: 0; margin: 6px 0 0; display: grid; gap: 4px; font-size: 12px; }

/* killswitch form */
.ks-form { display: grid; grid-template-columns: 1fr 1.2fr 1.2fr .8fr auto; gap: 10px; align-items: end;
  padding: 12px; margin-bottom: 12px; border-radius: 10px; background: #13172b; border: 1px dashed var(--line); }
.ks-form label { display: grid; gap: 4px; font-size: 12px; color: var(--mute); }
@media (max-width: 700px) { .ks-form { grid-template-columns: 1fr 1fr; } }

/* tables */
table.grid { width: 100%; border-collapse: collapse; }
.grid th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .07em; color: var(--mute);
  font-weight: 600; padding: 6px 8px; border-bottom: 1px solid var(--line); }
.grid td { padding: 9px 8px; border-bottom: 1px solid rgba(38, 43, 74, .6); vertical-align: middle; }
.grid tbody tr:hover { background: rgba(124, 156, 255, .04); }
.grid tr.engaged td { background: rgba(241, 107, 107, .07); }
.grid tr.engaged td:first-child { box-shadow: inset 3px 0 0 var(--bad); }
.grid .actions { text-align: right; white-space: nowrap; }
.grid .reason { max-width: 320px; overflow-wrap: anywhere; }
.grid td.actions .switch { vertical-align: middle; }
.audit td:first-child { width: 52px; }

/* flag switch */
.switch { position: relative; display: inline-flex; align-items: center; gap: 8px; border: 0; background: none;
  color: var(--mute); font: inherit; font-weight: 600; cursor: pointer; padding: 2px; }
.switch .knob { width: 40px; height: 22px; border-radius: 999px; background: #2b3058; position: relative; transition: background .2s; }
.switch .knob::after { content: ""; position: absolute; top: 3px; left: 3px; width: 16px; height: 16px; border-radius: 50%;
  background: #cfd3ef; transition: transform .2s; }
.switch[aria-checked="true"] { color: var(--ok); }
.switch[aria-checked="true"] .knob { background: var(--ok); }
.switch[aria-checked="true"] .knob::after { transform: translateX(18px); background: #fff; }
.switch:disabled { cursor: not-allowed; opacity: .5; }
.switch-text { min-width: 24px; text-align: left; }

/* audit */
.audit-tools { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.verify { font-weight: 600; padding: 4px 10px; border-radius: 8px; }
.verify.good { color: var(--ok); background: rgba(62, 207, 142, .1); }
.verify.bad { color: #fff; background: var(--bad); }

/* feedback */
.alert { display: flex; justify-content: space-between; gap: 16px; align-items: flex-start; margin: 16px 28px 0;
  padding: 12px 16px; border-radius: 10px; background: #2a1217; border: 1px solid #6b3030; color: #ffd9d9; }
.alert p { margin: 4px 0 0; }
.error { color: #ffb4b4; background: #2a1217; border: 1px solid #6b3030; border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
.error p { margin: 0; }
p.error { padding: 4px 8px; }
.field-errors { margin: 6px 0 0; padding-left: 18px; }
.request-id { color: var(--mute); font-size: 12px; }
.toasts { position: fixed; right: 20px; bottom: 20px; display: grid; gap: 8px; z-index: 20; max-width: min(440px, calc(100vw - 40px)); }
.toast { cursor: pointer; padding: 12px 14px; border-radius: 10px; background: var(--panel-2); border: 1px solid var(--line);
  box-shadow: 0 10px 30px rgba(0, 0, 0, .35); animation: pop .18s ease-out; transition: opacity .4s, transform .4s; }
.toast.ok { border-left: 4px solid var(--ok); }
.toast.warn { border-left: 4px solid var(--warn); }
.toast.leaving { opacity: 0; transform: translateY(6px); }
@keyframes pop { from { opacity: 0; transform: translateY(8px); } }

/* dialog */
dialog { border: 1px solid var(--line); border-radius: 14px; background: var(--panel); color: var(--ink);
  width: min(480px, calc(100vw - 32px)); padding: 22px; box-shadow: 0 30px 80px rgba(0, 0, 0, .5); }
dialog::backdrop { background: rgba(6, 8, 18, .65); backdrop-filter: blur(2px); }
dialog h2 { margin: 0 0 6px; font-size: 18px; }
dialog form { display: grid; gap: 8px; }
dialog textarea { width: 100%; resize: vertical; }
.dialog-actions { display: flex; justify-content: flex-end; gap: 10px; margin-top: 6px; }
.secret { display: block; padding: 12px; font-size: 13px; word-break: break-all; user-select: all; color: #ffe2b0; border-color: #7a5a22; }
.shortcuts { display: grid; grid-template-columns: auto 1fr; gap: 8px 14px; margin: 10px 0; }
.shortcuts dt { white-space: nowrap; }
.shortcuts dd { margin: 0; color: var(--mute); }
kbd { font: 12px var(--mono); border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 5px; padding: 0 5px; background: #0c0f1d; }
.good-text { color: var(--ok); }
.bad-text { color: var(--bad); }
.spacer { flex: 1; }
.inline { display: inline-flex; align-items: center; gap: 8px; color: var(--mute); font-size: 12px; }
input.narrow { width: min(240px, 100%); }
.check { display: inline-flex; align-items: center; gap: 6px; cursor: pointer; }
.check input { accent-color: var(--acc); }

/* overview */
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px; }
.tile { text-align: left; font: inherit; color: var(--ink); cursor: pointer; display: grid; gap: 2px; padding: 14px 16px;
  border-radius: var(--radius); border: 1px solid var(--line); background: linear-gradient(160deg, #1f2549, var(--panel)); }
.tile:hover { border-color: #3e4d8f; }
.tile.hot { border-color: #6b3030; background: linear-gradient(160deg, #3a1820, var(--panel)); }
.tile-label { font-size: 11px; text-transform: uppercase; letter-spacing: .08em; color: var(--mute); }
.tile-value { font-size: 26px; line-height: 1.2; }
.tile.hot .tile-value { color: var(--bad); }
.tile-note { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sf-actions { display: flex; gap: 6px; margin-top: 8px; }

/* emergency */
.ks-search { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 10px; }
.ks-search input { flex: 1 1 320px; font-size: 16px; padding: 11px 14px; border-radius: 10px; }
.ks-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; max-height: 62vh; overflow-y: auto; }
.ks-item { display: grid; grid-template-columns: 92px minmax(0, 1.2fr) minmax(0, 1fr) auto; gap: 12px; align-items: center;
  padding: 9px 12px; border-radius: 10px; border: 1px solid var(--line); background: #151a2f; cursor: pointer; }
.ks-item.engaged { background: linear-gradient(90deg, rgba(241, 107, 107, .14), #151a2f 60%); border-color: #6b3030; }
.ks-item.selected { border-color: var(--acc); box-shadow: 0 0 0 2px rgba(124, 156, 255, .35); }
.ks-item .pill { text-align: center; }
.ks-reason { overflow-wrap: anywhere; }
.ks-title strong { font-size: 15px; }
@media (max-width: 700px) {
  .ks-item { grid-template-columns: 1fr auto; }
  .ks-item .pill { grid-column: 1 / -1; justify-self: start; }
  .ks-reason { grid-column: 1 / -1; order: 3; }
}
.live { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 10px 14px; margin-bottom: 10px; border-radius: 10px;
  border: 1px solid var(--line); background: #13172b; }
.live-dot { width: 10px; height: 10px; border-radius: 50%; background: var(--warn); box-shadow: 0 0 0 4px rgba(245, 165, 36, .2);
  animation: pulse 1s ease-in-out infinite; }
.live.is-live { border-color: #245c45; background: rgba(62, 207, 142, .08); }
.live.is-live .live-dot { background: var(--ok); box-shadow: 0 0 0 4px rgba(62, 207, 142, .2); animation: none; }
.live.is-live strong { color: var(--ok); }
.live.is-slow { border-color: #7a5a22; }
@keyframes pulse { 50% { opacity: .35; } }
.ks-custom { margin-top: 14px; }
.ks-custom summary { cursor: pointer; color: var(--acc); font-weight: 600; font-size: 13px; margin-bottom: 10px; }

/* customers */
.cust-form { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 12px; }
.cust-form input { flex: 1 1 320px; font-size: 15px; padding: 10px 12px; }
.cust-list { list-style: none; margin: 0 0 14px; padding: 0; display: grid; gap: 6px; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); }
.cust-hit { width: 100%; text-align: left; font: inherit; color: var(--ink); background: var(--panel-2); border: 1px solid var(--line);
  border-radius: 10px; padding: 10px 12px; cursor: pointer; display: grid; gap: 2px; overflow-wrap: anywhere; }
.cust-hit:hover, .cust-hit.selected { border-color: var(--acc); }
.cust-hit .chips { margin: 4px 0 0; }
.cust-detail:empty { display: none; }
.cust-detail { border-top: 1px solid var(--line); padding-top: 14px; }
.cust-head h3 { margin: 0; font-size: 18px; overflow-wrap: anywhere; }
.cust-head p { margin: 2px 0 12px; }
.pill.info { color: #c7d3ff; background: rgba(124, 156, 255, .14); }
.pill.warn { color: #1a1204; background: var(--warn); }
.pill.muted { color: var(--mute); background: var(--panel-2); }
.pill.bad { text-transform: none; }
.chip.warn { color: var(--warn); border-color: #7a5a22; }
.chip.provider { color: var(--ink); font-family: var(--mono); }
.pay-row > td { background: #12162a; padding: 0; }
.payments { padding: 12px 14px; }
.pay-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
.pay { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; background: var(--panel); }
.pay-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.routing-story { margin: 6px 0; }
.routing { display: grid; gap: 6px; }
.decision { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
.order { display: inline-flex; align-items: center; gap: 4px; }
.arrow { color: var(--mute); }
.attempts { margin: 0; padding-left: 20px; display: grid; gap: 3px; }
.attempt::marker { color: var(--mute); }
@media (max-width: 700px) {
  table.subs, .subs tbody, .subs tr, .subs td { display: block; width: 100%; }
  .subs thead { display: none; }
  .subs tr[data-subscription] { border: 1px solid var(--line); border-radius: 10px; padding: 8px 12px; margin-top: 8px; background: var(--panel-2); }
  .subs td { border: 0; padding: 4px 0; }
  .subs td[data-label]::before { content: attr(data-label); display: block; font-size: 11px; text-transform: uppercase;
    letter-spacing: .07em; color: var(--mute); }
  .grid.subs .actions { text-align: left; }
  .payments { padding: 8px 0; }
}

/* flags */
.flag-editor { display: grid; gap: 14px; border-color: #3e4d8f; }
.fe-head { display: flex; gap: 14px; align-items: flex-start; flex-wrap: wrap; }
.fe-head > div:first-child { flex: 1 1 260px; }
.fe-head h3 { margin: 0; font-family: var(--mono); }
.fe-head p { margin: 2px 0 0; }
.fe-where { display: inline-flex; gap: 8px; align-items: center; color: var(--mute); font-size: 12px; }
.fe-form { display: grid; gap: 14px; }
.fe-form h4, .fe-review h4 { margin: 0 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--mute); }
.rules { display: grid; gap: 10px; justify-items: start; }
.rule { width: 100%; border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; margin: 0; background: #151a2f; display: grid; gap: 6px; }
.rule legend { padding: 0 6px; font-weight: 700; font-size: 12px; color: var(--acc); }
.rule-desc { width: 100%; }
.rule p { margin: 0; }
.clause { display: grid; grid-template-columns: minmax(0, 1fr) auto minmax(0, 1.6fr) auto auto; gap: 6px; align-items: center; }
@media (max-width: 700px) { .clause { grid-template-columns: 1fr 1fr; } }
.rule-tools { display: flex; gap: 8px; align-items: flex-start; flex-wrap: wrap; }
.serve { display: grid; gap: 6px; justify-items: start; }
.serve > select { max-width: 100%; }
.fe-form h4 .muted, .fe-review h4 .muted { text-transform: none; letter-spacing: 0; font-weight: 400; }
.rollout { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; }
.pct { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--mute); }
.pct input[type=number] { width: 90px; }
.fe-opts { display: flex; gap: 18px; flex-wrap: wrap; }
.fe-json textarea { width: 100%; font: 12px/1.5 var(--mono); }
.fe-actions { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.fe-review { display: grid; gap: 8px; }
.fe-review textarea { width: 100%; }
pre.diff { margin: 0; max-height: 420px; overflow: auto; font: 12px/1.55 var(--mono); background: #0c0f1d; border: 1px solid var(--line);
  border-radius: 10px; padding: 10px 0; }
pre.diff span { display: block; padding: 0 12px; white-space: pre; }
.diff-add { background: rgba(62, 207, 142, .14); color: #b8f5dc; }
.diff-del { background: rgba(241, 107, 107, .16); color: #ffc9c9; }
.diff-ctx { color: var(--mute); }
.diff-skip { color: var(--mute); font-style: italic; background: #11152a; }

/* keys, sandbox */
.key-form { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)) auto; gap: 10px; align-items: end; padding: 12px;
  margin-bottom: 12px; border-radius: 10px; background: #13172b; border: 1px dashed var(--line); }
.key-form label { display: grid; gap: 4px; font-size: 12px; color: var(--mute); }
@media (max-width: 900px) { .key-form { grid-template-columns: 1fr 1fr; } }
tr.dim td { opacity: .55; }
.sbx-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.sbx header { display: flex; justify-content: space-between; align-items: center; }
.sbx h3 { margin: 0; font-family: var(--mono); }
.sbx.down { border-color: #6b3030; }
.sbx-form { display: grid; gap: 8px; margin-top: 8px; }
.modes { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px; }
.mode { display: inline-flex; gap: 6px; align-items: center; padding: 5px 10px; border-radius: 999px; cursor: pointer;
  border: 1px solid var(--line); background: #0c0f1d; font-size: 13px; font-weight: 600; }
.mode:has(input:checked) { border-color: var(--acc); background: rgba(124, 156, 255, .14); }
.mode input { accent-color: var(--acc); margin: 0; }
.mode-note { margin: 0; min-height: 2.8em; }

/* analytics */
.analytics-root { min-height: 160px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 14px; }
.analytics-root[aria-busy="true"] { opacity: .6; transition: opacity .2s; }
.an-toolbar { display: flex; gap: 12px; flex-wrap: wrap; align-items: end; margin-bottom: 14px; }
.an-toolbar label { display: grid; gap: 4px; font-size: 12px; color: var(--mute); }
.an-toolbar #an-status { margin-left: auto; align-self: center; }
.an-tiles { grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); }
.an-tile { cursor: default; background: var(--panel-2); border: 1px solid var(--line); border-radius: var(--radius); }
.an-tile .tile-note { white-space: normal; }
.an-h { margin: 8px 0 0; font-size: 14px; }
.an-charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.an-chart { margin: 0; display: grid; grid-template-columns: minmax(0, 1fr); gap: 4px; min-width: 0; }
.an-chart-img { display: block; width: 100%; max-width: 100%; height: auto; aspect-ratio: 2 / 1; background: #fff; border-radius: 10px; border: 1px solid var(--line); }
table.an-table td.num, table.an-table th { white-space: nowrap; }
.an-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.an-bars { display: grid; gap: 10px; }
.an-provider { display: grid; gap: 4px; }
.an-provider-head { display: flex; justify-content: space-between; gap: 10px; flex-wrap: wrap; }
.an-bar { display: flex; height: 18px; border-radius: 6px; overflow: hidden; background: #0c0f1d; border: 1px solid var(--line); }
.an-seg { display: block; height: 100%; }
.an-seg.captured { background: var(--ok); }
.an-seg.issuer { background: var(--warn); }
.an-seg.provider { background: #e07b39; }
.an-seg.other { background: #b38b59; }
.an-seg.errors { background: var(--bad); }
.an-legend { display: flex; flex-wrap: wrap; gap: 12px; margin: 0; }
.an-legend > span { display: inline-flex; align-items: center; gap: 6px; }
.an-key { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
.an-exp h4 { margin: 10px 0 4px; font-size: 13px; }
.an-ci-cell { width: 30%; min-width: 120px; }
.an-ci { position: relative; height: 12px; border-radius: 6px; background: #0c0f1d; border: 1px solid var(--line); }
.an-ci-range { position: absolute; top: 2px; bottom: 2px; border-radius: 4px; background: rgba(124, 156, 255, .45); }
.an-ci-dot { position: absolute; top: -2px; width: 4px; height: 14px; margin-left: -2px; border-radius: 2px; background: var(--acc); }
@media (max-width: 860px) {
  .an-charts { grid-template-columns: minmax(0, 1fr); }
  .an-toolbar #an-status { margin-left: 0; width: 100%; }
  .an-ci-cell { display: none; }
}
.who .actor { font-weight: 600; margin-right: 6px; }
`;
