import { convGeometry, convOutputSize, resolvePads, type ConvGeometry } from '../../ir/conv.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import type { GradInfo, GradRule } from '../types.js';
import { isStatic } from './axes.js';
import { windowAdjoint } from './conv-transpose.js';

interface PoolShape {
  geo: ConvGeometry;
  pads: number[];
  channels: number;
  input: number[];
  output: number[];
}

function poolShape(node: Node, info: GradInfo): PoolShape | string {
  const xs = info.shape(node.inputs[0]);
  if (!xs || !isStatic(xs.slice(1))) return 'its input channels and spatial sizes are not known statically';
  const input = xs.slice(2) as number[];
  const geo = convGeometry(node);
  const pads = resolvePads(geo, input);
  const output = convOutputSize({ ...geo, pads }, input);
  if (geo.ceilMode && output.some((o, i) => o !== convOutputSize({ ...geo, pads, ceilMode: false }, input)[i])) {
    return 'ceil_mode with a partial last window is not covered';
  }
  return { geo, pads, channels: xs[1] as number, input, output };
}

/**
 * How many input positions each output of one axis averaged: all kernel taps with count_include_pad, else the taps
 * that land inside the input.
 */
function divisors(s: PoolShape, axis: number, includePad: boolean): number[] {
  const { geo, pads, input, output } = s;
  return Array.from({ length: output[axis] }, (_, o) => {
    if (includePad) return geo.kernel[axis];
    let n = 0;
    for (let t = 0; t < geo.kernel[axis]; t++) {
      const at = o * geo.strides[axis] - pads[axis] + t * geo.dilations[axis];
      if (at >= 0 && at < input[axis]) n++;
    }
    return n;
  });
}

/**
 * AveragePool: each output spreads its gradient, divided by its own divisor, evenly over the positions it averaged.
 * That is a depthwise ConvTranspose with an all-ones kernel of the pool's geometry, after dividing the gradient by the
 * map of divisors (a constant: it depends on the sizes only).
 */
export const averagePool: GradRule = {
  check(node, info) {
    const s = poolShape(node, info);
    return typeof s === 'string' ? s : undefined;
  },
  backward(node, [g], ctx) {
    const s = poolShape(node, ctx) as PoolShape;
    const { geo, pads, channels, input, output } = s;
    const perAxis = output.map((_, a) => divisors(s, a, node.getInt('count_include_pad', 0) === 1));
    const weights = new Float32Array(output.reduce((a, b) => a * b, 1)).map((_, flat) => {
      let d = 1;
      for (let a = output.length - 1; a >= 0; a--) {
        d *= perAxis[a][flat % output[a]];
        flat = Math.floor(flat / output[a]);
      }
      return 1 / d;
    });
    const scaled = ctx.op('Mul', [g, ctx.constant('inverse_divisors', Tensor.float32([1, 1, ...output], weights))]);
    const ones = ctx.constant('ones', Tensor.float32([channels, 1, ...geo.kernel], new Float32Array(channels * geo.kernel.reduce((a, b) => a * b, 1)).fill(1)));
    return [windowAdjoint(ctx, scaled, ones, geo, channels, pads, input, output)];
  },
};
