import { convGeometry } from '../../ir/conv.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import type { GradRule } from '../types.js';

/** Whether two windows can read the same input position, so that its gradient must sum several outputs'. */
function windowsOverlap(node: Node): boolean {
  const geo = convGeometry(node);
  return geo.kernel.some((k, i) => geo.dilations[i] * (k - 1) + 1 > geo.strides[i]);
}

/**
 * MaxPool: each output's gradient goes to the input position it took its maximum from. The forward node is asked for
 * its Indices output (flat positions in the whole input, padding not counted), and the gradient is scattered there
 * into zeros; overlapping windows need ScatterElements' `add` reduction (opset 16) to sum positions several windows
 * picked.
 */
export const maxPool: GradRule = {
  check(node, info) {
    if (node.getInt('storage_order', 0) !== 0) return 'storage_order=1 (column-major indices) is not covered';
    if (windowsOverlap(node) && info.opset < 16) return `overlapping windows need ScatterElements with reduction (opset 16), the model has opset ${info.opset}`;
    return undefined;
  },
  backward(node, [g], ctx) {
    const x = node.inputs[0]!;
    const indices = ctx.forwardOutput(node, 1);
    const flat = ctx.ints([-1]);
    const zeros = ctx.op('ConstantOfShape', [ctx.op('Reshape', [ctx.op('Size', [x]), flat])], { value: Tensor.float32([1], [0]) });
    const scattered = ctx.op('ScatterElements', [zeros, ctx.op('Reshape', [indices, flat]), ctx.op('Reshape', [g, flat])], {
      axis: 0,
      reduction: windowsOverlap(node) ? 'add' : undefined,
    });
    return [ctx.reshapeLike(scattered, x)];
  },
};
