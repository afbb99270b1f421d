/** Calibration data as the rest of the tool sees it: preprocessed float32 samples in the model's input layout. */

export interface CalibBatch {
  /** `count` samples, each of `CalibrationSet.sampleShape`, concatenated (NCHW for images). */
  data: Float32Array;
  count: number;
  /** The file each sample came from (an .npy holding many samples repeats its name). */
  sources: string[];
}

export interface CalibrationSet {
  /** The model input the samples feed. */
  inputName: string;
  /** Shape of one sample, without the batch dim, e.g. [1, 28, 28]. */
  sampleShape: number[];
  /** Number of samples. */
  count: number;
  /** Streams the samples in a fixed order, `batchSize` at a time (the last batch may be smaller). */
  batches(batchSize: number): AsyncGenerator<CalibBatch>;
  /** The samples with these indices, in this order (for held-out splits and sampling). */
  subset(indices: number[]): CalibrationSet;
}
