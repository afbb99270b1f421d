import type { GradRule } from '../types.js';

/** Tanh: dy/dx = 1 − y², from the forward output. */
export const tanh: GradRule = {
  backward(node, [g], ctx) {
    const y = node.outputs[0];
    return [ctx.op('Mul', [g, ctx.op('Sub', [ctx.scalar(1), ctx.op('Mul', [y, y])])])];
  },
};
