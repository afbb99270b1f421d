import { countParams } from '../analysis/params.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import { dryRun } from '../rewrite/driver.js';
import type { AnyRule, LayerStats } from '../rewrite/rule.js';

export interface PlanOptions {
  /** Compressed parameters / original parameters to land on. */
  targetRatio: number;
  /** How close is close enough (absolute, in ratio). */
  tolerance?: number;
  /** Only these layers may be rewritten (node names). */
  include?: string[];
  /** These layers stay as they are. */
  exclude?: string[];
  /** Rule options. The rule's knob (`meta.knob`, e.g. FTM's s) is turned step by step when the target needs it,
   * unless these options set it. */
  ruleOptions?: Record<string, unknown>;
  /** Redundancy per layer (higher = rewrite first), e.g. the profiler's score. */
  scores?: Record<string, number>;
  stats?: Record<string, LayerStats>;
  /** Return the closest plan when the target cannot be reached, instead of failing. */
  bestEffort?: boolean;
  /** Parameters of the model as the user brought it, when `model` is its canonical form (intake folds some away):
   * ratios are of this count. Default: the parameters of `model`. */
  paramsBefore?: number;
}

export interface PlannedLayer {
  layer: string;
  score: number | null;
  rewrite: boolean;
  /** Parameters the rewrite removes and adds (0 when it does not fire). */
  removed: number;
  added: number;
  /** Why the layer is not rewritten: the rule's reason, an exclusion, or "kept to land on the target". */
  reason?: string;
}

export interface Plan {
  targetRatio: number;
  achievedRatio: number;
  /** The smallest ratio the rule can reach on this model (every candidate rewritten, at the strongest knob setting tried). */
  minRatio: number;
  reachable: boolean;
  ruleOptions: Record<string, unknown>;
  paramsBefore: number;
  paramsAfter: number;
  layers: PlannedLayer[];
}

/**
 * Chooses which layers to rewrite so that the parameter ratio lands on the target: start with every candidate
 * rewritten (at the mildest setting of the rule's knob that can reach the target), then give back, least redundant first, the layers whose
 * original weights still fit under the target; a last pass takes the one give-back that brings the ratio closest.
 */
export function planRewrites(model: Model, rule: AnyRule, options: PlanOptions): Plan {
  const tolerance = options.tolerance ?? 0.01;
  if (!(options.targetRatio > 0 && options.targetRatio <= 1)) {
    throw ftmError('E_USAGE', `--target-ratio must be in (0, 1], found ${options.targetRatio}`);
  }
  const total = countParams(model.graph);
  const reference = options.paramsBefore ?? total;
  const base = options.ruleOptions ?? {};
  const knob = rule.meta.knob;
  const settings = knob && !(knob.option in base) ? knob.values.map((v) => ({ ...base, [knob.option]: v })) : [base];
  let plan: Plan | undefined;
  for (const ruleOptions of settings) {
    plan = planAt(model, rule, ruleOptions, options, { total, reference }, tolerance);
    if (plan.reachable) return plan;
  }
  if (options.bestEffort) return plan!;
  throw ftmError(
    'E_TARGET_UNREACHABLE',
    `cannot reach parameter ratio ${options.targetRatio}: the smallest reachable with rule "${rule.name}" on the qualifying layers is ` +
      `${plan!.minRatio.toFixed(3)} (${plan!.layers.filter((l) => l.removed > 0).length} layers can be rewritten); use --best-effort to accept it`,
  );
}

/** `total`: the parameters of `model`; `reference`: the count ratios are of. */
function planAt(model: Model, rule: AnyRule, ruleOptions: Record<string, unknown>, options: PlanOptions, { total, reference }: { total: number; reference: number }, tolerance: number): Plan {
  const include = options.include && new Set(options.include);
  const exclude = new Set(options.exclude ?? []);
  const layers: PlannedLayer[] = model.graph.nodes
    .filter((n) => n.isOnnxDomain && rule.meta.ops.includes(n.opType))
    .map((n) => {
      const layer = nodeKey(n);
      const score = options.scores?.[layer] ?? null;
      if (exclude.has(layer) || (include && !include.has(layer))) return { layer, score, rewrite: false, removed: 0, added: 0, reason: 'excluded' };
      const d = dryRun(model, rule, n, ruleOptions, options.stats?.[layer]);
      const saves = d.removed > d.added;
      return { layer, score, rewrite: d.fires && saves, removed: d.removed, added: d.added, reason: d.fires ? (saves ? undefined : 'the rewrite would not reduce parameters') : d.reason };
    });
  const saving = (l: PlannedLayer) => l.removed - l.added;
  let params = total - layers.filter((l) => l.rewrite).reduce((n, l) => n + saving(l), 0);
  const minRatio = params / reference;
  const target = options.targetRatio * reference;
  // Give back the least redundant layers first (no score: the smallest savings first, as the cheapest to keep).
  const order = layers.filter((l) => l.rewrite).sort((a, b) => (a.score ?? 0) - (b.score ?? 0) || saving(a) - saving(b));
  for (const l of order) {
    if (params + saving(l) <= target) {
      params += saving(l);
      l.rewrite = false;
      l.reason = 'kept to land on the target ratio';
    }
  }
  const closer = order.filter((l) => l.rewrite).find((l) => Math.abs(params + saving(l) - target) < Math.abs(params - target));
  if (closer) {
    params += saving(closer);
    closer.rewrite = false;
    closer.reason = 'kept to land on the target ratio';
  }
  const achievedRatio = params / reference;
  return {
    targetRatio: options.targetRatio,
    achievedRatio,
    minRatio,
    reachable: achievedRatio <= options.targetRatio + tolerance,
    ruleOptions,
    paramsBefore: reference,
    paramsAfter: params,
    layers,
  };
}
