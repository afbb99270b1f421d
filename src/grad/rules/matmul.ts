import type { Value } from '../../ir/value.js';
import type { GradContext, GradRule } from '../types.js';
import { range } from './axes.js';

/** Swaps the last two axes of a tensor of rank `rank`. */
const transposeLast = (v: Value, rank: number, ctx: GradContext) => ctx.op('Transpose', [v], { perm: [...range(0, rank - 2), rank - 1, rank - 2] });

/**
 * MatMul with numpy batch broadcasting, both operands of rank ≥ 2: dA = dY·Bᵀ and dB = Aᵀ·dY, each summed over the
 * batch axes its operand was broadcast along.
 */
export const matmul: GradRule = {
  check(node, info) {
    const ranks = [info.shape(node.inputs[0]), info.shape(node.inputs[1]), info.shape(node.outputs[0])].map((s) => s?.length);
    if (ranks.some((r) => r === undefined)) return 'the rank of an operand is unknown';
    return ranks.some((r) => r! < 2) ? 'a 1-D operand is not covered' : undefined;
  },
  backward(node, [g], ctx) {
    const [a, b] = node.inputs as Value[];
    const [as, bs, ys] = [ctx.shape(a)!, ctx.shape(b)!, ctx.shape(node.outputs[0])!];
    const batch = ys.slice(0, -2);
    const da = ctx.needsGrad(a) ? ctx.unbroadcast(ctx.op('MatMul', [g, transposeLast(b, bs.length, ctx)]), [...batch, ...as.slice(-2)], a) : null;
    const db = ctx.needsGrad(b) ? ctx.unbroadcast(ctx.op('MatMul', [transposeLast(a, as.length, ctx), g]), [...batch, ...bs.slice(-2)], b) : null;
    return [da, db];
  },
};
