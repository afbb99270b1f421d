import { toposort } from '../graph/toposort.js';
import { ftmError } from '../errors.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { nodeKey } from '../ir/node.js';

/**
 * A copy of `model` holding only the node `layer` and its constants: a new graph input of shape [N, ...sample]
 * feeds it through an Identity, and its first output is the graph output. The Identity keeps the layer as the rule
 * sees it in the model (a rule may treat a node reading a graph input apart, as FTM does its first convolution);
 * onnxruntime's graph optimizations remove it, so it costs nothing in a timing. `sample`: the layer's input shape
 * without the batch dimension.
 */
export function layerAlone(model: Model, layer: string, sample: readonly number[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  const node = g.nodes.find((n) => nodeKey(n) === layer);
  if (!node) throw ftmError('E_USAGE', `expected a node "${layer}" to time, found none`, model.path);
  g.removeNodes(g.nodes.filter((n) => n !== node));
  const input = g.newValue('layer_input', { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, ...sample.map((value) => ({ value }))] });
  const identity = g.addNode({ op: 'Identity', inputs: [input] });
  const replaced = node.inputs[0]!;
  node.setInput(0, identity.outputs[0]!);
  g.inputs = [input];
  g.outputs = [node.outputs[0]!];
  for (const v of [...g.initializers]) if (!v.uses.length) g.removeInitializer(v);
  g.forget([replaced]);
  toposort(g);
  return copy;
}
