import { PROBLEM_BASE, PROBLEMS } from '../../errors';

type Json = Record<string, unknown>;

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function md(s: unknown): string {
  // The little markdown our descriptions use: `code` and **bold**.
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function schemaSummary(schema: unknown, doc: Json, depth = 0): string {
  if (!schema || typeof schema !== 'object' || depth > 3) return '';
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop() ?? '';
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (s.type === 'array') return `${schemaSummary(s.items, doc, depth + 1)}[]`;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `<code>${esc(v)}</code>`).join(' | ');
  if (Array.isArray(s.anyOf))
    return s.anyOf.map((x) => schemaSummary(x, doc, depth + 1)).join(' | ');
  return esc(s.type ?? 'object');
}

function schemaTable(schema: Json, doc: Json): string {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(props)
    .map(
      ([name, p]) =>
        `<tr><td><code>${esc(name)}</code>${required.has(name) ? '' : ' <span class="opt">optional</span>'}</td><td>${schemaSummary(p, doc)}</td><td>${md(p.description ?? '')}${p.example !== undefined ? ` <span class="ex">e.g. <code>${esc(JSON.stringify(p.example))}</code></span>` : ''}</td></tr>`,
    )
    .join('');
  return rows ? `<table><tr><th>field</th><th>type</th><th></th></tr>${rows}</table>` : '';
}

/** A self-contained API reference page rendered from the OpenAPI document (no CDN, no JS). */
export function renderDocs(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = ((op.tags as string[] | undefined) ?? ['Other'])[0] ?? 'Other';
      const params = ((op.parameters as Json[] | undefined) ?? [])
        .map(
          (p) =>
            `<li><code>${esc(p.name)}</code> <span class="opt">${esc(p.in)}</span> ${md((p.schema as Json | undefined)?.description ?? p.description ?? '')}</li>`,
        )
        .join('');
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(([code, r]) => {
          const content = (r.content ?? {}) as Record<string, Json>;
          const types = Object.entries(content)
            .map(([ct, c]) => `<code>${esc(ct)}</code> ${schemaSummary(c.schema, doc)}`)
            .join(', ');
          return `<li><span class="code c${esc(code[0])}">${esc(code)}</span> ${md(r.description)} ${types}</li>`;
        })
        .join('');
      const html = `<article class="op" id="${esc(`${method}-${path}`)}">
  <h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
  <p class="sum">${md(op.summary)}</p>${op.description ? `<p>${md(op.description)}</p>` : ''}
  ${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
  <h4>Responses</h4><ul>${responses}</ul>
</article>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const schemaHtml = Object.entries(schemas)
    .map(
      ([name, s]) =>
        `<article class="schema" id="schema-${esc(name)}"><h3>${esc(name)}</h3>${schemaTable(s, doc)}</article>`,
    )
    .join('');
  const problems = Object.entries(PROBLEMS)
    .map(
      ([slug, p]) =>
        `<tr id="problem-${esc(slug)}"><td><code>${esc(PROBLEM_BASE + slug)}</code></td><td>${p.status}</td><td>${esc(p.title)}</td></tr>`,
    )
    .join('');
  const nav = [...byTag.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(info.title)} — API reference</title>
<style>
:root{--bg:#0f1222;--panel:#171b30;--ink:#e8eaf6;--mute:#9aa0c3;--acc:#7c9cff;--ok:#3ecf8e;--warn:#f5a524;--bad:#f16b6b}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,Segoe UI,sans-serif;background:var(--bg);color:var(--ink)}
header{padding:32px 40px;background:linear-gradient(120deg,#20264a,#111427);border-bottom:1px solid #262b4a}
header h1{margin:0 0 6px;font-size:28px}header p{margin:0;color:var(--mute);max-width:70ch}
nav{display:flex;gap:14px;flex-wrap:wrap;padding:12px 40px;background:#13172b;position:sticky;top:0;border-bottom:1px solid #262b4a}
nav a{color:var(--acc);text-decoration:none;font-weight:600}
main{padding:8px 40px 60px;max-width:1100px}h2{margin-top:36px;border-bottom:1px solid #262b4a;padding-bottom:6px}
.op,.schema{background:var(--panel);border:1px solid #262b4a;border-radius:10px;padding:14px 18px;margin:14px 0}
.op h3{margin:0;font-size:16px}.sum{color:var(--mute);margin:4px 0 0}
.m{display:inline-block;min-width:58px;text-align:center;border-radius:6px;padding:2px 8px;font-size:12px;font-weight:700;color:#0b0d18}
.m.get{background:var(--ok)}.m.post{background:var(--acc)}.m.put,.m.patch{background:var(--warn)}.m.delete{background:var(--bad)}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#0c0f1d;padding:1px 5px;border-radius:4px}
h4{margin:12px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--mute)}
ul{margin:0;padding-left:18px}.opt{color:var(--mute);font-size:12px}.ex{color:var(--mute)}
.code{font-weight:700}.c2{color:var(--ok)}.c4{color:var(--warn)}.c5{color:var(--bad)}
table{border-collapse:collapse;width:100%;margin-top:6px}td,th{border-top:1px solid #262b4a;padding:6px 8px;text-align:left;vertical-align:top}th{color:var(--mute);font-weight:600}
</style></head><body>
<header><h1>${esc(info.title)}</h1><p>${md(info.description)}</p><p>Version ${esc(info.version)} · <a style="color:var(--acc)" href="/openapi.json">openapi.json</a></p></header>
<nav>${nav}<a href="#problems">Problems</a><a href="#schemas">Schemas</a></nav>
<main>
${[...byTag.entries()].map(([tag, ops]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${ops.join('')}`).join('')}
<h2 id="problems">Problem types</h2>
<p>Every error is <code>application/problem+json</code> (RFC 9457) with a stable <code>type</code>, a <code>requestId</code> and, for validation errors, <code>errors[]</code> of <code>{ path, message }</code>.</p>
<table><tr><th>type</th><th>status</th><th>title</th></tr>${problems}</table>
<h2 id="schemas">Schemas</h2>${schemaHtml}
</main></body></html>`;
}
