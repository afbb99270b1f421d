import type { Graph } from '../ir/graph.js';
import { isFloatType } from '../ir/dtype.js';
import { AttrType, type Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';

/**
 * Parameters of a model as a user counts them (what `--target-ratio` counts): the elements of every floating-point
 * tensor it stores, whether as an initializer or as a Constant node's value, in the main graph and in subgraphs.
 * Exporters such as paddle2onnx keep every weight in Constant nodes; counting initializers alone would read 0.
 */
export function countParams(graph: Graph): number {
  let n = 0;
  for (const v of graph.initializers) n += floats(v.initializer!);
  for (const node of graph.nodes) {
    if (node.opType === 'Constant' && node.isOnnxDomain) n += constantFloats(node);
    for (const sub of node.subgraphs()) n += countParams(sub);
  }
  return n;
}

const floats = (t: Tensor) => (isFloatType(t.dataType) ? t.size : 0);

/** Float elements of a Constant's payload (value, value_float, value_floats); other payloads hold none. */
function constantFloats(node: Node): number {
  let n = 0;
  for (const a of node.attributes) {
    if (a.name === 'value' && a.type === AttrType.TENSOR) n += floats(a.value as Tensor);
    else if (a.name === 'value_float' && a.type === AttrType.FLOAT) n += 1;
    else if (a.name === 'value_floats' && a.type === AttrType.FLOATS) n += (a.value as number[]).length;
  }
  return n;
}
