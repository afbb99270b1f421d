/** Data-driven fitting of rewritten layers (pipeline step "fit"): the generic engine and the helpers rules' solves use. */
export { DEFAULT_DAMPING, dampedFactor, ridgeFor, SAMPLE_RIDGE, solveDamped } from './cholesky.js';
export { KroneckerProducts } from './kron-products.js';
export { Gemms, type GemmTerms } from './gemm.js';
export { blockedDampedFactor, type DampedSolve } from './blocked-cholesky.js';
export { collectLayerStats, emptyPatchStats, patchStatsModel, PatchStatsCollector } from './patch-stats.js';
export { restrictChannels } from './restrict-channels.js';
export { convError, convMoments, fitConv, refitConv, relativeError, targetSpread, type ConvMoments, type ConvWeights } from './conv-fit.js';
export { fitSequential, type FitProgress, type FitReport, type LayerFitReport, type SequentialOptions } from './sequential.js';
export { segmentModel, SegmentedRun } from './segments.js';
