import type { CalibrationSet } from '../calib/types.js';
import { ftmError } from '../errors.js';
import { removeDeadNodes } from '../graph/cleanup.js';
import type { Model } from '../ir/model.js';
import { Runner, type FloatTensor } from './session.js';
import { cloneModel } from '../ir/clone.js';

/**
 * A copy of `model` whose only outputs are the named values, with every node that does not lead to them dropped: a
 * forward pass that stops at the layer being fitted. The input's batch dim becomes symbolic and intermediate shapes
 * are left to onnxruntime, so any batch size runs.
 */
export function modelUpTo(model: Model, names: readonly string[]): Model {
  const copy = cloneModel(model);
  const graph = copy.graph;
  graph.outputs = names.map((name) => {
    const value = graph.lookup(name);
    if (!value || !(value.producer || value.initializer || value.isGraphInput)) {
      throw ftmError('E_USAGE', `cannot capture "${name}": the main graph has no value of that name`, model.path);
    }
    return value;
  });
  removeDeadNodes(graph);
  for (const input of graph.inputs) {
    const type = input.type;
    if (type?.kind === 'tensor' && type.shape?.length) type.shape = [{ param: 'batch' }, ...type.shape.slice(1)];
  }
  graph.valueInfo = [];
  return copy;
}

/** Where a captured tensor comes from: a model and the value to capture in it. */
export interface Capture {
  model: Model;
  value: string;
}

/**
 * Streams the calibration set through the models of `captures` (each cut after the values it gives, models given
 * twice run once) and yields, per batch, the captured tensors by key. One batch of activations is alive at a time.
 */
export async function* captureBatches<K extends string>(
  calib: CalibrationSet,
  captures: Record<K, Capture>,
  options: { threads?: number; batchSize: number; onBatch?: (samples: number) => void },
): AsyncGenerator<Record<K, FloatTensor>> {
  const byModel = new Map<Model, { keys: K[]; names: string[] }>();
  for (const key of Object.keys(captures) as K[]) {
    const { model, value } = captures[key];
    const entry = byModel.get(model) ?? { keys: [], names: [] };
    entry.keys.push(key);
    if (!entry.names.includes(value)) entry.names.push(value);
    byModel.set(model, entry);
  }
  const runners: { runner: Runner; keys: K[] }[] = [];
  try {
    for (const [model, { keys, names }] of byModel) runners.push({ runner: await Runner.create(modelUpTo(model, names), { threads: options.threads }), keys });
    let samples = 0;
    for await (const batch of calib.batches(options.batchSize)) {
      const feed = { [calib.inputName]: { data: batch.data, dims: [batch.count, ...calib.sampleShape] } };
      const out = {} as Record<K, FloatTensor>;
      for (const { runner, keys } of runners) {
        const results = await runner.run(feed, [...new Set(keys.map((k) => captures[k].value))]);
        for (const key of keys) {
          const t = results[captures[key].value];
          if (!(t.data instanceof Float32Array)) throw ftmError('E_UNSUPPORTED', `expected float32 activations, "${captures[key].value}" is another type`, runner.label);
          out[key] = { data: t.data, dims: t.dims };
        }
      }
      samples += batch.count;
      yield out;
      options.onBatch?.(samples);
    }
  } finally {
    await Promise.all(runners.map((r) => r.runner.release()));
  }
}
