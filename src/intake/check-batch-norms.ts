import { ftmError } from '../errors.js';
import type { Graph } from '../ir/graph.js';

const BN_INPUTS = ['X', 'scale', 'B', 'input_mean', 'input_var'];

/** A BatchNormalization without its five inputs is not a model onnxruntime can run: say so, naming the node. */
export function checkBatchNorms(graph: Graph): void {
  for (const node of graph.allNodes()) {
    if (node.opType !== 'BatchNormalization' || !node.isOnnxDomain) continue;
    const missing = BN_INPUTS.filter((_, i) => !node.inputs[i]);
    if (missing.length) throw ftmError('E_GRAPH_INVALID', `BatchNormalization needs the inputs ${BN_INPUTS.join(', ')}; ${missing.join(', ')} missing`, node.label);
  }
}
