import type { Graph } from '../ir/graph.js';

/**
 * Removes each Identity whose input is a constant: its readers read the constant itself (torch.onnx keeps one copy of
 * equal tensors, e.g. zero biases, and feeds the others through Identity nodes). Sharing that results is undone where
 * a rule needs it by `privateCopies`. An Identity that yields a graph output stays. Returns how many were removed.
 */
export function removeConstantIdentities(graph: Graph): number {
  let removed = 0;
  for (const node of [...graph.nodes]) {
    const [src] = node.inputs;
    const out = node.outputs[0];
    if (node.opType !== 'Identity' || !node.isOnnxDomain || !src?.isConstant || !out || graph.outputs.includes(out)) continue;
    graph.replaceAllUses(out, src);
    graph.removeNode(node);
    graph.forget([out]);
    removed++;
  }
  return removed;
}
