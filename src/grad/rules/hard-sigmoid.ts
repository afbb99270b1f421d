import type { GradRule } from '../types.js';

/** HardSigmoid, y = max(0, min(1, αx + β)): slope α where the output is strictly between 0 and 1. */
export const hardSigmoid: GradRule = {
  backward(node, [g], ctx) {
    const y = node.outputs[0];
    const inside = ctx.op('And', [ctx.op('Greater', [y, ctx.scalar(0)]), ctx.op('Less', [y, ctx.scalar(1)])]);
    return [ctx.op('Where', [inside, ctx.op('Mul', [g, ctx.scalar(node.getFloat('alpha', 0.2))]), ctx.scalar(0)])];
  },
};
