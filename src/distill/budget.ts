import { DEFAULT_DISTILL_STEPS } from './distill.js';
import { MIN_WARMUP_STEPS } from './schedule.js';

/**
 * The default distillation work, in sample-MACs (samples trained on × Conv MACs per sample): DEFAULT_DISTILL_STEPS
 * steps of 64 samples on a model of 32 M Conv MACs per sample, so that the fixture (ResNet-20 at 28×28, 31.0 M), where
 * that step budget was chosen, keeps it.
 * A step's time grows with the model's cost, so a fixed step count that takes a minute on the fixture takes hours on a
 * ResNet at 224×224; a fixed amount of work does not depend on the machine, unlike a time budget.
 */
export const DEFAULT_DISTILL_WORK = DEFAULT_DISTILL_STEPS * 64 * 32e6;

export type DistillBudget = { steps: number; macsPerSample: number | null } | { skipped: string; macsPerSample: number };

/**
 * The default step budget for a model of `macsPerSample` at `batchSize`: DEFAULT_DISTILL_WORK spread over steps, at
 * most DEFAULT_DISTILL_STEPS. Fewer steps than one warm-up (MIN_WARMUP_STEPS) cannot train, so then distillation is
 * skipped, with the steps it would take to run it. A model whose cost cannot be computed gets DEFAULT_DISTILL_STEPS.
 */
export function defaultDistillBudget(macsPerSample: number | null, batchSize: number): DistillBudget {
  if (macsPerSample === null || !(macsPerSample > 0)) return { steps: DEFAULT_DISTILL_STEPS, macsPerSample };
  const steps = Math.min(DEFAULT_DISTILL_STEPS, Math.floor(DEFAULT_DISTILL_WORK / (batchSize * macsPerSample)));
  if (steps >= MIN_WARMUP_STEPS) return { steps, macsPerSample };
  return {
    macsPerSample,
    skipped:
      `the default budget (${(DEFAULT_DISTILL_WORK / 1e12).toFixed(2)} T sample-MACs) gives ${steps} steps of ${batchSize} samples on this model ` +
      `(${(macsPerSample / 1e6).toFixed(1)} M Conv MACs per sample), fewer than the ${MIN_WARMUP_STEPS} of a warm-up; --distill-steps N or --distill-time S runs it`,
  };
}
