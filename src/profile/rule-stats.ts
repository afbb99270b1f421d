import { resolveOptions } from '../rewrite/options.js';
import type { AnyRule, LayerProfile, LayerStats } from '../rewrite/rule.js';

/**
 * What the rule's rewrite reads from calibration data at these options, per layer: its `meta.stats` hook run on each
 * profiled layer (of `layers` when given). No data is read: a new setting of the rule's knob needs no new profiling
 * pass. Empty for a rule without the hook.
 */
export function ruleStats(rule: AnyRule, profiles: readonly LayerProfile[], options: Record<string, unknown>, layers?: readonly string[]): Record<string, LayerStats> {
  const hook = rule.meta.stats;
  if (!hook) return {};
  const resolved = resolveOptions(rule, options);
  const wanted = layers && new Set(layers);
  return Object.fromEntries(profiles.filter((p) => !wanted || wanted.has(p.layer)).map((p) => [p.layer, hook(p, resolved)]));
}
