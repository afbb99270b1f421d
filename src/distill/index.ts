/** Distillation of a rewritten student towards its teacher, its parts in one import (the public API, src/index.ts, takes only `distill` and its options). */
export { distill, DEFAULT_DISTILL_STEPS, DEFAULT_DISTILL_LR, checkDistillOptions, type DistillOptions, type DistillProgress, type DistillReport } from './distill.js';
export { trainableNames, newParameterNames } from './trainable.js';
export { Adam, type AdamOptions } from './adam.js';
export { cosineLr, stepProgress, warmupShare, type CosineSchedule } from './schedule.js';
export { tensorLrScales } from './lr-scale.js';
export { DivergenceWatch } from './divergence.js';
export { Augmenter, type AugmentOptions, type SampleDraw } from './augment.js';
export { BatchCycler } from './data.js';
export { featurePairs, type FeaturePair } from './features.js';
export { HeldOutEvaluator, inferenceWithParamInputs, type HeldOutScore, type LossSpec } from './held-out.js';
