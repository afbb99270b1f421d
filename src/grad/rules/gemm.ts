import type { GradRule } from '../types.js';

/**
 * Gemm, Y = α·op(A)·op(B) + β·C: each operand's gradient is itself one Gemm of the output gradient with the other
 * operand, the transposes chosen so that it comes out in the operand's own layout; C's is β·dY summed over what C
 * was broadcast along.
 */
export const gemm: GradRule = {
  check(node, info) {
    return node.inputs[2] && (!info.shape(node.inputs[2]) || !info.shape(node.outputs[0])) ? 'the rank of its C input is unknown' : undefined;
  },
  backward(node, [g], ctx) {
    const [a, b, c] = node.inputs;
    const alpha = node.getFloat('alpha', 1);
    const beta = node.getFloat('beta', 1);
    const ta = node.getInt('transA', 0);
    const tb = node.getInt('transB', 0);
    const gemm = (p: typeof a, q: typeof a, transA: number, transB: number) => ctx.op('Gemm', [p, q], { alpha: { float: alpha }, transA, transB });
    const da = ctx.needsGrad(a) ? (ta ? gemm(b, g, tb, 1) : gemm(g, b, 0, 1 - tb)) : null;
    const db = ctx.needsGrad(b) ? (tb ? gemm(g, a, 1, ta) : gemm(a, g, 1 - ta, 0)) : null;
    let dc = null;
    if (ctx.needsGrad(c)) {
      const scaled = beta === 1 ? g! : ctx.op('Mul', [g, ctx.scalar(beta)]);
      dc = ctx.unbroadcast(scaled, ctx.shape(node.outputs[0]), c!);
    }
    return [da, db, dc];
  },
};
