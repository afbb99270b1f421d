import type { GradRule } from '../types.js';

/**
 * HardSwish, y = x·max(0, min(1, x/6 + 1/2)): dy/dx = x/3 + 1/2 for |x| < 3, and outside that band the clamped
 * factor itself (0 below, 1 above), which HardSigmoid with the same α and β gives.
 */
export const hardSwish: GradRule = {
  backward(node, [g], ctx) {
    const x = node.inputs[0];
    const band = ctx.op('Less', [ctx.op('Abs', [x]), ctx.scalar(3)]);
    const slope = ctx.op('Add', [ctx.op('Mul', [x, ctx.scalar(1 / 3)]), ctx.scalar(0.5)]);
    const outside = ctx.op('HardSigmoid', [x], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    return [ctx.op('Mul', [g, ctx.op('Where', [band, slope, outside])])];
  },
};
