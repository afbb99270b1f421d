import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';

/**
 * A float initializer stops being a constant: it becomes a plain graph input of the same name and dims, fed per run.
 * Not an initializer also listed as an input (ONNX's overridable form): onnxruntime-node leaves such inputs out of
 * `inputNames` and ignores feeds for them.
 */
export function feedAsInput(graph: Graph, v: Value): void {
  const dims = v.initializer!.dims;
  graph.removeInitializer(v);
  v.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: dims.map((d) => ({ value: d })) };
  if (!graph.inputs.includes(v)) graph.inputs.push(v);
}
