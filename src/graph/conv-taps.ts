import type { ConvGeometry } from '../ir/conv.js';
import type { AttrInit } from '../ir/node.js';
import type { Value } from '../ir/value.js';

/** How the caller adds nodes to its graph: an operator and a 1-D int64 constant. */
export interface NodeMaker {
  op(opType: string, inputs: Value[], attrs?: Record<string, AttrInit | undefined>): Value;
  ints(values: readonly number[]): Value;
}

/**
 * Per kernel tap (row-major, a Conv weight's order), the zero-padded input `x` [N, C, ...input] at the positions that
 * tap reads: [N, C, ...output], one strided Slice each. Stacked after the channel axis they are the conv's patches
 * (im2col) by data movement alone, exact in any precision.
 */
export function tapSlices(x: Value, geo: ConvGeometry, pads: readonly number[], input: readonly number[], output: readonly number[], make: NodeMaker): Value[] {
  const r = input.length;
  const spatial = Array.from({ length: r }, (_, i) => 2 + i);
  const padded = pads.some((p) => p !== 0) ? make.op('Pad', [x, make.ints([0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)])]) : x;
  return kernelTaps(geo.kernel).map((tap) => {
    const starts = tap.map((t, i) => t * geo.dilations[i]);
    const ends = starts.map((b, i) => b + (output[i] - 1) * geo.strides[i] + 1);
    const whole = starts.every((b, i) => b === 0 && ends[i] === input[i] + pads[i] + pads[i + r]) && geo.strides.every((st) => st === 1);
    return whole ? padded : make.op('Slice', [padded, make.ints(starts), make.ints(ends), make.ints(spatial), make.ints(geo.strides)]);
  });
}

/** Every position of a kernel, row-major (the order of the weight's trailing dims). */
export function kernelTaps(kernel: readonly number[]): number[][] {
  return kernel.reduce<number[][]>((acc, k) => acc.flatMap((prefix) => Array.from({ length: k }, (_, t) => [...prefix, t])), [[]]);
}
