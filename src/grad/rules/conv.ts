import { convGeometry, convOutputSize, resolvePads } from '../../ir/conv.js';
import type { Node } from '../../ir/node.js';
import type { GradInfo, GradRule } from '../types.js';
import { isStatic, range } from './axes.js';
import { windowAdjoint } from './conv-transpose.js';
import { weightGrad, type ConvShape } from './conv-weight.js';

function convShape(node: Node, info: GradInfo): ConvShape | string {
  const xs = info.shape(node.inputs[0]);
  const ws = info.shape(node.inputs[1]);
  if (!isStatic(ws)) return 'its weight shape is unknown';
  if (!xs || !isStatic(xs.slice(1))) return 'its input channels and spatial sizes are not known statically';
  const input = xs.slice(2) as number[];
  const geo = convGeometry(node, ws);
  const pads = resolvePads(geo, input);
  return { geo, pads, input, output: convOutputSize({ ...geo, pads }, input), channelsIn: xs[1] as number, channelsOut: ws[0] as number };
}

/**
 * Conv, any spatial rank, groups (depthwise included), strides, pads, auto_pad, dilations.
 * - dX: the window adjoint (conv-transpose.ts): a Conv with the flipped weight at stride 1, else a ConvTranspose.
 * - dW: per kernel tap, the shifted input against the output gradient (conv-weight.ts).
 * - dB: the output gradient summed over batch and space.
 */
export const conv: GradRule = {
  check(node, info) {
    const shape = convShape(node, info);
    return typeof shape === 'string' ? shape : undefined;
  },
  backward(node, [g], ctx) {
    const [x, w, b] = node.inputs;
    const s = convShape(node, ctx) as ConvShape;
    return [
      ctx.needsGrad(x) ? windowAdjoint(ctx, g!, w!, s.geo, s.geo.group, s.pads, s.input, s.output) : null,
      ctx.needsGrad(w) ? weightGrad(g!, x!, s, ctx) : null,
      ctx.needsGrad(b) ? ctx.reduceSum(g!, [0, ...range(2, 2 + s.input.length)], false) : null,
    ];
  },
};
