import type { Node } from '../../ir/node.js';
import type { GradInfo, GradRule } from '../types.js';
import { normAxis } from './axes.js';

function sizesAlongAxis(node: Node, info: GradInfo): { axis: number; sizes: number[] } | undefined {
  const shapes = node.inputs.map((v) => info.shape(v));
  if (shapes.some((s) => !s)) return undefined;
  const axis = normAxis(node.getInt('axis', 0), shapes[0]!.length);
  const sizes = shapes.map((s) => s![axis]);
  return sizes.every((d): d is number => d !== null) ? { axis, sizes } : undefined;
}

/** Concat: the output gradient split back into the inputs' extents along the axis (static sizes needed). */
export const concat: GradRule = {
  check(node, info) {
    return sizesAlongAxis(node, info) ? undefined : 'the sizes of its inputs along the concatenation axis are not known statically';
  },
  backward(node, [g], ctx) {
    const { axis, sizes } = sizesAlongAxis(node, ctx)!;
    return sizes.length === 1 ? [g] : ctx.split(g!, sizes, axis);
  },
};
