import { DEFAULT_DISTILL_STEPS } from './distill.js';
import { MIN_WARMUP_STEPS } from './schedule.js';

/**
 * A distillation step's cost that does not grow with the model's Conv MACs (the optimizer, the evaluations, each
 * op's fixed cost, depthwise convs that cost far more than their MACs), in sample-MACs: without it a cheap model's
 * steps look nearly free. 64 samples × 15 M, fitted on the fixtures' step times at batch 64
 * (bench/distill-step-cost.md). Counted per step, not per sample, so a small batch does not multiply the steps.
 */
export const STEP_OVERHEAD = 64 * 15e6;

/** The model cost, in Conv MACs per sample, at which the default budget is DEFAULT_DISTILL_STEPS steps of 64 samples. */
export const REFERENCE_MACS = 32e6;

/**
 * The default distillation work, in sample-MACs (samples trained on × Conv MACs per sample, plus STEP_OVERHEAD per
 * step): DEFAULT_DISTILL_STEPS steps of 64 samples on a model of REFERENCE_MACS, about the fixture
 * (ResNet-20 at 28×28, 31.0 M), where that step budget was chosen.
 * A step's time grows with the model's cost, so a fixed step count that takes a minute on the fixture takes hours on a
 * ResNet at 224×224, and a model a sixth of the fixture's cost gets more than twice the steps in about the same time; a
 * fixed amount of work does not depend on the machine, unlike a time budget.
 */
export const DEFAULT_DISTILL_WORK = DEFAULT_DISTILL_STEPS * (64 * REFERENCE_MACS + STEP_OVERHEAD);

/**
 * The training samples the default work was chosen on: the fixtures' 256 calibration images less the default split's
 * 32 held-out and 28 validation samples.
 */
export const REFERENCE_SAMPLES = 196;

/**
 * More training samples take more steps before the student fits them too closely, so the work grows with the square
 * root of the samples over REFERENCE_SAMPLES (1,024 calibration images: twice), and never shrinks below the default.
 * On all three Fashion-MNIST fixtures with 1,024 images, twice the steps gained on each, and four times gained again
 * for twice the time, too close to a 5-minute job (bench/distill-samples.md).
 */
export function samplesFactor(samples: number): number {
  return Math.max(1, Math.sqrt(samples / REFERENCE_SAMPLES));
}

export type DistillBudget = { steps: number; macsPerSample: number | null } | { skipped: string; macsPerSample: number };

/**
 * The default step budget for a model of `macsPerSample` at `batchSize`, training on `samples`: DEFAULT_DISTILL_WORK
 * times samplesFactor, spread over steps. The overhead bounds it at any batch: a model of no MACs gets the work over
 * STEP_OVERHEAD, about three times DEFAULT_DISTILL_STEPS at REFERENCE_SAMPLES. Fewer steps than one warm-up
 * (MIN_WARMUP_STEPS) cannot train, so then distillation is skipped, with the steps it would take to run it. A model
 * whose cost cannot be computed gets DEFAULT_DISTILL_STEPS times samplesFactor.
 */
export function defaultDistillBudget(macsPerSample: number | null, batchSize: number, samples = REFERENCE_SAMPLES): DistillBudget {
  const scale = samplesFactor(samples);
  if (macsPerSample === null || !(macsPerSample > 0)) return { steps: Math.floor(DEFAULT_DISTILL_STEPS * scale), macsPerSample };
  const steps = Math.floor((scale * DEFAULT_DISTILL_WORK) / (batchSize * macsPerSample + STEP_OVERHEAD));
  if (steps >= MIN_WARMUP_STEPS) return { steps, macsPerSample };
  return {
    macsPerSample,
    skipped:
      `the default budget (${((scale * DEFAULT_DISTILL_WORK) / 1e12).toFixed(2)} T sample-MACs) gives ${steps} steps of ${batchSize} samples on this model ` +
      `(${(macsPerSample / 1e6).toFixed(1)} M Conv MACs per sample, and a step's overhead), fewer than the ${MIN_WARMUP_STEPS} of a warm-up; --distill-steps N or --distill-time S runs it`,
  };
}
