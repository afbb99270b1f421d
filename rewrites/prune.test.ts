import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyRules, loadModel, RuleTester, Tensor, type AttrInit, type Graph, type Model, type RewriteRecord, type Value } from '../src/index.js';
import { DEFAULT_DAMPING, fitSequential } from '../src/fit/index.js';
import { modelWithInput, randomFloats, randomWeight } from '../test/helpers/build.js';
import { expectCode } from '../test/helpers/errors.js';
import { measuredLayerError } from '../test/helpers/layer-error.js';
import { memoryCalibration } from '../test/helpers/memory-calib.js';
import { runOnce } from '../test/helpers/ort.js';
import { prune } from './prune.js';

RuleTester.describe = describe;
RuleTester.it = it;

const C = 8; // output channels of the pruned conv

/** The entries of a row-major tensor whose index on `axis` is in `keep`: the test's own slicing, by multi-index. */
function take(data: Float32Array, dims: number[], axis: number, keep: number[]): Float32Array {
  const out: number[] = [];
  const idx = dims.map(() => 0);
  for (let flat = 0; flat < data.length; flat++) {
    if (keep.includes(idx[axis])) out.push(data[flat]);
    for (let d = dims.length - 1; d >= 0 && ++idx[d] === dims[d]; d--) idx[d] = 0;
  }
  // the kept entries come in row-major order, and `keep` is ascending: the order of the sliced tensor
  return Float32Array.from(out);
}

type Tail = 'relu' | 'rich' | 'dw' | 'branch' | 'gemm' | 'gemmT' | 'gemmN' | 'matmul';

/**
 * x [N,4,6,6] → Relu → conv1 (4→C, 3×3, pad 1) → <tail>. With `keep`, the same model with only those channels of
 * conv1 (and everything that touches them sliced by the test itself): the hand-pruned reference. `zero` zeroes the
 * kernels and biases of those channels of conv1.
 */
function chain(tail: Tail, keep?: number[], zero: number[] = []): { model: Model; g: Graph } {
  const { model, g, x } = modelWithInput(['N', 4, 6, 6]);
  let seed = 10;
  /** A constant of the model; `axis` is its channel axis (sliced to `keep`), `map` shapes its values. */
  const constant = (name: string, dims: number[], axis?: number, map: (v: number, i: number) => number = (v) => v): Value => {
    let data: Float32Array = randomFloats(dims.reduce((a, b) => a * b, 1), seed++).map(map);
    let shape = dims;
    if (keep && axis !== undefined) {
      data = take(data, dims, axis, keep);
      shape = dims.map((d, i) => (i === axis ? keep.length : d));
    }
    return g.addInitializer(name, Tensor.float32(shape, data));
  };
  const size = 4 * 9;
  const zeroed = (v: number, i: number) => (zero.includes(Math.floor(i / size)) ? 0 : v);
  const node = (op: string, inputs: (Value | null)[], name: string, attrs: Record<string, AttrInit> = {}) => g.addNode({ op, inputs, name, attrs }).outputs[0]!;
  const r0 = node('Relu', [x], 'relu0');
  let h = node('Conv', [r0, constant('w1', [C, 4, 3, 3], 0, zeroed), constant('b1', [C], 0, (v, i) => (zero.includes(i) ? 0 : v))], 'conv1', { pads: [1, 1, 1, 1] });
  if (tail === 'rich') {
    h = node('BatchNormalization', [h, constant('bn.scale', [C], 0), constant('bn.bias', [C], 0), constant('bn.mean', [C], 0), constant('bn.var', [C], 0, (v) => Math.abs(v) + 0.5)], 'bn', { epsilon: { float: 1e-3 } });
    h = node('Mul', [constant('gain', [1, C, 1, 1], 1), h], 'gain');
    h = node('Add', [h, constant('shift', [C, 1, 1], 0)], 'shift');
    h = node('Add', [h, constant('offset', [1], undefined)], 'offset');
    h = node('Clip', [h, constant('lo', [], undefined, () => -0.5), constant('hi', [], undefined, () => 1.5)], 'clip');
    h = node('Mul', [h, node('Sigmoid', [h], 'sigmoid')], 'swish');
  } else {
    h = node('Relu', [h], 'relu');
  }
  if (tail === 'dw') {
    h = node('Conv', [h, constant('dw.w', [C, 1, 3, 3], 0), constant('dw.b', [C], 0)], 'dw', { group: keep?.length ?? C, pads: [1, 1, 1, 1] });
    h = node('Relu', [h], 'dw/relu');
  }
  if (tail === 'branch') {
    const a = node('Conv', [h, constant('wa', [5, C, 3, 3], 1)], 'a', { pads: [1, 1, 1, 1] });
    h = node('Add', [a, node('Conv', [h, constant('wb', [5, C, 1, 1], 1), constant('bb', [5])], 'b')], 'sum');
  } else if (tail === 'relu' || tail === 'rich' || tail === 'dw') {
    h = node('Conv', [h, constant('w2', [5, C, 3, 3], 1), constant('b2', [5])], 'conv2', { pads: [1, 1, 1, 1] });
  } else {
    h = node('Flatten', [node('GlobalAveragePool', [h], 'gap')], 'flatten');
    if (tail === 'gemm') h = node('Gemm', [h, constant('fc.w', [C, 10], 0), constant('fc.b', [10])], 'fc', { alpha: { float: 0.5 } });
    if (tail === 'gemmT') h = node('Gemm', [h, constant('fc.w', [10, C], 1), constant('fc.b', [10])], 'fc', { transB: 1 });
    if (tail === 'gemmN') h = node('Gemm', [h, constant('fc.w', [C, 10], 0), constant('fc.b', [10])], 'fc');
    if (tail === 'matmul') h = node('MatMul', [h, constant('fc.w', [C, 10], 0)], 'fc');
  }
  g.outputs.push(h);
  return { model, g };
}

/** The channels of conv1 with the largest kernel L1 norms, computed here independently of the rule. */
function strongest(model: Model, keep: number): number[] {
  const w = model.graph.initializers.find((v) => v.name === 'w1')!.initializer!.data as Float32Array;
  const size = w.length / C;
  const norms = Array.from({ length: C }, (_, c) => [c, w.slice(c * size, (c + 1) * size).reduce((a, v) => a + Math.abs(v), 0)]);
  return norms.sort((a, b) => b[1] - a[1]).slice(0, keep).map(([c]) => c).sort((a, b) => a - b);
}

const pruneAt = (model: Model, ratio: number, layers = ['conv1']) => applyRules(model, [prune], { layers, options: { prune: { ratio } } });
const one = (records: RewriteRecord[]) => {
  expect(records).toHaveLength(1);
  return records[0];
};


/** x → conv a (4→C) → Relu → conv b (C→C) → Add(b, relu) → y: a ResNet basic block without BN. */
function residual(): Model {
  const { model, g, x } = modelWithInput(['N', 4, 6, 6]);
  const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'wa', [C, 4, 3, 3], 1)], name: 'a', attrs: { pads: [1, 1, 1, 1] } });
  const relu = g.addNode({ op: 'Relu', inputs: [a.outputs[0]], name: 'relu' });
  const b = g.addNode({ op: 'Conv', inputs: [relu.outputs[0], randomWeight(g, 'wb', [C, C, 3, 3], 2)], name: 'b', attrs: { pads: [1, 1, 1, 1] } });
  g.outputs.push(g.addNode({ op: 'Add', inputs: [b.outputs[0], relu.outputs[0]], name: 'add' }).outputs[0]!);
  return model;
}

/** x → conv1 (4→C) → <op> → y; `extra` adds inputs to op. */
function into(op: string, extra: (g: Graph) => (Value | null)[], attrs: Record<string, AttrInit> = {}): Model {
  const { model, g, x } = modelWithInput(['N', 4, 6, 6]);
  const conv = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w1', [C, 4, 3, 3], 1)], name: 'conv1', attrs: { pads: [1, 1, 1, 1] } });
  g.outputs.push(g.addNode({ op, inputs: [conv.outputs[0], ...extra(g)], name: 'next', attrs }).outputs[0]!);
  return model;
}

/** x → conv1 (its weight from `weight`) → conv2 (C→2, 1×1) → y. */
function single(weight: (g: Graph) => Value, attrs: Record<string, AttrInit> = {}): Model {
  const { model, g, x } = modelWithInput(['N', 8, 6, 6]);
  const conv = g.addNode({ op: 'Conv', inputs: [x, weight(g)], name: 'conv1', attrs });
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [conv.outputs[0], randomWeight(g, 'w2', [2, C, 1, 1], 5)], name: 'conv2' }).outputs[0]!);
  return model;
}

/** x → conv1 → conv2 → conv3, conv2 and conv3 reading the same weight "w2". */
function consumerWeightShared(): Model {
  const { model, g, x } = modelWithInput(['N', 4, 6, 6]);
  const w2 = randomWeight(g, 'w2', [C, C, 1, 1], 2);
  const a = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w1', [C, 4, 3, 3], 1)], name: 'conv1' });
  const b = g.addNode({ op: 'Conv', inputs: [a.outputs[0], w2], name: 'conv2' });
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [b.outputs[0], w2], name: 'conv3' }).outputs[0]!);
  return model;
}

/** Two parallel branches x → a|b (same weight) → Relu → 1×1 conv, summed. */
function branchesShareWeight(): Model {
  const { model, g, x } = modelWithInput(['N', C, 6, 6]);
  const w = randomWeight(g, 'w', [C, C, 1, 1], 1);
  const branch = (name: string, seed: number) => {
    const conv = g.addNode({ op: 'Conv', inputs: [x, w], name });
    const relu = g.addNode({ op: 'Relu', inputs: [conv.outputs[0]], name: `${name}/relu` });
    return g.addNode({ op: 'Conv', inputs: [relu.outputs[0], randomWeight(g, `${name}/w`, [2, C, 1, 1], seed)], name: `${name}/next` }).outputs[0]!;
  };
  g.outputs.push(g.addNode({ op: 'Add', inputs: [branch('a', 2), branch('b', 3)], name: 'sum' }).outputs[0]!);
  return model;
}

/** x → conv a → Relu → conv b, both reading the weight "w": prune slices both sides of it. */
function sharedWithOwnConsumer(): Model {
  const { model, g, x } = modelWithInput(['N', C, 6, 6]);
  const w = randomWeight(g, 'w', [C, C, 1, 1], 1);
  const a = g.addNode({ op: 'Conv', inputs: [x, w], name: 'a' });
  const r = g.addNode({ op: 'Relu', inputs: [a.outputs[0]], name: 'relu' });
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [r.outputs[0], w], name: 'b' }).outputs[0]!);
  return model;
}

const weightInput = () =>
  single((g) => {
    const w = g.define('w1');
    w.type = { kind: 'tensor', elemType: 1, shape: [C, 8, 1, 1].map((value) => ({ value })) };
    g.inputs.push(w);
    return w;
  });
const overridable = () =>
  single((g) => {
    const w = randomWeight(g, 'w1', [C, 8, 1, 1], 1);
    g.inputs.push(w);
    return w;
  });
const computed = () => single((g) => g.addNode({ op: 'Neg', inputs: [randomWeight(g, 'w0', [C, 8, 1, 1], 1)], name: 'neg' }).outputs[0]!);
const ints = (g: Graph, v: number[]) => g.addInitializer('shape', Tensor.int64([v.length], v));
/** The recorded reason contains `text`. */
const containing = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const residualWhy = 'whose other input is not a constant: residual connections force the same channels on both sides';
const conv1 = { layers: ['conv1'] };

new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) }).run(prune, {
  fires: [
    {
      name: 'keeping every channel (ratio 1) reproduces the original exactly',
      model: chain('relu').model,
      ...conv1,
      options: { ratio: 1 },
      at: ['conv1'],
      equivalent: { tolerance: 0 },
      check: ({ paramsBefore, paramsAfter }) => expect(paramsAfter).toBe(paramsBefore),
    },
    {
      name: 'removing channels whose kernels are zero changes nothing, and the parameters drop',
      model: chain('relu', undefined, [1, 4, 6]).model,
      ...conv1,
      options: { ratio: 5 / 8 },
      at: ['conv1'],
      equivalent: { tolerance: 1e-6 },
      check: ({ records, paramsBefore, paramsAfter }) => {
        expect(records[0].params!.get('conv.weight')!.dims).toEqual([5, 4, 3, 3]);
        expect(records[0].params!.get('consumer0.weight')!.dims).toEqual([5, 5, 3, 3]);
        expect(paramsBefore - paramsAfter).toBe(3 * (4 * 9 + 1) + 3 * 5 * 9);
      },
    },
    ...(['relu', 'rich', 'dw', 'branch', 'gemm', 'gemmT', 'matmul'] as const).map((tail) => {
      const { model } = chain(tail);
      return { name: `at ratio 0.5 equals the hand-pruned model: conv1 → ${tail}`, model, ...conv1, options: { ratio: 0.5 }, at: ['conv1'], equivalent: { tolerance: 1e-5, to: () => chain(tail, strongest(model, 4)).model } };
    }),
    { name: 'prints the expected graph: a conv chain (golden)', model: chain('relu').model, ...conv1, options: { ratio: 0.5 }, at: ['conv1'], golden: 'prune-chain.txt' },
    { name: 'prints the expected graph: into a transposed Gemm (golden)', model: chain('gemmT').model, ...conv1, options: { ratio: 0.5 }, at: ['conv1'], golden: 'prune-gemm.txt' },
    { name: 'a weight shared only with its own consumer (both sides sliced)', model: sharedWithOwnConsumer, layers: ['a'], options: { ratio: 1 }, at: ['a'], equivalent: { tolerance: 0 } },
  ],
  declines: [
    { name: 'a conv whose output (through Relu) feeds a residual Add', model: residual, at: 'a', reason: `output (through Relu "relu") feeds Add "add" ${residualWhy}` },
    { name: 'a conv whose output feeds a residual Add', model: residual, at: 'b', reason: `output feeds Add "add" ${residualWhy}` },
    ...([
      ['Concat', into('Concat', (g) => [randomWeight(g, 'c', [1, 2, 6, 6], 3)], { axis: 1 }), 'Concat "next", which prune cannot follow'],
      ['Reshape', into('Reshape', (g) => [ints(g, [0, -1])]), 'Reshape "next", which prune cannot follow'],
      ['a 4-D MatMul', into('MatMul', (g) => [randomWeight(g, 'm', [6, 6], 3)]), 'MatMul "next" directly on a 4-D map: only features flattened from [N,C,1,1] are followed'],
      ['a spatial Flatten', into('Flatten', () => []), 'Flatten "next" of a map whose spatial size is not known to be 1×1'],
      ['a misshapen operand', into('Mul', (g) => [randomWeight(g, 'm', [1, 3, 1, 1], 3)]), 'Mul "next" whose constant "m" has 3 entries on the channel axis, not 1 or 8'],
      ['a grouped consumer', into('Conv', (g) => [randomWeight(g, 'w2', [C, 2, 3, 3], 3)], { group: 4 }), 'Conv "next", a grouped convolution (group=4)'],
      ['a graph output', into('Relu', () => []), 'output (through Relu "next") is the graph output "next_out0": its channel count is part of the model\'s interface'],
    ] as const).map(([what, model, reason]) => ({ name: `into ${what}, naming the consumer`, model, ...conv1, options: { ratio: 0.5 }, reason: containing(reason) })),
    { name: 'a consumer whose weight is shared outside the match (refused by the driver)', model: consumerWeightShared, ...conv1, options: { ratio: 0.5 }, status: 'refused', reason: '"w2" is shared with Conv "conv3", outside the match' },
    { name: 'a grouped convolution', model: () => single((g) => randomWeight(g, 'w1', [C, 4, 3, 3], 1), { group: 2 }), ...conv1, options: { ratio: 0.5 }, reason: 'grouped convolution (group=2)' },
    { name: 'a depthwise convolution', model: () => single((g) => randomWeight(g, 'w1', [C, 1, 3, 3], 1), { group: 8 }), ...conv1, options: { ratio: 0.5 }, reason: 'depthwise convolution' },
    { name: 'a weight that is a graph input', model: weightInput, ...conv1, options: { ratio: 0.5 }, reason: 'the weight is not a constant initializer' },
    { name: 'an overridable initializer (refused by the driver)', model: overridable, ...conv1, options: { ratio: 0.5 }, status: 'refused', reason: '"w1" is an initializer that is also a graph input, so callers may override it' },
    { name: 'a computed weight', model: computed, ...conv1, options: { ratio: 0.5 }, reason: 'the weight is not a constant initializer' },
    { name: 'a weight shared by two convolutions (first of them)', model: branchesShareWeight, layers: ['a', 'b'], at: 'a', status: 'refused', reason: '"w" is shared with Conv "b", outside the match' },
    { name: 'a weight shared by two convolutions (second of them)', model: branchesShareWeight, layers: ['a', 'b'], at: 'b', status: 'refused', reason: '"w" is shared with Conv "a", outside the match' },
  ],
});

describe('prune', () => {
  it('names the sliced weights by role', () => {
    const { records } = pruneAt(chain('rich').model, 0.5);
    expect([...records[0].params!.keys()]).toEqual([
      'conv.weight', 'conv.bias', 'chan0.scale', 'chan0.bias', 'chan0.mean', 'chan0.var', 'chan1.operand', 'chan2.operand', 'consumer0.weight', 'consumer0.bias',
    ]);
    expect(records[0].params!.get('chan1.operand')!.dims).toEqual([1, 4, 1, 1]);
    expect(records[0].params!.get('chan2.operand')!.dims).toEqual([4, 1, 1]);
    const dw = pruneAt(chain('dw').model, 0.5);
    expect([...dw.records[0].params!.keys()]).toEqual(['conv.weight', 'conv.bias', 'chan1.weight', 'chan1.bias', 'consumer0.weight', 'consumer0.bias']);
    expect(dw.model.graph.nodes.find((n) => n.name?.endsWith('chan1/Conv'))!.getInt('group')).toBe(4);
    // a consumer's bias is a param (zero when it had none: conv "a"), so that fitting can set it; a Gemm with alpha ≠ 1 keeps its own
    const branch = pruneAt(chain('branch').model, 0.5).records[0].params!;
    expect([...branch.keys()]).toEqual(['conv.weight', 'conv.bias', 'consumer0.weight', 'consumer0.bias', 'consumer1.weight', 'consumer1.bias']);
    expect(Array.from(branch.get('consumer0.bias')!.data as Float32Array)).toEqual([0, 0, 0, 0, 0]);
    expect([...pruneAt(chain('gemm').model, 0.5).records[0].params!.keys()]).toEqual(['conv.weight', 'conv.bias', 'consumer0.weight']);
    expect([...pruneAt(chain('gemmT').model, 0.5).records[0].params!.keys()]).toEqual(['conv.weight', 'conv.bias', 'consumer0.weight', 'consumer0.bias']);
  });

  describe('fitted to data (the consumer convs refitted on the kept channels)', () => {
    const calib = memoryCalibration('x', [4, 6, 6], randomFloats(48 * 4 * 36, 7));
    const fitted = async (model: Model, ratio: number, scramble = false) => {
      const student = pruneAt(model, ratio);
      const record = one(student.records);
      if (scramble) for (const t of [record.params!.get('consumer0.weight')!, record.params!.get('consumer0.bias')!]) (t.data as Float32Array).set(randomFloats(t.size, 50));
      // The algebra's exactness: the given damping, not the default ridge that trades exactness for stability on few positions.
      const report = await fitSequential(model, student.model, student.records, calib, { threads: 1, damping: DEFAULT_DAMPING });
      return { student: student.model, record, report };
    };

    it('one plan per Conv consumer: the kept channels as input, the original consumer output as target', () => {
      const { records, model } = pruneAt(chain('branch').model, 0.5);
      const plans = one(records).fit!;
      expect(plans.map((p) => [p.target, p.patches.cin, p.patches.cout, p.patches.geometry.kernel])).toEqual([['a_out0', 4, 5, [3, 3]], ['b_out0', 4, 5, [1, 1]]]);
      const relu = model.graph.nodes.find((n) => n.name === 'conv1/prune/chan0/Relu')!.outputs[0];
      for (const p of plans) expect(p.input).toBe(relu);
      expect(one(pruneAt(chain('gemm').model, 0.5).records).fit).toBeUndefined();
      expect(one(pruneAt(chain('matmul').model, 0.5).records).fit).toBeUndefined();
    });

    it('a plain Gemm consumer is refitted too, its features a 1×1 map, whichever way its weight is stored', async () => {
      for (const tail of ['gemmT', 'gemmN'] as const) {
        const { model } = chain(tail);
        const { student, record, report } = await fitted(model, 0.5);
        expect(record.fit!.map((p) => [p.patches.cin, p.patches.cout, p.patches.geometry.kernel])).toEqual([[4, 10, [1, 1]]]);
        const [layer] = report.layers;
        expect(layer.errorAfter).toBeLessThan(0.9 * layer.errorBefore);
        const measured = await measuredLayerError(model, 'fc_out0', student, 'fc_out0', calib);
        expect(Math.abs(measured - layer.errorAfter)).toBeLessThan(1e-3 * layer.errorAfter);
      }
    });

    it('removing zero-kernel channels and refitting keeps the layer exact, even from a scrambled consumer', async () => {
      const { model } = chain('relu', undefined, [1, 4, 6]);
      for (const scramble of [false, true]) {
        const { student, report } = await fitted(model, 5 / 8, scramble);
        const [layer] = report.layers;
        expect(layer).toMatchObject({ rule: 'prune', layer: 'conv1', target: 'conv2_out0' });
        // errors from the statistics are exact up to their float32 accumulation (a floor near 1e-6); onnxruntime's are not
        if (scramble) expect(layer.errorBefore).toBeGreaterThan(0.5);
        else expect(layer.errorBefore).toBeLessThan(1e-5);
        expect(layer.errorAfter).toBeLessThan(1e-5);
        expect(await measuredLayerError(model, 'conv2_out0', student, 'conv2_out0', calib)).toBeLessThan(1e-9);
      }
    });

    it('at ratio 0.5 the refitted consumer beats the sliced one, with the error measured on onnxruntime', async () => {
      for (const tail of ['relu', 'rich', 'dw'] as const) {
        const { model } = chain(tail);
        const { student, report } = await fitted(model, 0.5);
        const [layer] = report.layers;
        expect(layer.errorAfter).toBeLessThan(0.9 * layer.errorBefore);
        const measured = await measuredLayerError(model, 'conv2_out0', student, 'conv2_out0', calib);
        expect(Math.abs(measured - layer.errorAfter)).toBeLessThan(1e-4 * layer.errorAfter);
      }
    });

    it('fits every consumer of a branching output', async () => {
      const { report } = await fitted(chain('branch').model, 0.5);
      expect(report.layers.map((l) => l.target)).toEqual(['a_out0', 'b_out0']);
      for (const l of report.layers) expect(l.errorAfter).toBeLessThan(l.errorBefore);
    });
  });

  describe('settings', () => {
    it('a bad ratio: one usage error before any match', () => {
      const { model } = chain('relu');
      expect(expectCode(() => pruneAt(model, 0), 'E_USAGE').message).toBe('rule "prune" option "ratio": expected a number in (0, 1], found 0');
      expect(expectCode(() => pruneAt(model, 1.5), 'E_USAGE').message).toBe('rule "prune" option "ratio": expected a number in (0, 1], found 1.5');
    });
  });

  describe('on the ResNet-20 fixture', () => {
    const model = loadModel(fileURLToPath(new URL('../fixtures/resnet20/model.onnx', import.meta.url)));
    const convs = model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.name!);
    const block = /^\/layer\d\/layer\d\.\d\//;
    const x = randomFloats(2 * 28 * 28, 5);

    it('every conv feeding a residual Add declines with the reason', () => {
      const feedsAdd = convs.filter((n) => n.endsWith('conv2/Conv') || n.includes('shortcut') || n === '/conv1/Conv');
      expect(feedsAdd).toHaveLength(12);
      const { records } = applyRules(model, [prune], { layers: feedsAdd });
      for (const r of records) {
        const add = r.node === '/conv1/Conv' ? '/layer1/layer1.0/Add' : `${block.exec(r.node)![0]}Add`;
        const through = r.node === '/conv1/Conv' ? ' (through Relu "/relu/Relu")' : '';
        expect(r).toMatchObject({ status: 'declined', reason: `output${through} feeds Add "${add}" ${residualWhy}` });
      }
      expect(records).toHaveLength(12);
    });

    it('on all convs: the inner convs fire (taking the next conv as consumer), the rest decline; the result runs', async () => {
      const { model: out, records, paramsBefore, paramsAfter } = applyRules(model, [prune], { options: { prune: { ratio: 0.5 } } });
      const fired = records.filter((r) => r.status === 'fired').map((r) => r.node);
      expect(fired).toEqual(convs.filter((n) => n.endsWith('conv1/Conv') && n !== '/conv1/Conv'));
      const declined = records.filter((r) => r.status === 'declined');
      expect(declined.map((r) => r.node)).toEqual(['/conv1/Conv', '/layer2/layer2.0/shortcut/conv/Conv', '/layer3/layer3.0/shortcut/conv/Conv']);
      for (const r of declined) expect(r.reason).toContain(residualWhy);
      // the conv2 of each block was consumed by its conv1's rewrite (its input channels sliced): skipped, saying by whom
      const skipped = records.filter((r) => r.status === 'skipped');
      expect(skipped.map((r) => r.node)).toEqual(fired.map((n) => n.replace('conv1', 'conv2')));
      skipped.forEach((r, i) => expect(r.reason).toBe(`already replaced by the rewrite at ${fired[i]} (prune)`));
      expect(records).toHaveLength(21);
      for (const r of records.filter((r) => r.status === 'fired')) {
        const cout = r.params!.get('conv.weight')!.dims[0];
        expect(r.params!.get('consumer0.weight')!.dims[1]).toBe(cout);
      }
      expect(paramsAfter).toBeLessThan(paramsBefore);
      console.log(`prune ratio 0.5 on ResNet-20: params ${paramsBefore} → ${paramsAfter} (×${(paramsAfter / paramsBefore).toFixed(3)})`);
      const { logits } = await runOnce(out, { input: { data: x, dims: [2, 1, 28, 28] } });
      expect(logits.length).toBe(2 * 10);
      expect(out.graph.outputs.map((v) => [v.name, v.shape])).toEqual([['logits', ['N', 10]]]);
    });
  });
});
