import { describe, it } from 'vitest';
import { castHalfConstant, foldBatchNorm, foldMulAdd, foldPad } from '../src/intake/rules/index.js';
import { DataType, RuleTester, Tensor, type AttrInit, type Model, type Value } from '../src/index.js';
import { modelWithInput, randomFloats, randomWeight } from './helpers/build.js';

// The canonicalization rules intake runs (src/intake/rules), each alone through the driver; test/intake.test.ts checks
// them together, as intake runs them on exporters' forms.
RuleTester.describe = describe;
RuleTester.it = it;

const tester = new RuleTester({ goldenDir: new URL('./__golden__/', import.meta.url) });

/** x [N,2,5,5] → Conv (2→3, 3×3, pad 1, bias) → `after(conv output)` → y. */
function convThen(after: (y: Value, m: ReturnType<typeof modelWithInput>) => Value, opset = 13): Model {
  const m = modelWithInput(['N', 2, 5, 5], opset);
  const { g, x } = m;
  const y = g.addNode({ op: 'Conv', inputs: [x, randomWeight(g, 'w', [3, 2, 3, 3], 1), randomWeight(g, 'b', [3], 2)], name: 'conv', attrs: { pads: [1, 1, 1, 1] } }).outputs[0]!;
  g.outputs.push(after(y, m));
  return m.model;
}

const positive = (n: number, seed: number) => randomFloats(n, seed).map((v) => 0.5 + Math.abs(v));

/** Conv → BatchNormalization with constant parameters (`attrs` on the BN; `scale` replaces its scale input). */
const convBn = (attrs: Record<string, AttrInit> = {}, scale?: (m: ReturnType<typeof modelWithInput>) => Value) =>
  convThen((y, m) => {
    const vec = (name: string, data: Float32Array) => m.g.addInitializer(name, Tensor.float32([3], data));
    const inputs = [y, scale?.(m) ?? vec('gamma', positive(3, 3)), vec('beta', randomFloats(3, 4)), vec('mean', randomFloats(3, 5)), vec('var', positive(3, 6))];
    return m.g.addNode({ op: 'BatchNormalization', inputs, attrs: { epsilon: { float: 1e-3 }, ...attrs }, name: 'bn' }).outputs[0]!;
  }, 15);

/** Conv → `op` by the constant `operand` (dims, values). */
const convBy = (op: string, dims: number[], values: number[]) =>
  convThen((y, m) => m.g.addNode({ op, inputs: [y, m.g.addInitializer('operand', Tensor.float32(dims, values))], name: op.toLowerCase() }).outputs[0]!);

tester.run(foldBatchNorm, {
  fires: [{ name: 'an inference-mode BatchNormalization into the conv', model: () => convBn(), at: ['conv'], golden: 'fold-batch-norm.txt', equivalent: { tolerance: 1e-5 } }],
  declines: [
    { name: 'a BatchNormalization in training mode', model: () => convBn({ training_mode: 1 }), reason: 'the BatchNormalization uses batch statistics' },
    {
      name: 'a BatchNormalization whose scale is a graph input',
      model: () =>
        convBn({}, ({ g }) => {
          const s = g.define('scale');
          s.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ value: 3 }] };
          g.inputs.push(s);
          return s;
        }),
      reason: 'a BatchNormalization parameter is not a float32 constant of 3 values',
    },
    {
      name: 'a conv whose output has another reader',
      model: () => convThen((y, { g }) => g.addNode({ op: 'Add', inputs: [y, g.addNode({ op: 'Relu', inputs: [y], name: 'relu' }).outputs[0]!], name: 'add' }).outputs[0]!),
      reason: 'the output has other readers than one node',
    },
  ],
});

tester.run(foldMulAdd, {
  fires: [
    { name: 'a Mul by a scalar into the conv', model: () => convBy('Mul', [], [1.5]), at: ['conv'], golden: 'fold-mul.txt', equivalent: { tolerance: 1e-5 } },
    { name: 'an Add per channel into the conv bias', model: () => convBy('Add', [1, 3, 1, 1], [0.5, -1, 2]), at: ['conv'], equivalent: { tolerance: 1e-5 } },
  ],
  declines: [
    { name: 'a Mul that broadcasts across space', model: () => convBy('Mul', [1, 1, 1, 5], [1, 2, 3, 4, 5]), reason: 'the other operand [1, 1, 1, 5] is not per channel (3 channels)' },
    { name: 'a BatchNormalization (another rule\'s)', model: () => convBn(), reason: 'the output is not read by Mul/Add' },
  ],
});

/** x → Pad (opset 13: pads and value as inputs) → Conv (2→3, 3×3, `attrs`) → y. */
function padConv(pads: number[], { mode = 'constant', value = 0, attrs = {} as Record<string, AttrInit | undefined> } = {}): Model {
  const { model, g, x } = modelWithInput(['N', 2, 5, 5]);
  const padded = g.addNode({ op: 'Pad', inputs: [x, g.addInitializer('pads', Tensor.int64([8], pads)), g.addInitializer('value', Tensor.float32([], [value]))], attrs: { mode }, name: 'pad' }).outputs[0]!;
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [padded, randomWeight(g, 'w', [3, 2, 3, 3], 1)], name: 'conv', attrs: { pads: [1, 0, 0, 1], ...attrs } }).outputs[0]!);
  return model;
}

/** x → Pad (opset 9: pads as an attribute) → Conv → y. */
function padConvOpset9(): Model {
  const { model, g, x } = modelWithInput(['N', 2, 5, 5], 9);
  const padded = g.addNode({ op: 'Pad', inputs: [x], attrs: { pads: [0, 0, 1, 2, 0, 0, 1, 0] }, name: 'pad' }).outputs[0]!;
  g.outputs.push(g.addNode({ op: 'Conv', inputs: [padded, randomWeight(g, 'w', [3, 2, 3, 3], 1)], name: 'conv' }).outputs[0]!);
  return model;
}

tester.run(foldPad, {
  fires: [
    { name: 'a zero Pad of the spatial axes, added to the conv\'s own pads', model: () => padConv([0, 0, 2, 1, 0, 0, 0, 1]), at: ['conv'], golden: 'fold-pad.txt', equivalent: { tolerance: 1e-6 } },
    { name: 'an opset-9 Pad (pads as an attribute)', model: padConvOpset9, at: ['conv'], equivalent: { tolerance: 1e-6 } },
  ],
  declines: [
    { name: 'a reflecting Pad', model: () => padConv([0, 0, 1, 1, 0, 0, 1, 1], { mode: 'reflect' }), reason: 'the Pad mode is reflect' },
    { name: 'a Pad with another value than zero', model: () => padConv([0, 0, 1, 1, 0, 0, 1, 1], { value: 1 }), reason: 'the Pad value is not a constant zero' },
    { name: 'a Pad that crops', model: () => padConv([0, 0, -1, 0, 0, 0, 1, 1]), reason: 'the Pad crops (negative pads)' },
    { name: 'a conv with auto_pad', model: () => padConv([0, 0, 1, 1, 0, 0, 1, 1], { attrs: { pads: undefined, auto_pad: 'SAME_UPPER' } }), reason: 'the conv pads with auto_pad=SAME_UPPER' },
  ],
});

/** A float16 constant of `n` values exact in half precision (±k/64), Cast to `to`; `use` builds the rest from its output. */
function castOf(to: number, use: (w: Value, m: ReturnType<typeof modelWithInput>) => Value): Model {
  const m = modelWithInput(['N', 2, 5, 5]);
  const bits = Uint16Array.from(randomFloats(3 * 2 * 9, 7), (r) => (r < 0 ? 0x8000 : 0) | (0x3c00 - 6 * 0x400) | Math.floor(Math.abs(r) * 1023));
  const half = m.g.addInitializer('w_half', new Tensor({ dataType: DataType.FLOAT16, dims: [3, 2, 3, 3], data: bits }));
  m.g.outputs.push(use(m.g.addNode({ op: 'Cast', inputs: [half], attrs: { to }, name: 'cast' }).outputs[0]!, m));
  return m.model;
}
const castThenConv = () => castOf(DataType.FLOAT, (w, { g, x }) => g.addNode({ op: 'Conv', inputs: [x, w], name: 'conv' }).outputs[0]!);

tester.run(castHalfConstant, {
  fires: [{ name: 'a Cast of a float16 weight to float32', model: castThenConv, at: ['cast'], golden: 'cast-half-constant.txt', equivalent: { tolerance: 1e-6 } }],
  declines: [
    { name: 'a Cast to double', model: () => castOf(DataType.DOUBLE, (w) => w), reason: 'the Cast is not to float32' },
    { name: 'a Cast whose output is a graph output', model: () => castOf(DataType.FLOAT, (w) => w), reason: 'the Cast output is a graph output' },
  ],
});
