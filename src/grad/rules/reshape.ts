import type { GradRule } from '../types.js';

/** Reshape, Flatten, Squeeze, Unsqueeze: the data is unchanged, so the gradient is reshaped back to the input's shape. */
export const reshape: GradRule = {
  inputs: [0],
  backward(node, [g], ctx) {
    return [ctx.reshapeLike(g!, node.inputs[0]!)];
  },
};
