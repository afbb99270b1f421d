import { ftmError } from '../errors.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';

/**
 * A copy of `model` whose main graph also outputs the named values, after its own outputs and in the order given (a
 * value that already is an output stays where it is). This is how intermediate tensors are captured on onnxruntime.
 */
export function tapModel(model: Model, names: readonly string[]): Model {
  const copy = cloneModel(model);
  const graph = copy.graph;
  for (const name of names) {
    const value = graph.lookup(name);
    if (!value || !(value.producer || value.initializer || value.isGraphInput)) {
      throw ftmError('E_USAGE', `cannot tap "${name}": the main graph has no value of that name`, model.path);
    }
    if (!graph.outputs.includes(value)) graph.outputs.push(value);
  }
  return copy;
}
