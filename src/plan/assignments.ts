import type { LayerAssignment } from '../rewrite/driver.js';
import type { AnyRule } from '../rewrite/rule.js';
import type { Plan } from './plan.js';

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
