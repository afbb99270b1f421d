import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { Runner, type TensorValue } from '../runtime/session.js';
import type { ConvLayer } from './layers.js';
import { ChannelMoments } from './moments.js';
import { statisticsModel, type StatsOutputs } from './stats-graph.js';

export interface CollectOptions {
  threads?: number;
  batchSize: number;
  onProgress?: (progress: { samples: number; total: number }) => void;
}

/** A layer's statistics over the whole calibration set, and its per-sample output shape. */
export interface LayerMoments {
  moments: ChannelMoments;
  outputShape: number[];
}

/**
 * Streams the calibration set through the statistics model, one onnxruntime run per batch, and merges each batch's
 * per-layer statistics in float64. Memory holds one batch and O(C²) per layer, whatever the number of samples.
 */
export async function collectMoments(model: Model, calib: CalibrationSet, layers: readonly ConvLayer[], options: CollectOptions): Promise<LayerMoments[]> {
  const stats = statisticsModel(model, layers.map((l) => l.output), calib.inputName);
  const runner = await Runner.create(stats.model, { threads: options.threads });
  const collected: (LayerMoments | undefined)[] = layers.map(() => undefined);
  let samples = 0;
  try {
    for await (const batch of calib.batches(options.batchSize)) {
      const feed = { data: batch.data, dims: [batch.count, ...calib.sampleShape] };
      const out = await runner.run({ [calib.inputName]: feed });
      layers.forEach((layer, k) => {
        const result = readBatch(out, stats.outputs[k], layer.id);
        collected[k] ??= { moments: new ChannelMoments(result.outputShape[0]), outputShape: result.outputShape };
        collected[k]!.moments.add(result, layer.id);
      });
      samples += batch.count;
      options.onProgress?.({ samples, total: calib.count });
    }
  } finally {
    await runner.release();
  }
  return collected.map((c, k) => c ?? noData(layers[k].id));
}

function readBatch(out: Record<string, TensorValue>, names: StatsOutputs, layer: string) {
  const floats = (name: string) => {
    const data = out[name].data;
    if (!(data instanceof Float32Array)) throw ftmError('E_UNSUPPORTED', 'expected float32 activations, this Conv computes another type', layer);
    return data;
  };
  const shape = Array.from(out[names.shape].data, Number);
  return {
    positions: shape[0] * shape.slice(2).reduce((a, b) => a * b, 1),
    outputShape: shape.slice(1),
    mean: floats(names.mean),
    gram: floats(names.gram),
    max: floats(names.max),
    min: floats(names.min),
  };
}

function noData(layer: string): never {
  throw ftmError('E_CALIB_EMPTY', 'expected calibration samples, the calibration set yielded none', layer);
}
