import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { GradContext, GradInfo, GradRule } from '../types.js';

/** Broadcasting needs every rank known to sum a gradient back to its operand. */
function ranksKnown(node: Node, info: GradInfo): string | undefined {
  return [...node.inputs, node.outputs[0]].some((v) => v && !info.shape(v)) ? 'the rank of an operand is unknown' : undefined;
}

/** A binary broadcasting op's rule from the gradients of its operands at the broadcast shape (before summing back). */
function binary(grads: (g: Value, a: Value, b: Value, y: Value, ctx: GradContext, need: [boolean, boolean]) => [Value | null, Value | null]): GradRule {
  return {
    check: ranksKnown,
    backward(node, [g], ctx) {
      const [a, b] = node.inputs as Value[];
      const y = node.outputs[0]!;
      const need: [boolean, boolean] = [ctx.needsGrad(a), ctx.needsGrad(b)];
      const [ga, gb] = grads(g!, a, b, y, ctx, need);
      const back = (grad: Value | null, x: Value) => grad && ctx.unbroadcast(grad, ctx.shape(y), x);
      return [need[0] ? back(ga, a) : null, need[1] ? back(gb, b) : null];
    },
  };
}

export const add = binary((g) => [g, g]);

export const sub = binary((g, _a, _b, _y, ctx, [, needB]) => [g, needB ? ctx.op('Neg', [g]) : null]);

export const mul = binary((g, a, b, _y, ctx, [needA, needB]) => [needA ? ctx.op('Mul', [g, b]) : null, needB ? ctx.op('Mul', [g, a]) : null]);

/** y = a/b: da = g/b, db = −g·a/b² = −(g/b)·y, reusing the forward output. */
export const div = binary((g, _a, b, y, ctx, [, needB]) => {
  const q = ctx.op('Div', [g, b]);
  return [q, needB ? ctx.op('Neg', [ctx.op('Mul', [q, y])]) : null];
});
