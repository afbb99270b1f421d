import { ftmError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { nodeKey, type Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/** A Conv of the main graph, as profiling and the rewrites name it. */
export interface ConvLayer {
  /** The node's name, or its output's name when the node has none: how users and reports name the layer. */
  id: string;
  node: Node;
  output: Value;
}

/** The constant behind a value: an initializer (not overridable by a graph input) or a Constant node's tensor. */
export function constantTensor(v: Value | null | undefined): Tensor | undefined {
  if (!v) return undefined;
  if (v.isConstant) return v.initializer;
  return v.producer?.opType === 'Constant' && v.producer.isOnnxDomain ? v.producer.getTensor('value') : undefined;
}

/** Every Conv of the main graph, in graph order (subgraphs' convs cannot be tapped as graph outputs). */
export function convLayers(graph: Graph): ConvLayer[] {
  return graph.nodes
    .filter((n) => n.isOnnxDomain && n.opType === 'Conv' && n.outputs[0])
    .map((node) => ({ id: nodeKey(node), node, output: node.outputs[0]! }));
}

/** The Conv layers named (all when `ids` is undefined), in graph order; unknown names and conv-less models are errors. */
export function selectLayers(model: Model, ids?: readonly string[]): ConvLayer[] {
  const all = convLayers(model.graph);
  if (all.length === 0) throw ftmError('E_UNSUPPORTED', 'expected a model with Conv layers to profile, found none in the main graph', model.path);
  if (ids === undefined) return all;
  if (ids.length === 0) throw ftmError('E_USAGE', 'expected at least one layer name in the layer list, found none');
  const known = new Set(all.map((l) => l.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length) {
    const list = all.slice(0, 10).map((l) => `"${l.id}"`).join(', ') + (all.length > 10 ? ', ...' : '');
    throw ftmError('E_USAGE', `no Conv layer named ${missing.map((m) => `"${m}"`).join(', ')}; the model's Conv layers are ${list}`, model.path);
  }
  const wanted = new Set(ids);
  return all.filter((l) => wanted.has(l.id));
}
