import { DataType } from '../../ir/dtype.js';
import type { GradRule } from '../types.js';

/**
 * Relu: the gradient passes where the output is positive, as g·float(y > 0). onnxruntime's Where with a scalar branch
 * is the slow part of Where(y > 0, g, 0), so on its own the mask product is faster; in the whole training graph the
 * two forms cost the same (measured: bench/grad-forms.md).
 */
export const relu: GradRule = {
  backward(node, [g], ctx) {
    const positive = ctx.op('Cast', [ctx.op('Greater', [node.outputs[0], ctx.scalar(0)])], { to: DataType.FLOAT });
    return [ctx.op('Mul', [g, positive])];
  },
};
