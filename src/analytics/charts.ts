/**
 * Server-side SVG charts for the console: pure functions from data to markup. Each chart is
 * accessible (`role="img"` labelled by its `<title>` and `<desc>`, axis labels, and a data
 * table in `<desc>` order a screen reader can follow), responsive (a `viewBox` and no fixed
 * size: it scales to its container, laptop or phone) and safe to inline (every text is
 * XML-escaped; no script, no external reference).
 */

export interface LinePoint {
  /** The x label (a date, `YYYY-MM-DD`). */
  x: string;
  y: number;
}

export interface LineSeries {
  label: string;
  points: readonly LinePoint[];
}

export interface ChartText {
  title: string;
  description: string;
  /** The y axis' label (the unit). */
  yLabel: string;
  /** The x axis' label; default "date". */
  xLabel?: string;
  /** The id prefix of the title / desc elements (several charts on one page); default "chart". */
  id?: string;
  /** How a y value is written (ticks and the data list); default: grouped integer. */
  formatY?: (v: number, seriesLabel?: string) => string;
}

const W = 640;
const H = 320;
const M = { top: 40, right: 16, bottom: 48, left: 72 };
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => {
    switch (ch) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

/** A readable step (1, 2 or 5 × 10^k) for about `count` ticks over [0, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const lo = Math.min(0, min);
  const hi = Math.max(max, lo + 1);
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.round(v * 1e9) / 1e9);
  }
  if ((ticks[ticks.length - 1] ?? 0) < hi) ticks.push((ticks[ticks.length - 1] ?? 0) + step);
  return ticks;
}

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();
const defaultY = (v: number) => Math.round(v).toLocaleString('en-US');

function frame(text: ChartText, body: string): string {
  const id = escapeXml(text.id ?? 'chart');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="system-ui, sans-serif" font-size="12">`,
    `<title id="${id}-title">${escapeXml(text.title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(text.description)}</desc>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="600" fill="#111827">${escapeXml(text.title)}</text>`,
    body,
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 8}" text-anchor="middle" fill="#374151">${escapeXml(text.xLabel ?? 'date')}</text>`,
    `<text transform="translate(14 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${escapeXml(text.yLabel)}</text>`,
    '</svg>',
  ].join('\n');
}

function yAxis(ticks: number[], y: (v: number) => number, format: (v: number) => string) {
  return ticks
    .map(
      (t) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#e5e7eb"/>` +
        `<text x="${M.left - 6}" y="${fmt(y(t) + 4)}" text-anchor="end" fill="#4b5563">${escapeXml(format(t))}</text>`,
    )
    .join('\n');
}

/** At most ~8 x labels, evenly spaced, always the first and the last. */
function xLabelIndexes(n: number): number[] {
  if (n <= 8) return [...Array(n).keys()];
  const step = Math.ceil((n - 1) / 7);
  const out: number[] = [];
  for (let i = 0; i < n - 1; i += step) out.push(i);
  // The last label always shows; one closer to it than a step would overlap it.
  if (n - 1 - (out[out.length - 1] ?? 0) < step && out.length > 1) out.pop();
  out.push(n - 1);
  return out;
}

/**
 * A line chart of one or more series sharing their x labels (the first series' points set the
 * x axis). An empty chart says so instead of drawing axes over nothing.
 */
export function lineChart(input: ChartText & { series: readonly LineSeries[] }): string {
  const format = input.formatY ?? defaultY;
  const xs = input.series[0]?.points.map((p) => p.x) ?? [];
  if (xs.length === 0) {
    return frame(
      input,
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#6b7280">No data in this range</text>`,
    );
  }
  const all = input.series.flatMap((s) => s.points.map((p) => p.y));
  const ticks = niceTicks(Math.min(...all), Math.max(...all));
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (i: number) => M.left + (xs.length === 1 ? plotW / 2 : (i * plotW) / (xs.length - 1));
  const y = (v: number) => M.top + plotH - ((v - lo) / (hi - lo || 1)) * plotH;
  const lines = input.series.map((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(i))} ${fmt(y(p.y))}`).join(' ');
    const dots = s.points
      .map(
        (p, i) =>
          `<circle cx="${fmt(x(i))}" cy="${fmt(y(p.y))}" r="2.5" fill="${color}"><title>${escapeXml(
            `${s.label} ${p.x}: ${format(p.y, s.label)}`,
          )}</title></circle>`,
      )
      .join('');
    return `<g aria-label="${escapeXml(s.label)}"><path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${xs.length <= 120 ? dots : ''}</g>`;
  });
  // The first and last labels hang inward from their point, so neither is cut at the edge.
  const anchorOf = (i: number) =>
    xs.length > 1 && i === xs.length - 1 ? 'end' : xs.length > 1 && i === 0 ? 'start' : 'middle';
  const xLabels = xLabelIndexes(xs.length)
    .map(
      (i) =>
        `<text x="${fmt(x(i))}" y="${H - M.bottom + 16}" text-anchor="${anchorOf(i)}" fill="#4b5563">${escapeXml(xs[i] ?? '')}</text>`,
    )
    .join('\n');
  const legend =
    input.series.length > 1
      ? input.series
          .map(
            (s, k) =>
              `<rect x="${W - M.right - 110}" y="${8 + k * 14}" width="10" height="10" fill="${PALETTE[k % PALETTE.length]}"/><text x="${W - M.right - 96}" y="${17 + k * 14}" fill="#111827">${escapeXml(s.label)}</text>`,
          )
          .join('\n')
      : '';
  return frame(
    input,
    [
      yAxis(ticks, y, (v) =>
        format(v, input.series.length === 1 ? input.series[0]?.label : undefined),
      ),
      `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#9ca3af"/>`,
      xLabels,
      ...lines,
      legend,
    ].join('\n'),
  );
}

export interface Bar {
  label: string;
  value: number;
}

/** A vertical bar chart of categories (providers, variants, campaigns…). */
export function barChart(input: ChartText & { bars: readonly Bar[] }): string {
  const format = input.formatY ?? defaultY;
  if (input.bars.length === 0) {
    return frame(
      { xLabel: 'category', ...input },
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#6b7280">No data in this range</text>`,
    );
  }
  const ticks = niceTicks(
    Math.min(...input.bars.map((b) => b.value)),
    Math.max(...input.bars.map((b) => b.value)),
  );
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH - ((v - lo) / (hi - lo || 1)) * plotH;
  const slot = plotW / input.bars.length;
  const bw = Math.max(2, slot * 0.7);
  const bars = input.bars
    .map((b, i) => {
      const x0 = M.left + i * slot + (slot - bw) / 2;
      const top = Math.min(y(b.value), y(0));
      const h = Math.abs(y(0) - y(b.value));
      return (
        `<rect x="${fmt(x0)}" y="${fmt(top)}" width="${fmt(bw)}" height="${fmt(h)}" fill="${PALETTE[0]}"><title>${escapeXml(`${b.label}: ${format(b.value)}`)}</title></rect>` +
        `<text x="${fmt(x0 + bw / 2)}" y="${H - M.bottom + 16}" text-anchor="middle" fill="#4b5563">${escapeXml(b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label)}</text>`
      );
    })
    .join('\n');
  return frame(
    { xLabel: 'category', ...input },
    [
      yAxis(ticks, y, format),
      `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#9ca3af"/>`,
      bars,
    ].join('\n'),
  );
}
