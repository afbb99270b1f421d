import type { GradRule } from '../types.js';

/** Identity, and Dropout as inference runs it: the gradient passes unchanged (Dropout's mask output carries none). */
export const identity: GradRule = {
  inputs: [0],
  check(node, info) {
    const training = node.opType === 'Dropout' && node.inputs[2] ? info.constantValues(node.inputs[2]) : [0];
    return training?.[0] === 0 ? undefined : 'Dropout in training mode is not covered';
  },
  backward(_node, [g]) {
    return [g];
  },
};
