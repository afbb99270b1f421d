import { countParams } from '../analysis/params.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';
import { dryRun } from '../rewrite/driver.js';
import type { AnyRule, LayerStats } from '../rewrite/rule.js';
import { judgeLatency, leftOutForLatency, NOT_FASTER, SLOWER, type LayerTiming, type Objective } from './latency-verdict.js';

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

/** Planning with each candidate's rewrite timed against its layer (planWithLatency). */
export interface LatencyPlanOptions extends PlanOptions {
  /** What the plan is for (default 'params'): see `Objective`. */
  objective?: Objective;
}

/** Times the rewrites of `layers` at `ruleOptions` against the layers (`timeLayerRewrites`, or a stand-in in tests). */
export type MeasureRewrites = (layers: string[], ruleOptions: Record<string, unknown>) => Promise<LayerTiming[]>;

export interface PlannedLayer {
  layer: string;
  score: number | null;
  rewrite: boolean;
  /** Parameters the rewrite removes and adds (0 when it does not fire). */
  removed: number;
  added: number;
  /** Why the layer is not rewritten: the rule's reason, an exclusion, or "kept to land on the target". */
  reason?: string;
  /** The layer whose rewrite takes this one with it (prune: its consumers), when it is rewritten. */
  takenBy?: string;
  /** The rewrite's median time over the layer's, the worst of the batch sizes timed (when it was timed). */
  latencyRatio?: number;
  /** In a mixed plan (planMixed): the rule that rewrites the layer, its options there, and the fit error it was chosen by. */
  rule?: string;
  ruleOptions?: Record<string, unknown>;
  fitError?: number;
}

export interface Plan {
  targetRatio: number;
  achievedRatio: number;
  /** The smallest ratio the rule can reach on this model (every candidate rewritten, but those left out for latency, at
   * the strongest knob setting tried). */
  minRatio: number;
  reachable: boolean;
  ruleOptions: Record<string, unknown>;
  paramsBefore: number;
  paramsAfter: number;
  layers: PlannedLayer[];
  /** With planWithLatency: the objective, and each candidate timed against its rewrite at `ruleOptions`. */
  objective?: Objective;
  latency?: LayerTiming[];
}

/**
 * Chooses which layers to rewrite so that the parameter ratio lands on the target: start with every candidate
 * rewritten (at the mildest setting of the rule's knob that can reach the target), then give back, least redundant first, the layers whose
 * original weights still fit under the target; a last pass takes the one give-back that brings the ratio closest.
 */
export function planRewrites(model: Model, rule: AnyRule, options: PlanOptions): Plan {
  const { settings, ...counts } = planSettings(model, rule, options);
  let plan: Plan | undefined;
  for (const ruleOptions of settings) {
    plan = landOnTarget(candidatesAt(model, rule, ruleOptions, options), ruleOptions, options, counts);
    if (plan.reachable) return plan;
  }
  return unreachable(plan!, rule, options);
}

/**
 * planRewrites, with each candidate's rewrite timed against its layer (`measure`) at each setting of the knob tried,
 * and chosen by the objective (`judgeLatency`). Timing costs about as much per layer as fitting it, so a setting is
 * passed over untimed when its candidates cannot reach the target all rewritten (leaving layers out can only raise
 * the ratio), or without the layers the last timed setting left out for latency (a stronger setting of the same
 * module rarely turns a slower rewrite faster). The last setting is always timed: it is the closest plan.
 */
export async function planWithLatency(model: Model, rule: AnyRule, options: LatencyPlanOptions, measure: MeasureRewrites): Promise<Plan> {
  const objective = options.objective ?? 'params';
  const { settings, ...counts } = planSettings(model, rule, options);
  const tolerance = options.tolerance ?? 0.01;
  let plan: Plan | undefined;
  let leftOut = new Set<string>();
  for (const [i, ruleOptions] of settings.entries()) {
    const layers = candidatesAt(model, rule, ruleOptions, options);
    const fewest = counts.total - layers.filter((l) => l.rewrite && !leftOut.has(l.layer)).reduce((n, l) => n + l.removed - l.added, 0);
    if (fewest / counts.reference > options.targetRatio + tolerance && i < settings.length - 1) continue;
    const timed = await measure(layers.filter((l) => l.rewrite).map((l) => l.layer), ruleOptions);
    plan = { ...judgedPlan(layers, timed, ruleOptions, options, counts, objective), objective, latency: timed };
    if (plan.reachable) return plan;
    leftOut = new Set(plan.layers.filter((l) => leftOutForLatency(l.reason)).map((l) => l.layer));
  }
  return unreachable(plan!, rule, options);
}

/**
 * With 'params', the plan planRewrites makes when it takes no rewrite the timings refuse (a slower layer it gives back
 * anyway changes nothing); otherwise the plan made without the refused ones.
 */
function judgedPlan(layers: PlannedLayer[], timed: LayerTiming[], ruleOptions: Record<string, unknown>, options: PlanOptions, counts: Counts, objective: Objective): Plan {
  if (objective === 'params') {
    const asBefore = landOnTarget(layers.map((l) => ({ ...l })), ruleOptions, options, counts);
    const judged = asBefore.layers.map((l) => ({ ...l }));
    judgeLatency(judged, timed, objective);
    if (judged.every((l, i) => l.rewrite === asBefore.layers[i].rewrite)) return { ...asBefore, layers: judged };
  }
  judgeLatency(layers, timed, objective);
  return landOnTarget(layers, ruleOptions, options, counts, objective);
}

interface Counts {
  /** The parameters of `model`. */
  total: number;
  /** The count ratios are of. */
  reference: number;
}

/** The settings of the rule's knob to try, mildest first (only the caller's when it sets the knob), and the counts. */
function planSettings(model: Model, rule: AnyRule, options: PlanOptions): Counts & { settings: Record<string, unknown>[] } {
  if (!(options.targetRatio > 0 && options.targetRatio <= 1)) {
    throw ftmError('E_USAGE', `--target-ratio must be in (0, 1], found ${options.targetRatio}`);
  }
  const total = countParams(model.graph);
  const base = options.ruleOptions ?? {};
  const knob = rule.meta.knob;
  const settings = knob && !(knob.option in base) ? knob.values.map((v) => ({ ...base, [knob.option]: v })) : [base];
  return { total, reference: options.paramsBefore ?? total, settings };
}

function unreachable(plan: Plan, rule: AnyRule, options: PlanOptions): Plan {
  if (options.bestEffort) return plan;
  const excluded = plan.layers.filter((l) => leftOutForLatency(l.reason)).length;
  const escape = plan.objective === 'params' ? '--allow-slower rewrites them anyway' : '--objective params takes them';
  const latency = excluded ? `; latency excluded ${excluded} more ${excluded === 1 ? 'layer' : 'layers'} (${plan.objective === 'params' ? SLOWER.replace('its', 'the') : NOT_FASTER.replace('its', 'the')}; ${escape})` : '';
  throw ftmError(
    'E_TARGET_UNREACHABLE',
    `cannot reach parameter ratio ${options.targetRatio}: the smallest reachable with rule "${rule.name}" on the qualifying layers is ` +
      `${plan.minRatio.toFixed(3)} (${plan.layers.filter((l) => l.removed > 0 && !leftOutForLatency(l.reason)).length} layers can be rewritten)${latency}; use --best-effort to accept it`,
  );
}

const KEPT = 'kept to land on the target ratio';

/** Every layer the rule looks at, with what its rewrite at `ruleOptions` removes and adds; `rewrite` when it would fire and save. */
function candidatesAt(model: Model, rule: AnyRule, ruleOptions: Record<string, unknown>, options: PlanOptions): PlannedLayer[] {
  const include = options.include && new Set(options.include);
  const exclude = new Set(options.exclude ?? []);
  // A rewrite that takes later layers with it (prune: its consumers) goes first, in graph order: they are not counted twice.
  const takers = new Map<string, string>();
  return model.graph.nodes
    .filter((n) => n.isOnnxDomain && rule.meta.ops.includes(n.opType))
    .map((n): PlannedLayer => {
      const layer = nodeKey(n);
      const score = options.scores?.[layer] ?? null;
      if (exclude.has(layer) || (include && !include.has(layer))) return { layer, score, rewrite: false, removed: 0, added: 0, reason: 'excluded' };
      const d = dryRun(model, rule, n, ruleOptions, options.stats?.[layer]);
      const saves = d.removed > d.added;
      const takenBy = takers.get(layer);
      if (d.fires && saves && takenBy) return { layer, score, rewrite: false, removed: 0, added: 0, reason: takenReason(takenBy, rule.name), takenBy };
      if (d.fires && saves) for (const c of d.consumes) takers.set(c, layer);
      return { layer, score, rewrite: d.fires && saves, removed: d.removed, added: d.added, reason: d.fires ? (saves ? undefined : 'the rewrite would not reduce parameters') : d.reason };
    });
}

export const takenReason = (by: string, rule: string) => `taken with the rewrite at ${by} (${rule}), which counts its parameters`;

/** A layer left for the rewrite of a layer that is given back stays as it is too: to land on the target. */
function untakeGivenBack(layers: PlannedLayer[]): void {
  const rewritten = new Set(layers.filter((l) => l.rewrite).map((l) => l.layer));
  for (const l of layers) {
    if (l.takenBy && !rewritten.has(l.takenBy)) [l.takenBy, l.reason] = [undefined, KEPT];
  }
}

/**
 * Gives back rewrites, least redundant first (no score: the smallest savings first, as the cheapest to keep; with
 * the objective 'both', the least speed-up first), while the original weights still fit under the target; a last
 * pass takes the one give-back that brings the ratio closest. The objective 'latency' gives nothing back: every
 * rewrite that is faster stays, and the target is only a ceiling.
 */
function landOnTarget(layers: PlannedLayer[], ruleOptions: Record<string, unknown>, options: PlanOptions, { total, reference }: Counts, objective: Objective = 'params'): Plan {
  const tolerance = options.tolerance ?? 0.01;
  const saving = (l: PlannedLayer) => l.removed - l.added;
  let params = total - layers.filter((l) => l.rewrite).reduce((n, l) => n + saving(l), 0);
  const minRatio = params / reference;
  const target = options.targetRatio * reference;
  const first = objective === 'both'
    ? (a: PlannedLayer, b: PlannedLayer) => (b.latencyRatio ?? 0) - (a.latencyRatio ?? 0) || saving(a) - saving(b)
    : (a: PlannedLayer, b: PlannedLayer) => (a.score ?? 0) - (b.score ?? 0) || saving(a) - saving(b);
  const order = objective === 'latency' ? [] : layers.filter((l) => l.rewrite).sort(first);
  for (const l of order) {
    if (params + saving(l) <= target) {
      params += saving(l);
      l.rewrite = false;
      l.reason = KEPT;
    }
  }
  const closer = order.filter((l) => l.rewrite).find((l) => Math.abs(params + saving(l) - target) < Math.abs(params - target));
  if (closer) {
    params += saving(closer);
    closer.rewrite = false;
    closer.reason = KEPT;
  }
  untakeGivenBack(layers);
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
