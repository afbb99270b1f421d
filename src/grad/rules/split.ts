import type { GradRule } from '../types.js';

/** Split: the outputs' gradients concatenated back, zeros standing in for outputs that get none. */
export const split: GradRule = {
  inputs: [0],
  check(node, info) {
    return info.shape(node.inputs[0]) ? undefined : 'the rank of its input is unknown';
  },
  backward(node, grads, ctx) {
    const parts = node.outputs.map((v, i) => grads[i] ?? ctx.zerosLike(v!));
    const axis = node.getInt('axis', 0);
    return [parts.length === 1 ? parts[0] : ctx.op('Concat', parts, { axis })];
  },
};
