/** Calibration data: what the rest of the tool imports from src/calib. */
export type { CalibBatch, CalibrationSet } from './types.js';
export { loadCalibration, type CalibOptions } from './load.js';
export { calibrationFromArray } from './memory.js';
export {
  checkPreprocess,
  parseSize,
  readPreprocessFile,
  PREPROCESS_DEFAULTS,
  type ChannelOrder,
  type PreprocessOptions,
  type ResizeMode,
} from './preprocess.js';
export { findModelInput, resolveInput, type ImageInput, type ModelInput } from './model-input.js';
export { mulberry32, sampleIndices } from './random.js';
