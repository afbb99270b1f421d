import type { GradRule } from '../types.js';

/**
 * Operators whose outputs are shapes, sizes, indices or booleans: no gradient flows through them, and a path from a
 * trainable through them (e.g. Shape → Reshape's shape input) is no path to the loss rather than a blocked one.
 */
export const noGradient: GradRule = {
  inputs: [],
  backward(node) {
    return node.inputs.map(() => null);
  },
};
