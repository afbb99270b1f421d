import { inferShapes } from '../analysis/shapes.js';
import { ftmError } from '../errors.js';
import type { Graph } from '../ir/graph.js';

/**
 * Conv weights whose shape cannot work with their node, caught when the model is read: onnxruntime would refuse the
 * model only when a session is made, after the calibration data is loaded, and with its own log line. Checks what a
 * constant weight states: rank, C_out divisible by group, kernel_shape, bias length, and C_in × group against the
 * input's channels when those are known (symbolic dims are never guessed).
 */
export function checkConvWeights(graph: Graph, where: string): void {
  const convs = graph.nodes.filter((n) => n.isOnnxDomain && n.opType === 'Conv' && n.inputs[1]?.initializer);
  if (convs.length === 0) return;
  const shapes = inferShapes(graph, NaN);
  for (const node of convs) {
    const weight = node.inputs[1]!;
    const w = weight.initializer!.dims;
    const bad = (message: string) => ftmError('E_MODEL_INVALID', `weight "${weight.name}" [${w.join(', ')}] ${message}`, `${where}: node ${node.label}`);
    if (w.length < 3) throw bad('should have rank 3 or more: [C_out, C_in / group, kernel...]');
    const x = node.inputs[0] ? shapes.get(node.inputs[0]) : undefined;
    if (x && x.length !== w.length) throw bad(`has rank ${w.length}, its input "${node.inputs[0]!.name}" has rank ${x.length}: they should be equal`);
    const group = node.getInt('group', 1);
    if (group < 1 || w[0] % group !== 0) throw bad(`has ${w[0]} output channels, which group ${group} does not divide`);
    const channels = x?.[1];
    if (typeof channels === 'number' && Number.isInteger(channels) && channels !== w[1] * group) {
      throw bad(`takes ${w[1] * group} input channels (${w[1]} per group × group ${group}), its input "${node.inputs[0]!.name}" has ${channels}`);
    }
    const kernel = node.getInts('kernel_shape');
    if (kernel && (kernel.length !== w.length - 2 || kernel.some((k, i) => k !== w[i + 2]))) {
      throw bad(`has kernel ${w.slice(2).join('×')}, the node's kernel_shape is ${kernel.join('×')}`);
    }
    const bias = node.inputs[2]?.initializer;
    if (bias && (bias.dims.length !== 1 || bias.dims[0] !== w[0])) {
      throw bad(`has ${w[0]} output channels, the bias "${node.inputs[2]!.name}" has shape [${bias.dims.join(', ')}]`);
    }
  }
}
