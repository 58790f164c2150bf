import { compileFlags, type FlagEvaluator } from '../flags';
import type { HotStorefrontConfig } from './snapshot';

const compiled = new WeakMap<HotStorefrontConfig['flags'], FlagEvaluator>();

/**
 * The compiled evaluator of a storefront's flags, built once per published flags array (the
 * array object is shared by every request until the next publish reaches this isolate).
 */
export function evaluatorFor(hot: HotStorefrontConfig): FlagEvaluator {
  let ev = compiled.get(hot.flags);
  if (!ev) {
    ev = compileFlags(hot.flags, hot.segments);
    compiled.set(hot.flags, ev);
  }
  return ev;
}
