import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { collectMoments } from './collect.js';
import { selectLayers } from './layers.js';
import { ProfiledLayer } from './profiled-layer.js';

export interface ProfileLayersOptions {
  /** Layers to profile, by Conv node name (output name for unnamed nodes); default all Convs of the main graph. */
  layers?: string[];
  /** onnxruntime threads (default: the machine's cores). */
  threads?: number;
  /** Samples per onnxruntime run (default 64). */
  batchSize?: number;
  /** Statistics of mean-centered maps, i.e. affine copies a·F + b (default true); false: plain scaled copies a·F. */
  centered?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: { samples: number; total: number }) => void;
}

/** What one profiling pass measured: every profiled layer's statistics, for whatever rule and setting reads them. */
export interface ModelProfile {
  model: string | null;
  input: string;
  samples: number;
  centered: boolean;
  layers: ProfiledLayer[];
}

/**
 * One pass over the calibration data collecting each Conv layer's output statistics (moments, Gram matrix): everything
 * any rule's `meta.stats` hook, the planner's scores and the profile report are computed from. The model is not
 * modified: a copy with statistics outputs runs on onnxruntime.
 */
export async function profileLayers(model: Model, calib: CalibrationSet, options: ProfileLayersOptions = {}): Promise<ModelProfile> {
  const batchSize = options.batchSize ?? 64;
  const centered = options.centered ?? true;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw ftmError('E_USAGE', `expected the batch size to be a positive integer, found ${batchSize}`);
  checkCalibration(model, calib);
  const layers = selectLayers(model, options.layers);
  const collected = await collectMoments(model, calib, layers, { threads: options.threads, batchSize, onProgress: options.onProgress });
  return {
    model: model.path ?? null,
    input: calib.inputName,
    samples: calib.count,
    centered,
    layers: layers.map((layer, k) => new ProfiledLayer(layer, collected[k].moments, collected[k].outputShape, centered)),
  };
}

/** The calibration set must feed the model's only free input with samples of its shape. */
function checkCalibration(model: Model, calib: CalibrationSet): void {
  if (calib.count === 0) throw ftmError('E_CALIB_EMPTY', 'expected calibration samples, found none');
  const free = model.graph.inputs.filter((v) => !v.initializer);
  const input = free.find((v) => v.name === calib.inputName);
  const names = free.map((v) => `"${v.name}"`).join(', ');
  if (!input) throw ftmError('E_CALIB_SHAPE', `the calibration data is for input "${calib.inputName}", the model's inputs are ${names}`, model.path);
  if (free.length > 1) throw ftmError('E_UNSUPPORTED', `expected a model with one input to feed, found ${names}`, model.path);
  const declared = input.shape?.slice(1);
  const mismatch = declared && (declared.length !== calib.sampleShape.length || declared.some((d, i) => typeof d === 'number' && d !== calib.sampleShape[i]));
  if (mismatch) {
    const show = (dims: readonly unknown[]) => `[${dims.map((d) => d ?? '?').join(', ')}]`;
    throw ftmError('E_CALIB_SHAPE', `input "${input.name}" takes samples of shape ${show(declared)}, the calibration samples are ${show(calib.sampleShape)}`, model.path);
  }
}
