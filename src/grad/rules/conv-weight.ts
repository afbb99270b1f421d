import type { ConvGeometry } from '../../ir/conv.js';
import { kernelTaps, tapSlices } from '../../graph/conv-taps.js';
import type { Value } from '../../ir/value.js';
import type { GradContext } from '../types.js';
import { range } from './axes.js';

/** The geometry of a Conv with its pads resolved and its sizes known: what every gradient is built from. */
export interface ConvShape {
  geo: ConvGeometry;
  pads: number[];
  input: number[];
  output: number[];
  channelsIn: number;
  channelsOut: number;
}

/** dW[co, ci, tap] = Σ_{n, p} dY[n, co, p]·Xpad[n, ci, p·stride + tap·dilation]. */
export function weightGrad(g: Value, x: Value, s: ConvShape, ctx: GradContext): Value {
  const depthwise = s.channelsIn === s.geo.group && s.channelsOut === s.geo.group;
  return depthwise ? depthwiseWeightGrad(g, x, s, ctx) : patchesWeightGrad(g, x, s, ctx);
}

/**
 * Depthwise (one input and one output channel per group, FTM's dw), with the channels leading so that each channel is
 * one matrix of a batched MatMul. For each position of the kernel's leading axes (each kernel row, in 2-D): the padded
 * input's rows that row of taps reads, R [C, N·rows, W_pad], contracted over batch and rows with the output gradient
 * G [C, N·rows, W_out] into M = Gᵀ·R [C, W_out, W_pad]. The tap in column j is the sum over x of M[x, x·stride +
 * j·dilation], a diagonal of M. M holds W_out/k times the products needed, but it is one GEMM per kernel row where
 * the alternatives are memory-bound passes over the activations: it is faster than a Slice, a Mul and a ReduceSum per
 * tap, and than the patches form below, most with a stride, whose strided Slices are slow (measured:
 * bench/grad-forms.md).
 */
function depthwiseWeightGrad(g: Value, x: Value, s: ConvShape, ctx: GradContext): Value {
  const { geo, pads, input, output, channelsOut: c } = s;
  const r = input.length;
  const last = r - 1;
  const [wOut, wPad, stride] = [output[last], input[last] + pads[last] + pads[last + r], geo.strides[last]];
  const channelsFirst = [1, 0, ...range(2, 2 + r)];
  const xt = ctx.op('Transpose', [x], { perm: channelsFirst });
  const padded = pads.some((p) => p !== 0) ? ctx.op('Pad', [xt, ctx.ints([0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)])]) : xt;
  const gt = ctx.op('Reshape', [ctx.op('Transpose', [g], { perm: channelsFirst }), ctx.ints([c, -1, wOut])]);
  const gradColumns = ctx.op('Transpose', [gt], { perm: [0, 2, 1] });
  const rows = kernelTaps(geo.kernel.slice(0, last)).map((tap) => {
    const starts = tap.map((t, i) => t * geo.dilations[i]);
    const ends = starts.map((b, i) => b + (output[i] - 1) * geo.strides[i] + 1);
    const whole = starts.every((b, i) => b === 0 && ends[i] === input[i] + pads[i] + pads[i + r] && geo.strides[i] === 1);
    const read = whole ? padded : ctx.op('Slice', [padded, ctx.ints(starts), ctx.ints(ends), ctx.ints(range(2, 2 + last)), ctx.ints(geo.strides.slice(0, last))]);
    const m = ctx.op('MatMul', [gradColumns, ctx.op('Reshape', [read, ctx.ints([c, -1, wPad])])]);
    // Flattened and padded to W_out rows of W_pad + stride, M[x, x·stride + j·dilation] sits in column j·dilation.
    const flat = ctx.op('Pad', [ctx.op('Reshape', [m, ctx.ints([c, wOut * wPad])]), ctx.ints([0, 0, 0, wOut * stride])]);
    const sheared = ctx.op('Reshape', [flat, ctx.ints([c, wOut, wPad + stride])]);
    const span = (geo.kernel[last] - 1) * geo.dilations[last] + 1;
    const diagonals = ctx.op('Slice', [sheared, ctx.ints([0]), ctx.ints([span]), ctx.ints([2]), ctx.ints([geo.dilations[last]])]);
    return ctx.reduceSum(diagonals, [1], true);
  });
  // Each kernel row is [C, 1, k_last]: stacked along axis 1 in row-major order, they are the weight's layout.
  const stacked = rows.length === 1 ? rows[0] : ctx.op('Concat', rows, { axis: 1 });
  return ctx.op('Reshape', [stacked, ctx.ints([c, 1, ...geo.kernel])]);
}

/**
 * Any grouping: the input's patches (im2col in the graph, [N, C, taps, positions]) times the output gradient, one
 * batched MatMul per sample and group, summed over the batch. The classic alternative, a Conv of X against dY with
 * batch and channels swapped, computes the same, but onnxruntime's im2col over a kernel the size of the feature map
 * made it several times slower; the patches cost memory instead (kernel-size times the input). Folding the batch into
 * the MatMul (channel-leading layouts, one GEMM per tap, no Concat) was no clear gain and was not kept (measured:
 * bench/grad-forms.md).
 */
function patchesWeightGrad(g: Value, x: Value, s: ConvShape, ctx: GradContext): Value {
  const { geo, output, channelsIn, channelsOut } = s;
  const positions = output.reduce((a, b) => a * b, 1);
  const groups = geo.group;
  const inPerGroup = channelsIn / groups;
  // One column per tap, each [N, C, 1, positions]: stacked, the patches [N, C, taps, positions].
  const columns = tapSlices(x, s.geo, s.pads, s.input, s.output, ctx).map((shifted) => ctx.op('Reshape', [shifted, ctx.ints([0, 0, 1, positions])]));
  const patches = columns.length === 1 ? columns[0] : ctx.op('Concat', columns, { axis: 2 });
  const byGroup = ctx.op('Reshape', [patches, ctx.ints([0, groups, inPerGroup * columns.length, positions])]);
  const gradByGroup = ctx.op('Transpose', [ctx.op('Reshape', [g, ctx.ints([0, groups, channelsOut / groups, positions])])], { perm: [0, 1, 3, 2] });
  // [N, G, C_in/G·taps, C_out/G], summed over the batch, then laid out as the weight [C_out, C_in/G, ...kernel].
  const summed = ctx.reduceSum(ctx.op('MatMul', [byGroup, gradByGroup]), [0], false);
  return ctx.op('Reshape', [ctx.op('Transpose', [summed], { perm: [0, 2, 1] }), ctx.ints([channelsOut, inPerGroup, ...geo.kernel])]);
}
