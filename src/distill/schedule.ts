/**
 * Learning rate as a function of training progress p ∈ [0, 1] (steps done / steps planned, or seconds spent / the
 * time budget): a linear warm-up from 0 to the base rate over the first `warmup` share, then a cosine
 * decay to `floor`·base at p = 1. Progress rather than a step count, so the same schedule serves a step budget and a
 * time budget whose number of steps is known only at the end.
 */
export interface CosineSchedule {
  /** Peak learning rate. */
  base: number;
  /** Share of training spent warming up (default 0.05; see warmupShare). */
  warmup?: number;
  /** Final rate as a share of `base` (default 0). */
  floor?: number;
}

export function cosineLr(progress: number, schedule: CosineSchedule): number {
  const { base, warmup = 0.05, floor = 0 } = schedule;
  const p = Math.min(Math.max(progress, 0), 1);
  if (p < warmup) return (base * p) / warmup;
  const rest = warmup < 1 ? (p - warmup) / (1 - warmup) : 1;
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * rest)));
}

/** The progress at which step `step` (0-based) of `steps` takes its rate: the middle of the step, never 0 or 1. */
export function stepProgress(step: number, steps: number): number {
  return (step + 0.5) / Math.max(steps, 1);
}

/**
 * The share of a step budget spent warming up: 5%, but at least 25 steps (and at most 30% of the budget). Adam's first
 * updates move every element by about the full rate whatever its gradient's size, while its second-moment estimate
 * still rests on a few noisy batches; a short budget with a 5% warm-up reaches the peak rate within a step or two and
 * spends the rest of its steps undoing the damage. With a time budget only (steps unknown), 5%.
 */
export function warmupShare(steps: number | undefined): number {
  if (steps === undefined) return 0.05;
  return Math.min(0.3, Math.max(0.05, MIN_WARMUP_STEPS / steps));
}

/** The fewest steps a warm-up takes when the budget allows (see warmupShare). */
export const MIN_WARMUP_STEPS = 25;
