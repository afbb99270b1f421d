/**
 * The library's face: everything a user of ftm-compress imports comes from here, and nothing else is public (the
 * list, by purpose: docs/library.md). Internals (the distillation loop's optimizer and data, the fitting engine's
 * collectors, the runtime plumbing) stay in their modules; tests and benches import them from there.
 */
export { FtmError, ERROR_CODES, ftmError, isFtmError, type ErrorCode } from './errors.js';
export { DataType, dtypeName, type TensorData, type NumericArray } from './ir/dtype.js';
export { Tensor } from './ir/tensor.js';
export { Value, type ValueType, type Dim, type Use } from './ir/value.js';
export { Node, AttrType, type Attribute, type AttrInit } from './ir/node.js';
export { Graph, type NodeSpec } from './ir/graph.js';
export { type Model, type OpsetImport, onnxOpset, newModel } from './ir/model.js';
export { cloneModel } from './ir/clone.js';
export { convGeometry, convOutputSize, resolvePads, type ConvGeometry } from './ir/conv.js';
export { loadModel, type LoadOptions } from './onnx/load.js';
export { saveModel, encodeModel, type SaveOptions } from './onnx/save.js';
export { toposort } from './graph/toposort.js';
export { removeDeadNodes } from './graph/cleanup.js';
export { validateGraph, assertValid } from './graph/validate.js';
export { inferShapes, type Shape } from './analysis/shapes.js';
export { countParams } from './analysis/params.js';
export { inspectModel, type InspectReport, type ConvLayer } from './inspect/inspect.js';
export { intakeModel, type IntakeChanges, type IntakeReport } from './intake/intake.js';
export { formatIntake } from './intake/format.js';
export { canonicalRules } from './intake/rules/index.js';
export { formatInspect } from './inspect/format.js';
export * from './rewrite/index.js';
export { RuleTester, type FiresCase, type DeclinesCase, type RuleTestCases, type RuleTesterOptions, type ModelSource } from './rewrite/rule-tester.js';
// What a rule's fit step (FitPlan.solve) is written with, and the fitting entry point.
export { DEFAULT_DAMPING, dampedFactor, ridgeFor, SAMPLE_RIDGE, solveDamped } from './fit/cholesky.js';
export { KroneckerProducts } from './fit/kron-products.js';
export { Gemms, type GemmTerms } from './fit/gemm.js';
export { blockedDampedFactor, type DampedSolve } from './fit/blocked-cholesky.js';
export { convError, convMoments, fitConv, refitConv, relativeError, targetSpread, type ConvMoments, type ConvWeights } from './fit/conv-fit.js';
export { fitSequential, type FitProgress, type FitReport, type LayerFitReport, type SequentialOptions } from './fit/sequential.js';
export { symmetricEigen } from './linalg/eigen.js';
export { truncatedSvd, type TruncatedSvd } from './linalg/svd.js';
export { printGraph } from './analysis/print-graph.js';
export type { CalibBatch, CalibrationSet } from './calib/types.js';
export { loadCalibration, type CalibOptions } from './calib/load.js';
export { calibrationFromArray } from './calib/memory.js';
export { checkPreprocess, readPreprocessFile, PREPROCESS_DEFAULTS, type ChannelOrder, type PreprocessOptions, type ResizeMode } from './calib/preprocess.js';
export { Runner, type FloatTensor, type TensorValue, type RunnerOptions } from './runtime/session.js';
export { tapModel } from './runtime/tap.js';
export { profileModel, type ProfileOptions } from './profile/profile.js';
export { profileLayers, type ModelProfile, type ProfileLayersOptions } from './profile/profile-layers.js';
export type { ProfiledLayer } from './profile/profiled-layer.js';
export { ruleStats } from './profile/rule-stats.js';
// What a rule's `meta.stats` hook groups channels with.
export { groupChannels, type ChannelGroup } from './profile/pairing.js';
export { copyScale } from './profile/psnr.js';
export type { ProfileReport, LayerReport, GroupReport, GhostReport, Decibels } from './profile/report.js';
export { formatProfile } from './profile/format.js';
export { statsFromProfile } from './profile/to-stats.js';
export type { Int } from './ir/node.js';
export { planMixed, NOT_CHOSEN, type LayerChoice, type MixedCandidate, type MixedPlanOptions } from './plan/mixed-plan.js';
export { measureLayerChoices, type LayerChoicesOptions } from './compress/layer-choices.js';
export { mixedTrialShare } from './compress/trial-share.js';
export { planRewrites, planWithLatency, type LatencyPlanOptions, type MeasureRewrites, type Plan, type PlanOptions, type PlannedLayer } from './plan/plan.js';
export { timeLayerRewrites, type LayerLatency, type LayerLatencyOptions, type LayerNotTimed } from './plan/layer-latency.js';
export { LATENCY_NOISE, type LayerTiming, type Objective } from './plan/latency-verdict.js';
export { compressModel, type CompressOptions, type CompressDistillOptions, type CompressReport, type LayerSummary, type RuleChoice, type Stage } from './compress/compress.js';
export { distill, DEFAULT_DISTILL_STEPS, DEFAULT_DISTILL_LR, type DistillOptions, type DistillProgress, type DistillReport } from './distill/distill.js';
export { buildTrainingGraph, GRAD_OPSETS } from './grad/training-graph.js';
export type { TrainingGraph, TrainingGraphOptions } from './grad/types.js';
export { formatCompressReport } from './compress/format.js';
export { compressPage, type CompressPageReport } from './html/compress-page.js';
export { profilePage } from './html/profile-page.js';
export { similarityMap, type SimilarityMap } from './profile/similarity-map.js';
export { compareLatency, type LatencyAtBatch, type LatencyComparison, type LatencyOptions } from './runtime/latency.js';
export { measureAgreement, type OutputAgreement } from './compress/agreement.js';
export type { ClassifierRefit } from './compress/refit-classifier.js';
