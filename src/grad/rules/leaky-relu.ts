import type { GradRule } from '../types.js';

/** LeakyRelu: slope 1 where the input is positive, alpha elsewhere. */
export const leakyRelu: GradRule = {
  backward(node, [g], ctx) {
    const alpha = node.getFloat('alpha', 0.01);
    return [ctx.op('Where', [ctx.op('Greater', [node.inputs[0], ctx.scalar(0)]), g, ctx.op('Mul', [g, ctx.scalar(alpha)])])];
  },
};
