/**
 * A small Gherkin reader, enough for the OpenFeature conformance features: Feature, Background,
 * Scenario and Scenario Outline with Examples (expanded into scenarios), tags, steps and data
 * tables. No i18n, doc strings or rules.
 */

export interface Step {
  keyword: string;
  text: string;
  /** Rows of the step's data table, the first being its header. */
  table?: string[][];
}

export interface Scenario {
  name: string;
  /** The feature's, the scenario's and (for an outline row) its Examples block's. */
  tags: string[];
  /** Background steps first. */
  steps: Step[];
}

export interface Feature {
  name: string;
  scenarios: Scenario[];
}

interface Outline {
  name: string;
  tags: string[];
  steps: Step[];
  examples: { name: string; tags: string[]; rows: string[][] }[];
}

const STEP = /^(Given|When|Then|And|But|\*)\s+(.*)$/;

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/<([^<>]+)>/g, (m, name: string) => values[name] ?? m);
}

/** Parses a feature file and expands its outlines. */
export function parseFeature(source: string): Feature {
  let name = '';
  let featureTags: string[] = [];
  let pending: string[] = [];
  const background: Step[] = [];
  const outlines: Outline[] = [];
  let steps: Step[] | undefined;
  let current: Outline | undefined;
  let examples: Outline['examples'][number] | undefined;

  for (const raw of source.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@')) {
      pending.push(...line.split(/\s+/).map((t) => t.slice(1)));
      continue;
    }
    const header =
      /^(Feature|Background|Scenario Outline|Scenario Template|Scenario|Examples):\s*(.*)$/.exec(
        line,
      );
    if (header) {
      const [, kind, title = ''] = header;
      examples = undefined;
      if (kind === 'Feature') {
        name = title;
        featureTags = pending;
      } else if (kind === 'Background') {
        steps = background;
        current = undefined;
      } else if (kind === 'Examples') {
        if (!current) throw new Error(`Examples outside a scenario: ${line}`);
        examples = { name: title, tags: pending, rows: [] };
        current.examples.push(examples);
      } else {
        current = { name: title, tags: [...featureTags, ...pending], steps: [], examples: [] };
        outlines.push(current);
        steps = current.steps;
      }
      pending = [];
      continue;
    }
    if (line.startsWith('|')) {
      if (examples) {
        examples.rows.push(cells(line));
        continue;
      }
      const last = steps?.[steps.length - 1];
      if (!last) throw new Error(`a table without a step: ${line}`);
      last.table ??= [];
      last.table.push(cells(line));
      continue;
    }
    const step = STEP.exec(line);
    if (!step || !steps) throw new Error(`not understood: ${line}`);
    steps.push({ keyword: step[1] as string, text: step[2] as string });
  }

  const scenarios: Scenario[] = [];
  for (const outline of outlines) {
    if (outline.examples.length === 0) {
      scenarios.push({
        name: outline.name,
        tags: outline.tags,
        steps: [...background, ...outline.steps],
      });
      continue;
    }
    for (const block of outline.examples) {
      const [head, ...rows] = block.rows;
      if (!head) continue;
      for (const row of rows) {
        const values = Object.fromEntries(head.map((h, i) => [h, row[i] ?? '']));
        const label = head.map((h) => `${h}=${values[h]}`).join(', ');
        scenarios.push({
          name: `${outline.name} [${block.name ? `${block.name}: ` : ''}${label}]`,
          tags: [...outline.tags, ...block.tags],
          steps: [...background, ...outline.steps].map((s) => ({
            keyword: s.keyword,
            text: substitute(s.text, values),
            table: s.table?.map((r) => r.map((c) => substitute(c, values))),
          })),
        });
      }
    }
  }
  return { name, scenarios };
}
