import type { GradRule } from '../types.js';
import { range } from './axes.js';

/**
 * BatchNormalization in inference form, y = (x − mean)·k + B with k = scale/√(var + ε), per channel (axis 1).
 * dx = g·k; dB = Σg; dscale = (Σg·x − mean·Σg)/√(var + ε); dmean = −k·Σg; dvar = −½·scale/(var + ε)·dscale,
 * the sums over every axis but the channels. Only the per-channel sums touch full-size tensors.
 */
export const batchNormalization: GradRule = {
  check(node, info) {
    if (node.getInt('training_mode', 0) || node.outputs.filter((v) => v).length > 1) return 'training mode (running statistics) is not covered';
    return info.shape(node.inputs[0]) ? undefined : 'the rank of its input is unknown';
  },
  backward(node, [g], ctx) {
    const [x, scale, bias, mean, variance] = node.inputs;
    const rank = ctx.shape(x)!.length;
    const axes = [0, ...range(2, rank)];
    const inv = ctx.op('Reciprocal', [ctx.op('Sqrt', [ctx.op('Add', [variance, ctx.scalar(node.getFloat('epsilon', 1e-5))])])]);
    const k = ctx.op('Mul', [scale, inv]);
    const dx = ctx.needsGrad(x) ? ctx.op('Mul', [g, ctx.op('Reshape', [k, ctx.ints([-1, ...range(2, rank).map(() => 1)])])]) : null;
    const sumG = ctx.reduceSum(g!, axes, false);
    const wantScale = ctx.needsGrad(scale) || ctx.needsGrad(variance);
    const dscale = wantScale ? ctx.op('Mul', [inv, ctx.op('Sub', [ctx.reduceSum(ctx.op('Mul', [g, x]), axes, false), ctx.op('Mul', [mean, sumG])])]) : null;
    const dmean = ctx.needsGrad(mean) ? ctx.op('Neg', [ctx.op('Mul', [k, sumG])]) : null;
    const dvar = ctx.needsGrad(variance) ? ctx.op('Mul', [dscale, ctx.op('Mul', [ctx.op('Mul', [scale, ctx.op('Mul', [inv, inv])]), ctx.scalar(-0.5)])]) : null;
    return [dx, ctx.needsGrad(scale) ? dscale : null, ctx.needsGrad(bias) ? sumG : null, dmean, dvar];
  },
};
