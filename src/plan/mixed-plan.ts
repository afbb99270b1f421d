import { ftmError } from '../errors.js';
import type { Plan, PlannedLayer } from './plan.js';

/** One way to rewrite a layer: a rule at one setting, what it removes and adds, and its measured fit error. */
export interface LayerChoice {
  rule: string;
  options: Record<string, unknown>;
  removed: number;
  added: number;
  /** The rewrite's relative output error after its closed-form fit (‖Y − Ŷ‖² / ‖Y − mean Y‖² on the layer's output). */
  error: number;
}

/** A layer the planner may rewrite: its choices (none when no rule fires on it, with the rules' reason). */
export interface MixedCandidate {
  layer: string;
  choices: LayerChoice[];
  reason?: string;
}

export interface MixedPlanOptions {
  targetRatio: number;
  tolerance?: number;
  bestEffort?: boolean;
  /** Parameters of `total`'s model, and the count ratios are of (the model as the user brought it). */
  total: number;
  reference?: number;
}

export const NOT_CHOSEN = 'kept: its rewrites cost the most fit error per parameter saved';

const saving = (c: LayerChoice) => c.removed - c.added;

/**
 * Chooses, per layer, one of its rewrites or none, so that the parameters land under the target with the least total
 * fit error (the sum of the layers' relative errors). A Lagrangian sweep makes each layer take the choice that
 * minimizes error − λ·saving, with λ bisected to the smallest price that reaches the target. The discrete choices
 * usually land below it, so a greedy pass gives back, while the target still holds, the moves that remove the most
 * error; and since the sweep can jump over the target, the plan just short of it is also filled up to the target
 * (`fill`) and given back the same way: the one with less error is kept. Every rule and setting competes on the same
 * footing: a layer takes FTM where its channels are redundant and low-rank where its weights are, at the strength
 * the budget calls for.
 */
export function planMixed(candidates: readonly MixedCandidate[], options: MixedPlanOptions): Plan {
  const { total, targetRatio } = options;
  const reference = options.reference ?? total;
  if (!(targetRatio > 0 && targetRatio <= 1)) throw ftmError('E_USAGE', `--target-ratio must be in (0, 1], found ${targetRatio}`);
  const target = targetRatio * reference;
  const paramsOf = (picks: (LayerChoice | undefined)[]) => total - picks.reduce((n, c) => n + (c ? saving(c) : 0), 0);
  const picksAt = (lambda: number) => candidates.map((c) => pickAt(c.choices, lambda));
  const strongest = picksAt(Infinity);
  const minParams = paramsOf(strongest);
  let picks = strongest;
  if (minParams <= target) {
    let [lo, hi] = [0, 1e-12];
    while (paramsOf(picksAt(hi)) > target) [lo, hi] = [hi, hi * 4];
    for (let i = 0; i < 100 && hi - lo > 1e-9 * hi; i++) {
      const mid = (lo + hi) / 2;
      if (paramsOf(picksAt(mid)) > target) lo = mid;
      else hi = mid;
    }
    const over = giveBack(candidates, picksAt(hi), target, paramsOf);
    const under = giveBack(candidates, fill(candidates, picksAt(lo), target, paramsOf), target, paramsOf);
    picks = errorOf(under) < errorOf(over) ? under : over;
  }
  const params = paramsOf(picks);
  const achievedRatio = params / reference;
  const reachable = achievedRatio <= targetRatio + (options.tolerance ?? 0.01);
  if (!reachable && !options.bestEffort) {
    throw ftmError('E_TARGET_UNREACHABLE', `cannot reach parameter ratio ${targetRatio}: the smallest reachable with the mixed plan is ${(minParams / reference).toFixed(3)}; use --best-effort to accept it`);
  }
  const layers: PlannedLayer[] = candidates.map((c, i) => {
    const pick = picks[i];
    if (pick) return { layer: c.layer, score: null, rewrite: true, removed: pick.removed, added: pick.added, rule: pick.rule, ruleOptions: pick.options, fitError: pick.error };
    return { layer: c.layer, score: null, rewrite: false, removed: 0, added: 0, reason: c.choices.length ? NOT_CHOSEN : c.reason };
  });
  return { targetRatio, achievedRatio, minRatio: minParams / reference, reachable, ruleOptions: {}, paramsBefore: reference, paramsAfter: params, layers };
}

/** The choice minimizing error − λ·saving, or none (error 0, saving 0) when no choice beats it. */
function pickAt(choices: readonly LayerChoice[], lambda: number): LayerChoice | undefined {
  let best: LayerChoice | undefined;
  let bestCost = 0;
  for (const c of choices) {
    if (saving(c) <= 0) continue;
    const cost = lambda === Infinity ? -saving(c) : c.error - lambda * saving(c);
    if (cost < bestCost || (cost === bestCost && best && c.error < best.error)) [best, bestCost] = [c, cost];
  }
  return best;
}

const errorOf = (picks: (LayerChoice | undefined)[]) => picks.reduce((e, c) => e + (c?.error ?? 0), 0);

/**
 * From a plan short of the target, moves layers to stronger choices until it is reached: the move that reaches it with
 * the least added error when one does, else the least error per parameter saved. The price sweep can only take choices
 * on each layer's convex hull, and may jump past the target; two smaller moves here can cost less than that jump.
 */
function fill(candidates: readonly MixedCandidate[], picks: (LayerChoice | undefined)[], target: number, paramsOf: (p: (LayerChoice | undefined)[]) => number): (LayerChoice | undefined)[] {
  const out = [...picks];
  for (let params = paramsOf(out); params > target; ) {
    let best: { i: number; to: LayerChoice; cost: number; reaches: boolean } | undefined;
    for (const [i, c] of candidates.entries()) {
      const now = out[i];
      for (const to of c.choices) {
        const more = saving(to) - (now ? saving(now) : 0);
        if (more <= 0) continue;
        const added = to.error - (now?.error ?? 0);
        const reaches = params - more <= target;
        const cost = reaches ? added : added / more;
        if (!best || (reaches && !best.reaches) || (reaches === best.reaches && cost < best.cost)) best = { i, to, cost, reaches };
      }
    }
    if (!best) return out;
    params -= saving(best.to) - (out[best.i] ? saving(out[best.i]!) : 0);
    out[best.i] = best.to;
  }
  return out;
}

/** Moves layers to milder choices (or none) while the target holds, the largest error removed first. */
function giveBack(candidates: readonly MixedCandidate[], picks: (LayerChoice | undefined)[], target: number, paramsOf: (p: (LayerChoice | undefined)[]) => number): (LayerChoice | undefined)[] {
  const out = [...picks];
  let params = paramsOf(out);
  for (;;) {
    let best: { i: number; to: LayerChoice | undefined; gain: number } | undefined;
    for (const [i, c] of candidates.entries()) {
      const now = out[i];
      for (const to of [undefined, ...c.choices]) {
        const after = params + (now ? saving(now) : 0) - (to ? saving(to) : 0);
        const gain = (now?.error ?? 0) - (to?.error ?? 0);
        if (after <= target && gain > 0 && (!best || gain > best.gain)) best = { i, to, gain };
      }
    }
    if (!best) return out;
    params += (out[best.i] ? saving(out[best.i]!) : 0) - (best.to ? saving(best.to) : 0);
    out[best.i] = best.to;
  }
}
