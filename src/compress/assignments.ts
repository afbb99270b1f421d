import type { Plan } from '../plan/plan.js';
import { ruleStats } from '../profile/rule-stats.js';
import type { LayerAssignment } from '../rewrite/driver.js';
import type { AnyRule, LayerProfile, LayerStats } from '../rewrite/rule.js';

/** What the driver applies for a plan: each rewritten layer with its rule and options (a one-rule plan: `rule` at the
 * plan's options; a mixed plan: each layer's own). */
export function planAssignments(plan: Plan, rule: AnyRule): Record<string, LayerAssignment> {
  return Object.fromEntries(plan.layers.filter((l) => l.rewrite).map((l) => [l.layer, { rule: l.rule ?? rule.name, options: l.ruleOptions ?? plan.ruleOptions }]));
}

/** The assignments grouped by rule and options: the layers each setting rewrites. */
export function assignmentGroups(assignments: Record<string, LayerAssignment>, rules: readonly AnyRule[]): { rule: AnyRule; options: Record<string, unknown>; layers: string[] }[] {
  const groups = new Map<string, { rule: AnyRule; options: Record<string, unknown>; layers: string[] }>();
  for (const [layer, a] of Object.entries(assignments)) {
    const key = JSON.stringify([a.rule, a.options ?? {}]);
    const group = groups.get(key) ?? { rule: rules.find((r) => r.name === a.rule)!, options: a.options ?? {}, layers: [] };
    group.layers.push(layer);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** ruleStats for each layer of a plan, at its own rule and options. */
export function assignedStats(rules: readonly AnyRule[], profiles: readonly LayerProfile[], assignments: Record<string, LayerAssignment>): Record<string, LayerStats> {
  return Object.assign({}, ...assignmentGroups(assignments, rules).map((g) => ruleStats(g.rule, profiles, g.options, g.layers)));
}
