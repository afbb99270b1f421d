import type { ConvGeometry } from '../../ir/conv.js';
import type { Value } from '../../ir/value.js';
import type { GradContext } from '../types.js';
import { range } from './axes.js';

/**
 * The adjoint of a window op (Conv, AveragePool) with respect to its input, for a weight [C_out, C_in/group, ...kernel].
 * - All strides 1: a Conv of the gradient with the weight flipped spatially and its channels swapped within each group,
 *   padded by dilation·(kernel − 1) − pad on each side. onnxruntime's Conv is faster than its ConvTranspose there,
 *   most for depthwise layers and for frozen weights, whose flipped copy onnxruntime folds to a constant and runs in
 *   its NCHWc kernels (measured: bench/grad-forms.md).
 * - Otherwise (or when a pad exceeds the dilated kernel, which would make a Conv pad negative): a ConvTranspose with the
 *   same geometry. output_padding adds back the trailing input rows that no window read (when the stride does not
 *   divide the padded extent), so the result has exactly the input's size.
 */
export function windowAdjoint(ctx: GradContext, g: Value, weight: Value, geo: ConvGeometry, group: number, pads: number[], input: number[], output: number[]): Value {
  const r = input.length;
  const span = (i: number) => geo.dilations[i] * (geo.kernel[i] - 1);
  const convPads = pads.map((p, i) => span(i % r) - p);
  if (geo.strides.every((s) => s === 1) && convPads.every((p) => p >= 0)) {
    return ctx.op('Conv', [g, adjointWeight(ctx, weight, group)], { group, kernel_shape: geo.kernel, dilations: geo.dilations, pads: convPads });
  }
  const covered = (i: number) => (output[i] - 1) * geo.strides[i] + span(i) + 1 - pads[i] - pads[i + r];
  const outputPadding = input.map((size, i) => size - covered(i));
  return ctx.op('ConvTranspose', [g, weight], {
    group,
    kernel_shape: geo.kernel,
    strides: geo.strides,
    dilations: geo.dilations,
    pads,
    output_padding: outputPadding.some((p) => p !== 0) ? outputPadding : undefined,
  });
}

/**
 * [C_out, C_in/G, ...k] → [C_in, C_out/G, ...k] flipped: a Slice with steps −1 on the kernel axes, then the two channel
 * axes swapped within each group (a plain Reshape when either has size 1, as in depthwise convs and pools).
 */
function adjointWeight(ctx: GradContext, weight: Value, group: number): Value {
  const [cout, cinPerGroup, ...kernel] = ctx.shape(weight) as number[];
  const axes = range(2, 2 + kernel.length);
  const flipped = ctx.op('Slice', [weight, ctx.ints(axes.map(() => -1)), ctx.ints(kernel.map((k) => -k - 1)), ctx.ints(axes), ctx.ints(axes.map(() => -1))]);
  const coutPerGroup = cout / group;
  const swapped = [cinPerGroup * group, coutPerGroup, ...kernel];
  if (coutPerGroup === 1 || cinPerGroup === 1) return ctx.op('Reshape', [flipped, ctx.ints(swapped)]);
  const byGroup = ctx.op('Reshape', [flipped, ctx.ints([group, coutPerGroup, cinPerGroup, ...kernel])]);
  return ctx.op('Reshape', [ctx.op('Transpose', [byGroup], { perm: [0, 2, 1, ...range(3, 3 + kernel.length)] }), ctx.ints(swapped)]);
}
