import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { loadModel } from '../onnx/load.js';
import { encodeModel } from '../onnx/save.js';

/**
 * An independent copy of a model, made through its bytes: no Value, Node or Tensor is shared, so editing the copy can
 * never reach the caller's model. It keeps `path`, so messages about the copy still name the user's file.
 */
export function copyModel(model: Model): Model {
  const copy = loadModel(encodeModel(model));
  copy.path = model.path;
  return copy;
}

/**
 * A copy of `model` whose main graph also outputs the named values, after its own outputs and in the order given (a
 * value that already is an output stays where it is). This is how intermediate tensors are captured on onnxruntime.
 */
export function tapModel(model: Model, names: readonly string[]): Model {
  const copy = copyModel(model);
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
