import type { Graph } from '../ir/graph.js';
import { constantPayload } from './constant-payload.js';

/**
 * Turns the main graph's Constant nodes into initializers of the same name, the form every rule reads weights in
 * (paddle2onnx, for one, stores every weight as a Constant). A Constant whose output is a graph output stays a node
 * (an initializer is not a computed output), and so does a sparse or string one. Returns how many were lifted.
 */
export function liftConstants(graph: Graph): number {
  let lifted = 0;
  for (const node of [...graph.nodes]) {
    if (node.opType !== 'Constant' || !node.isOnnxDomain) continue;
    const payload = constantPayload(node);
    const out = node.outputs[0];
    if (!payload || !out || graph.outputs.includes(out)) continue;
    graph.removeNode(node);
    payload.name = out.name;
    out.initializer = payload;
    graph.initializers.push(out);
    lifted++;
  }
  return lifted;
}
