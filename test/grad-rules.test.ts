import { describe, expect, it } from 'vitest';
import { buildTrainingGraph } from '../src/grad/training-graph.js';
import { GRAD_RULES } from '../src/grad/rules/index.js';
import { DataType, newModel, Tensor, type AttrInit, type Graph, type Model, type Value } from '../src/index.js';
import { randomFloats } from './helpers/build.js';
import { checkGradients } from './helpers/grad-check.js';

/**
 * Every gradient rule against central differences on onnxruntime. Each case is a tiny model whose trainables are
 * initializers (the op's data input included), one op (or a short chain), and the MSE loss against a random teacher.
 * Tolerances (relative, see checkGradients): 1e-3 with float64 differences, when onnxruntime has double kernels for
 * the forward ops (Relu, MaxPool, Softmax, ...), where what remains is the float32 rounding of the analytic gradient;
 * 2e-2 with float32 differences (Conv, AveragePool, ...), dominated by the forward's rounding divided by 2ε. A wrong
 * rule is off by O(1).
 */

interface Build {
  g: Graph;
  /** A float initializer with random values in [lo, hi] (default [-1, 1]); becomes trainable unless `frozen`. */
  p(name: string, dims: number[], o?: { lo?: number; hi?: number; frozen?: boolean; away?: number[] }): Value;
  /** A constant (never trainable): int64 for integer lists, float32 for `float`. */
  ints(name: string, values: number[], dims?: number[]): Value;
  floats(name: string, values: number[], dims?: number[]): Value;
  op(op: string, inputs: (Value | null)[], attrs?: Record<string, AttrInit>, outputs?: number): Value;
  ops(op: string, inputs: (Value | null)[], outputs: number, attrs?: Record<string, AttrInit>): Value[];
}

interface Case {
  name: string;
  opset?: number;
  build(b: Build): Value;
}

let seed = 1;

function caseModel(c: Case): { model: Model; trainable: string[] } {
  const model = newModel(c.opset ?? 13);
  const g = model.graph;
  const trainable: string[] = [];
  const b: Build = {
    g,
    p(name, dims, o = {}) {
      const lo = o.lo ?? -1, hi = o.hi ?? 1;
      const n = dims.reduce((a, d) => a * d, 1);
      let data = Float32Array.from(randomFloats(n, seed++), (r) => lo + ((r + 1) / 2) * (hi - lo));
      // Keeps values at least 0.05 from the kinks of piecewise ops, so that ±ε never crosses one.
      if (o.away) data = data.map((v) => o.away!.reduce((x, k) => (Math.abs(x - k) < 0.05 ? k + 0.05 * Math.sign(x - k || 1) : x), v));
      const v = g.addInitializer(name, Tensor.float32(dims, data));
      if (!o.frozen) trainable.push(v.name);
      return v;
    },
    ints: (name, values, dims = [values.length]) => g.addInitializer(name, Tensor.int64(dims, values)),
    floats: (name, values, dims = [values.length]) => g.addInitializer(name, Tensor.float32(dims, values)),
    op: (op, inputs, attrs = {}, outputs = 1) => g.addNode({ op, inputs, attrs, name: op, outputs }).outputs[0]!,
    ops: (op, inputs, outputs, attrs = {}) => g.addNode({ op, inputs, attrs, name: op, outputs }).outputs as Value[],
  };
  const y = c.build(b);
  y.type = { kind: 'tensor', elemType: DataType.FLOAT };
  g.outputs.push(y);
  return { model, trainable };
}

async function expectGradients(c: Case): Promise<void> {
  const { model, trainable } = caseModel(c);
  const r = await checkGradients(model, trainable, { seed });
  expect(r.training.frozen).toEqual([]);
  expect(r.training.trainable).toEqual(trainable);
  expect(r.worst, `${c.name}: worst relative error ${r.worst.toExponential(2)} (${r.double ? 'float64' : 'float32'} differences, ${r.checks} checks)`).toBeLessThan(r.double ? 1e-3 : 2e-2);
}

const X4 = [2, 3, 5, 5];
const conv = (b: Build, x: Value, cout: number, cinPerGroup: number, k: number[], attrs: Record<string, AttrInit> = {}, bias = true) =>
  b.op('Conv', [x, b.p('w', [cout, cinPerGroup, ...k]), bias ? b.p('b', [cout]) : null], attrs);

const cases: Record<string, Case[]> = {
  Conv: [
    { name: '3×3, pads 1, bias', build: (b) => conv(b, b.p('x', X4), 4, 3, [3, 3], { pads: [1, 1, 1, 1] }) },
    { name: 'stride 2, uneven pads, odd size (output_padding)', build: (b) => conv(b, b.p('x', [2, 3, 7, 6]), 4, 3, [3, 3], { strides: [2, 2], pads: [1, 0, 2, 1] }) },
    { name: 'stride 2 and dilation 2', build: (b) => conv(b, b.p('x', [1, 2, 9, 8]), 3, 2, [3, 2], { strides: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1] }) },
    { name: '1×1 stride 2 (shortcut): weight gradient sliced to the kernel', build: (b) => conv(b, b.p('x', [2, 4, 7, 7]), 3, 4, [1, 1], { strides: [2, 2] }) },
    { name: 'auto_pad SAME_UPPER, stride 2', build: (b) => conv(b, b.p('x', [2, 2, 6, 7]), 3, 2, [3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }) },
    { name: 'auto_pad SAME_LOWER, kernel 4', build: (b) => conv(b, b.p('x', [1, 2, 5, 5]), 2, 2, [4, 4], { auto_pad: 'SAME_LOWER' }) },
    { name: 'auto_pad VALID, no kernel_shape', build: (b) => conv(b, b.p('x', [1, 2, 6, 5]), 2, 2, [3, 2], { auto_pad: 'VALID' }) },
    { name: 'group 2', build: (b) => conv(b, b.p('x', [2, 4, 5, 5]), 6, 2, [3, 3], { group: 2, pads: [1, 1, 1, 1] }) },
    { name: 'depthwise (group = C_in = C_out), stride 2', build: (b) => conv(b, b.p('x', [2, 4, 6, 6]), 4, 1, [3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, false) },
    { name: 'depthwise with multiplier 2', build: (b) => conv(b, b.p('x', [2, 3, 5, 5]), 6, 1, [3, 3], { group: 3, pads: [1, 1, 1, 1] }) },
    { name: '1-D (FTM gate), pads 1', build: (b) => conv(b, b.p('x', [2, 1, 8]), 1, 1, [3], { pads: [1, 1] }, false) },
    // Stride 1: the input gradient is a Conv with the flipped weight, pads dilation·(k − 1) − pad on each side.
    { name: 'stride 1, group 2, dilation [2, 1], uneven pads (channels swapped per group)', build: (b) => conv(b, b.p('x', [2, 4, 7, 6]), 6, 2, [3, 2], { group: 2, dilations: [2, 1], pads: [2, 0, 1, 1] }) },
    { name: 'depthwise stride 1, dilation 2, uneven pads', build: (b) => conv(b, b.p('x', [2, 3, 8, 7]), 3, 1, [3, 3], { group: 3, dilations: [2, 2], pads: [1, 2, 3, 0] }, false) },
    { name: 'depthwise stride 1, kernel [2, 3], opset 11', opset: 11, build: (b) => conv(b, b.p('x', [2, 4, 5, 6]), 4, 1, [2, 3], { group: 4, pads: [0, 1, 1, 1] }) },
    { name: 'depthwise strides [1, 2], dilations [2, 2], uneven pads', build: (b) => conv(b, b.p('x', [2, 3, 7, 9]), 3, 1, [3, 3], { group: 3, strides: [1, 2], dilations: [2, 2], pads: [1, 0, 2, 1] }) },
    { name: 'depthwise 3-D, strides [1, 1, 2]', build: (b) => conv(b, b.p('x', [1, 2, 4, 4, 5]), 2, 1, [2, 3, 3], { group: 2, strides: [1, 1, 2], pads: [0, 1, 1, 1, 1, 1] }) },
    { name: 'depthwise 1×1 (a single tap)', build: (b) => conv(b, b.p('x', [2, 3, 4, 4]), 3, 1, [1, 1], { group: 3 }) },
    { name: 'stride 1, pad beyond the kernel (input gradient falls back to ConvTranspose)', build: (b) => conv(b, b.p('x', [2, 3, 4, 5]), 2, 3, [1, 1], { pads: [1, 0, 2, 1] }) },
  ],
  Gemm: [
    { name: 'plain, bias [N]', build: (b) => b.op('Gemm', [b.p('a', [3, 4]), b.p('b', [4, 5]), b.p('c', [5])]) },
    { name: 'transB, alpha, beta, bias [M, N]', build: (b) => b.op('Gemm', [b.p('a', [3, 4]), b.p('b', [5, 4]), b.p('c', [3, 5])], { transB: 1, alpha: 0.5, beta: 2.5 }) },
    { name: 'transA, bias [1, N]', build: (b) => b.op('Gemm', [b.p('a', [4, 3]), b.p('b', [4, 5]), b.p('c', [1, 5])], { transA: 1 }) },
    { name: 'transA and transB, no bias', build: (b) => b.op('Gemm', [b.p('a', [4, 3]), b.p('b', [5, 4])], { transA: 1, transB: 1, alpha: 1.5 }) },
  ],
  MatMul: [
    { name: '[2,3,4] × [4,5]', build: (b) => b.op('MatMul', [b.p('a', [2, 3, 4]), b.p('b', [4, 5])]) },
    { name: 'batch broadcast [2,1,3,4] × [5,4,2]', build: (b) => b.op('MatMul', [b.p('a', [2, 1, 3, 4]), b.p('b', [5, 4, 2])]) },
  ],
  Elementwise: [
    ...['Add', 'Sub', 'Mul', 'Div'].flatMap((op): Case[] => [
      { name: `${op}, same shape`, build: (b) => b.op(op, [b.p('a', X4), b.p('b', X4, { lo: 0.5, hi: 1.5 })]) },
      { name: `${op}, [N,C,H,W] with [1,C,1,1]`, build: (b) => b.op(op, [b.p('a', X4), b.p('b', [1, 3, 1, 1], { lo: 0.5, hi: 1.5 })]) },
      { name: `${op}, [W] with [N,C,H,W] (lower rank first)`, build: (b) => b.op(op, [b.p('a', [5], { lo: 0.5, hi: 1.5 }), b.p('b', X4, { lo: 0.5, hi: 1.5 })]) },
      { name: `${op}, with a scalar`, build: (b) => b.op(op, [b.p('a', [3, 4]), b.p('b', [], { lo: 0.5, hi: 1.5 })]) },
    ]),
    { name: 'Mul of a value by itself', build: (b) => { const x = b.p('x', [3, 4]); return b.op('Mul', [x, x]); } },
  ],
  Activations: [
    { name: 'Relu', build: (b) => b.op('Relu', [b.p('x', X4, { away: [0] })]) },
    { name: 'LeakyRelu alpha 0.2', build: (b) => b.op('LeakyRelu', [b.p('x', X4, { away: [0] })], { alpha: 0.2 }) },
    { name: 'Clip [0, 6] (ReLU6)', build: (b) => b.op('Clip', [b.p('x', X4, { lo: -3, hi: 9, away: [0, 6] }), b.floats('lo', [0], []), b.floats('hi', [6], [])]) },
    { name: 'Clip, min only', build: (b) => b.op('Clip', [b.p('x', X4, { away: [-0.5] }), b.floats('lo', [-0.5], [])]) },
    { name: 'Sigmoid', build: (b) => b.op('Sigmoid', [b.p('x', X4, { lo: -4, hi: 4 })]) },
    { name: 'Tanh', build: (b) => b.op('Tanh', [b.p('x', X4, { lo: -3, hi: 3 })]) },
    { name: 'HardSigmoid alpha 0.25 beta 0.4', build: (b) => b.op('HardSigmoid', [b.p('x', X4, { lo: -4, hi: 4, away: [-1.6, 2.4] })], { alpha: 0.25, beta: 0.4 }) },
    { name: 'HardSwish (opset 14)', opset: 14, build: (b) => b.op('HardSwish', [b.p('x', X4, { lo: -5, hi: 5, away: [-3, 3] })]) },
  ],
  Shapes: [
    { name: 'Concat axis 1', build: (b) => b.op('Concat', [b.p('a', [2, 2, 3]), b.p('b', [2, 3, 3])], { axis: 1 }) },
    { name: 'Concat axis -1, one value twice', build: (b) => { const a = b.p('a', [2, 3]); return b.op('Concat', [a, b.p('b', [2, 1]), a], { axis: -1 }); } },
    { name: 'Split [2, 3] axis 1, both used', build: (b) => { const [u, v] = b.ops('Split', [b.p('x', [2, 5, 3]), b.ints('s', [2, 3])], 2, { axis: 1 }); return b.op('Concat', [v, u], { axis: 1 }); } },
    { name: 'Split, one output unused', build: (b) => b.ops('Split', [b.p('x', [2, 6]), b.ints('s', [4, 2])], 2, { axis: -1 })[1] },
    { name: 'Split opset 11 (split attribute)', opset: 11, build: (b) => b.ops('Split', [b.p('x', [4, 3])], 2, { axis: 0, split: [1, 3] })[1] },
    { name: 'Split opset 18 (num_outputs)', opset: 18, build: (b) => b.ops('Split', [b.p('x', [2, 6])], 3, { axis: 1, num_outputs: 3 })[2] },
    { name: 'Slice axes [1, 3], negative start, end past the end', build: (b) => b.op('Slice', [b.p('x', X4), b.ints('st', [1, -4]), b.ints('en', [3, 1000]), b.ints('ax', [1, 3])]) },
    { name: 'Slice default axes', build: (b) => b.op('Slice', [b.p('x', [4, 5]), b.ints('st', [1, 0]), b.ints('en', [3, -1])]) },
    { name: 'Gather axis 1, a permutation', build: (b) => b.op('Gather', [b.p('x', X4), b.ints('i', [2, 0, 1])], { axis: 1 }) },
    { name: 'Gather axis 1, repeated and negative indices', build: (b) => b.op('Gather', [b.p('x', X4), b.ints('i', [2, 0, -1, 1, 2])], { axis: 1 }) },
    { name: 'Gather axis 0, scalar index', build: (b) => b.op('Gather', [b.p('x', [3, 4]), b.ints('i', [1], [])]) },
    { name: 'Gather axis -1 (FTM fold: channels repeated)', build: (b) => b.op('Gather', [b.p('x', [2, 4]), b.ints('i', [0, 0, 3, 1, 3])], { axis: -1 }) },
    { name: 'Transpose perm', build: (b) => b.op('Transpose', [b.p('x', X4)], { perm: [0, 2, 3, 1] }) },
    { name: 'Transpose default (reverse)', build: (b) => b.op('Transpose', [b.p('x', [2, 3, 4])]) },
    { name: 'Reshape with 0 and -1', build: (b) => b.op('Reshape', [b.p('x', X4), b.ints('s', [0, -1, 5])]) },
    { name: 'Flatten axis 2', build: (b) => b.op('Flatten', [b.p('x', X4)], { axis: 2 }) },
    { name: 'Squeeze / Unsqueeze (axes inputs, opset 13)', build: (b) => b.op('Unsqueeze', [b.op('Squeeze', [b.p('x', [2, 1, 3]), b.ints('a', [1])]), b.ints('u', [-1])]) },
    { name: 'Squeeze / Unsqueeze (axes attributes, opset 11)', opset: 11, build: (b) => b.op('Unsqueeze', [b.op('Squeeze', [b.p('x', [2, 1, 3])], { axes: [1] })], { axes: [0] }) },
    { name: 'Identity and Dropout (inference)', build: (b) => b.op('Dropout', [b.op('Identity', [b.p('x', [3, 4])])], {}, 2) },
  ],
  Pooling: [
    { name: 'GlobalAveragePool', build: (b) => b.op('GlobalAveragePool', [b.p('x', X4)]) },
    { name: 'AveragePool 2×2 stride 2', build: (b) => b.op('AveragePool', [b.p('x', [2, 3, 6, 6])], { kernel_shape: [2, 2], strides: [2, 2] }) },
    { name: 'AveragePool 3×3 stride 2 pads 1, count_include_pad 0', build: (b) => b.op('AveragePool', [b.p('x', [2, 3, 7, 6])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
    { name: 'AveragePool 3×3 stride 2 pads 1, count_include_pad 1', build: (b) => b.op('AveragePool', [b.p('x', [2, 3, 7, 6])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }) },
    { name: 'AveragePool auto_pad SAME_UPPER', build: (b) => b.op('AveragePool', [b.p('x', [1, 2, 5, 5])], { kernel_shape: [2, 2], auto_pad: 'SAME_UPPER' }) },
    { name: 'AveragePool 3×3 stride 1 pads 1 (input gradient as a Conv)', build: (b) => b.op('AveragePool', [b.p('x', [2, 3, 5, 6])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }) },
    { name: 'MaxPool 2×2 stride 2 (disjoint windows)', build: (b) => b.op('MaxPool', [b.p('x', [2, 3, 6, 6])], { kernel_shape: [2, 2], strides: [2, 2] }) },
    { name: 'MaxPool 3×3 stride 2 pads 1 (overlapping, opset 16)', opset: 16, build: (b) => b.op('MaxPool', [b.p('x', [2, 3, 7, 7])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
    { name: 'MaxPool stride 1 with dilation (opset 18)', opset: 18, build: (b) => b.op('MaxPool', [b.p('x', [1, 2, 6, 6])], { kernel_shape: [2, 2], dilations: [2, 2] }) },
    { name: 'ReduceMean axes [2, 3], keepdims 0', build: (b) => b.op('ReduceMean', [b.p('x', X4)], { axes: [2, 3], keepdims: 0 }) },
    { name: 'ReduceMean axis -1 (axes input, opset 18)', opset: 18, build: (b) => b.op('ReduceMean', [b.p('x', X4), b.ints('a', [-1])]) },
    { name: 'ReduceMean over everything', build: (b) => b.op('ReduceMean', [b.p('x', [3, 4])], { keepdims: 0 }) },
    { name: 'ReduceSum axes input, keepdims 0', build: (b) => b.op('ReduceSum', [b.p('x', X4), b.ints('a', [0, 2])], { keepdims: 0 }) },
  ],
  Normalization: [
    {
      name: 'BatchNormalization, every input trainable',
      build: (b) => b.op('BatchNormalization', [b.p('x', X4), b.p('s', [3]), b.p('bias', [3]), b.p('m', [3]), b.p('v', [3], { lo: 0.5, hi: 2 })], { epsilon: 0.01 }),
    },
    { name: 'BatchNormalization on [N, C]', build: (b) => b.op('BatchNormalization', [b.p('x', [4, 3]), b.p('s', [3]), b.p('bias', [3]), b.p('m', [3], { frozen: true }), b.p('v', [3], { lo: 0.5, hi: 2, frozen: true })]) },
    { name: 'Softmax axis 1', build: (b) => b.op('Softmax', [b.p('x', [3, 5], { lo: -2, hi: 2 })], { axis: 1 }) },
    { name: 'Softmax default axis on rank 3', build: (b) => b.op('Softmax', [b.p('x', [2, 3, 4], { lo: -2, hi: 2 })]) },
    { name: 'Softmax opset 11 on rank 4 (flattened from axis 1)', opset: 11, build: (b) => b.op('Softmax', [b.p('x', [2, 3, 2, 2], { lo: -2, hi: 2 })]) },
    { name: 'LogSoftmax axis -1', build: (b) => b.op('LogSoftmax', [b.p('x', [3, 5], { lo: -2, hi: 2 })], { axis: -1 }) },
    { name: 'LogSoftmax opset 11 axis 2 on rank 4', opset: 11, build: (b) => b.op('LogSoftmax', [b.p('x', [2, 3, 2, 2], { lo: -2, hi: 2 })], { axis: 2 }) },
  ],
  Resize: [
    { name: 'nearest ×2, asymmetric floor (PyTorch export: block sum)', build: (b) => b.op('Resize', [b.p('x', [2, 3, 3, 4]), null, b.floats('s', [1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }) },
    { name: 'nearest ×2 defaults (half_pixel, round_prefer_floor)', build: (b) => b.op('Resize', [b.p('x', [1, 2, 3, 3]), null, b.floats('s', [1, 1, 2, 2])]) },
    { name: 'nearest ×1.5 by sizes (one-hot path)', build: (b) => b.op('Resize', [b.p('x', [1, 2, 4, 4]), null, null, b.ints('z', [1, 2, 6, 5])]) },
    { name: 'nearest downsample ×0.5, align_corners, round_prefer_ceil', build: (b) => b.op('Resize', [b.p('x', [1, 2, 6, 5]), null, b.floats('s', [1, 1, 0.5, 0.6])], { coordinate_transformation_mode: 'align_corners', nearest_mode: 'round_prefer_ceil' }) },
    { name: 'nearest ×3 pytorch_half_pixel, ceil (opset 11, roi given)', opset: 11, build: (b) => b.op('Resize', [b.p('x', [1, 1, 2, 3]), b.floats('roi', []), b.floats('s', [1, 1, 3, 2])], { coordinate_transformation_mode: 'pytorch_half_pixel', nearest_mode: 'ceil' }) },
  ],
};

describe('gradient rules against finite differences', () => {
  for (const [group, list] of Object.entries(cases)) {
    describe(group, () => {
      for (const c of list) it(c.name, () => expectGradients(c));
    });
  }

  it('cover every operator in the rule table', () => {
    const covered = new Set(
      Object.values(cases)
        .flat()
        .flatMap((c) => caseModel(c).model.graph.nodes.map((n) => n.opType)),
    );
    const noGradient = [...GRAD_RULES.keys()].filter((op) => !covered.has(op));
    // The rest are the shape/boolean operators through which no gradient flows.
    expect(noGradient.sort()).toEqual(['And', 'ArgMax', 'ArgMin', 'ConstantOfShape', 'Equal', 'Greater', 'GreaterOrEqual', 'IsInf', 'IsNaN', 'Less', 'LessOrEqual', 'NonZero', 'Not', 'Or', 'Shape', 'Size', 'Xor']);
  });
});

describe('opsets', () => {
  const chain = (opset: number) => (b: Build) => {
    // Small weights and a frozen per-channel offset of ±3 keep every Relu input at least 1 from the kink (|conv| ≤ 1.9),
    // so that ±ε never crosses it whatever the random values, with both a passing and a blocked channel.
    const y = b.op('Conv', [b.p('x', [2, 2, 5, 5]), b.p('w', [3, 2, 3, 3], { lo: -0.1, hi: 0.1 }), b.p('b', [3], { lo: -0.1, hi: 0.1 })], { pads: [1, 1, 1, 1], strides: [2, 2] });
    const relu = b.op('Relu', [b.op('Add', [y, b.floats('offset', [3, -3, 3], [1, 3, 1, 1])])]);
    return opset >= 18 ? b.op('ReduceMean', [relu, b.ints('axes', [2, 3])], { keepdims: 0 }) : b.op('ReduceMean', [relu], { axes: [2, 3], keepdims: 0 });
  };
  for (const opset of [11, 13, 17, 22]) {
    it(`builds and checks a Conv → Add → Relu → ReduceMean chain at opset ${opset}`, () => expectGradients({ name: `opset ${opset}`, opset, build: chain(opset) }));
  }

  it('refuses opsets outside 11–22 with E_UNSUPPORTED', () => {
    const { model, trainable } = caseModel({ name: 'old', opset: 10, build: (b) => b.op('Relu', [b.p('x', [2])]) });
    expect(() => buildTrainingGraph(model, { trainable, loss: { kind: 'mse' } })).toThrow(/opsets 11 to 22, the model imports opset 10/);
  });

  it('MaxPool with overlapping windows below opset 16 freezes what is behind it, naming the node', () => {
    const { model, trainable } = caseModel({ name: 'mp', opset: 13, build: (b) => b.op('MaxPool', [b.p('x', [1, 1, 5, 5])], { kernel_shape: [3, 3], strides: [2, 2] }) });
    const t = buildTrainingGraph(model, { trainable, loss: { kind: 'mse' } });
    expect(t.trainable).toEqual([]);
    expect(t.frozen[0].reason).toMatch(/MaxPool "MaxPool" \(overlapping windows need ScatterElements with reduction \(opset 16\)/);
  });
});
