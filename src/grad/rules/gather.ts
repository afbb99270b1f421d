import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { GradInfo, GradRule } from '../types.js';
import { normAxis } from './axes.js';

interface GatherShape {
  axis: number;
  size: number;
  indices: number[];
  scalar: boolean;
}

function gatherShape(node: Node, info: GradInfo): GatherShape | string {
  const xs = info.shape(node.inputs[0]);
  const idx = node.inputs[1];
  const indices = info.constantValues(idx);
  const idxRank = (idx?.initializer?.dims ?? info.shape(idx))?.length;
  if (!xs) return 'the rank of its input is unknown';
  if (!indices || idxRank === undefined) return 'its indices are not constant';
  if (idxRank > 1) return 'indices of rank > 1 are not covered';
  const axis = normAxis(node.getInt('axis', 0), xs.length);
  const size = xs[axis];
  if (size === null) return `the size of its gathering axis ${axis} is not known statically`;
  return { axis, size, indices: indices.map((i) => (i < 0 ? i + size : i)), scalar: idxRank === 0 };
}

/**
 * Gather along an axis with constant indices (FTM's channel order): the adjoint scatters the gradient back, summing
 * where an index repeats. Without ScatterElements' add (opset 16) this is done as gathers: the gradient gets one zero
 * slot appended along the axis, and pass r gathers, for each input position, the r-th output position that read it
 * (or the zero slot). A permutation takes one pass; a channel read k times, k passes.
 */
export const gather: GradRule = {
  inputs: [0],
  check(node, info) {
    const s = gatherShape(node, info);
    return typeof s === 'string' ? s : undefined;
  },
  backward(node, [g], ctx) {
    const { axis, size, indices, scalar } = gatherShape(node, ctx) as GatherShape;
    const grad = scalar ? ctx.unsqueeze(g!, [axis]) : g!;
    const readers: number[][] = Array.from({ length: size }, () => []);
    indices.forEach((src, out) => readers[src].push(out));
    const passes = Math.max(...readers.map((r) => r.length));
    // When every pass finds a reader for every position (a permutation, as FTM's order), no pass reads the zero slot and
    // the Pad, a full copy of the gradient and a large share of the rule's time, is left out (measured:
    // bench/grad-forms.md).
    const padded = readers.every((r) => r.length === passes) ? grad : ctx.op('Pad', [grad, ctx.ints(zeroSlotPads(ctx.shape(node.inputs[0])!.length, axis))]);
    let sum: Value | undefined;
    for (let pass = 0; pass < passes; pass++) {
      const picked = ctx.op('Gather', [padded, ctx.ints(readers.map((r) => r[pass] ?? indices.length))], { axis });
      sum = sum ? ctx.op('Add', [sum, picked]) : picked;
    }
    return [sum ?? ctx.zerosLike(node.inputs[0]!)];
  },
};

/** Pads that append one zero slot along `axis`. */
function zeroSlotPads(rank: number, axis: number): number[] {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[rank + axis] = 1;
  return pads;
}
