import type { GradRule } from '../types.js';

/**
 * Clip (ReLU6 and friends): the gradient passes where the output is the input itself, i.e. inside the bounds, whichever
 * bounds are given. The bounds get no gradient.
 */
export const clip: GradRule = {
  inputs: [0],
  backward(node, [g], ctx) {
    return [ctx.op('Where', [ctx.op('Equal', [node.inputs[0], node.outputs[0]]), g, ctx.scalar(0)])];
  },
};
