import type { Node } from '../../ir/node.js';
import type { GradInfo, GradRule } from '../types.js';
import { normAxis, range } from './axes.js';

/**
 * The axes one softmax normalizes over: from opset 13 the `axis` alone (default −1); before, the input was flattened
 * to 2-D at `axis` (default 1), so every axis from there on.
 */
function softmaxAxes(node: Node, info: GradInfo): number[] | undefined {
  const rank = info.shape(node.inputs[0])?.length;
  if (rank === undefined) return undefined;
  const axis = normAxis(node.getInt('axis', info.opset >= 13 ? -1 : 1), rank);
  return info.opset >= 13 ? [axis] : range(axis, rank);
}

const rankKnown = (node: Node, info: GradInfo) => (softmaxAxes(node, info) ? undefined : 'the rank of its input is unknown');

/** Softmax: dx = y·(g − Σ g·y), the sum over the normalized axes. */
export const softmax: GradRule = {
  check: rankKnown,
  backward(node, [g], ctx) {
    const y = node.outputs[0]!;
    const dot = ctx.reduceSum(ctx.op('Mul', [g, y]), softmaxAxes(node, ctx)!, true);
    return [ctx.op('Mul', [y, ctx.op('Sub', [g, dot])])];
  },
};

/** LogSoftmax: dx = g − softmax(x)·Σ g, with softmax(x) = exp(y). */
export const logSoftmax: GradRule = {
  check: rankKnown,
  backward(node, [g], ctx) {
    const total = ctx.reduceSum(g!, softmaxAxes(node, ctx)!, true);
    return [ctx.op('Sub', [g, ctx.op('Mul', [ctx.op('Exp', [node.outputs[0]]), total])])];
  },
};
