import type { GradRule } from '../types.js';
import { range } from './axes.js';
import { spreadBack } from './reduce.js';

/** GlobalAveragePool: a mean over the spatial axes, kept as size-1 axes. */
export const globalAveragePool: GradRule = {
  check(node, info) {
    return info.shape(node.inputs[0]) ? undefined : 'the rank of its input is unknown';
  },
  backward(node, [g], ctx) {
    const x = node.inputs[0]!;
    return [spreadBack(g!, x, node.outputs[0]!, range(2, ctx.shape(x)!.length), true, true, ctx)];
  },
};
