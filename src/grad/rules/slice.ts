import type { Node } from '../../ir/node.js';
import type { GradInfo, GradRule } from '../types.js';
import { normAxis } from './axes.js';

/** Zero padding that puts a slice's gradient back where the slice was taken from; a string says why it cannot. */
function slicePads(node: Node, info: GradInfo): number[] | string {
  const xs = info.shape(node.inputs[0]);
  const [starts, ends, axesIn, steps] = [1, 2, 3, 4].map((i) => (node.inputs[i] ? info.constantValues(node.inputs[i]) : undefined));
  if (!xs) return 'the rank of its input is unknown';
  if (!starts || !ends || (node.inputs[3] && !axesIn) || (node.inputs[4] && !steps)) return 'its starts, ends, axes or steps are not constant';
  if (steps?.some((s) => s !== 1)) return 'steps other than 1 are not covered';
  const pads = new Array<number>(2 * xs.length).fill(0);
  const axes = (axesIn ?? starts.map((_, i) => i)).map((a) => normAxis(a, xs.length));
  for (const [i, axis] of axes.entries()) {
    const dim = xs[axis];
    if (dim === null) return `the size of axis ${axis} of its input is not known statically`;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const begin = clamp(starts[i]);
    const length = Math.max(0, clamp(ends[i]) - begin);
    pads[axis] = begin;
    pads[axis + xs.length] = dim - begin - length;
  }
  return pads;
}

/** Slice with unit steps: the gradient zero-padded back to the input's extent. */
export const slice: GradRule = {
  inputs: [0],
  check(node, info) {
    const pads = slicePads(node, info);
    return typeof pads === 'string' ? pads : undefined;
  },
  backward(node, [g], ctx) {
    return [ctx.op('Pad', [g, ctx.ints(slicePads(node, ctx) as number[])])];
  },
};
