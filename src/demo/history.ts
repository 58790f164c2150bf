/**
 * The demo's generated history (scripts/lib/demo-history.ts): months of past subscriptions,
 * payments and experiment exposures written straight into Postgres for the analytics charts.
 * Those rows have no Durable Object behind them — nothing may load them as live objects. Every
 * id carries this marker after its type prefix (`sub_hist_…`, `cus_hist_…`, `pay_hist_…`), and
 * every customer's email ends in {@link HISTORY_EMAIL_DOMAIN}.
 */
export const HISTORY_MARKER = 'hist_';
export const HISTORY_EMAIL_DOMAIN = 'history.demo.invalid';

/** True for a row id (`sub_…`, `cus_…`, `pay_…`, `patt_…`, `sevt_…`, `exp_…`) of the history. */
export function isGeneratedHistory(id: string): boolean {
  const i = id.indexOf('_');
  return i > 0 && id.startsWith(HISTORY_MARKER, i + 1);
}
