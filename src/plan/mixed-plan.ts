import { ftmError } from '../errors.js';
import { takenReason, type Plan, type PlannedLayer } from './plan.js';

/** One way to rewrite a layer: a rule at one setting, what it removes and adds, and its measured fit error. */
export interface LayerChoice {
  rule: string;
  options: Record<string, unknown>;
  removed: number;
  added: number;
  /** The rewrite's relative output error after its closed-form fit (‖Y − Ŷ‖² / ‖Y − mean Y‖² on the layer's output). */
  error: number;
  /** Other layers the rewrite takes with it (prune: the consumers whose inputs shrink); they then stay as they are. */
  consumes?: readonly string[];
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
 * the budget calls for. A rewrite that takes other layers with it (prune and its consumers) is weighed against what
 * those layers would have done themselves (bestPicks), and no move rewrites a taken layer.
 */
export function planMixed(candidates: readonly MixedCandidate[], options: MixedPlanOptions): Plan {
  const { total, targetRatio } = options;
  const reference = options.reference ?? total;
  if (!(targetRatio > 0 && targetRatio <= 1)) throw ftmError('E_USAGE', `--target-ratio must be in (0, 1], found ${targetRatio}`);
  const target = targetRatio * reference;
  const takes = takenLayers(candidates);
  const paramsOf = (picks: Picks) => total - picks.reduce((n, c) => n + (c ? saving(c) : 0), 0);
  const picksAt = (lambda: number) => bestPicks(candidates, takes, lambda);
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
    const moves = { candidates, takes, target, paramsOf };
    const over = giveBack(moves, picksAt(hi));
    const under = giveBack(moves, fill(moves, picksAt(lo)));
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
    const by = takerOf(takes, picks, i);
    if (by !== undefined) return { layer: c.layer, score: null, rewrite: false, removed: 0, added: 0, reason: takenReason(candidates[by].layer, picks[by]!.rule), takenBy: candidates[by].layer };
    return { layer: c.layer, score: null, rewrite: false, removed: 0, added: 0, reason: c.choices.length ? NOT_CHOSEN : c.reason };
  });
  return { targetRatio, achievedRatio, minRatio: minParams / reference, reachable, ruleOptions: {}, paramsBefore: reference, paramsAfter: params, layers };
}

type Picks = (LayerChoice | undefined)[];

/** Each choice's taken layers, by candidate index. A choice that takes an earlier layer, or one another layer's choice
 * already takes, is left out: the planner needs each taken layer to have one taker, after it. */
interface Takes {
  of: Map<LayerChoice, number[]>;
  /** The layer whose choices take layer i, if any. */
  taker: (number | undefined)[];
}

function takenLayers(candidates: readonly MixedCandidate[]): Takes {
  const index = new Map(candidates.map((c, i) => [c.layer, i]));
  const of = new Map<LayerChoice, number[]>();
  const taker: (number | undefined)[] = candidates.map(() => undefined);
  for (const [i, c] of candidates.entries()) {
    for (const choice of c.choices) {
      const taken = (choice.consumes ?? []).map((l) => index.get(l)).filter((j): j is number => j !== undefined);
      if (taken.some((j) => j <= i || (taker[j] !== undefined && taker[j] !== i))) continue;
      for (const j of taken) taker[j] = i;
      of.set(choice, taken);
    }
  }
  return { of, taker };
}

/** The layers a choice takes with it, by index (none for no choice). */
const layersTakenWith = (takes: Takes, choice: LayerChoice | undefined) => (choice ? (takes.of.get(choice) ?? []) : []);
const allowed = (takes: Takes, choice: LayerChoice) => takes.of.has(choice);

/** The layer whose pick takes layer i, if one does. */
function takerOf(takes: Takes, picks: Picks, i: number): number | undefined {
  const t = takes.taker[i];
  return t !== undefined && layersTakenWith(takes, picks[t]).includes(i) ? t : undefined;
}

/** A plan's cost at a price, with its error to break ties. */
interface Score {
  cost: number;
  error: number;
}

const add = (a: Score, b: Score): Score => ({ cost: a.cost + b.cost, error: a.error + b.error });
const better = (a: Score, b: Score) => a.cost < b.cost || (a.cost === b.cost && a.error < b.error);

/**
 * The picks minimizing Σ error − λ·saving over all layers (λ = ∞: the most saving), where a layer a pick takes must
 * stay as it is. Taken layers hang under their taker (a forest, takers first in order), so this is a dynamic program:
 * from the last layer back, each layer's best when free and its cost when taken (its own layers then free).
 */
function bestPicks(candidates: readonly MixedCandidate[], takes: Takes, lambda: number): Picks {
  const n = candidates.length;
  const children = candidates.map(() => [] as number[]);
  takes.taker.forEach((t, j) => t !== undefined && children[t].push(j));
  const free: Score[] = new Array(n), taken: Score[] = new Array(n);
  const best: Picks = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    taken[i] = children[i].reduce((s, c) => add(s, free[c]), { cost: 0, error: 0 });
    let score = taken[i];
    for (const choice of candidates[i].choices) {
      if (saving(choice) <= 0 || !allowed(takes, choice)) continue;
      const own = { cost: lambda === Infinity ? -saving(choice) : choice.error - lambda * saving(choice), error: choice.error };
      const gone = layersTakenWith(takes, choice);
      const total = children[i].reduce((s, c) => add(s, gone.includes(c) ? taken[c] : free[c]), own);
      if (better(total, score)) [score, best[i]] = [total, choice];
    }
    free[i] = score;
  }
  const picks: Picks = new Array(n).fill(undefined);
  const isTaken = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n; i++) {
    if (isTaken[i]) continue;
    picks[i] = best[i];
    for (const c of layersTakenWith(takes, best[i])) isTaken[c] = true;
  }
  return picks;
}

/** What fill and giveBack move among. */
interface Moves {
  candidates: readonly MixedCandidate[];
  takes: Takes;
  target: number;
  paramsOf: (picks: Picks) => number;
}

/** Whether layer i may move to `to` in `picks`: not while another pick takes it, and not to a choice taking a rewritten layer. */
const canMove = ({ takes }: Moves, picks: Picks, i: number, to: LayerChoice | undefined) =>
  !to || (allowed(takes, to) && takerOf(takes, picks, i) === undefined && layersTakenWith(takes, to).every((j) => !picks[j]));

const errorOf = (picks: Picks) => picks.reduce((e, c) => e + (c?.error ?? 0), 0);

/**
 * From a plan short of the target, moves layers to stronger choices until it is reached: the move that reaches it with
 * the least added error when one does, else the least error per parameter saved. The price sweep can only take choices
 * on each layer's convex hull, and may jump past the target; two smaller moves here can cost less than that jump.
 */
function fill(moves: Moves, picks: Picks): Picks {
  const { candidates, target, paramsOf } = moves;
  const out = [...picks];
  for (let params = paramsOf(out); params > target; ) {
    let best: { i: number; to: LayerChoice; cost: number; reaches: boolean } | undefined;
    for (const [i, c] of candidates.entries()) {
      const now = out[i];
      for (const to of c.choices) {
        const more = saving(to) - (now ? saving(now) : 0);
        if (more <= 0 || !canMove(moves, out, i, to)) continue;
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
function giveBack(moves: Moves, picks: Picks): Picks {
  const { candidates, target, paramsOf } = moves;
  const out = [...picks];
  let params = paramsOf(out);
  for (;;) {
    let best: { i: number; to: LayerChoice | undefined; gain: number } | undefined;
    for (const [i, c] of candidates.entries()) {
      const now = out[i];
      for (const to of [undefined, ...c.choices]) {
        const after = params + (now ? saving(now) : 0) - (to ? saving(to) : 0);
        const gain = (now?.error ?? 0) - (to?.error ?? 0);
        if (after <= target && gain > 0 && canMove(moves, out, i, to) && (!best || gain > best.gain)) best = { i, to, gain };
      }
    }
    if (!best) return out;
    params += (out[best.i] ? saving(out[best.i]!) : 0) - (best.to ? saving(best.to) : 0);
    out[best.i] = best.to;
  }
}
