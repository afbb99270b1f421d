/** Data-driven fitting of rewritten layers (pipeline step "fit"): what the rest of the tool imports from src/fit. */
export { DEFAULT_DAMPING, solveDamped } from './cholesky.js';
export { collectLayerStats, emptyPatchStats, patchStatsModel, PatchStatsCollector, type PatchLayer, type PatchStats } from './patch-stats.js';
export { fitFtmLayer, type FtmFit, type FtmFitOptions } from './ftm-fit.js';
export { ftmRatio, readFtmParams } from './ftm-params.js';
export { captureBatches, modelUpTo, type Capture } from './capture.js';
export { fitSequential, type FitProgress, type FitReport, type LayerFitReport, type SequentialOptions } from './sequential.js';
export { outputError } from './evaluate.js';
