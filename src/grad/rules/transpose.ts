import type { GradRule } from '../types.js';
import { inversePerm } from './axes.js';

/** Transpose: the gradient transposed back by the inverse permutation. */
export const transpose: GradRule = {
  check(node, info) {
    return node.getInts('perm') || info.shape(node.inputs[0]) ? undefined : 'the rank of its input is unknown';
  },
  backward(node, [g], ctx) {
    const perm = node.getInts('perm') ?? ctx.shape(node.inputs[0])!.map((_, i, s) => s.length - 1 - i);
    return [ctx.op('Transpose', [g], { perm: inversePerm(perm) })];
  },
};
