import { DataType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { GradContext, GradInfo, GradRule } from '../types.js';
import { normAxis, range } from './axes.js';

/**
 * The adjoint of summing (or averaging) `x` over `axes`: the gradient, given back its reduced axes when the reduction
 * dropped them, is expanded over them (divided by how many elements each output averaged).
 */
export function spreadBack(g: Value, x: Value, y: Value, axes: readonly number[], keepdims: boolean, mean: boolean, ctx: GradContext): Value {
  let grad = keepdims ? g : ctx.unsqueeze(g, axes);
  if (mean) {
    const xs = ctx.shape(x)!;
    const count = axes.reduce<number | null>((n, a) => (n === null || xs[a] === null ? null : n * xs[a]!), 1);
    // A batch axis among the averaged ones has no static size: the count is then Size(x)/Size(y) at run time.
    const scale = count !== null ? ctx.scalar(1 / count) : ctx.op('Div', [floatSize(y, ctx), floatSize(x, ctx)]);
    grad = ctx.op('Mul', [grad, scale]);
  }
  return ctx.op('Expand', [grad, ctx.shapeOf(x)]);
}

const floatSize = (v: Value, ctx: GradContext) => ctx.op('Cast', [ctx.op('Size', [v])], { to: DataType.FLOAT });

/** The sorted axes a ReduceSum/ReduceMean reduces, or why they are not known. */
function reducedAxes(node: Node, info: GradInfo): number[] | string {
  const xs = info.shape(node.inputs[0]);
  if (!xs) return 'the rank of its input is unknown';
  const fromInput = node.inputs[1] ? info.constantValues(node.inputs[1]) : undefined;
  if (node.inputs[1] && !fromInput) return 'its axes are not constant';
  const axes = node.getInts('axes') ?? fromInput ?? [];
  if (axes.length === 0) return node.getInt('noop_with_empty_axes', 0) ? [] : range(0, xs.length);
  return [...new Set(axes.map((a) => normAxis(a, xs.length)))].sort((a, b) => a - b);
}

function reduceRule(mean: boolean): GradRule {
  return {
    inputs: [0],
    check(node, info) {
      const axes = reducedAxes(node, info);
      return typeof axes === 'string' ? axes : undefined;
    },
    backward(node, [g], ctx) {
      const axes = reducedAxes(node, ctx) as number[];
      if (axes.length === 0) return [g];
      return [spreadBack(g!, node.inputs[0]!, node.outputs[0]!, axes, node.getInt('keepdims', 1) === 1, mean, ctx)];
    },
  };
}

export const reduceSum = reduceRule(false);
export const reduceMean = reduceRule(true);
