import { DataType } from '../../ir/dtype.js';
import type { GradRule } from '../types.js';

/**
 * Relu: the gradient passes where the output is positive, as g·float(y > 0). onnxruntime's Where with a scalar branch
 * is the slow part of Where(y > 0, g, 0) (batch 64, 16 ch at 28×28, 1 thread: Greater+Where 0.71 ms, Greater+Cast+Mul
 * 0.49 ms, Sign+Mul 0.99 ms). In the fixture's whole training graph on 2 threads the two forms measured the same.
 */
export const relu: GradRule = {
  backward(node, [g], ctx) {
    const positive = ctx.op('Cast', [ctx.op('Greater', [node.outputs[0], ctx.scalar(0)])], { to: DataType.FLOAT });
    return [ctx.op('Mul', [g, positive])];
  },
};
