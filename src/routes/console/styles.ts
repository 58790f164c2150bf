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

/* layout */
main { padding: 20px 28px 60px; max-width: 1400px; margin: 0 auto; display: grid; gap: 20px; }
.cols { display: grid; grid-template-columns: minmax(0, 1.35fr) minmax(0, 1fr); gap: 20px; }
@media (max-width: 1100px) { .cols { grid-template-columns: 1fr; } }
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
`;
