import type { GradRule } from '../types.js';

/** Sigmoid: dy/dx = y·(1 − y), from the forward output. */
export const sigmoid: GradRule = {
  backward(node, [g], ctx) {
    const y = node.outputs[0];
    return [ctx.op('Mul', [g, ctx.op('Mul', [y, ctx.op('Sub', [ctx.scalar(1), y])])])];
  },
};
