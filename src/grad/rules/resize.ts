import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import type { GradContext, GradInfo, GradRule } from '../types.js';
import { isStatic, range } from './axes.js';

const f32 = Math.fround;

/** Where output coordinate `i` of one axis samples the input, per coordinate_transformation_mode (float32, as onnxruntime). */
function sourceCoordinate(mode: string, i: number, scale: number, inLen: number, outLen: number): number | undefined {
  switch (mode) {
    case 'half_pixel':
      return f32(f32(f32(i + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f32(f32(f32(i + 0.5) / scale) - 0.5) : 0;
    case 'half_pixel_symmetric': {
      const offset = (inLen / 2) * (1 - outLen / (scale * inLen));
      return f32(offset + f32(f32(i + 0.5) / scale) - 0.5);
    }
    case 'align_corners':
      return outLen === 1 ? 0 : f32(f32(i * (inLen - 1)) / (outLen - 1));
    case 'asymmetric':
      return f32(i / scale);
    case 'tf_half_pixel_for_nn':
      return f32(f32(i + 0.5) / scale);
    default:
      return undefined;
  }
}

/** The input index a nearest-neighbour output takes, per nearest_mode, clamped into the input. */
function nearestIndex(mode: string, x: number, inLen: number): number | undefined {
  const tie = x === Math.floor(x) + 0.5;
  const round = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
  const picked = { round_prefer_floor: tie ? Math.floor(x) : round(x), round_prefer_ceil: tie ? Math.ceil(x) : round(x), floor: Math.floor(x), ceil: Math.ceil(x) }[mode];
  return picked === undefined ? undefined : Math.min(Math.max(picked, 0), inLen - 1);
}

/** For each spatial axis, the input index each output index copies; a string says why it cannot be known. */
function sourceMaps(node: Node, info: GradInfo): number[][] | string {
  if (node.getString('mode', 'nearest') !== 'nearest') return `mode=${node.getString('mode', 'nearest')} is not covered (only nearest)`;
  if (node.attr('axes') || node.getString('keep_aspect_ratio_policy', 'stretch') !== 'stretch') return 'the axes and keep_aspect_ratio_policy attributes are not covered';
  const xs = info.shape(node.inputs[0]);
  if (!xs || !isStatic(xs.slice(1))) return 'its input channels and spatial sizes are not known statically';
  const input = xs.slice(2) as number[];
  const scales = info.constantValues(node.inputs[2]);
  const sizes = info.constantValues(node.inputs[3]);
  let spatialScales: number[], output: number[];
  if (sizes?.length) {
    if (sizes[1] !== xs[1]) return 'resizing the channel axis is not covered';
    output = sizes.slice(2);
    spatialScales = output.map((o, i) => f32(o / input[i]));
  } else if (scales?.length) {
    if (scales[0] !== 1 || scales[1] !== 1) return 'resizing the batch or channel axis is not covered';
    spatialScales = scales.slice(2);
    output = input.map((d, i) => Math.floor(f32(d * spatialScales[i])));
  } else return 'its scales or sizes are not constant';
  const ctm = node.getString('coordinate_transformation_mode', 'half_pixel');
  const nearest = node.getString('nearest_mode', 'round_prefer_floor');
  const maps: number[][] = [];
  for (const [a, inLen] of input.entries()) {
    const map = range(0, output[a]).map((i) => {
      const x = sourceCoordinate(ctm, i, spatialScales[a], inLen, output[a]);
      return x === undefined ? undefined : nearestIndex(nearest, x, inLen);
    });
    if (map.some((m) => m === undefined)) return `coordinate_transformation_mode=${ctm} with nearest_mode=${nearest} is not covered`;
    maps.push(map as number[]);
  }
  return maps;
}

/** The integer factor s when output i copies input ⌊i/s⌋ on this axis (plain upsampling), else undefined. */
function blockFactor(map: number[], inLen: number): number | undefined {
  const s = map.length / inLen;
  return Number.isInteger(s) && map.every((m, i) => m === Math.floor(i / s)) ? s : undefined;
}

/**
 * Resize in nearest mode: every output copies one input, so the adjoint sums, for each input, the gradients of the
 * outputs that copied it. Plain integer upsampling (each input copied to an s×s block) is a reshape that exposes the
 * blocks and a sum over them. Any other mapping (fractional scales, downsampling, align_corners, ...) is, per axis, a
 * product with the constant 0/1 matrix of the mapping.
 */
export const resize: GradRule = {
  inputs: [0],
  check(node, info) {
    const maps = sourceMaps(node, info);
    return typeof maps === 'string' ? maps : undefined;
  },
  backward(node, [g], ctx) {
    const maps = sourceMaps(node, ctx) as number[][];
    const input = ctx.shape(node.inputs[0])!.slice(2) as number[];
    const factors = maps.map((m, a) => blockFactor(m, input[a]));
    if (factors.every((f) => f !== undefined)) {
      const blocks = ctx.op('Reshape', [g, ctx.ints([0, 0, ...input.flatMap((d, a) => [d, factors[a]!])])]);
      return [ctx.reduceSum(blocks, input.map((_, a) => 3 + 2 * a), false)];
    }
    let grad = g!;
    for (const [a, map] of maps.entries()) {
      if (map.length === input[a] && map.every((m, i) => m === i)) continue;
      grad = alongAxis(grad, 2 + a, 2 + input.length, oneHot(map, input[a], ctx), ctx);
    }
    return [grad];
  },
};

/** The [outputs, inputs] matrix with a 1 where an output copies an input. */
function oneHot(map: number[], inLen: number, ctx: GradContext): Value {
  const m = new Float32Array(map.length * inLen);
  map.forEach((src, i) => (m[i * inLen + src] = 1));
  return ctx.constant('copies', Tensor.float32([map.length, inLen], m));
}

/** Contracts axis `axis` of `v` (rank `rank`) with `matrix`, moving that axis last for the MatMul and back. */
function alongAxis(v: Value, axis: number, rank: number, matrix: Value, ctx: GradContext): Value {
  if (axis === rank - 1) return ctx.op('MatMul', [v, matrix]);
  const perm = range(0, rank).map((i) => (i === axis ? rank - 1 : i === rank - 1 ? axis : i));
  return ctx.op('Transpose', [ctx.op('MatMul', [ctx.op('Transpose', [v], { perm }), matrix])], { perm });
}
